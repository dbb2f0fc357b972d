//! `API_HOST`, normalised the way the `exh` CLI and the JavaScript SDK take it.

use std::fmt;
use std::net::IpAddr;
use url::Url;

/// The base URL of an Extra Horizon cluster: scheme and authority, no path.
///
/// `https://api.x.extrahorizon.io`, `api.x.extrahorizon.io`,
/// `x.extrahorizon.io` and the proxy host `apx.x.extrahorizon.io` all mean
/// `https://api.x.extrahorizon.io`, as in the JavaScript SDK's `parseHost`.
/// An `http://` URL on loopback (`127.0.0.0/8`, `::1`, `localhost`) is used
/// as is, for local development; elsewhere it is taken as `https://`, as the
/// SDK does, so OAuth1 requests never travel in clear text.
///
/// # Example
/// ```
/// use exh_task::exh::ApiHost;
/// let host = ApiHost::parse("x.extrahorizon.io").unwrap();
/// assert_eq!(host.as_str(), "https://api.x.extrahorizon.io");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiHost(Url);

/// Why a value cannot be an `API_HOST`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// Occurs when the value is not a host name, with or without a scheme.
    #[error("{0:?} is not a host name")]
    NotAHost(String),
    /// Occurs for schemes other than `https` and `http`.
    #[error("{0:?}: only https:// (or http://, taken as https:// off loopback) is accepted")]
    Scheme(String),
    /// Occurs when the value carries a path, query or credentials (the
    /// message quotes it with userinfo and query masked).
    #[error("{0:?} must be a host only, without path, query or user")]
    NotOnlyAHost(String),
}

impl ApiHost {
    /// Normalises a value as the `exh` CLI does (see the type's docs).
    pub fn parse(value: &str) -> Result<ApiHost, HostError> {
        let value = value.trim();
        // Errors quote the value, but never its userinfo or query.
        let shown = crate::mask::url::shown(value);
        let (scheme, rest) = match value.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_owned(), value),
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() {
            return Err(HostError::NotAHost(shown.clone()));
        }
        if scheme != "https" && scheme != "http" {
            return Err(HostError::Scheme(shown.clone()));
        }
        let url = Url::parse(&format!("{scheme}://{rest}"))
            .map_err(|_| HostError::NotAHost(shown.clone()))?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(HostError::NotOnlyAHost(shown.clone()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(HostError::NotOnlyAHost(shown.clone()));
        }
        let host = url
            .host_str()
            .ok_or_else(|| HostError::NotAHost(shown.clone()))?;
        let local = is_loopback(host);
        if local || host.parse::<IpAddr>().is_ok() {
            return Ok(ApiHost(url));
        }
        let cluster = host
            .strip_prefix("api.")
            .or_else(|| host.strip_prefix("apx."))
            .unwrap_or(host);
        let port = url
            .port()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        Url::parse(&format!("https://api.{cluster}{port}"))
            .map(ApiHost)
            .map_err(|_| HostError::NotAHost(shown.clone()))
    }

    /// The normalised base URL without the final `/`.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// The normalised base URL.
    pub fn url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for ApiHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! normalises {
        ($($name:ident: $input:literal => $expected:literal;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(ApiHost::parse($input).unwrap().as_str(), $expected);
            }
        )*};
    }

    normalises! {
        full_https_url_is_kept: "https://api.x.extrahorizon.io" => "https://api.x.extrahorizon.io";
        api_host_without_scheme_gets_https: "api.x.extrahorizon.io" => "https://api.x.extrahorizon.io";
        cluster_host_gets_api_prefix: "x.extrahorizon.io" => "https://api.x.extrahorizon.io";
        https_cluster_host_gets_api_prefix: "https://x.extrahorizon.io" => "https://api.x.extrahorizon.io";
        trailing_slash_and_blanks_are_dropped: " https://api.x.extrahorizon.io/ " => "https://api.x.extrahorizon.io";
        host_case_is_folded: "API.X.ExtraHorizon.IO" => "https://api.x.extrahorizon.io";
        explicit_port_is_kept: "api.x.extrahorizon.io:8443" => "https://api.x.extrahorizon.io:8443";
        http_loopback_is_used_as_is: "http://127.0.0.1:8080" => "http://127.0.0.1:8080";
        http_localhost_is_used_as_is: "http://localhost:8080/" => "http://localhost:8080";
        http_ipv6_loopback_is_used_as_is: "http://[::1]:8080" => "http://[::1]:8080";
        proxy_host_means_the_api_host: "apx.x.extrahorizon.io" => "https://api.x.extrahorizon.io";
        http_off_loopback_is_taken_as_https: "http://x.extrahorizon.io" => "https://api.x.extrahorizon.io";
    }

    macro_rules! refuses {
        ($($name:ident: $input:literal => $error:ident;)*) => {$(
            #[test]
            fn $name() {
                assert!(matches!(ApiHost::parse($input), Err(HostError::$error(_))));
            }
        )*};
    }

    refuses! {
        other_schemes_are_refused: "ftp://x.extrahorizon.io" => Scheme;
        a_path_is_refused: "https://api.x.extrahorizon.io/users/v1" => NotOnlyAHost;
        a_query_is_refused: "api.x.extrahorizon.io?x=1" => NotOnlyAHost;
        user_info_is_refused: "https://me:pw@api.x.extrahorizon.io" => NotOnlyAHost;
        an_empty_value_is_refused: "https://" => NotAHost;
        spaces_inside_are_refused: "x extrahorizon.io" => NotAHost;
    }

    #[test]
    fn a_refusal_quotes_neither_userinfo_nor_query() {
        for value in [
            "https://me:pw-7f3@api.x.io",
            "api.x.io?token=pw-7f3",
            "ftp://me:pw-7f3@x",
        ] {
            let message = ApiHost::parse(value).unwrap_err().to_string();
            assert!(!message.contains("pw-7f3"), "{message}");
            assert!(message.contains("***"), "{message}");
        }
    }
}
