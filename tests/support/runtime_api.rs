//! An in-process emulator of the AWS Lambda Runtime API, and a helper that
//! runs a compiled function binary against it: end-to-end tests speak the
//! real protocol, over loopback, without the cloud or Docker.
//!
//! # What it emulates
//!
//! [`RuntimeApi`] serves the Runtime API (version `2018-06-01`) on
//! `127.0.0.1:<free port>`, as the Lambda service does inside an execution
//! environment (docs: "Using the Lambda runtime API for custom runtimes"):
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /2018-06-01/runtime/invocation/next` | long-polls until an invocation is queued, then `200` with the event as body and the headers below |
//! | `POST /2018-06-01/runtime/invocation/{id}/response` | `202 {"status":"OK"}`; the body is the function's result |
//! | `POST /2018-06-01/runtime/invocation/{id}/error` | `202 {"status":"OK"}`; the body is `{"errorType", "errorMessage", ...}` |
//! | `POST /2018-06-01/runtime/init/error` | `202` before the first `/next`, `403 InvalidStateTransition` after it |
//!
//! `/next` answers carry `Lambda-Runtime-Aws-Request-Id`,
//! `Lambda-Runtime-Deadline-Ms` (Unix epoch milliseconds: delivery time plus
//! the function timeout), `Lambda-Runtime-Invoked-Function-Arn`,
//! `Lambda-Runtime-Trace-Id` (always, like Lambda), `Lambda-Runtime-Invocation-Id`
//! (the per-invocation nonce that current runtimes echo back on
//! `/response` and `/error`), and, when the test sets them,
//! `Lambda-Runtime-Client-Context`, `Lambda-Runtime-Cognito-Identity` and
//! `Lambda-Runtime-Aws-Tenant-Id`.
//!
//! Answers the function should never get, as the real service gives them
//! (the status codes are Lambda's; the JSON bodies are ours):
//!
//! | case | status |
//! | --- | --- |
//! | unknown request id, or one not yet handed out by `/next` | `400 InvalidRequestID` |
//! | a second `/response` or `/error` for the same invocation | `403 InvalidStateTransition` |
//! | an answer after the test stopped waiting for it (its timeout), or with a `Lambda-Runtime-Invocation-Id` that is not the invocation's | `410 Gone` |
//! | a `/response` body over 6 MiB (6,291,456 bytes) | `413 RequestEntityTooLarge`, and the invocation fails with `Function.ResponseSizeTooLarge` |
//! | any other path or method | `404` / `405` |
//!
//! Every such refusal is recorded ([`RuntimeApi::rejected`]) so a test can
//! assert that the function spoke the protocol cleanly. Several `/next` polls
//! may wait at once and several invocations may be in flight at once, as on
//! Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY` > 1).
//!
//! Not emulated: response streaming, SnapStart (`/restore/*`), extensions and
//! the Telemetry API; Lambda's own enforcement of the deadline (the function
//! is not frozen or killed: a late answer is accepted and flagged with
//! [`Invocation::past_deadline`]).
//!
//! # Waiting is always bounded
//!
//! Every wait takes a timeout and ends in a test failure that says what was
//! awaited and what the emulator saw (`/next` polls outstanding, invocations
//! queued and in flight), never in a hang. Nothing the function sends can
//! make the emulator panic: bad requests get the error answers above.
//!
//! # Example
//!
//! ```ignore
//! mod support;
//! use std::time::Duration;
//! use support::runtime_api::{Function, RuntimeApi};
//!
//! #[tokio::test]
//! async fn echoes_fifty_events() {
//!     let runtime = RuntimeApi::start().await;
//!     let mut function = Function::builder(env!("CARGO_BIN_EXE_bootstrap"), &runtime)
//!         .env("API_HOST", "http://127.0.0.1:9999")
//!         .secret_env("API_OAUTH_CONSUMER_SECRET", "s3cr3t")
//!         .spawn();
//!     for n in 0..50 {
//!         let result = runtime
//!             .invoke(serde_json::json!({"n": n}), Duration::from_secs(10))
//!             .await
//!             .expect_response();
//!         assert_eq!(result["ok"], true);
//!     }
//!     runtime.assert_no_rejections();
//!     function.stop();
//!     function.assert_no_secret_in_output();
//! }
//! ```
//!
//! Declare the [`Function`] after the [`RuntimeApi`], so that it is dropped
//! (killed) first: a function whose Runtime API vanished may retry `/next`
//! in a tight loop.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;

/// The Runtime API version prefix every path starts with.
pub const API_PREFIX: &str = "/2018-06-01/runtime";

/// Largest buffered `/response` body Lambda accepts (6 MiB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// Largest `/error` or `/init/error` body the emulator reads.
const MAX_ERROR_BYTES: usize = 1024 * 1024;

/// Function name used by default for the ARN and the function's environment.
pub const DEFAULT_FUNCTION_NAME: &str = "exh-task";

/// Region used by default for the ARN and `AWS_REGION`.
pub const DEFAULT_REGION: &str = "eu-west-1";

/// Account id in the default function ARN.
const ACCOUNT_ID: &str = "123456789012";

