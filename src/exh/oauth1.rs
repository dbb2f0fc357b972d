//! OAuth1 HMAC-SHA1 request signing for Extra Horizon (RFC 5849).
//!
//! The HMAC, nonce and header are `oauth1-request`'s, the engine that
//! `reqwest-oauth1` wraps. The parameter normalisation (RFC 5849 §3.4.1.3.2)
//! is done here because `reqwest-oauth1` 0.3 gets it wrong for queries: it
//! puts query *names* into the base string without percent-encoding them
//! and sorts the decoded pairs instead of the encoded ones, so a request with
//! an RQL query such as `?select(id,email)` is refused by the server. The
//! conformance tests prove both the defect and this fix against `oauthlib`.
//!
//! Request bodies are JSON and, as OAuth1 requires, not signed.

use crate::config::OAuth1Credentials;
use oauth1_request::signature_method::HmacSha1;
use oauth1_request::signer::Signer;
use oauth1_request::Options;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

/// RFC 5849 §3.6: everything but ALPHA, DIGIT, `-`, `.`, `_` and `~`.
pub(crate) const OAUTH_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The prefix that RFC 5849 reserves for protocol parameters.
pub(crate) const RESERVED_PREFIX: &str = "oauth_";

/// The `Authorization` header value for `method` on `url` (query included).
///
/// The query is read back from `url` the way a server reads it, so what is
/// signed is exactly what goes on the wire.
pub fn authorization(method: &str, url: &Url, credentials: &OAuth1Credentials) -> String {
    let mut base_uri = url.clone();
    base_uri.set_query(None);
    base_uri.set_fragment(None);

    let mut parameters: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (encode(&name), encode(&value)))
        .collect();
    parameters.sort();
    let split = parameters.partition_point(|(name, _)| name.as_str() < RESERVED_PREFIX);
    let (before, after) = parameters.split_at(split);

    let mut signer = Signer::with_signature_method(
        HmacSha1,
        method,
        base_uri,
        credentials.consumer_secret.expose(),
        credentials.token_secret.expose(),
    );
    // `parameter_encoded` puts the name into the base string as given and the
    // value encoded once more, so names go in encoded twice, values once:
    // the base string holds every normalised parameter encoded again.
    for (name, value) in before {
        signer.parameter_encoded(&encode(name), value);
    }
    let mut options = Options::new();
    options.token(credentials.token.expose()).version(true);
    let mut signer = signer.oauth_parameters(credentials.consumer_key.expose(), &options);
    for (name, value) in after {
        signer.parameter_encoded(&encode(name), value);
    }
    signer.finish().authorization
}

/// RFC 5849 §3.6 percent-encoding.
pub(crate) fn encode(text: &str) -> String {
    utf8_percent_encode(text, OAUTH_ENCODE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn credentials() -> OAuth1Credentials {
        OAuth1Credentials {
            consumer_key: Secret::new("key"),
            consumer_secret: Secret::new("consumer secret"),
            token: Secret::new("token"),
            token_secret: Secret::new("token secret"),
        }
    }

    fn header_fields(header: &str) -> Vec<(String, String)> {
        header
            .strip_prefix("OAuth ")
            .unwrap()
            .split(',')
            .map(|field| {
                let (name, value) = field.split_once('=').unwrap();
                (name.to_owned(), value.trim_matches('"').to_owned())
            })
            .collect()
    }

    #[test]
    fn header_carries_every_protocol_parameter() {
        let url = Url::parse("https://api.x.extrahorizon.io/users/v1/me").unwrap();
        let header = authorization("GET", &url, &credentials());
        let names: Vec<_> = header_fields(&header).into_iter().map(|(n, _)| n).collect();
        for name in [
            "oauth_consumer_key",
            "oauth_nonce",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_token",
            "oauth_version",
            "oauth_signature",
        ] {
            assert!(names.contains(&name.to_owned()), "{name} missing: {header}");
        }
    }

    #[test]
    fn every_signature_uses_a_fresh_nonce() {
        let url = Url::parse("https://api.x.extrahorizon.io/users/v1/me").unwrap();
        let nonce = |header: String| {
            header_fields(&header)
                .into_iter()
                .find(|(name, _)| name == "oauth_nonce")
                .unwrap()
                .1
        };
        let first = nonce(authorization("GET", &url, &credentials()));
        let second = nonce(authorization("GET", &url, &credentials()));
        assert_ne!(first, second);
    }

    #[test]
    fn queries_with_names_on_both_sides_of_oauth_are_signed_without_panicking() {
        let url = Url::parse(
            "https://h/x?zeta=1&a%20b=2&select(id,email)&oauth=3&oauthz=4&%C3%A9=5&A=6&a=7&a=1",
        )
        .unwrap();
        let header = authorization("GET", &url, &credentials());
        assert!(header.starts_with("OAuth "));
    }
}
