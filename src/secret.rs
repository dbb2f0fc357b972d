//! Secrets: values that must never be printed, logged or put in an error.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// A secret string (OAuth1 secret, token, HEXONET password), zeroised on drop.
///
/// `Debug` and `Display` print `***`; reading the value takes an explicit
/// [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a value read from the environment.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The value itself; call it only where the value goes on the wire.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Compares the values; used to tell a kept session from a stale one.
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

/// Reads a JSON string straight into a secret (e.g. a one-time password in
/// an event), so the value never sits in a plain `String` field.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn a_json_string_deserializes_into_a_secret() {
        let secret: Secret = serde_json::from_str("\"123456\"").unwrap();
        assert_eq!(secret, Secret::new("123456"));
        assert_eq!(format!("{secret:?}"), "***");
    }
}
