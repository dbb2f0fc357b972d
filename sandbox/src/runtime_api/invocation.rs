//! One invocation: what a test queues ([`Invoke`]), the handle it waits on
//! ([`Pending`]) and what it gets back ([`Invocation`], [`Outcome`],
//! [`InvokeError`], [`InitError`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::server::Counts;
use super::state::{Answer, Shared};

/// One invocation to queue: the event plus what else Lambda would send.
///
/// `serde_json::Value` converts into it, so `runtime.invoke(json!({...}), t)`
/// works; the builder methods set the rest.
#[derive(Clone, Debug)]
pub struct Invoke {
    pub(super) payload: Payload,
    pub(super) omitted_headers: Vec<&'static str>,
    pub(super) function_timeout: Option<Duration>,
    pub(super) client_context: Option<Value>,
    pub(super) cognito_identity: Option<Value>,
    pub(super) trace_id: Option<String>,
    pub(super) tenant_id: Option<String>,
}

impl Invoke {
    /// An invocation with `payload` as its event.
    pub fn new(payload: Value) -> Self {
        Self::with_payload(Payload::Json(payload))
    }

    /// An invocation whose event is `bytes` exactly as given: JSON or not,
    /// UTF-8 or not, so a test can send what Lambda would never build
    /// (trailing bytes, invalid UTF-8, deep nesting).
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Self {
        Self::with_payload(Payload::Raw(bytes.into()))
    }

    fn with_payload(payload: Payload) -> Self {
        Invoke {
            payload,
            omitted_headers: Vec::new(),
            function_timeout: None,
            client_context: None,
            cognito_identity: None,
            trace_id: None,
            tenant_id: None,
        }
    }

    /// Hands the invocation out without the header `name` (one of
    /// [`header`](super::header)), as a broken Runtime API might: a test of
    /// how the function survives it.
    pub fn without_header(mut self, name: &'static str) -> Self {
        self.omitted_headers.push(name);
        self
    }

    /// The function timeout for this invocation: the deadline is the moment
    /// `/next` hands it out plus this. Default: the emulator's
    /// ([`RuntimeApiBuilder::function_timeout`](super::RuntimeApiBuilder::function_timeout)).
    pub fn function_timeout(mut self, timeout: Duration) -> Self {
        self.function_timeout = Some(timeout);
        self
    }

    /// Sends `Lambda-Runtime-Client-Context` (the JSON of `value`).
    pub fn client_context(mut self, value: Value) -> Self {
        self.client_context = Some(value);
        self
    }

    /// Sends `Lambda-Runtime-Cognito-Identity` (the JSON of `value`).
    pub fn cognito_identity(mut self, value: Value) -> Self {
        self.cognito_identity = Some(value);
        self
    }

    /// Sends this `Lambda-Runtime-Trace-Id` instead of a generated one.
    ///
    /// # Panics
    /// If `trace_id` is not visible ASCII (it could not be a header).
    pub fn trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(header_text("trace id", trace_id.into()));
        self
    }

    /// Sends `Lambda-Runtime-Aws-Tenant-Id`.
    ///
    /// # Panics
    /// If `tenant_id` is not visible ASCII (it could not be a header).
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(header_text("tenant id", tenant_id.into()));
        self
    }
}

/// The event as the emulator sends it.
#[derive(Clone, Debug)]
pub(super) enum Payload {
    /// Serialised by the emulator.
    Json(Value),
    /// Sent as is.
    Raw(Vec<u8>),
}

impl Payload {
    /// The body of the `/next` answer.
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        match self {
            Payload::Json(value) => serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()),
            Payload::Raw(bytes) => bytes.clone(),
        }
    }
}

impl From<Value> for Invoke {
    fn from(payload: Value) -> Self {
        Invoke::new(payload)
    }
}

/// How an invocation ended, as Lambda would tell its caller.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The function posted `/response` with this JSON body.
    Response(Value),
    /// The function posted `/error` with this `errorType` and `errorMessage`
    /// (the whole body is in [`Invocation::body`]).
    Error {
        /// `errorType` of the error body.
        error_type: String,
        /// `errorMessage` of the error body.
        error_message: String,
    },
}

/// A finished invocation: the outcome plus what the function sent with it.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The request id Lambda assigned (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// The response or the error.
    pub outcome: Outcome,
    /// The raw body the function posted (lossy UTF-8).
    pub body: String,
    /// `Lambda-Runtime-Function-Error-Type` of an `/error` post
    /// (`lambda_runtime` sends `unhandled`).
    pub error_type_header: Option<String>,
    /// The deadline the function was given, Unix epoch milliseconds.
    pub deadline_ms: u64,
    /// Whether the answer came after that deadline (Lambda would have
    /// reported a timeout instead).
    pub past_deadline: bool,
    /// Whether the function echoed `Lambda-Runtime-Invocation-Id`
    /// (a mismatching echo is refused with 410 and never gets here).
    pub echoed_invocation_id: bool,
    /// When the emulator handed the invocation out in a `/next` answer: for
    /// a process's first invocation, the end of its init phase (Lambda's
    /// Init Duration runs from the start of the process to here).
    pub delivered_at: std::time::Instant,
    /// When the emulator had read the whole `/response` or `/error` body:
    /// the end of the function's work, before the emulator decodes it (a
    /// benchmark's clock stops here, so a large result's decoding is not
    /// counted as the function's time).
    pub answered_at: std::time::Instant,
}

impl Invocation {
    /// The response body, or a test failure that shows the error instead.
    #[track_caller]
    pub fn expect_response(self) -> Value {
        match self.outcome {
            Outcome::Response(value) => value,
            Outcome::Error {
                error_type,
                error_message,
            } => panic!(
                "invocation {} failed with {error_type}: {error_message} (expected a response)",
                self.request_id
            ),
        }
    }

