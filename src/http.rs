//! The one HTTP client of the process, shared by both sides, and the one
//! way every upstream request goes out ([`Upstream`]).
//!
//! Built once before the first invocation and reused by every warm one, so
//! a warm function keeps its TLS connections open (keep-alive) instead of
//! paying a handshake per call.
//!
//! # Exchanges
//! Every request of either client is one exchange through [`Upstream`], which:
//! - waits for one of the process's in-flight permits
//!   ([`crate::limits::Limits::max_in_flight`]), never past the deadline;
//! - refuses to start when less than [`MIN_REQUEST_TIME`] is left before
//!   the deadline (a [`Error::Timeout`] that says nothing was sent);
//! - follows no redirect: a 3xx is the answer;
//! - reads the body through the size cap
//!   ([`crate::limits::Limits::max_body_bytes`]): a longer body is refused
//!   before more of it is buffered;
//! - ends at the deadline, with a [`Error::Timeout`] that says the request
//!   was sent (and, for a call that is not idempotent, that its outcome is
//!   unknown).

use crate::error::Error;
use crate::limits::{body_over, BodyBudget, Limits};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The `User-Agent` of every upstream request: this project and its version.
pub const USER_AGENT: &str = concat!("exh-task/", env!("CARGO_PKG_VERSION"));

/// The least time a request needs before the deadline (which already keeps
/// [`crate::handler::DEADLINE_MARGIN`] back): with less left, no request
/// starts, since its answer could not come in time and a request that
/// cannot be answered may still take effect.
pub const MIN_REQUEST_TIME: Duration = Duration::from_millis(100);

/// Builds the shared client: rustls, keep-alive, 5 s connect timeout, idle
/// connections kept 50 s (below the usual 60 s server keep-alive, so a reused
/// connection is rarely one the server has just closed), no redirects (a
/// 3xx is an answer, so no credential or body reaches another host).
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
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(crate::dns::SHARED.clone()))
}

/// How many pages of an `all_pages` request are fetched at once, on either side.
/// A page's time is mostly the API's round trip (tens of milliseconds for
/// HEXONET), not work here: 8 in flight make a 50-page list about 6
/// round trips long instead of 50 (the SDK's sequential paging).
pub const PAGE_CONCURRENCY: usize = 8;

/// The HTTP client with the limits every request through it shares: the
/// in-flight permits and the body cap. Cheap to clone: clones share both.
#[derive(Clone, Debug)]
pub struct Upstream {
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    limits: Limits,
}

impl Upstream {
    /// `client` under `limits`, with permits of its own.
    pub fn new(client: reqwest::Client, limits: Limits) -> Upstream {
        Upstream {
            client,
            permits: Arc::new(Semaphore::new(
                limits.max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
            )),
            limits,
        }
    }

    /// Another client (e.g. through `HEXONET_PROXY`) under the same limits
    /// and sharing the same permits.
    pub fn with_client(&self, client: reqwest::Client) -> Upstream {
        Upstream {
            client,
            ..self.clone()
        }
    }

    /// The HTTP client, to build requests with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The limits every request through this upstream keeps.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sends `request` (the call named `what`) and reads its answer, as the
    /// [module docs](self#exchanges) say. `idempotent` only words the
    /// timeout of a request that was sent.
    pub(crate) async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        deadline: Instant,
        what: &str,
        idempotent: bool,
    ) -> Result<Received, Failure> {
        let in_flight = self.limits.max_in_flight;
        let permit = tokio::time::timeout_at(deadline, self.permits.acquire())
            .await
            .map_err(|_| {
                Failure::Timeout(Error::timeout_unsent(format!(
                    "{what} was not sent: all {in_flight} upstream requests the process allows \
                     (EXH_TASK_MAX_IN_FLIGHT) stayed in flight until the invocation deadline"
                )))
            })?;
        let left = deadline.saturating_duration_since(Instant::now());
        if left < MIN_REQUEST_TIME {
            return Err(Failure::Timeout(Error::timeout_unsent(format!(
                "{what} was not sent: {} ms were left before the invocation deadline, and a \
                 request needs at least {} ms",
                left.as_millis(),
                MIN_REQUEST_TIME.as_millis()
            ))));
        }
        let limit = self.limits.max_body_bytes;
        let exchanged = tokio::time::timeout_at(deadline, async {
            let response = request.send().await.map_err(Failure::Sending)?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = read_capped(response, limit).await?;
            Ok(Received {
                status,
                headers,
                body,
            })
        })
        .await;
        drop(permit);
        exchanged.unwrap_or_else(|_| Err(Failure::Timeout(sent_timeout(what, idempotent))))
    }
}

