//! The sandbox's memory of every request it received, for tests to inspect
//! and to replay into other OAuth1 implementations.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::header::{HeaderName, AUTHORIZATION, CONTENT_TYPE, HOST};
use axum::http::request::Parts;

use super::oauth1_verifier::VerifyError;

/// One request as the sandbox received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Request target exactly as received: path and optional `?query`.
    pub target: String,
    /// `Host` header, if any.
    pub host: Option<String>,
    /// `Authorization` header, if any (lossily decoded if not UTF-8).
    pub authorization: Option<String>,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Request body.
    pub body: Vec<u8>,
    /// What the OAuth1 signature verifier said.
    pub verdict: Verdict,
    /// Status code the sandbox answered with.
    pub status: u16,
}

/// The OAuth1 verifier's opinion of a request's signature.
///
/// A replayed nonce is not a signature problem: such a request is
/// [`Verdict::Valid`] and answered 401 with code 110.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The signature is valid for the sandbox credentials.
    Valid,
    /// The request is not authenticated.
    Invalid(VerifyError),
    /// The service that answered does not use OAuth1.
    NotApplicable,
}

impl RecordedRequest {
    /// The request as received, before its body is read and its verdict
    /// known: empty body, [`Verdict::NotApplicable`], status 0.
    pub(crate) fn received(parts: &Parts) -> Self {
        let header = |name: HeaderName| {
            let value = parts.headers.get(name)?;
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        RecordedRequest {
            method: parts.method.to_string(),
            target: target(parts).to_owned(),
            host: host(parts).map(str::to_owned),
            authorization: header(AUTHORIZATION),
            content_type: header(CONTENT_TYPE),
            body: Vec::new(),
            verdict: Verdict::NotApplicable,
            status: 0,
        }
    }

    /// The full URL as the client addressed it: `http://{Host}{target}`.
    pub fn url(&self) -> String {
        format!(
            "http://{}{}",
            self.host.as_deref().unwrap_or_default(),
            self.target
        )
    }

    /// This request in the input format of
    /// `tests/conformance/oauthlib_verify.py`:
    /// `{"method", "url", "headers": {name: value}, "body"}`, the body as
    /// (lossy) UTF-8 text.
    pub fn to_conformance_json(&self) -> serde_json::Value {
        let headers: serde_json::Map<String, serde_json::Value> = [
            ("Host", &self.host),
            ("Authorization", &self.authorization),
            ("Content-Type", &self.content_type),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), value.clone()?.into())))
        .collect();
        serde_json::json!({
            "method": self.method,
            "url": self.url(),
            "headers": headers,
            "body": String::from_utf8_lossy(&self.body),
        })
    }
}

/// A shared log of the last [`Recorder::CAPACITY`] [`RecordedRequest`]s;
/// clones share the log.
#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Mutex<VecDeque<RecordedRequest>>>);

impl Recorder {
    /// How many requests the log keeps; older ones are forgotten, so that a
    /// long-running sandbox does not grow without bound.
    pub const CAPACITY: usize = 10_000;

    /// Appends `request` to the log.
    pub fn record(&self, request: RecordedRequest) {
        let mut log = self.lock();
        if log.len() == Self::CAPACITY {
            log.pop_front();
        }
        log.push_back(request);
    }

    /// Every request recorded and kept so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().iter().cloned().collect()
    }

    /// Forgets every recorded request.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<RecordedRequest>> {
        super::lock(&self.0)
    }
}

/// The `Host` header, or the authority of an absolute-form target (HTTP/2).
pub(crate) fn host(parts: &Parts) -> Option<&str> {
    match parts.headers.get(HOST) {
        Some(value) => value.to_str().ok(),
        None => parts.uri.authority().map(|authority| authority.as_str()),
    }
}

/// The request target: path and optional `?query`, as received.
pub(crate) fn target(parts: &Parts) -> &str {
    parts
        .uri
        .path_and_query()
        .map_or("/", |target| target.as_str())
}