    /// `(errorType, errorMessage)`, or a test failure that shows the
    /// response instead.
    #[track_caller]
    pub fn expect_error(self) -> (String, String) {
        match self.outcome {
            Outcome::Error {
                error_type,
                error_message,
            } => (error_type, error_message),
            Outcome::Response(value) => panic!(
                "invocation {} answered {value} (expected an error)",
                self.request_id
            ),
        }
    }

    /// Whether the function reported an error.
    pub fn is_error(&self) -> bool {
        matches!(self.outcome, Outcome::Error { .. })
    }
}

/// Why no [`Invocation`] could be had.
#[derive(Clone, Debug)]
pub enum InvokeError {
    /// No answer within the timeout.
    TimedOut {
        /// The invocation's request id.
        request_id: String,
        /// How long the test waited.
        timeout: Duration,
        /// Whether the function had taken it with `/next`.
        picked_up: bool,
        /// What the emulator saw when the wait ended.
        counts: Counts,
    },
    /// The function posted an answer that is not what the protocol says:
    /// a `/response` body that is not JSON, or an `/error` body without
    /// string `errorType` and `errorMessage`.
    MalformedAnswer {
        /// The invocation's request id.
        request_id: String,
        /// What is wrong.
        problem: String,
        /// The body as posted (lossy UTF-8, cut to 2,000 characters).
        body: String,
    },
    /// The function reported an initialization error while the test waited.
    InitFailed {
        /// The invocation's request id.
        request_id: String,
        /// The reported error.
        error: InitError,
    },
    /// The emulator stopped before the invocation ended.
    Stopped {
        /// The invocation's request id.
        request_id: String,
    },
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvokeError::TimedOut {
                request_id,
                timeout,
                picked_up: true,
                counts,
            } => write!(
                f,
                "the function took invocation {request_id} from /next but posted no \
                 /response or /error within {timeout:?} (emulator: {counts})"
            ),
            InvokeError::TimedOut {
                request_id,
                timeout,
                picked_up: false,
                counts,
            } => write!(
                f,
                "the function did not take invocation {request_id} from /next within \
                 {timeout:?} (emulator: {counts}); is it running and pointed at this \
                 emulator? Its stderr tells"
            ),
            InvokeError::MalformedAnswer {
                request_id,
                problem,
                body,
            } => write!(f, "invocation {request_id}: {problem}; body: {body}"),
            InvokeError::InitFailed { request_id, error } => write!(
                f,
                "the function reported an init error while invocation {request_id} waited: {}: {}",
                error.error_type, error.error_message
            ),
            InvokeError::Stopped { request_id } => {
                write!(
                    f,
                    "the emulator stopped before invocation {request_id} ended"
                )
            }
        }
    }
}

impl std::error::Error for InvokeError {}

/// An initialization error posted to `/runtime/init/error`.
#[derive(Clone, Debug, PartialEq)]
pub struct InitError {
    /// The `Lambda-Runtime-Function-Error-Type` header.
    pub error_type_header: Option<String>,
    /// `errorType` of the body (empty if absent).
    pub error_type: String,
    /// `errorMessage` of the body (empty if absent).
    pub error_message: String,
    /// The raw body (lossy UTF-8).
    pub body: String,
}

/// An invocation queued with [`RuntimeApi::submit`](super::RuntimeApi::submit).
#[derive(Debug)]
pub struct Pending {
    pub(super) shared: Arc<Shared>,
    pub(super) request_id: String,
    pub(super) receiver: oneshot::Receiver<Answer>,
    pub(super) init_errors_before: usize,
}

impl Pending {
    /// The request id the function will see.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Awaits the function's answer, at most `timeout`. When the wait ends
    /// without one, the invocation is withdrawn: a queued one is never
    /// handed out, and a late answer is refused with 410 Gone.
    pub async fn wait(self, timeout: Duration) -> Result<Invocation, InvokeError> {
        self.wait_until(Instant::now() + timeout, timeout).await
    }

    pub(super) async fn wait_until(
        mut self,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Invocation, InvokeError> {
        let mut counts = self.shared.counts.subscribe();
        let mut stopped = self.shared.stopped.subscribe();
        let before = self.init_errors_before;
        let init_failed = counts.wait_for(move |c| c.init_errors > before);
        let result = tokio::select! {
            answer = &mut self.receiver => Some(answer.ok()),
            _ = stopped.wait_for(|stopped| *stopped) => Some(None),
            _ = tokio::time::sleep_until(deadline) => None,
            _ = init_failed => None,
        };
        let request_id = self.request_id.clone();
        match result {
            Some(Some(answer)) => answer.into_invocation(request_id),
            Some(None) => Err(InvokeError::Stopped { request_id }),
            None => {
                let picked_up = self.shared.withdraw(&request_id);
                // The answer may have arrived while the wait ended.
                if let Ok(answer) = self.receiver.try_recv() {
                    return answer.into_invocation(request_id);
                }
                let inner = self.shared.lock();
                if let Some(error) = inner.init_errors.get(before) {
                    return Err(InvokeError::InitFailed {
                        request_id,
                        error: error.clone(),
                    });
                }
                Err(InvokeError::TimedOut {
                    request_id,
                    timeout,
                    picked_up,
                    counts: inner.counts(),
                })
            }
        }
    }
}

/// `text` if it can be a header value (visible ASCII or tab); a test
/// failure naming `what` otherwise.
#[track_caller]
fn header_text(what: &str, text: String) -> String {
    assert!(
        text.bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)),
        "the {what} {text:?} cannot be a header value: use visible ASCII"
    );
    text
}
