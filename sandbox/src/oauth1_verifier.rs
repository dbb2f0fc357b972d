//! OAuth 1.0 HMAC-SHA1 signature verification, written from the server's side
//! of RFC 5849 and independent of the OAuth1 client crates that exh-task uses.
//!
//! # Format
//! ```text
//! Authorization: OAuth realm="x", oauth_consumer_key="k", oauth_token="t",
//!     oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201",
//!     oauth_nonce="7d8f3e4a", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"
//! ```
//! The signature is `base64(HMAC-SHA1(key, base string))` where
//! `key = enc(consumer_secret) & enc(token_secret)` and the base string is
//! `METHOD & enc(base string URI) & enc(normalized parameters)` (§3.4).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode;
use sha1::Sha1;

/// The client and token credentials the server knows.
///
/// Extra Horizon checks the consumer key and the token before the signature,
/// so the verifier is given both identifiers as well as both secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// `oauth_consumer_key` the server accepts.
    pub consumer_key: &'a str,
    /// Shared secret of the consumer key.
    pub consumer_secret: &'a str,
    /// `oauth_token` the server accepts.
    pub token: &'a str,
    /// Shared secret of the token.
    pub token_secret: &'a str,
}

/// A request exactly as received, the only input verification needs.
#[derive(Clone, Copy, Debug)]
pub struct RequestParts<'a> {
    /// HTTP method, in any case.
    pub method: &'a str,
    /// URI scheme the client used to reach the server (`http` for the sandbox).
    pub scheme: &'a str,
    /// `Host` header value: host and optional port.
    pub host: &'a str,
    /// Request target as received: path and optional `?query`.
    pub target: &'a str,
    /// `Authorization` header value, if any.
    pub authorization: Option<&'a str>,
    /// `Content-Type` header value, if any.
    pub content_type: Option<&'a str>,
    /// Request body.
    pub body: &'a [u8],
}

/// The protocol parameters of a request whose signature is valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// `oauth_consumer_key`.
    pub consumer_key: String,
    /// `oauth_nonce`.
    pub nonce: String,
    /// `oauth_timestamp`, seconds since the Unix epoch.
    pub timestamp: u64,
}

/// Why a request is not authenticated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Occurs when the request has no `Authorization` header or one whose
    /// scheme is not `OAuth`.
    #[error("missing OAuth authorization header")]
    MissingHeader,
    /// Occurs when the `Authorization` header does not follow RFC 5849
    /// §3.5.1, lacks a required parameter or repeats one.
    #[error("malformed OAuth authorization header: {0}")]
    MalformedHeader(String),
    /// Occurs when `oauth_signature_method` is not `HMAC-SHA1`.
    #[error("unsupported signature method {0:?}")]
    UnsupportedSignatureMethod(String),
    /// Occurs when `oauth_consumer_key` is not the known consumer key.
    #[error("unknown consumer key")]
    UnknownConsumerKey,
    /// Occurs when `oauth_token` is absent or not the known token.
    #[error("unknown token")]
    UnknownToken,
    /// Occurs when the signature does not match the request.
    #[error("signature mismatch")]
    SignatureMismatch,
}