/// Function timeout used by default to compute `Lambda-Runtime-Deadline-Ms`.
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Header names of the Runtime API, as they travel on the wire.
pub mod header {
    /// `/next`: the request id; also the `{id}` of `/response` and `/error`.
    pub const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
    /// `/next`: the deadline, Unix epoch milliseconds.
    pub const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
    /// `/next`: the ARN of the invoked function, version or alias.
    pub const INVOKED_FUNCTION_ARN: &str = "lambda-runtime-invoked-function-arn";
    /// `/next`: the X-Ray tracing header.
    pub const TRACE_ID: &str = "lambda-runtime-trace-id";
    /// `/next`: client context of AWS Mobile SDK invocations (JSON).
    pub const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
    /// `/next`: Cognito identity of AWS Mobile SDK invocations (JSON).
    pub const COGNITO_IDENTITY: &str = "lambda-runtime-cognito-identity";
    /// `/next`: tenant id of tenant-isolated functions.
    pub const TENANT_ID: &str = "lambda-runtime-aws-tenant-id";
    /// `/next`, echoed on `/response` and `/error`: per-invocation nonce
    /// that lets the service reject stale answers (410 Gone).
    pub const INVOCATION_ID: &str = "lambda-runtime-invocation-id";
    /// `/error` and `/init/error`: the error category (`lambda_runtime`
    /// sends `unhandled` and `Runtime.InitError`).
    pub const FUNCTION_ERROR_TYPE: &str = "lambda-runtime-function-error-type";
}

// ------------------------------------------------------------------------
// Public types: what a test submits and what it gets back
// ------------------------------------------------------------------------

/// One invocation to queue: the event plus what else Lambda would send.
///
/// `serde_json::Value` converts into it, so `runtime.invoke(json!({...}), t)`
/// works; the builder methods set the rest.
#[derive(Clone, Debug)]
pub struct Invoke {
    payload: Value,
    function_timeout: Option<Duration>,
    client_context: Option<Value>,
    cognito_identity: Option<Value>,
    trace_id: Option<String>,
    tenant_id: Option<String>,
}

impl Invoke {
    /// An invocation with `payload` as its event.
    pub fn new(payload: Value) -> Self {
        Invoke {
            payload,
            function_timeout: None,
            client_context: None,
            cognito_identity: None,
            trace_id: None,
            tenant_id: None,
        }
    }

    /// The function timeout for this invocation: the deadline is the moment
    /// `/next` hands it out plus this. Default: the emulator's
    /// ([`RuntimeApiBuilder::function_timeout`]).
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

/// A request the emulator refused (see the module docs for which and how).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The request method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The status the emulator answered.
    pub status: u16,
    /// The `errorType` of the answer.
    pub error_type: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} -> {} {}: {}",
            self.method, self.path, self.status, self.error_type, self.reason
        )
    }
}

/// A snapshot of the emulator's bookkeeping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Invocations queued, not yet handed out by `/next`.
    pub queued: usize,
    /// `/next` requests waiting for an invocation right now.
    pub polling: usize,
    /// Invocations handed out and not yet answered.
    pub in_flight: usize,
    /// The most invocations that were in flight at one time.
    pub max_in_flight: usize,
    /// Invocations handed out by `/next` so far.
    pub delivered: usize,
    /// Invocations answered (`/response` or `/error`) so far.
    pub answered: usize,
    /// `/init/error` posts accepted so far.
    pub init_errors: usize,
    /// Requests refused so far.
    pub rejected: usize,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} queued, {} /next polls waiting, {} in flight (at most {}), \
             {} delivered, {} answered, {} init errors, {} requests refused",
            self.queued,
            self.polling,
            self.in_flight,
            self.max_in_flight,
            self.delivered,
            self.answered,
            self.init_errors,
            self.rejected
        )
    }
}

// ------------------------------------------------------------------------
// The emulator
// ------------------------------------------------------------------------

/// Configures a [`RuntimeApi`] before it starts.
#[derive(Clone, Debug)]
pub struct RuntimeApiBuilder {
    function_name: String,
    region: String,
    function_timeout: Duration,
}

impl RuntimeApiBuilder {
    /// The function name in `Lambda-Runtime-Invoked-Function-Arn` (and the
    /// default `AWS_LAMBDA_FUNCTION_NAME` of [`Function`]). Default
    /// [`DEFAULT_FUNCTION_NAME`].
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = name.into();
        self
    }

    /// The region in the ARN (and the default `AWS_REGION` of
    /// [`Function`]). Default [`DEFAULT_REGION`].
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The function timeout from which deadlines are computed.
    /// Default [`DEFAULT_FUNCTION_TIMEOUT`].
    pub fn function_timeout(mut self, timeout: Duration) -> Self {
        self.function_timeout = timeout;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving on the current tokio runtime.
    ///
    /// # Panics
    /// If no loopback port can be bound (the test cannot run at all).
    pub async fn start(self) -> RuntimeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the Runtime API emulator could not bind 127.0.0.1:0");
        let address = listener
            .local_addr()
            .expect("the Runtime API emulator's listener has no address");
        let (counts, _) = watch::channel(Counts::default());
        let (stopped, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            function_arn: format!(
                "arn:aws:lambda:{}:{ACCOUNT_ID}:function:{}",
                self.region, self.function_name
            ),
            function_timeout: self.function_timeout,
            seed: id_seed(address),
            inner: Mutex::new(Inner::default()),
            queued: Notify::new(),
            counts,
            stopped,
        });
        let mut stop = shared.stopped.subscribe();
        let app = router(shared.clone());
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            // An error here means the listener failed; the tests then see
            // their invocations time out with the counts that explain it.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        RuntimeApi {
            address,
            shared,
            config: self,
        }
    }
}