impl From<reqwest::Client> for Upstream {
    /// `client` under the default [`Limits`].
    fn from(client: reqwest::Client) -> Upstream {
        Upstream::new(client, Limits::default())
    }
}

/// The [`Error::Timeout`] of a request that was sent and not answered in time.
pub(crate) fn sent_timeout(what: &str, idempotent: bool) -> Error {
    if idempotent {
        Error::timeout_sent(format!(
            "{what} did not answer before the invocation deadline"
        ))
    } else {
        Error::timeout_sent(format!(
            "{what} was sent but not answered before the invocation deadline: whether it took \
             effect is unknown"
        ))
    }
}

/// An answer: status, headers and the whole body, within the cap.
pub(crate) struct Received {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// Why an exchange has no answer.
pub(crate) enum Failure {
    /// The deadline: before anything was sent, or after (the error says
    /// which). Final.
    Timeout(Error),
    /// Sending failed; [`reqwest::Error::is_connect`] says nothing was sent.
    Sending(reqwest::Error),
    /// The answer began, then its body could not be read.
    Reading(reqwest::Error),
    /// The body is over the cap of this many bytes.
    TooLarge(usize),
    /// The bodies read together are over a budget
    /// ([`crate::limits::BodyBudget`]): why.
    OverBudget(String),
}

impl Failure {
    /// The failure as an error of the call named `what`, for a client
    /// whose messages need no more than this.
    pub(crate) fn into_error(self, what: &str) -> Error {
        match self {
            Failure::Timeout(error) => error,
            Failure::Sending(error) => Error::Transport(format!("{what}: {}", describe(&error))),
            Failure::Reading(error) => {
                Error::Transport(format!("{what}: reading the answer: {}", describe(&error)))
            }
            Failure::TooLarge(limit) => {
                Error::InvalidResponse(format!("{what}: {}", body_over(limit)))
            }
            Failure::OverBudget(why) => Error::InvalidResponse(format!("{what}: {why}")),
        }
    }