/// Checks the OAuth1 HMAC-SHA1 signature of `request` against `credentials`.
///
/// Checks run in Extra Horizon's order: header syntax, consumer key, token,
/// then the signature, compared in constant time. Nonce uniqueness is the
/// caller's business: it needs memory of earlier requests.
///
/// # Example
/// ```
/// use exh_task_sandbox::oauth1_verifier::{verify, Credentials, RequestParts};
///
/// let credentials = Credentials {
///     consumer_key: "dpf43f3p2l4k3l03",
///     consumer_secret: "kd94hf93k423kf44",
///     token: "nnch734d00sl2jdk",
///     token_secret: "pfkkdhi9sl3r4s00",
/// };
/// let request = RequestParts {
///     method: "GET",
///     scheme: "http",
///     host: "photos.example.net",
///     target: "/photos?file=vacation.jpg&size=original",
///     authorization: Some(
///         r#"OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D""#,
///     ),
///     content_type: None,
///     body: b"",
/// };
/// assert_eq!(verify(&request, &credentials).unwrap().nonce, "chapoH");
/// ```
pub fn verify(
    request: &RequestParts<'_>,
    credentials: &Credentials<'_>,
) -> Result<Verified, VerifyError> {
    let header = request.authorization.ok_or(VerifyError::MissingHeader)?;
    let params = parse_authorization(header)?;
    let oauth = OAuthParams::from_header(&params)?;
    if oauth.consumer_key != credentials.consumer_key {
        return Err(VerifyError::UnknownConsumerKey);
    }
    if oauth.token != Some(credentials.token) {
        return Err(VerifyError::UnknownToken);
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(oauth.signature)
        .map_err(|_| VerifyError::SignatureMismatch)?;
    let key = signing_key(credentials.consumer_secret, credentials.token_secret);
    let mut mac =
        Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(base_string_from(request, &params).as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| VerifyError::SignatureMismatch)?;
    Ok(Verified {
        consumer_key: oauth.consumer_key.to_owned(),
        nonce: oauth.nonce.to_owned(),
        timestamp: oauth.timestamp,
    })
}

/// The signature base string of `request` (RFC 5849 §3.4.1).
///
/// Parameters come from the query, the `Authorization` header (without
/// `realm` and `oauth_signature`) and, for an
/// `application/x-www-form-urlencoded` body, the body.
///
/// # Errors
/// Fails as [`verify`] does when the `Authorization` header is present but
/// malformed; a missing header contributes no parameters.
pub fn base_string(request: &RequestParts<'_>) -> Result<String, VerifyError> {
    let params = match request.authorization {
        Some(header) => parse_authorization(header)?,
        None => Vec::new(),
    };
    Ok(base_string_from(request, &params))
}

/// The HMAC-SHA1 key: `enc(consumer_secret) & enc(token_secret)` (§3.4.2).
pub fn signing_key(consumer_secret: &str, token_secret: &str) -> String {
    format!(
        "{}&{}",
        encode(consumer_secret.as_bytes()),
        encode(token_secret.as_bytes())
    )
}

/// Percent-encodes `bytes` as RFC 5849 §3.6 requires: every byte but the
/// unreserved `ALPHA / DIGIT / "-" / "." / "_" / "~"` becomes `%XX`, upper-case.
pub fn encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    out
}

/// The base string URI (§3.4.1.2): lower-case scheme and host, default port
/// dropped, path as received, no query.
pub fn base_string_uri(scheme: &str, host: &str, target: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let (name, port) = split_port(&host);
    let default_port = match scheme.as_str() {
        "http" => Some("80"),
        "https" => Some("443"),
        _ => None,
    };
    let authority = match port {
        Some(port) if Some(port) != default_port => format!("{name}:{port}"),
        _ => name.to_owned(),
    };
    let path = match target.split_once('?').map_or(target, |(path, _)| path) {
        "" => "/",
        path => path,
    };
    format!("{scheme}://{authority}{path}")
}

/// Splits `host[:port]`, minding the colons of a bracketed IPv6 literal.
fn split_port(host: &str) -> (&str, Option<&str>) {
    let port_colon = match host.rfind(']') {
        Some(bracket) => host[bracket..].find(':').map(|i| bracket + i),
        None => host.rfind(':'),
    };
    match port_colon {
        Some(i) => (&host[..i], Some(&host[i + 1..])),
        None => (host, None),
    }
}

fn base_string_from(request: &RequestParts<'_>, header_params: &[(String, String)]) -> String {
    let query = request
        .target
        .split_once('?')
        .map_or("", |(_, query)| query);
    let mut pairs: Vec<(String, String)> = form_pairs(query.as_bytes());
    pairs.extend(
        header_params
            .iter()
            .filter(|(name, _)| name != "realm" && name != "oauth_signature")
            .map(|(name, value)| (encode(name.as_bytes()), encode(value.as_bytes()))),
    );
    if is_form(request.content_type) {
        pairs.extend(form_pairs(request.body));
    }
    pairs.sort();
    let normalized = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        request.method.to_ascii_uppercase(),
        encode(base_string_uri(request.scheme, request.host, request.target).as_bytes()),
        encode(normalized.as_bytes())
    )
}