/// The Lambda Runtime API emulator. Stops serving when dropped.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    config: RuntimeApiBuilder,
}

impl fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("address", &self.address)
            .field("counts", &self.counts())
            .finish()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Ends waiting `/next` polls and lets the server shut down.
        self.shared.stopped.send_replace(true);
    }
}

impl RuntimeApi {
    /// Starts an emulator with the defaults (see [`RuntimeApiBuilder`]).
    pub async fn start() -> RuntimeApi {
        Self::builder().start().await
    }

    /// A builder to change the defaults before starting.
    pub fn builder() -> RuntimeApiBuilder {
        RuntimeApiBuilder {
            function_name: DEFAULT_FUNCTION_NAME.to_owned(),
            region: DEFAULT_REGION.to_owned(),
            function_timeout: DEFAULT_FUNCTION_TIMEOUT,
        }
    }

    /// The address served, e.g. `127.0.0.1:41234`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API` (`127.0.0.1:PORT`, no scheme).
    pub fn runtime_api_env(&self) -> String {
        self.address.to_string()
    }

    /// `http://127.0.0.1:PORT/2018-06-01/runtime`, for tests that play the
    /// function themselves.
    pub fn base_url(&self) -> String {
        format!("http://{}{API_PREFIX}", self.address)
    }

    /// The function name the emulator was configured with.
    pub fn function_name(&self) -> &str {
        &self.config.function_name
    }

    /// The region the emulator was configured with.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// The ARN sent as `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self) -> &str {
        &self.shared.function_arn
    }

    /// Queues an invocation and returns at once; [`Pending::wait`] awaits
    /// its answer. Queue several to have several in flight.
    pub fn submit(&self, invoke: impl Into<Invoke>) -> Pending {
        let invoke = invoke.into();
        let (answer, receiver) = oneshot::channel();
        let mut inner = self.shared.lock();
        inner.sequence += 1;
        let sequence = inner.sequence;
        let request_id = uuid_like(self.shared.seed, sequence, 0x4000);
        let invocation_id = uuid_like(self.shared.seed ^ 0x5a5a_5a5a, sequence, 0x4001);
        inner.queue.push_back(Queued {
            request_id: request_id.clone(),
            invocation_id,
            invoke,
            answer,
        });
        let init_errors_before = inner.init_errors.len();
        self.shared.publish(&inner);
        drop(inner);
        self.shared.queued.notify_one();
        Pending {
            shared: self.shared.clone(),
            request_id,
            receiver,
            init_errors_before,
        }
    }

    /// Queues an invocation and awaits its answer, at most `timeout`.
    pub async fn try_invoke(
        &self,
        invoke: impl Into<Invoke>,
        timeout: Duration,
    ) -> Result<Invocation, InvokeError> {
        self.submit(invoke).wait(timeout).await
    }

    /// Queues an invocation and awaits its answer; if none comes within
    /// `timeout` (or it is malformed), the test fails with a message that
    /// says why.
    #[track_caller]
    pub fn invoke(
        &self,
        invoke: impl Into<Invoke>,
        timeout: Duration,
    ) -> impl std::future::Future<Output = Invocation> + '_ {
        let caller = std::panic::Location::caller();
        let pending = self.submit(invoke);
        async move {
            match pending.wait(timeout).await {
                Ok(invocation) => invocation,
                Err(error) => panic!("{error} (invoked at {caller})"),
            }
        }
    }

    /// Queues every event at once (so a concurrent function can take
    /// several together) and awaits all answers, in the order given, within
    /// one overall `timeout`.
    #[track_caller]
    pub fn invoke_all<I>(
        &self,
        events: I,
        timeout: Duration,
    ) -> impl std::future::Future<Output = Vec<Invocation>> + '_
    where
        I: IntoIterator,
        I::Item: Into<Invoke>,
    {
        let caller = std::panic::Location::caller();
        let pending: Vec<Pending> = events.into_iter().map(|e| self.submit(e)).collect();
        async move {
            let deadline = Instant::now() + timeout;
            let mut done = Vec::with_capacity(pending.len());
            for pending in pending {
                match pending.wait_until(deadline, timeout).await {
                    Ok(invocation) => done.push(invocation),
                    Err(error) => panic!("{error} (invoked at {caller})"),
                }
            }
            done
        }
    }

    /// The emulator's bookkeeping right now.
    pub fn counts(&self) -> Counts {
        *self.shared.counts.borrow()
    }

    /// `/next` requests waiting for an invocation right now.
    pub fn polls_outstanding(&self) -> usize {
        self.counts().polling
    }

    /// Waits until `condition` holds for the counts, at most `timeout`;
    /// on timeout the test fails with `what` and the last counts.
    #[track_caller]
    pub fn wait_until<'a>(
        &'a self,
        what: &'a str,
        timeout: Duration,
        condition: impl FnMut(&Counts) -> bool + 'a,
    ) -> impl std::future::Future<Output = Counts> + 'a {
        let caller = std::panic::Location::caller();
        wait_for_counts(&self.shared, what.to_owned(), timeout, condition, caller)
    }

    /// Waits until at least `n` `/next` polls are outstanding (e.g. `n` =
    /// `AWS_LAMBDA_MAX_CONCURRENCY` workers ready), at most `timeout`.
    #[track_caller]
    pub fn wait_for_polls(
        &self,
        n: usize,
        timeout: Duration,
    ) -> impl std::future::Future<Output = Counts> + '_ {
        let caller = std::panic::Location::caller();
        let what = format!("{n} outstanding /next polls");
        wait_for_counts(&self.shared, what, timeout, move |c| c.polling >= n, caller)
    }

    /// Init errors posted to `/runtime/init/error`, in order.
    pub fn init_errors(&self) -> Vec<InitError> {
        self.shared.lock().init_errors.clone()
    }

    /// The first init error posted, if any.
    pub fn init_error(&self) -> Option<InitError> {
        self.shared.lock().init_errors.first().cloned()
    }

    /// Waits for an init error, at most `timeout`; `None` if none came.
    pub async fn wait_for_init_error(&self, timeout: Duration) -> Option<InitError> {
        let mut counts = self.shared.counts.subscribe();
        let _ = tokio::time::timeout(timeout, counts.wait_for(|c| c.init_errors > 0)).await;
        self.init_error()
    }

    /// Requests the emulator refused, in order.
    pub fn rejected(&self) -> Vec<Rejected> {
        self.shared.lock().rejected.clone()
    }

    /// Fails the test if the emulator refused any request.
    #[track_caller]
    pub fn assert_no_rejections(&self) {
        let rejected = self.rejected();
        if !rejected.is_empty() {
            let list: Vec<String> = rejected.iter().map(ToString::to_string).collect();
            panic!(
                "the function sent {} request(s) the Runtime API refuses:\n  {}",
                list.len(),
                list.join("\n  ")
            );
        }
    }
}