    /// Whether nothing reached the upstream, so that even a call that is
    /// not idempotent may be tried again.
    pub(crate) fn nothing_sent(&self) -> bool {
        matches!(self, Failure::Sending(error) if error.is_connect())
    }
}

/// The body of `response`, refused as soon as it is known to be over
/// `limit` bytes: from its `Content-Length`, or chunk by chunk.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Failure> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(Failure::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Failure::Reading)? {
        if body.len() + chunk.len() > limit {
            return Err(Failure::TooLarge(limit));
        }
        BodyBudget::take(chunk.len()).map_err(Failure::OverBudget)?;
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error and its causes, without the URL (the causes say what
/// failed, and a URL may carry what must not be logged).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    with_causes(kind.to_owned(), error)
}

/// `text`, then each cause of `error` (its sources, not the error itself),
/// each after `: `.
pub(crate) fn with_causes(mut text: String, error: &(dyn std::error::Error + 'static)) -> String {
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(limits: Limits) -> Upstream {
        Upstream::new(client().unwrap(), limits)
    }

    #[tokio::test]
    async fn no_request_starts_with_less_than_the_minimum_time_left() {
        let upstream = upstream(Limits::default());
        // Nothing listens on port 9: had the request started, it would fail otherwise.
        let request = upstream.client().get("http://127.0.0.1:9/");
        let deadline = Instant::now() + MIN_REQUEST_TIME / 2;
        let Err(Failure::Timeout(error)) =
            upstream.exchange(request, deadline, "GET /", true).await
        else {
            panic!("expected a timeout before sending");
        };
        assert_eq!(error.sent(), Some(false));
        assert!(error.to_string().contains("was not sent"), "{error}");
    }

    #[tokio::test]
    async fn a_request_waits_for_a_permit_no_longer_than_the_deadline() {
        let upstream = upstream(Limits {
            max_in_flight: 1,
            ..Limits::default()
        });
        let _held = upstream.permits.acquire().await.unwrap();
        let request = upstream.client().get("http://127.0.0.1:9/");
        let deadline = Instant::now() + Duration::from_millis(20);
        let Err(Failure::Timeout(error)) =
            upstream.exchange(request, deadline, "GET /", true).await
        else {
            panic!("expected a timeout waiting for a permit");
        };
        assert_eq!(error.sent(), Some(false));
        assert!(
            error.to_string().contains("EXH_TASK_MAX_IN_FLIGHT"),
            "{error}"
        );
    }

    #[test]
    fn a_sent_call_that_is_not_idempotent_times_out_with_an_unknown_outcome() {
        let error = sent_timeout("POST /x", false);
        assert_eq!((error.error_type(), error.sent()), ("Timeout", Some(true)));
        assert!(error.to_string().contains("unknown"), "{error}");
        assert!(!sent_timeout("GET /x", true).to_string().contains("unknown"));
    }

    /// A server on `127.0.0.1:0` that answers one request with `answer`.
    async fn answering(answer: &'static str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let _ = stream.write_all(answer.as_bytes()).await;
        });
        url
    }

    async fn body_of(answer: &'static str, max_body_bytes: usize) -> Result<Vec<u8>, Failure> {
        let upstream = upstream(Limits {
            max_body_bytes,
            ..Limits::default()
        });
        let request = upstream.client().get(answering(answer).await);
        let deadline = Instant::now() + Duration::from_secs(5);
        let received = upstream.exchange(request, deadline, "GET /", true).await?;
        Ok(received.body)
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let body = body_of("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", 5).await;
        assert_eq!(body.ok().as_deref(), Some(&b"hello"[..]));
    }

    #[tokio::test]
    async fn a_longer_announced_body_is_refused_before_it_is_read() {
        let answer = "HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n";
        assert!(matches!(
            body_of(answer, 5).await,
            Err(Failure::TooLarge(5))
        ));
    }

    #[tokio::test]
    async fn a_chunked_body_is_refused_at_the_chunk_that_passes_the_cap() {
        let answer = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
        assert!(matches!(
            body_of(answer, 5).await,
            Err(Failure::TooLarge(5))
        ));
        assert_eq!(
            body_of(answer, 6).await.ok().as_deref(),
            Some(&b"abcdef"[..])
        );
    }

    #[tokio::test]
    async fn a_redirect_is_the_answer_and_is_not_followed() {
        let answer =
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/\r\ncontent-length: 0\r\n\r\n";
        let upstream = upstream(Limits::default());
        let request = upstream.client().get(answering(answer).await);
        let deadline = Instant::now() + Duration::from_secs(5);
        let Ok(received) = upstream.exchange(request, deadline, "GET /", true).await else {
            panic!("expected the 302 as the answer");
        };
        assert_eq!(received.status, StatusCode::FOUND);
    }

    #[test]
    fn clones_and_other_clients_share_the_permits() {
        let upstream = upstream(Limits::default());
        let other = upstream.with_client(client().unwrap());
        assert!(Arc::ptr_eq(&upstream.permits, &other.permits));
    }
}