fn is_form(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `application/x-www-form-urlencoded` pairs, decoded then re-encoded per §3.6.
/// Work stays on bytes so that input that is not UTF-8 still verifies.
fn form_pairs(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[..0]),
            };
            (encode(&form_decode(name)), encode(&form_decode(value)))
        })
        .collect()
}

fn form_decode(input: &[u8]) -> Vec<u8> {
    let plus_as_space: Vec<u8> = input
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space).collect()
}

/// The required protocol parameters of a header, borrowed from it.
struct OAuthParams<'p> {
    consumer_key: &'p str,
    token: Option<&'p str>,
    signature: &'p str,
    nonce: &'p str,
    timestamp: u64,
}

impl<'p> OAuthParams<'p> {
    fn from_header(params: &'p [(String, String)]) -> Result<Self, VerifyError> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let require = |name: &str| {
            get(name).ok_or_else(|| VerifyError::MalformedHeader(format!("{name} is missing")))
        };
        let method = require("oauth_signature_method")?;
        if method != "HMAC-SHA1" {
            return Err(VerifyError::UnsupportedSignatureMethod(method.to_owned()));
        }
        if get("oauth_version").is_some_and(|version| version != "1.0") {
            return Err(VerifyError::MalformedHeader(
                "oauth_version is not 1.0".into(),
            ));
        }
        let timestamp = require("oauth_timestamp")?;
        let timestamp = timestamp
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| timestamp.parse().ok())
            .flatten()
            .ok_or_else(|| {
                VerifyError::MalformedHeader("oauth_timestamp is not a positive integer".into())
            })?;
        Ok(OAuthParams {
            consumer_key: require("oauth_consumer_key")?,
            token: get("oauth_token"),
            signature: require("oauth_signature")?,
            nonce: require("oauth_nonce")?,
            timestamp,
        })
    }
}

/// Parses an `Authorization: OAuth` header (§3.5.1): comma-separated
/// `name="value"` pairs, values percent-decoded, each name at most once.
fn parse_authorization(header: &str) -> Result<Vec<(String, String)>, VerifyError> {
    let rest = header.trim_start();
    let params = match rest.get(..6) {
        Some(scheme) if scheme.eq_ignore_ascii_case("oauth ") => &rest[6..],
        _ if rest.eq_ignore_ascii_case("oauth") => "",
        _ => return Err(VerifyError::MissingHeader),
    };
    let malformed = |why: &str| VerifyError::MalformedHeader(why.to_owned());
    let mut parsed: Vec<(String, String)> = Vec::new();
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (name, after_name) = rest
            .split_once('=')
            .ok_or_else(|| malformed("a parameter has no value"))?;
        let name = name.trim();
        let quoted = after_name
            .trim_start()
            .strip_prefix('"')
            .ok_or_else(|| malformed("a value is not quoted"))?;
        let (value, after_value) = quoted
            .split_once('"')
            .ok_or_else(|| malformed("a value is not closed"))?;
        if !is_token(name) {
            return Err(malformed("a parameter name is not a token"));
        }
        let name = percent_decode_str(name)?;
        if parsed.iter().any(|(seen, _)| *seen == name) {
            return Err(VerifyError::MalformedHeader(format!("{name} is repeated")));
        }
        parsed.push((name, percent_decode_str(value)?));
        rest = after_value.trim_start();
        rest = match rest.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if rest.is_empty() => rest,
            None => return Err(malformed("parameters are not separated by commas")),
        };
    }
    Ok(parsed)
}