/// Waits until `condition` holds for the published counts, at most
/// `timeout`; the test fails at `caller` otherwise.
async fn wait_for_counts(
    shared: &Shared,
    what: String,
    timeout: Duration,
    mut condition: impl FnMut(&Counts) -> bool,
    caller: &'static std::panic::Location<'static>,
) -> Counts {
    let mut counts = shared.counts.subscribe();
    let reached = tokio::time::timeout(timeout, counts.wait_for(|c| condition(c)))
        .await
        .map(|result| result.map(|now| *now));
    match reached {
        Ok(Ok(now)) => now,
        _ => panic!(
            "waited {timeout:?} for {what}, in vain (emulator: {}) at {caller}",
            *counts.borrow()
        ),
    }
}

/// An invocation queued with [`RuntimeApi::submit`].
#[derive(Debug)]
pub struct Pending {
    shared: Arc<Shared>,
    request_id: String,
    receiver: oneshot::Receiver<Answer>,
    init_errors_before: usize,
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

    async fn wait_until(
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

// ------------------------------------------------------------------------
// Emulator state
// ------------------------------------------------------------------------

struct Shared {
    function_arn: String,
    function_timeout: Duration,
    seed: u32,
    inner: Mutex<Inner>,
    /// Woken once per queued invocation.
    queued: Notify,
    /// Published after every change of `inner`.
    counts: watch::Sender<Counts>,
    /// Set when the [`RuntimeApi`] is dropped.
    stopped: watch::Sender<bool>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("function_arn", &self.function_arn)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    sequence: u64,
    queue: VecDeque<Queued>,
    in_flight: HashMap<String, Delivered>,
    closed: HashMap<String, Closed>,
    polling: usize,
    max_in_flight: usize,
    delivered: usize,
    answered: usize,
    next_seen: bool,
    init_errors: Vec<InitError>,
    rejected: Vec<Rejected>,
}

impl Inner {
    fn counts(&self) -> Counts {
        Counts {
            queued: self.queue.len(),
            polling: self.polling,
            in_flight: self.in_flight.len(),
            max_in_flight: self.max_in_flight,
            delivered: self.delivered,
            answered: self.answered,
            init_errors: self.init_errors.len(),
            rejected: self.rejected.len(),
        }
    }
}

struct Queued {
    request_id: String,
    invocation_id: String,
    invoke: Invoke,
    answer: oneshot::Sender<Answer>,
}

struct Delivered {
    invocation_id: String,
    deadline_ms: u64,
    answer: oneshot::Sender<Answer>,
}

/// Why an invocation is no longer in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closed {
    Answered,
    Withdrawn,
}

#[derive(Debug)]
enum AnswerKind {
    Response,
    Error,
    /// `/response` over [`MAX_RESPONSE_BYTES`].
    TooLarge(usize),
}

/// What the function posted, as the server hands it to the waiting test.
#[derive(Debug)]
struct Answer {
    kind: AnswerKind,
    body: Bytes,
    error_type_header: Option<String>,
    deadline_ms: u64,
    past_deadline: bool,
    echoed_invocation_id: bool,
}

impl Answer {
    fn into_invocation(self, request_id: String) -> Result<Invocation, InvokeError> {
        let body = String::from_utf8_lossy(&self.body).into_owned();
        let malformed = |problem: &str| InvokeError::MalformedAnswer {
            request_id: request_id.clone(),
            problem: problem.to_owned(),
            body: body.chars().take(2000).collect(),
        };
        let outcome = match self.kind {
            AnswerKind::Response => match serde_json::from_slice(&self.body) {
                Ok(value) => Outcome::Response(value),
                Err(e) => return Err(malformed(&format!("the /response body is not JSON ({e})"))),
            },
            AnswerKind::Error => match parse_error_body(&self.body) {
                Some((error_type, error_message)) => Outcome::Error {
                    error_type,
                    error_message,
                },
                None => {
                    return Err(malformed(
                        "the /error body is not JSON with string errorType and errorMessage",
                    ))
                }
            },
            AnswerKind::TooLarge(size) => Outcome::Error {
                error_type: "Function.ResponseSizeTooLarge".to_owned(),
                error_message: format!(
                    "Response payload size ({size} bytes) exceeded maximum allowed payload \
                     size ({MAX_RESPONSE_BYTES} bytes)."
                ),
            },
        };
        Ok(Invocation {
            request_id,
            outcome,
            body,
            error_type_header: self.error_type_header,
            deadline_ms: self.deadline_ms,
            past_deadline: self.past_deadline,
            echoed_invocation_id: self.echoed_invocation_id,
        })
    }
}

impl Shared {
    /// Locks the state; a test that panicked elsewhere must not make the
    /// server panic too, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publish(&self, inner: &Inner) {
        self.counts.send_replace(inner.counts());
    }

