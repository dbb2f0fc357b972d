//! Every mask of exh-task, in one place: what keeps secrets out of errors,
//! logs and results.
//!
//! - [`Redactor`]: removes known secret values from text that came from
//!   elsewhere. Upstream error messages are quoted in our errors and logs;
//!   should a server ever echo a credential back, it is replaced by `***`
//!   before anyone sees it.
//! - [`authorization`]: the OAuth1 `Authorization` header as the debug log
//!   shows it.
//! - `hexonet` (crate-private): the HEXONET SDK's masks and the debug log's
//!   masks of `call.cgi` requests and responses.
//!
//! Masked text is only built for a log (or `Debug`), never for a call.

pub(crate) mod hexonet;

use crate::secret::Secret;
use std::borrow::Cow;

/// Replaces every occurrence of the given secrets with `***`.
#[derive(Clone, Default)]
pub struct Redactor(Vec<Secret>);

impl Redactor {
    /// A redactor for `secrets`; empty values are ignored.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        Redactor(
            secrets
                .into_iter()
                .filter(|secret| !secret.expose().is_empty())
                .cloned()
                .collect(),
        )
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.expose(), "***")
        })
    }
}

/// The `Authorization` header with the consumer key, token and signature
/// replaced by `***`, for debug logs.
pub fn authorization(header: &str) -> Cow<'_, str> {
    const SECRET_FIELDS: [&str; 3] = ["oauth_consumer_key", "oauth_token", "oauth_signature"];
    let Some(fields) = header.strip_prefix("OAuth ") else {
        return Cow::Borrowed("***");
    };
    let masked: Vec<String> = fields
        .split(',')
        .map(|field| match field.split_once('=') {
            Some((name, _)) if SECRET_FIELDS.contains(&name.trim()) => format!("{name}=\"***\""),
            _ => field.to_owned(),
        })
        .collect();
    Cow::Owned(format!("OAuth {}", masked.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_of_every_secret_is_replaced() {
        let (a, b) = (Secret::new("s3cret"), Secret::new("t0ken"));
        let redactor = Redactor::new([&a, &b]);
        assert_eq!(
            redactor.redact("key s3cret and t0ken, again s3cret"),
            "key *** and ***, again ***"
        );
    }

    #[test]
    fn masking_hides_key_token_and_signature_but_keeps_the_nonce() {
        let header = r#"OAuth oauth_consumer_key="key",oauth_nonce="n0nce",oauth_signature="c2ln%3D",oauth_signature_method="HMAC-SHA1",oauth_timestamp="1600000000",oauth_token="token",oauth_version="1.0""#;
        let masked = authorization(header);
        assert!(!masked.contains("\"key\""));
        assert!(!masked.contains("\"token\""));
        assert!(masked.contains("oauth_signature=\"***\""));
        assert!(!masked.contains("c2ln"));
        assert!(masked.contains("oauth_nonce=\"n0nce\""));
    }
}