/// An HTTP `token` (RFC 9110 §5.6.2), the syntax of auth-param names.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn percent_decode_str(value: &str) -> Result<String, VerifyError> {
    String::from_utf8(percent_decode(value.as_bytes()).collect())
        .map_err(|_| VerifyError::MalformedHeader("a value is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5849 §1.2 credentials.
    const PHOTOS: Credentials<'static> = Credentials {
        consumer_key: "dpf43f3p2l4k3l03",
        consumer_secret: "kd94hf93k423kf44",
        token: "nnch734d00sl2jdk",
        token_secret: "pfkkdhi9sl3r4s00",
    };

    /// RFC 5849 §1.2 request. The RFC prints the signature
    /// `MdpQcU8iPSUjWoN5UDK7TlZpCz8=`, corrected by erratum 2550 to the one
    /// below (oauthlib computes the same).
    const PHOTOS_AUTHORIZATION: &str =
        "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", \
        oauth_token=\"nnch734d00sl2jdk\", oauth_signature_method=\"HMAC-SHA1\", \
        oauth_timestamp=\"137131202\", oauth_nonce=\"chapoH\", \
        oauth_signature=\"MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D\"";

    fn photos(authorization: &str) -> RequestParts<'_> {
        RequestParts {
            method: "GET",
            scheme: "http",
            host: "photos.example.net",
            target: "/photos?file=vacation.jpg&size=original",
            authorization: Some(authorization),
            content_type: None,
            body: b"",
        }
    }

    #[test]
    fn rfc_5849_section_1_2_request_verifies() {
        let verified = verify(&photos(PHOTOS_AUTHORIZATION), &PHOTOS).unwrap();
        assert_eq!(
            verified,
            Verified {
                consumer_key: "dpf43f3p2l4k3l03".into(),
                nonce: "chapoH".into(),
                timestamp: 137131202
            }
        );
    }

    #[test]
    fn rfc_5849_section_1_2_base_string_is_exact() {
        assert_eq!(
            base_string(&photos(PHOTOS_AUTHORIZATION)).unwrap(),
            "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26\
             oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26\
             oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26\
             oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
        );
    }

    #[test]
    fn rfc_5849_section_3_4_1_1_base_string_is_exact() {
        let request = RequestParts {
            method: "POST",
            scheme: "http",
            host: "example.com",
            target: "/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
            authorization: Some(
                "OAuth realm=\"Example\",\r\n oauth_consumer_key=\"9djdj82h48djs9d2\",\r\n \
                 oauth_token=\"kkk9d7dh3k39sjv7\",\r\n oauth_signature_method=\"HMAC-SHA1\",\r\n \
                 oauth_timestamp=\"137131201\",\r\n oauth_nonce=\"7d8f3e4a\",\r\n \
                 oauth_signature=\"bYT5CMsGcbgUdFHObYMEfcx6bsw%3D\"",
            ),
            content_type: Some("application/x-www-form-urlencoded"),
            body: b"c2&a3=2+q",
        };
        assert_eq!(
            base_string(&request).unwrap(),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
             %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
             key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
             ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
             9d7dh3k39sjv7"
        );
    }

    #[test]
    fn body_of_another_content_type_is_not_signed() {
        let mut request = photos(PHOTOS_AUTHORIZATION);
        request.content_type = Some("application/json");
        request.body = b"a=b";
        assert!(verify(&request, &PHOTOS).is_ok());
        request.content_type = Some("Application/X-WWW-Form-Urlencoded; charset=utf-8");
        assert!(base_string(&request).unwrap().contains("a%3Db"));
    }

    /// One named test per case: `name: input => expected`.
    macro_rules! table {
        ($check:ident { $($name:ident: $input:expr => $expected:expr,)* }) => {
            $(#[test] fn $name() { $check($input, $expected); })*
        };
    }

    fn check_encode(input: &str, expected: &str) {
        assert_eq!(encode(input.as_bytes()), expected);
    }

    table!(check_encode {
        encode_keeps_unreserved: "AZaz09-._~" => "AZaz09-._~",
        encode_escapes_space_and_plus: "Ladies + Gentlemen" => "Ladies%20%2B%20Gentlemen",
        encode_escapes_reserved: "Dogs, Cats & Mice!=%" => "Dogs%2C%20Cats%20%26%20Mice%21%3D%25",
        encode_escapes_utf8_bytes_upper_case: "\u{2603}" => "%E2%98%83",
        encode_escapes_rql_syntax: "select(id,email)" => "select%28id%2Cemail%29",
    });

    fn check_uri((scheme, host, target): (&str, &str, &str), expected: &str) {
        assert_eq!(base_string_uri(scheme, host, target), expected);
    }

    table!(check_uri {
        uri_lowercases_scheme_and_host_and_drops_port_80: ("HTTP", "EXAMPLE.COM:80", "/r%20v/X?id=123") => "http://example.com/r%20v/X",
        uri_keeps_a_port_that_is_not_default: ("https", "www.example.net:8080", "/?q=1") => "https://www.example.net:8080/",
        uri_drops_port_443_for_https: ("https", "api.x.extrahorizon.io:443", "/users/v1/me") => "https://api.x.extrahorizon.io/users/v1/me",
        uri_keeps_port_443_for_http: ("http", "example.com:443", "/") => "http://example.com:443/",
        uri_keeps_loopback_port: ("http", "127.0.0.1:40123", "/users/v1/?select(id)") => "http://127.0.0.1:40123/users/v1/",
        uri_keeps_localhost_port: ("http", "LocalHost:40123", "/data/v1/") => "http://localhost:40123/data/v1/",
        uri_handles_ipv6_with_port: ("http", "[::1]:8080", "/x") => "http://[::1]:8080/x",
        uri_handles_ipv6_without_port: ("http", "[::1]", "/x") => "http://[::1]/x",
        uri_keeps_path_case_and_escapes: ("http", "h", "/A%2fb/C") => "http://h/A%2fb/C",
        uri_turns_empty_path_into_slash: ("http", "h", "?a=1") => "http://h/",
    });

    /// Decoded, re-encoded and sorted query parameters of a base string.
    fn check_params(target: &str, expected: &str) {
        let request = RequestParts {
            method: "GET",
            scheme: "http",
            host: "h",
            target,
            authorization: None,
            content_type: None,
            body: b"",
        };
        let base = base_string(&request).unwrap();
        let params = base.splitn(3, '&').nth(2).unwrap();
        let decoded = String::from_utf8(percent_decode(params.as_bytes()).collect()).unwrap();
        assert_eq!(decoded, expected);
    }

    table!(check_params {
        params_plus_is_space: "/?q=a+b" => "q=a%20b",
        params_encoded_plus_stays_plus: "/?q=a%2Bb" => "q=a%2Bb",
        params_repeated_keys_sort_by_value: "/?a=2&a=10&a=1" => "a=1&a=10&a=2",
        params_name_without_value_is_empty: "/?flag&x=" => "flag=&x=",
        params_empty_pairs_are_skipped: "/?&&a=1&" => "a=1",
        params_value_may_hold_equals: "/?a=b=c" => "a=b%3Dc",
        params_rql_is_a_name_without_value: "/?select(id,email)&limit(10,20)" => "limit%2810%2C20%29=&select%28id%2Cemail%29=",
        params_lowercase_escapes_are_normalized: "/?q=%e2%98%83" => "q=%E2%98%83",
        params_stray_percent_is_kept: "/?q=100%&r=%zz" => "q=100%25&r=%25zz",
        params_sort_by_encoded_name: "/?b=1&B=1&_=1&~=1&a-=1" => "B=1&_=1&a-=1&b=1&~=1",
        params_invalid_utf8_is_kept_as_bytes: "/?q=%FF" => "q=%FF",
    });

    fn check_verdict(authorization: Option<&str>, expected: Result<(), VerifyError>) {
        let request = RequestParts {
            authorization,
            ..photos("")
        };
        assert_eq!(verify(&request, &PHOTOS).map(|_| ()), expected);
    }

    fn malformed(why: &str) -> Result<(), VerifyError> {
        Err(VerifyError::MalformedHeader(why.into()))
    }

    const OK_PARAMS: &str = "oauth_consumer_key=\"dpf43f3p2l4k3l03\", oauth_token=\"nnch734d00sl2jdk\", \
        oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"137131202\", oauth_nonce=\"chapoH\", \
        oauth_signature=\"MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D\"";

    table!(check_verdict {
        verdict_accepts_lowercase_scheme_and_no_spaces: Some(&format!("oauth {}", OK_PARAMS.replace(", ", ","))) => Ok(()),
        verdict_rejects_missing_header: None => Err(VerifyError::MissingHeader),
        verdict_rejects_other_scheme: Some("Bearer abc") => Err(VerifyError::MissingHeader),
        verdict_rejects_bare_scheme: Some("OAuth") => malformed("oauth_signature_method is missing"),
        verdict_rejects_unquoted_value: Some("OAuth oauth_consumer_key=dpf43f3p2l4k3l03") => malformed("a value is not quoted"),
        verdict_rejects_unclosed_value: Some("OAuth oauth_consumer_key=\"dpf43f3p2l4k3l03") => malformed("a value is not closed"),
        verdict_rejects_missing_comma: Some("OAuth a=\"1\" b=\"2\"") => malformed("parameters are not separated by commas"),
        verdict_rejects_garbage: Some("OAuth ,,,") => malformed("a parameter has no value"),
        verdict_rejects_empty_list_element: Some(&format!("OAuth {}", OK_PARAMS.replacen(", ", ",, ", 1))) => malformed("a parameter name is not a token"),
        verdict_rejects_empty_name: Some("OAuth =\"x\"") => malformed("a parameter name is not a token"),
        verdict_rejects_non_utf8_value: Some("OAuth a=\"%FF\"") => malformed("a value is not UTF-8"),
        verdict_rejects_repeated_parameter: Some(&format!("OAuth {OK_PARAMS}, oauth_nonce=\"x\"")) => malformed("oauth_nonce is repeated"),
        verdict_rejects_missing_signature: Some(&format!("OAuth {}", OK_PARAMS.split(", oauth_signature=").next().unwrap())) => malformed("oauth_signature is missing"),
        verdict_rejects_plaintext: Some(&format!("OAuth {}", OK_PARAMS.replace("HMAC-SHA1", "PLAINTEXT"))) => Err(VerifyError::UnsupportedSignatureMethod("PLAINTEXT".into())),
        verdict_rejects_other_version: Some(&format!("OAuth oauth_version=\"2.0\", {OK_PARAMS}")) => malformed("oauth_version is not 1.0"),
        verdict_rejects_signed_timestamp: Some(&format!("OAuth {}", OK_PARAMS.replace("137131202", "-137131202"))) => malformed("oauth_timestamp is not a positive integer"),
        verdict_rejects_unknown_consumer_key: Some(&format!("OAuth {}", OK_PARAMS.replace("dpf43f3p2l4k3l03", "other"))) => Err(VerifyError::UnknownConsumerKey),
        verdict_rejects_unknown_token: Some(&format!("OAuth {}", OK_PARAMS.replace("nnch734d00sl2jdk", "other"))) => Err(VerifyError::UnknownToken),
        verdict_rejects_missing_token: Some(&format!("OAuth {}", OK_PARAMS.replace("oauth_token=", "x_token="))) => Err(VerifyError::UnknownToken),
        verdict_rejects_signature_that_is_not_base64: Some(&format!("OAuth {}", OK_PARAMS.replace("%3D\"", "!\""))) => Err(VerifyError::SignatureMismatch),
        verdict_rejects_other_nonce: Some(&format!("OAuth {}", OK_PARAMS.replace("chapoH", "chapoI"))) => Err(VerifyError::SignatureMismatch),
    });

    #[test]
    fn tampered_query_is_a_signature_mismatch() {
        let request = RequestParts {
            target: "/photos?file=vacation.jpg&size=large",
            ..photos(PHOTOS_AUTHORIZATION)
        };
        assert_eq!(
            verify(&request, &PHOTOS),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn other_host_is_a_signature_mismatch() {
        let request = RequestParts {
            host: "localhost:80",
            ..photos(PHOTOS_AUTHORIZATION)
        };
        assert_eq!(
            verify(&request, &PHOTOS),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn default_port_and_method_case_do_not_matter() {
        let request = RequestParts {
            host: "Photos.Example.NET:80",
            method: "get",
            ..photos(PHOTOS_AUTHORIZATION)
        };
        assert!(verify(&request, &PHOTOS).is_ok());
    }

    #[test]
    fn wrong_secret_is_a_signature_mismatch() {
        let credentials = Credentials {
            token_secret: "other",
            ..PHOTOS
        };
        assert_eq!(
            verify(&photos(PHOTOS_AUTHORIZATION), &credentials),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn signing_key_encodes_both_secrets() {
        assert_eq!(signing_key("a&b", "c d"), "a%26b&c%20d");
        assert_eq!(signing_key("k", ""), "k&");
    }
}