    fn reject(
        &self,
        inner: &mut Inner,
        method: &str,
        path: &str,
        status: StatusCode,
        error_type: &str,
        reason: String,
    ) -> Response {
        inner.rejected.push(Rejected {
            method: method.to_owned(),
            path: path.to_owned(),
            status: status.as_u16(),
            error_type: error_type.to_owned(),
            reason: reason.clone(),
        });
        self.publish(inner);
        api_error(status, error_type, &reason)
    }

    /// Hands the oldest queued invocation to a `/next` poll, if any.
    fn try_deliver(&self, poll: &mut PollGuard) -> Option<Response> {
        let mut inner = self.lock();
        let queued = inner.queue.pop_front()?;
        let function_timeout = queued
            .invoke
            .function_timeout
            .unwrap_or(self.function_timeout);
        let deadline_ms = epoch_ms(SystemTime::now() + function_timeout);
        let response = next_response(self, &queued, deadline_ms);
        inner.in_flight.insert(
            queued.request_id,
            Delivered {
                invocation_id: queued.invocation_id,
                deadline_ms,
                answer: queued.answer,
            },
        );
        inner.delivered += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight.len());
        poll.leave(&mut inner);
        self.publish(&inner);
        Some(response)
    }

    /// Takes an invocation back after its test stopped waiting; tells
    /// whether the function had picked it up.
    fn withdraw(&self, request_id: &str) -> bool {
        let mut inner = self.lock();
        let picked_up =
            if let Some(at) = inner.queue.iter().position(|q| q.request_id == request_id) {
                inner.queue.remove(at);
                false
            } else {
                inner.in_flight.remove(request_id);
                true
            };
        inner
            .closed
            .entry(request_id.to_owned())
            .or_insert(Closed::Withdrawn);
        self.publish(&inner);
        picked_up
    }

    /// Ends an in-flight invocation with the function's answer.
    fn complete(
        &self,
        method_path: (&str, &str),
        request_id: &str,
        headers: &HeaderMap,
        kind: AnswerKind,
        body: Bytes,
    ) -> Response {
        let (method, path) = method_path;
        let mut inner = self.lock();
        let Some(delivered) = inner.in_flight.get(request_id) else {
            let (status, error_type, reason) = match inner.closed.get(request_id) {
                Some(Closed::Answered) => (
                    StatusCode::FORBIDDEN,
                    "InvalidStateTransition",
                    format!("invocation {request_id} was already answered"),
                ),
                Some(Closed::Withdrawn) => (
                    StatusCode::GONE,
                    "InvocationGone",
                    format!("invocation {request_id} timed out: the test stopped waiting for it"),
                ),
                None if inner.queue.iter().any(|q| q.request_id == request_id) => (
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    format!("invocation {request_id} has not been handed out by /next yet"),
                ),
                None => (
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    format!("no invocation has request id {request_id:?}"),
                ),
            };
            return self.reject(&mut inner, method, path, status, error_type, reason);
        };
        let echoed_invocation_id = match headers.get(header::INVOCATION_ID) {
            None => false,
            Some(echo) if echo.as_bytes() == delivered.invocation_id.as_bytes() => true,
            Some(echo) => {
                let reason = format!(
                    "Lambda-Runtime-Invocation-Id {:?} is not the one handed out with \
                     invocation {request_id}: a stale or cross-wired answer",
                    String::from_utf8_lossy(echo.as_bytes())
                );
                return self.reject(
                    &mut inner,
                    method,
                    path,
                    StatusCode::GONE,
                    "InvocationGone",
                    reason,
                );
            }
        };
        let Some(delivered) = inner.in_flight.remove(request_id) else {
            unreachable!("the invocation was found in flight under the same lock");
        };
        inner.closed.insert(request_id.to_owned(), Closed::Answered);
        inner.answered += 1;
        let too_large = matches!(kind, AnswerKind::TooLarge(_));
        let answer = Answer {
            kind,
            body,
            error_type_header: header_string(headers, header::FUNCTION_ERROR_TYPE),
            deadline_ms: delivered.deadline_ms,
            past_deadline: epoch_ms(SystemTime::now()) > delivered.deadline_ms,
            echoed_invocation_id,
        };
        // The test may have stopped waiting just now; then nobody listens.
        let _ = delivered.answer.send(answer);
        if too_large {
            return self.reject(
                &mut inner,
                method,
                path,
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
            );
        }
        self.publish(&inner);
        accepted()
    }
}

/// Counts a `/next` request as outstanding until it is answered or dropped
/// (the function may disconnect while it waits).
struct PollGuard {
    shared: Arc<Shared>,
    counted: bool,
}

