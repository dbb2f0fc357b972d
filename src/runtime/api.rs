//! The Lambda Runtime API (version `2018-06-01`) as the function speaks it:
//! `/next`, `/response`, `/error`.
//!
//! Every `/next` answer is checked before it is used: a missing or
//! unusable `Lambda-Runtime-Aws-Request-Id` or `Lambda-Runtime-Deadline-Ms`,
//! a status other than 200 or a payload over the limit is a [`NextError`]
//! for the caller to report or skip, never a panic (as in `lambda_runtime`
//! 1.5, whose `Context` building `expect`s both headers).

use crate::error::{Error, LambdaError};
use crate::handler::DEADLINE_MARGIN;
use crate::runtime::endpoint::Endpoint;
use crate::runtime::in_flight::{Held, InFlight, Waiting};
use crate::runtime::payload::MAX_PAYLOAD_BYTES;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, USER_AGENT};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// `Lambda-Runtime-Aws-Request-Id`: the invocation's id, part of the paths.
pub const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
/// `Lambda-Runtime-Deadline-Ms`: the deadline, Unix epoch milliseconds.
pub const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
/// `Lambda-Runtime-Invocation-Id`: echoed on `/response` and `/error`, so
/// the service can refuse an answer to an invocation that timed out.
pub const INVOCATION_ID: &str = "lambda-runtime-invocation-id";
/// `Lambda-Runtime-Function-Error-Type` of an `/error` post.
const FUNCTION_ERROR_TYPE: &str = "lambda-runtime-function-error-type";

/// The path of every Runtime API request.
const BASE_PATH: &str = "/2018-06-01/runtime";

/// The most of the Runtime API's reply to an answer that is read, and how
/// long it may take once its head came: the reply says no more than
/// `{"status":"OK"}`, and one that never ends must not hold the worker.
const MAX_REPLY_BYTES: usize = 64 * 1024;
const REPLY_TIME: Duration = Duration::from_secs(2);

/// How long a post (an answer, or the start-up's error) may take to its
/// reply's head, its connection and the writing of its body included. The
/// service is local and answers as soon as it has read the body (at most
/// 6 MB): one that takes a post and never answers must not hold the
/// worker, or the shutdown, for good.
const POST_TIME: Duration = Duration::from_secs(5);

/// A client of the Runtime API named by `AWS_LAMBDA_RUNTIME_API`.
///
/// It speaks plain HTTP/1.1 through hyper's pooled client (as
/// `lambda_runtime` does): no URL parsing, redirect or proxy layer on each
/// request, as the general-purpose HTTP client of the upstream calls has.
/// No timeout (`/next` is a long poll) and no proxy: the Runtime API is
/// local to the execution environment. Its first connection can be one
/// already open ([`RuntimeApi::adopt`]).
#[derive(Clone, Debug)]
pub struct RuntimeApi {
    http: Client<Connector, Full<Bytes>>,
    /// `http://host:port`.
    origin: String,
    adopted: Arc<Mutex<Option<std::net::TcpStream>>>,
}

