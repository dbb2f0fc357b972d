//! The forms a secret takes on its way out: as it is, percent-encoded (as
//! OAuth1, query strings and forms carry it), base64-encoded (as basic
//! auth and tokens carry it) and JSON-escaped (as a result carries it,
//! once, or twice inside an HTTP envelope's body string).
//!
//! The [`Redactor`](super::Redactor) looks for every form of every secret.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

/// Every form of `secret`, itself first, without repeats.
pub fn of(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let escaped = json_escaped(secret);
    let candidates = [
        secret.to_owned(),
        percent(secret, Hex::Upper, Kept::Unreserved),
        percent(secret, Hex::Lower, Kept::Unreserved),
        percent(secret, Hex::Upper, Kept::FormSpace),
        percent(secret, Hex::Upper, Kept::Slash),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        json_escaped(&escaped),
        escaped,
    ];
    let mut forms: Vec<String> = Vec::with_capacity(candidates.len());
    for form in candidates {
        if !form.is_empty() && !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

#[derive(Clone, Copy)]
enum Hex {
    Upper,
    Lower,
}

/// What percent-encoding leaves as it is, besides the unreserved
/// characters.
#[derive(Clone, Copy, PartialEq)]
enum Kept {
    /// Nothing: RFC 3986, as OAuth1 and query strings encode.
    Unreserved,
    /// A space, written `+`, as `application/x-www-form-urlencoded` does.
    FormSpace,
    /// `/`, as Python's `urllib.parse.quote` does (the HEXONET SDK's
    /// encoding of `s_pw`, which exh-task keeps on the wire).
    Slash,
}

/// Percent-encoding of all but the unreserved characters and what `kept`
/// names.
fn percent(text: &str, hex: Hex, kept: Kept) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte))
            }
            b' ' if kept == Kept::FormSpace => out.push('+'),
            b'/' if kept == Kept::Slash => out.push('/'),
            _ => match hex {
                Hex::Upper => out.push_str(&format!("%{byte:02X}")),
                Hex::Lower => out.push_str(&format!("%{byte:02x}")),
            },
        }
    }
    out
}

/// `text` as serde_json writes it inside a string, without the quotes.
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).expect("a string serialises");
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_with_reserved_characters_has_every_form() {
        let forms = of("a b/c\"d");
        for form in [
            "a b/c\"d",
            "a%20b%2Fc%22d",
            "a%20b%2fc%22d",
            "a+b%2Fc%22d",
            "a%20b/c%22d",
            "YSBiL2MiZA==",
            "YSBiL2MiZA",
            r#"a b/c\"d"#,
            r#"a b/c\\\"d"#,
        ] {
            assert!(
                forms.contains(&form.to_owned()),
                "{form} is missing from {forms:?}"
            );
        }
    }

    #[test]
    fn a_plain_secret_has_no_repeated_forms() {
        let forms = of("token42");
        assert_eq!(forms[0], "token42");
        let mut unique = forms.clone();
        unique.dedup();
        assert_eq!(forms.len(), unique.len());
        assert!(forms.contains(&"dG9rZW40Mg==".to_owned()));
    }
}