impl PollGuard {
    fn enter(shared: Arc<Shared>) -> Self {
        let mut inner = shared.lock();
        inner.polling += 1;
        inner.next_seen = true;
        shared.publish(&inner);
        drop(inner);
        PollGuard {
            shared,
            counted: true,
        }
    }

    fn leave(&mut self, inner: &mut Inner) {
        if self.counted {
            inner.polling -= 1;
            self.counted = false;
        }
    }
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        if self.counted {
            let shared = self.shared.clone();
            let mut inner = shared.lock();
            self.leave(&mut inner);
            shared.publish(&inner);
        }
    }
}

// ------------------------------------------------------------------------
// HTTP handlers
// ------------------------------------------------------------------------

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            &format!("{API_PREFIX}/invocation/next"),
            get(next_invocation),
        )
        .route(
            &format!("{API_PREFIX}/invocation/{{request_id}}/response"),
            post(invocation_response),
        )
        .route(
            &format!("{API_PREFIX}/invocation/{{request_id}}/error"),
            post(invocation_error),
        )
        .route(&format!("{API_PREFIX}/init/error"), post(init_error))
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .with_state(shared)
}

/// `GET /runtime/invocation/next`: long-polls for the next invocation.
async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    let mut poll = PollGuard::enter(shared.clone());
    let mut stopped = shared.stopped.subscribe();
    loop {
        // Registered before looking at the queue, so that an invocation
        // queued in between still wakes this poll.
        let notified = shared.queued.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(response) = shared.try_deliver(&mut poll) {
            return response;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = stopped.wait_for(|stopped| *stopped) => {
                return api_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "EmulatorStopped",
                    "the Runtime API emulator is shutting down",
                );
            }
        }
    }
}

/// The `200` answer of `/next` for `queued`.
fn next_response(shared: &Shared, queued: &Queued, deadline_ms: u64) -> Response {
    let invoke = &queued.invoke;
    let body = serde_json::to_vec(&invoke.payload).unwrap_or_else(|_| b"null".to_vec());
    let trace_id = invoke
        .trace_id
        .clone()
        .unwrap_or_else(|| trace_id_for(shared.seed, &queued.request_id));
    let mut headers = vec![
        (header::REQUEST_ID, queued.request_id.clone()),
        (header::DEADLINE_MS, deadline_ms.to_string()),
        (header::INVOKED_FUNCTION_ARN, shared.function_arn.clone()),
        (header::TRACE_ID, trace_id),
        (header::INVOCATION_ID, queued.invocation_id.clone()),
    ];
    if let Some(value) = &invoke.client_context {
        headers.push((header::CLIENT_CONTEXT, ascii_json(value)));
    }
    if let Some(value) = &invoke.cognito_identity {
        headers.push((header::COGNITO_IDENTITY, ascii_json(value)));
    }
    if let Some(tenant_id) = &invoke.tenant_id {
        headers.push((header::TENANT_ID, tenant_id.clone()));
    }
    let mut response = Response::new(Body::from(body));
    let map = response.headers_mut();
    map.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in headers {
        // Every value is visible ASCII: generated, validated by `Invoke`, or
        // JSON with non-ASCII escaped.
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// `POST /runtime/invocation/{id}/response`.
async fn invocation_response(
    State(shared): State<Arc<Shared>>,
    UrlPath(request_id): UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (kind, body) = match read_body(body, MAX_RESPONSE_BYTES).await {
        Ok(bytes) => (AnswerKind::Response, bytes),
        Err(BodyError::TooLarge(size)) => (AnswerKind::TooLarge(size), Bytes::new()),
        Err(BodyError::Broken(reason)) => {
            let mut inner = shared.lock();
            return shared.reject(
                &mut inner,
                "POST",
                uri.path(),
                StatusCode::BAD_REQUEST,
                "TruncatedHTTPRequest",
                format!("the request body could not be read: {reason}"),
            );
        }
    };
    shared.complete(("POST", uri.path()), &request_id, &headers, kind, body)
}

/// `POST /runtime/invocation/{id}/error`.
async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    UrlPath(request_id): UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match read_body(body, MAX_ERROR_BYTES).await {
        Ok(bytes) => shared.complete(
            ("POST", uri.path()),
            &request_id,
            &headers,
            AnswerKind::Error,
            bytes,
        ),
        Err(error) => {
            let mut inner = shared.lock();
            let (status, error_type) = match error {
                BodyError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
                BodyError::Broken(_) => (StatusCode::BAD_REQUEST, "TruncatedHTTPRequest"),
            };
            shared.reject(
                &mut inner,
                "POST",
                uri.path(),
                status,
                error_type,
                format!("the error body could not be read: {error}"),
            )
        }
    }
}

/// `POST /runtime/init/error`: accepted until the first `/next`, as the
/// init phase ends there.
async fn init_error(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = read_body(body, MAX_ERROR_BYTES).await;
    let mut inner = shared.lock();
    if inner.next_seen {
        return shared.reject(
            &mut inner,
            "POST",
            uri.path(),
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "an init error after the first /next: the init phase is over".to_owned(),
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(error) => {
            return shared.reject(
                &mut inner,
                "POST",
                uri.path(),
                StatusCode::BAD_REQUEST,
                "TruncatedHTTPRequest",
                format!("the init error body could not be read: {error}"),
            )
        }
    };
    let (error_type, error_message) = parse_error_body(&body).unwrap_or_default();
    inner.init_errors.push(InitError {
        error_type_header: header_string(&headers, header::FUNCTION_ERROR_TYPE),
        error_type,
        error_message,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    shared.publish(&inner);
    accepted()
}

async fn unknown_path(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    let mut inner = shared.lock();
    shared.reject(
        &mut inner,
        method.as_str(),
        uri.path(),
        StatusCode::NOT_FOUND,
        "NotFound",
        "the Runtime API has no such path".to_owned(),
    )
}

async fn wrong_method(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    let mut inner = shared.lock();
    shared.reject(
        &mut inner,
        method.as_str(),
        uri.path(),
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("{method} is not allowed on this path"),
    )
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({"status": "OK"}))).into_response()
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

#[derive(Debug)]
enum BodyError {
    TooLarge(usize),
    Broken(String),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge(size) => write!(f, "body of at least {size} bytes is too large"),
            BodyError::Broken(reason) => write!(f, "{reason}"),
        }
    }
}

/// Reads a request body of at most `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
        if buffer.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(buffer.len() + chunk.len()));
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buffer))
}