/// One invocation as `/next` handed it out.
#[derive(Debug)]
pub struct Next {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Invocation-Id`, when sent: its bytes as they came,
    /// for the answer to carry back.
    pub invocation_id: Option<HeaderValue>,
    /// Every header, for the rest of the context.
    pub headers: HeaderMap,
    /// The payload, or why it could not be read whole (`InvalidEvent`), or
    /// had no room to arrive in time (`Timeout`, not sent).
    pub payload: Result<Bytes, Error>,
    /// The room the payload holds among those arriving at once, when the
    /// workers share it ([`InFlight`]): to be freed once it is read.
    pub arriving: Held,
}

/// Why a `/next` answer is not an invocation.
#[derive(Debug)]
pub enum NextError {
    /// Occurs when the Runtime API could not be reached, the connection
    /// broke, or its answer's head could not be read (over hyper's 100
    /// headers, say): retried after a back-off.
    Unreachable(String),
    /// Occurs when `/next` answers with a status other than 200.
    Status(u16),
    /// Occurs when the answer has no usable request id (none, one that is
    /// not a plain path segment, or one too long for the answer's URI): it
    /// cannot be answered, only skipped.
    NoRequestId,
    /// Occurs when the answer has a request id but no usable deadline: it
    /// is answered with an `InvalidEvent` error.
    NoDeadline {
        /// The invocation to answer.
        request_id: String,
        /// Its `Lambda-Runtime-Invocation-Id`, when sent.
        invocation_id: Option<HeaderValue>,
    },
}

impl fmt::Display for NextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextError::Unreachable(reason) => {
                write!(f, "no answer could be read from the Runtime API: {reason}")
            }
            NextError::Status(status) => write!(f, "/next answered with status {status}"),
            NextError::NoRequestId => {
                f.write_str("/next answered without a usable Lambda-Runtime-Aws-Request-Id")
            }
            NextError::NoDeadline { request_id, .. } => write!(
                f,
                "/next handed out {request_id} without a usable Lambda-Runtime-Deadline-Ms"
            ),
        }
    }
}

impl RuntimeApi {
    /// A client of the Runtime API at `api`.
    pub fn new(api: &Endpoint) -> Result<RuntimeApi, http::uri::InvalidUri> {
        let origin = api.url("");
        // Checked once, so that every request's URI is valid.
        origin.parse::<http::Uri>()?;
        let mut http = HttpConnector::new();
        // Each request is written at once; nothing waits for more to send.
        http.set_nodelay(true);
        let adopted = Arc::new(Mutex::new(None));
        let connector = Connector {
            adopted: adopted.clone(),
            http,
        };
        Ok(RuntimeApi {
            http: Client::builder(TokioExecutor::new()).build(connector),
            origin,
            adopted,
        })
    }

    /// Makes `connection`, open to the Runtime API and idle, the one the
    /// next request goes out on instead of a new one (the connection of
    /// the extension's registration, see [`super::shutdown`]).
    pub fn adopt(&self, connection: std::net::TcpStream) {
        *self
            .adopted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(connection);
    }

    /// Long-polls `/next` for the next invocation, until `stop` resolves:
    /// `None` if it does before an invocation's head came. The payload of
    /// one whose head came is read once `in_flight` has room for it, and
    /// must arrive before its deadline (less [`DEADLINE_MARGIN`]) and
    /// before `stop`; otherwise the invocation comes with the payload's
    /// error, to be answered, not dropped.
    pub async fn next_until(
        &self,
        stop: impl Future<Output = ()>,
        in_flight: &InFlight,
    ) -> Option<Result<Next, NextError>> {
        let mut stop = std::pin::pin!(stop);
        let request = self.request(http::Method::GET, "/invocation/next");
        let response = tokio::select! {
            response = self.call(request, Bytes::new()) => response,
            () = &mut stop => return None,
        };
        Some(self.invocation(response, stop, in_flight).await)
    }

    /// The invocation `/next` answered with `response`, its payload read
    /// until its deadline or `stop`.
    async fn invocation(
        &self,
        response: Result<http::Response<hyper::body::Incoming>, String>,
        stop: Pin<&mut impl Future<Output = ()>>,
        in_flight: &InFlight,
    ) -> Result<Next, NextError> {
        let response = response.map_err(NextError::Unreachable)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(NextError::Status(status));
        }
        let (parts, body) = response.into_parts();
        let headers = parts.headers;
        let request_id = header_text(&headers, REQUEST_ID)
            .filter(|id| is_path_segment(id) && self.can_answer(id))
            .ok_or(NextError::NoRequestId)?;
        let invocation_id = headers.get(INVOCATION_ID).cloned();
        let Some(deadline_ms) =
            header_text(&headers, DEADLINE_MS).and_then(|ms| ms.parse::<u64>().ok())
        else {
            return Err(NextError::NoDeadline {
                request_id,
                invocation_id,
            });
        };
        let (payload, arriving) = match read_in_time(
            &headers,
            body,
            arrival_deadline(deadline_ms),
            stop,
            in_flight,
        )
        .await
        {
            Ok((bytes, arriving)) => (Ok(bytes), arriving),
            Err(error) => (Err(error), Held::default()),
        };
        Ok(Next {
            request_id,
            invocation_id,
            headers,
            payload,
            arriving,
        })
    }

    /// Posts `json`, the result, as the answer of `request_id`.
    pub async fn respond(
        &self,
        request_id: &str,
        invocation_id: Option<&HeaderValue>,
        json: String,
    ) {
        let request = self
            .post(request_id, "response", invocation_id)
            .header(CONTENT_TYPE, "application/json");
        self.send(request, Bytes::from(json), request_id, "response")
            .await;
    }

    /// Posts `error` as the failure of `request_id`.
    pub async fn fail(
        &self,
        request_id: &str,
        invocation_id: Option<&HeaderValue>,
        error: &LambdaError,
    ) {
        let request = self.post(request_id, "error", invocation_id);
        let (request, body) = error_post(request, error);
        self.send(request, body, request_id, "error").await;
    }

    /// Posts `error` to `/init/error`: the function cannot start, and the
    /// first invocation's caller reads why. A failure is logged; the
    /// process ends either way.
    pub async fn init_error(&self, error: &LambdaError) {
        let request = self.request(http::Method::POST, "/init/error");
        let (request, body) = error_post(request, error);
        match self.post_within(request, body).await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => tracing::error!(
                status = response.status().as_u16(),
                "the Runtime API refused the report of the start-up failure"
            ),
            Err(error) => {
                tracing::error!(%error, "could not report the start-up failure to the Runtime API")
            }
        }
    }

    /// Sends an answer and reads the service's reply to its end (so the
    /// connection is kept for the next `/next`); a failure is logged, as
    /// nothing else can be done with it (the service reports the
    /// invocation as timed out).
    async fn send(
        &self,
        request: http::request::Builder,
        body: Bytes,
        request_id: &str,
        what: &str,
    ) {
        match self.post_within(request, body).await {
            Ok(response) => {
                let status = response.status();
                let reply = Limited::new(response.into_body(), MAX_REPLY_BYTES).collect();
                if !matches!(tokio::time::timeout(REPLY_TIME, reply).await, Ok(Ok(_))) {
                    // Dropped with its connection: the next `/next` goes out on another.
                    tracing::warn!(
                        request_id,
                        "the Runtime API's reply to the invocation's {what} was not read whole \
                         (over {MAX_REPLY_BYTES} bytes, broken, or slower than {REPLY_TIME:?})"
                    );
                }
                if !status.is_success() {
                    tracing::error!(
                        request_id,
                        status = status.as_u16(),
                        "the Runtime API refused the invocation's {what}"
                    );
                }
            }
            Err(error) => tracing::error!(
                request_id,
                %error,
                "the invocation's {what} could not be sent to the Runtime API"
            ),
        }
    }

    /// [`Self::call`], given up after [`POST_TIME`] (the connection then
    /// dropped with it).
    async fn post_within(
        &self,
        request: http::request::Builder,
        body: Bytes,
    ) -> Result<http::Response<hyper::body::Incoming>, String> {
        tokio::time::timeout(POST_TIME, self.call(request, body))
            .await
            .unwrap_or_else(|_| Err(format!("no reply within {POST_TIME:?}")))
    }

    /// `request` with `body` sent; the answer's head, or why none came.
    async fn call(
        &self,
        request: http::request::Builder,
        body: Bytes,
    ) -> Result<http::Response<hyper::body::Incoming>, String> {
        let request = request
            .body(Full::new(body))
            .map_err(|error| error.to_string())?;
        self.http
            .request(request)
            .await
            .map_err(|error| describe(&error))
    }

    /// A request to `path` below the Runtime API's base path.
    fn request(&self, method: http::Method, path: &str) -> http::request::Builder {
        http::Request::builder()
            .method(method)
            .uri(format!("{}{BASE_PATH}{path}", self.origin))
            .header(
                USER_AGENT,
                HeaderValue::from_static(crate::http::USER_AGENT),
            )
    }

    /// Whether the answer of `request_id` can be posted: the `http` crate
    /// takes no URI over 65,534 bytes, and an invocation that could be run
    /// but never answered is refused before it is run.
    fn can_answer(&self, request_id: &str) -> bool {
        // The builder keeps a URI it cannot take as its error.
        self.post(request_id, "response", None).uri_ref().is_some()
    }

    /// The `/response` or `/error` post of `request_id` (a checked path segment).
    fn post(
        &self,
        request_id: &str,
        what: &str,
        invocation_id: Option<&HeaderValue>,
    ) -> http::request::Builder {
        let request = self.request(
            http::Method::POST,
            &format!("/invocation/{request_id}/{what}"),
        );
        match invocation_id {
            Some(id) => request.header(INVOCATION_ID, id.clone()),
            None => request,
        }
    }
}

/// `request` carrying `error`: its JSON, and its `errorType` as a header.
fn error_post(
    request: http::request::Builder,
    error: &LambdaError,
) -> (http::request::Builder, Bytes) {
    let json = serde_json::to_vec(error).expect("an error serialises");
    let mut request = request.header(CONTENT_TYPE, "application/json");
    // A task's own `errorType` may hold what a header cannot: the body
    // still carries it.
    if let Ok(error_type) = HeaderValue::from_str(&error.error_type) {
        request = request.header(FUNCTION_ERROR_TYPE, error_type);
    }
    (request, Bytes::from(json))
}

/// Opens the client's connections: the adopted one first, if there is
/// one, then new ones.
#[derive(Clone, Debug)]
struct Connector {
    adopted: Arc<Mutex<Option<std::net::TcpStream>>>,
    http: HttpConnector,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Connecting =
    Pin<Box<dyn Future<Output = Result<TokioIo<tokio::net::TcpStream>, BoxError>> + Send>>;

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(context).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Connecting {
        let adopted = self
            .adopted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .and_then(|connection| {
                connection.set_nonblocking(true).ok()?;
                tokio::net::TcpStream::from_std(connection).ok()
            });
        if let Some(connection) = adopted {
            return Box::pin(std::future::ready(Ok(TokioIo::new(connection))));
        }
        let connecting = self.http.call(uri);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}

/// When the payload of an invocation due at `deadline_ms` must have
/// arrived: when the function must answer it
/// ([`crate::handler::instant_of_epoch_ms`]), yet at least
/// [`DEADLINE_MARGIN`] from now, so that an invocation already late is
/// still read (and the function answers its `Timeout`).
///
/// Never later than [`LONGEST_TIMEOUT`] from now: a deadline past it is not
/// one Lambda sets, and a payload that stops arriving must not hold its
/// worker until then.
fn arrival_deadline(deadline_ms: u64) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    crate::handler::instant_of_epoch_ms(deadline_ms)
        .clamp(now + DEADLINE_MARGIN, now + LONGEST_TIMEOUT)
}

/// Lambda's longest function timeout, 15 minutes.
const LONGEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// An error and its causes, as one line.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    crate::http::with_causes(error.to_string(), error)
}

/// A header's value, if it is visible ASCII and not empty.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// Whether `id` can stand in a path as it is: a request id must not be
/// able to address another path of the Runtime API.
fn is_path_segment(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
        && id != "."
        && id != ".."
}

/// The payload whose head came with `headers`, with the room it holds
/// among those arriving at once: read once `in_flight` has room for it (by
/// its `Content-Length`, or the most, when it has none), whole by
/// `deadline` and before `stop`.
async fn read_in_time(
    headers: &HeaderMap,
    body: hyper::body::Incoming,
    deadline: tokio::time::Instant,
    mut stop: Pin<&mut impl Future<Output = ()>>,
    in_flight: &InFlight,
) -> Result<(Bytes, Held), Error> {
    let length = announced_length(headers)?;
    let arriving = in_flight
        .wait(Waiting::Arriving, length, deadline, stop.as_mut())
        .await?;
    let bytes = tokio::select! {
        biased;
        bytes = read_capped(body) => bytes,
        () = tokio::time::sleep_until(deadline) => Err(Error::invalid_event(
            "the event did not arrive whole before the invocation's deadline"
        )),
        () = stop => Err(Error::invalid_event(
            "the event had not arrived whole when the function was shut down"
        )),
    };
    Ok((bytes?, arriving))
}

/// The payload's `Content-Length`, [`MAX_PAYLOAD_BYTES`] when it has none;
/// a payload announced larger is refused.
fn announced_length(headers: &HeaderMap) -> Result<usize, Error> {
    let announced = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match announced {
        Some(length) if length > MAX_PAYLOAD_BYTES as u64 => Err(over_the_most()),
        Some(length) => Ok(length as usize),
        None => Ok(MAX_PAYLOAD_BYTES),
    }
}

fn over_the_most() -> Error {
    Error::invalid_event(format!("the event is over {MAX_PAYLOAD_BYTES} bytes"))
}

/// The payload, read up to [`MAX_PAYLOAD_BYTES`]: refused as soon as more
/// arrives.
async fn read_capped(body: hyper::body::Incoming) -> Result<Bytes, Error> {
    match Limited::new(body, MAX_PAYLOAD_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(over_the_most()),
        Err(error) => Err(Error::invalid_event(format!(
            "the event could not be read: {}",
            describe(error.as_ref())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    static UNSHARED: InFlight = InFlight::unshared();

    #[test]
    fn a_request_id_that_could_address_another_path_is_not_used() {
        assert!(is_path_segment("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
        for id in ["", "..", "a/b", "a?b", "a%2Fb", "a b"] {
            assert!(!is_path_segment(id), "{id:?}");
        }
    }

    /// Answers the one `/next` that `listener`'s first connection sends
    /// with `answer`, then holds the connection open for `held`.
    async fn answer_once(listener: &tokio::net::TcpListener, answer: &[u8], held: Duration) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut connection, _) = listener.accept().await.unwrap();
        let mut head = [0u8; 1024];
        let _ = connection.read(&mut head).await.unwrap();
        connection.write_all(answer).await.unwrap();
        tokio::time::sleep(held).await;
    }

    fn epoch_ms_in(ahead: Duration) -> u128 {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        (now.unwrap() + ahead).as_millis()
    }

    /// A whole payload that had no room to arrive in: `Timeout`, not sent,
    /// not `InvalidEvent` (it was told "did not arrive whole").
    #[tokio::test]
    async fn a_payload_without_room_to_arrive_in_is_a_timeout_not_sent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Endpoint::parse(&listener.local_addr().unwrap().to_string()).unwrap();
        let api = RuntimeApi::new(&endpoint).unwrap();
        let in_flight = InFlight::shared(128);
        let _all = in_flight.arriving(usize::MAX).await;
        let answer = format!(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: crowded-1\r\n\
             Lambda-Runtime-Deadline-Ms: {}\r\nContent-Length: 2\r\n\r\n{{}}",
            epoch_ms_in(DEADLINE_MARGIN + Duration::from_millis(300))
        );
        let (next, ()) = tokio::join!(
            api.next_until(std::future::pending(), &in_flight),
            answer_once(&listener, answer.as_bytes(), Duration::from_secs(1))
        );
        let next = next.expect("an answer came").expect("an invocation");
        let error = next.payload.expect_err("no room for the payload");
        assert_eq!((error.error_type(), error.sent()), ("Timeout", Some(false)));
        assert!(
            error
                .to_string()
                .contains("(2 bytes) waited for memory until its deadline"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_request_id_too_long_for_the_answers_uri_is_refused_before_it_is_run() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Endpoint::parse(&listener.local_addr().unwrap().to_string()).unwrap();
        let deadline_ms = epoch_ms_in(Duration::from_secs(60));
        for (id, usable) in [("a".repeat(60_000), true), ("a".repeat(70_000), false)] {
            let api = RuntimeApi::new(&endpoint).unwrap();
            let answer = format!(
                "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\nContent-Length: 2\r\n\r\n{{}}"
            );
            let (next, ()) = tokio::join!(
                api.next_until(std::future::pending(), &UNSHARED),
                // Held open until the client has read the answer.
                answer_once(&listener, answer.as_bytes(), Duration::from_millis(200))
            );
            match next.expect("an answer came") {
                Ok(next) => assert!(usable, "{} characters handed out", next.request_id.len()),
                Err(NextError::NoRequestId) => assert!(!usable, "{} characters refused", id.len()),
                Err(other) => panic!("{other}"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_payload_that_stops_arriving_is_not_waited_for_past_lambdas_longest_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Endpoint::parse(&listener.local_addr().unwrap().to_string()).unwrap();
        let api = RuntimeApi::new(&endpoint).unwrap();
        let a_day = Duration::from_secs(24 * 3600);
        let answer = format!(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: stall-1\r\n\
             Lambda-Runtime-Deadline-Ms: {}\r\nContent-Length: 100\r\n\r\n{{\"",
            epoch_ms_in(a_day)
        );
        let started = tokio::time::Instant::now();
        let next = tokio::select! {
            next = api.next_until(std::future::pending(), &UNSHARED) => next,
            () = answer_once(&listener, answer.as_bytes(), a_day) => panic!("held for a day"),
        };
        let waited = started.elapsed();
        let next = next.expect("an answer came").expect("an invocation");
        assert!(next.payload.is_err());
        assert!(
            (LONGEST_TIMEOUT..LONGEST_TIMEOUT + Duration::from_secs(1)).contains(&waited),
            "waited {waited:?} for the rest of the payload"
        );
    }

    #[tokio::test]
    async fn the_invocation_id_goes_back_as_it_came() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Endpoint::parse(&listener.local_addr().unwrap().to_string()).unwrap();
        let api = RuntimeApi::new(&endpoint).unwrap();
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\n\
             Lambda-Runtime-Deadline-Ms: {}\r\nContent-Length: 2\r\n",
            epoch_ms_in(Duration::from_secs(60))
        )
        .into_bytes();
        answer.extend_from_slice(b"Lambda-Runtime-Invocation-Id: abc\xe9def\r\n\r\n{}");
        let (next, ()) = tokio::join!(
            api.next_until(std::future::pending(), &UNSHARED),
            answer_once(&listener, &answer, Duration::from_millis(200))
        );
        let next = next.expect("an answer came").expect("an invocation");
        let post = api.post(&next.request_id, "response", next.invocation_id.as_ref());
        let sent = post.headers_ref().unwrap().get(INVOCATION_ID);
        assert_eq!(sent.map(HeaderValue::as_bytes), Some(&b"abc\xe9def"[..]));
    }
}
