//! The one HTTP client of the process, shared by both sides.
//!
//! Built once before the first invocation and reused by every warm one, so
//! a warm function keeps its TLS connections open (keep-alive) instead of
//! paying a handshake per call.

use std::time::Duration;

/// The `User-Agent` of every upstream request: this project and its version.
pub const USER_AGENT: &str = concat!("exh-task/", env!("CARGO_PKG_VERSION"));

/// Builds the shared client: rustls, keep-alive, 5 s connect timeout, idle
/// connections kept 50 s (below the usual 60 s server keep-alive, so a reused
/// connection is rarely one the server has just closed).
///
/// Proxies named by `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
/// are used, as reqwest does by default.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    builder().build()
}

/// A client like [`client`] that sends everything through `proxy` (the
/// SDK's `setProxy`: `HEXONET_PROXY`).
pub fn client_via(proxy: &url::Url) -> Result<reqwest::Client, reqwest::Error> {
    builder()
        .proxy(reqwest::Proxy::all(proxy.as_str())?)
        .build()
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(50))
        .tcp_keepalive(Duration::from_secs(30))
}

/// How many pages of an `all_pages` request are fetched at once, on either side.
/// A page's time is mostly the API's round trip (tens of milliseconds for
/// HEXONET), not work here: 8 in flight make a 50-page list about 6
/// round trips long instead of 50 (the SDK's sequential paging).
pub const PAGE_CONCURRENCY: usize = 8;

/// A transport error and its causes, without the URL (the causes say what
/// failed, and a URL may carry what must not be logged).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
