//! The Extra Horizon side: host, OAuth1 signing, requests and the client.
//!
//! - [`host`]: `API_HOST` normalisation.
//! - [`path`]: the rule that a request's path stays on the host.
//! - [`request`]: the `exh` request of an event and its URL.
//! - [`oauth1`]: OAuth1 HMAC-SHA1 signing.
//! - [`client`]: the client that sends, retries and pages.

pub mod client;
pub mod host;
pub mod oauth1;
pub mod path;
pub mod request;

pub use client::{Answer, Client};
pub use host::ApiHost;
pub use request::Request;
