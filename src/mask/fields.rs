//! JSON fields whose names say they hold a secret, masked for the debug
//! log (`EXH_TASK_DEBUG=1`): Extra Horizon request and response bodies
//! carry passwords (`POST /auth/v2/oauth1/tokens`), tokens and the like,
//! whose values are not among the configured secrets the
//! [`Redactor`](super::Redactor) knows.
//!
//! A field is masked when its name, in lower case and without `-` and
//! `_`, contains one of [`SECRET_WORDS`]; its whole value (string, number,
//! object or array) is then written as `"***"`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use std::fmt;

/// The words that mark a field as secret (case-insensitive, `-` and `_`
/// ignored, anywhere in the name: `newPassword`, `api_key`, `X-Auth-Token`).
pub const SECRET_WORDS: [&str; 13] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "otp",
    "apikey",
    "authorization",
    "credential",
    "session",
    "cookie",
    "signature",
    "privatekey",
];

/// Whether a field called `name` holds a secret.
pub fn is_secret(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_WORDS.iter().any(|word| folded.contains(word))
}

/// `value` with every secret field masked: [`fmt::Display`] writes it as
/// JSON, walking the value once (no masked copy is built).
pub fn masked(value: &Value) -> Masked<'_> {
    Masked(value)
}

/// A JSON value written with its secret fields masked; see [`masked`].
pub struct Masked<'a>(&'a Value);

impl Serialize for Masked<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (name, value) in fields {
                    if is_secret(name) {
                        map.serialize_entry(name, "***")?;
                    } else {
                        map.serialize_entry(name, &Masked(value))?;
                    }
                }
                map.end()
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Masked(item))?;
                }
                seq.end()
            }
            other => other.serialize(serializer),
        }
    }
}

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_fields_are_masked_at_any_depth_and_the_rest_is_kept() {
        let body = json!({
            "email": "a@example.com",
            "password": "hunter2",
            "profile": {"newPassword": "p2", "X-Auth-Token": "t", "api_key": 1, "name": "Sam"},
            "items": [{"otp": "123456", "value": 5}],
            "Authorization": {"nested": "x"},
        });
        let text = masked(&body).to_string();
        for secret in ["hunter2", "\"p2\"", "\"t\"", "123456", "nested"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        for kept in ["a@example.com", "Sam", "\"value\":5"] {
            assert!(text.contains(kept), "{kept} missing from {text}");
        }
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["password"], "***");
        assert_eq!(parsed["profile"]["api_key"], "***");
    }

    #[test]
    fn names_are_compared_without_case_dashes_or_underscores() {
        for name in [
            "PASSWORD",
            "pass_word",
            "client-secret",
            "refreshToken",
            "s_otp",
            "apiKey",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in ["email", "id", "systolic", "language"] {
            assert!(!is_secret(name), "{name}");
        }
    }
}
