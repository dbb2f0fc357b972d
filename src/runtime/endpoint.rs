//! Where the Lambda APIs (Runtime, Extensions) are: `AWS_LAMBDA_RUNTIME_API`.
//!
//! Lambda sets it to `host:port` (`127.0.0.1:9001`); `cargo lambda watch`
//! sets a URL with a path prefix (`http://127.0.0.1:9000/.rt/bootstrap`),
//! below which each API keeps its own paths. Both are read here, once, into
//! the parts a request needs; anything else is an error that names the
//! variable.

use std::fmt;

/// The Lambda APIs' address, as `AWS_LAMBDA_RUNTIME_API` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`: what to connect to, and the `Host` header.
    authority: String,
    /// The path every API path goes below: empty, or `/…` without a
    /// trailing `/`.
    prefix: String,
}

impl Endpoint {
    /// Reads `value`: `host:port`, or an `http://` URL with an optional
    /// path prefix and no user, query or fragment.
    ///
    /// # Example
    /// ```
    /// use exh_task::runtime::endpoint::Endpoint;
    /// let lambda = Endpoint::parse("127.0.0.1:9001").unwrap();
    /// assert_eq!(lambda.url("/2018-06-01/runtime"), "http://127.0.0.1:9001/2018-06-01/runtime");
    /// let watch = Endpoint::parse("http://127.0.0.1:9000/.rt/bootstrap").unwrap();
    /// assert_eq!(watch.path("/2020-01-01/extension"), "/.rt/bootstrap/2020-01-01/extension");
    /// assert!(Endpoint::parse("https://127.0.0.1:9000").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Endpoint, EndpointError> {
        let invalid = |problem: &str| EndpointError(format!("{problem}: {value:?}"));
        let (authority, prefix) = match value.split_once("://") {
            None => (value, ""),
            Some(("http", rest)) => rest.split_once('/').map_or((rest, ""), |(authority, _)| {
                (authority, &rest[authority.len()..])
            }),
            Some(_) => return Err(invalid("not http:// nor host:port")),
        };
        let visible = |text: &str| text.bytes().all(|byte| byte.is_ascii_graphic());
        if authority.is_empty() || !visible(authority) || authority.contains(['@', '/', '?', '#']) {
            return Err(invalid("no host:port"));
        }
        if !visible(prefix) || prefix.contains(['?', '#']) {
            return Err(invalid("a path with more than a path"));
        }
        Ok(Endpoint {
            authority: authority.to_owned(),
            prefix: prefix.trim_end_matches('/').to_owned(),
        })
    }

    /// `AWS_LAMBDA_RUNTIME_API`, read; `None` outside Lambda (unset).
    pub fn from_env() -> Option<Result<Endpoint, EndpointError>> {
        std::env::var("AWS_LAMBDA_RUNTIME_API")
            .ok()
            .map(|value| Endpoint::parse(&value))
    }

    /// `host:port`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `path` below the prefix, for a request line.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.authority, self.path(path))
    }
}

/// An `AWS_LAMBDA_RUNTIME_API` that names no usable address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError(String);

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AWS_LAMBDA_RUNTIME_API is {}", self.0)
    }
}

impl std::error::Error for EndpointError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_host_and_port_and_cargo_lambdas_url_are_both_read() {
        let lambda = Endpoint::parse("127.0.0.1:9001").unwrap();
        assert_eq!(
            (lambda.authority(), lambda.path("/x")),
            ("127.0.0.1:9001", "/x".to_owned())
        );
        let watch = Endpoint::parse("http://127.0.0.1:9000/.rt/bootstrap/").unwrap();
        assert_eq!(
            (watch.authority(), watch.path("/x")),
            ("127.0.0.1:9000", "/.rt/bootstrap/x".to_owned())
        );
        let bare = Endpoint::parse("http://[::1]:9000").unwrap();
        assert_eq!(bare.url("/x"), "http://[::1]:9000/x");
    }

    #[test]
    fn an_address_that_could_reach_elsewhere_or_add_a_header_is_refused() {
        for value in [
            "",
            "https://127.0.0.1:9000",
            "http://",
            "http:///path",
            "user:pw@127.0.0.1:9000",
            "http://user@127.0.0.1:9000",
            "127.0.0.1:9000\r\nX: y",
            "127.0.0.1:9000 x",
            "http://127.0.0.1:9000/a?b",
            "http://127.0.0.1:9000/a#b",
        ] {
            let error = Endpoint::parse(value).unwrap_err().to_string();
            assert!(error.starts_with("AWS_LAMBDA_RUNTIME_API is "), "{error}");
        }
    }
}