/// `(errorType, errorMessage)` of a Lambda error body, if both are strings.
fn parse_error_body(body: &[u8]) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error_type = value.get("errorType")?.as_str()?.to_owned();
    let error_message = value.get("errorMessage")?.as_str()?.to_owned();
    Some((error_type, error_message))
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

// ------------------------------------------------------------------------
// Small helpers
// ------------------------------------------------------------------------

fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A per-emulator value that makes ids differ between emulators and runs.
fn id_seed(address: SocketAddr) -> u32 {
    static STARTED: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = STARTED.fetch_add(1, Ordering::Relaxed) as u32;
    nanos ^ (u32::from(address.port()) << 16) ^ n.wrapping_mul(0x9e37_79b9)
}

/// A UUID-shaped id (`8-4-4-4-12` hex), unique per emulator and sequence.
fn uuid_like(seed: u32, sequence: u64, version: u16) -> String {
    format!(
        "{seed:08x}-{:04x}-{version:04x}-8000-{sequence:012x}",
        (sequence >> 48) as u16
    )
}

/// An X-Ray header like Lambda's, derived from the request id.
fn trace_id_for(seed: u32, request_id: &str) -> String {
    let epoch_s = epoch_ms(SystemTime::now()) / 1000;
    let digits: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let tail = &digits[digits.len().saturating_sub(16)..];
    format!("Root=1-{epoch_s:08x}-{seed:08x}{tail:0>16};Parent={tail:0>16};Sampled=0")
}

/// JSON text with every non-ASCII character escaped (`\uXXXX`), so that it
/// can travel in a header and still parse as the same JSON.
fn ascii_json(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[track_caller]
fn header_text(what: &str, text: String) -> String {
    assert!(
        text.bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)),
        "the {what} {text:?} cannot be a header value: use visible ASCII"
    );
    text
}

// ------------------------------------------------------------------------
// The function process
// ------------------------------------------------------------------------

/// Configures a [`Function`] process before it starts.
#[derive(Debug)]
pub struct FunctionBuilder {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, Option<String>)>,
    secrets: Vec<(String, String)>,
}

impl FunctionBuilder {
    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable (overrides a Lambda default).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), Some(value.into())));
        self
    }

    /// Sets several environment variables.
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        for (name, value) in vars {
            self = self.env(name, value);
        }
        self
    }

    /// Sets an environment variable whose value must never appear in the
    /// function's output; see [`Function::assert_no_secret_in_output`].
    /// Secrets are also masked when the output is shown for a failed test.
    pub fn secret_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        self.secrets.push((name.clone(), value.clone()));
        self.env(name, value)
    }

    /// Leaves out a variable Lambda would set (e.g. to see the function
    /// fail without `AWS_LAMBDA_RUNTIME_API`).
    pub fn env_remove(mut self, name: impl Into<String>) -> Self {
        self.env.push((name.into(), None));
        self
    }

    /// Starts the process, stdout and stderr captured, stdin empty.
    ///
    /// # Panics
    /// If the program cannot be started (the test cannot run at all).
    #[track_caller]
    pub fn spawn(self) -> Function {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "could not start the function {}: {e}",
                self.program.display()
            )
        });
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            readers.push(capture(pipe, stdout.clone()));
        }
        if let Some(pipe) = child.stderr.take() {
            readers.push(capture(pipe, stderr.clone()));
        }
        Function {
            program: self.program,
            child,
            status: None,
            stdout,
            stderr,
            readers,
            secrets: self.secrets,
        }
    }
}

/// A function binary running against a [`RuntimeApi`], with the
/// environment Lambda gives it. Killed (SIGKILL) when dropped; if the test
/// is failing then, its output (secrets masked) is printed to help.
#[derive(Debug)]
pub struct Function {
    program: PathBuf,
    child: Child,
    status: Option<ExitStatus>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    secrets: Vec<(String, String)>,
}

