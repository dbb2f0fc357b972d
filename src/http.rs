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
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(50))
        .tcp_keepalive(Duration::from_secs(30))
        .build()
}