impl Function {
    /// A builder for `program` (e.g. `env!("CARGO_BIN_EXE_bootstrap")`)
    /// pointed at `runtime`, with the variables Lambda sets:
    /// `AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME`,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (128), `AWS_LAMBDA_FUNCTION_VERSION`
    /// (`$LATEST`), `AWS_LAMBDA_LOG_GROUP_NAME`, `AWS_LAMBDA_LOG_STREAM_NAME`,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE` (`on-demand`), `AWS_REGION`,
    /// `AWS_DEFAULT_REGION` and `TZ` (`:UTC`). Nothing else of the test's
    /// environment is passed on but `PATH` and `HOME`.
    pub fn builder(program: impl AsRef<Path>, runtime: &RuntimeApi) -> FunctionBuilder {
        let name = runtime.function_name().to_owned();
        let region = runtime.region().to_owned();
        let defaults = [
            ("AWS_LAMBDA_RUNTIME_API", runtime.runtime_api_env()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("2025/01/01/[$LATEST]{:032x}", runtime.shared.seed),
            ),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_REGION", region.clone()),
            ("AWS_DEFAULT_REGION", region),
            ("TZ", ":UTC".to_owned()),
        ];
        FunctionBuilder {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: defaults
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Some(v)))
                .collect(),
            secrets: Vec::new(),
        }
    }

    /// Starts `program` against `runtime` with the Lambda variables plus
    /// `extra_env` (see [`Function::builder`]).
    #[track_caller]
    pub fn spawn<I, K, V>(program: impl AsRef<Path>, runtime: &RuntimeApi, extra_env: I) -> Function
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self::builder(program, runtime).envs(extra_env).spawn()
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything captured on stdout so far (lossy UTF-8).
    pub fn stdout(&self) -> String {
        text_of(&self.stdout)
    }

    /// Everything captured on stderr so far (lossy UTF-8).
    pub fn stderr(&self) -> String {
        text_of(&self.stderr)
    }

    /// Whether stdout or stderr contains `needle` so far.
    pub fn output_contains(&self, needle: &str) -> bool {
        self.stdout().contains(needle) || self.stderr().contains(needle)
    }

    /// Waits until stdout or stderr contains `needle`, at most `timeout`.
    pub async fn wait_for_output(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.output_contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The exit status if the process has ended, `None` while it runs.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.status = Some(status);
                self.join_readers();
            }
        }
        self.status
    }

    /// Waits for the process to exit by itself, at most `timeout`;
    /// `None` if it is still running then. Its output is complete after.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Kills the process (if it still runs) and collects the rest of its
    /// output: call before asserting on complete logs.
    pub fn stop(&mut self) -> ExitStatus {
        if let Some(status) = self.try_status() {
            return status;
        }
        let _ = self.child.kill();
        // After SIGKILL the wait is immediate.
        let status = match self.child.wait() {
            Ok(status) => status,
            Err(e) => panic!("could not reap {}: {e}", self.program.display()),
        };
        self.status = Some(status);
        self.join_readers();
        status
    }

    /// Describes where a value given with [`FunctionBuilder::secret_env`]
    /// appears in the output so far, as is or percent-encoded, without
    /// repeating it; `None` if nowhere.
    pub fn find_secret_in_output(&self) -> Option<String> {
        let streams = [("stdout", self.stdout()), ("stderr", self.stderr())];
        for (name, secret) in &self.secrets {
            if secret.is_empty() {
                continue;
            }
            let encoded = percent_encode(secret);
            for (stream, text) in &streams {
                for (number, line) in text.lines().enumerate() {
                    if line.contains(secret.as_str()) || line.contains(encoded.as_str()) {
                        return Some(format!(
                            "{stream} line {} contains the value of {name}",
                            number + 1
                        ));
                    }
                }
            }
        }
        None
    }

    /// Fails the test if a secret appears in the output so far (call
    /// [`Function::stop`] first to check all of it). The message says where,
    /// not what.
    #[track_caller]
    pub fn assert_no_secret_in_output(&self) {
        if let Some(place) = self.find_secret_in_output() {
            panic!("a secret leaked: {place}");
        }
    }

    /// Fails the test if `needle` appears in the output so far; `what`
    /// names it in the message instead of the needle itself.
    #[track_caller]
    pub fn assert_output_excludes(&self, needle: &str, what: &str) {
        for (stream, text) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
            if let Some(number) = text.lines().position(|line| line.contains(needle)) {
                panic!("{stream} line {} contains {what}", number + 1);
            }
        }
    }

    /// Output with every secret replaced by `[SECRET]`.
    fn masked(&self, text: String) -> String {
        self.secrets
            .iter()
            .filter(|(_, secret)| !secret.is_empty())
            .fold(text, |text, (_, secret)| {
                text.replace(secret.as_str(), "[SECRET]")
                    .replace(percent_encode(secret).as_str(), "[SECRET]")
            })
    }

    /// Waits for the reader threads, which end when the pipes close; a
    /// grandchild holding a pipe open must not hang the test, so at most
    /// two seconds.
    fn join_readers(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while self.readers.iter().any(|r| !r.is_finished()) && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        for reader in std::mem::take(&mut self.readers) {
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            self.join_readers();
            for (stream, text) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
                let text = self.masked(text);
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(60)..];
                eprintln!(
                    "--- {} {stream} (last {} of {} lines, secrets masked) ---\n{}",
                    self.program.display(),
                    tail.len(),
                    lines.len(),
                    tail.join("\n")
                );
            }
        }
    }
}

/// Copies a pipe into `sink` on a thread of its own, until it closes.
fn capture(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend_from_slice(&buffer[..n]),
            }
        }
    })
}

fn text_of(buffer: &Mutex<Vec<u8>>) -> String {
    let bytes = buffer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    String::from_utf8_lossy(&bytes).into_owned()
}

/// RFC 3986 percent-encoding (all but unreserved characters), as in OAuth1
/// signatures and query strings: the other form a leaked secret takes.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
