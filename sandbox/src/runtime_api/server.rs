//! The emulator as a test holds it: [`RuntimeApiBuilder`] starts it,
//! [`RuntimeApi`] queues invocations and reports what the function did
//! ([`Counts`], [`Rejected`]).

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;

use super::handlers::router;
use super::invocation::{InitError, Invocation, Invoke, InvokeError, Pending};
use super::state::{id_seed, uuid_like, Inner, Queued, Shared, ACCOUNT_ID};
use super::{API_PREFIX, DEFAULT_FUNCTION_NAME, DEFAULT_FUNCTION_TIMEOUT, DEFAULT_REGION};

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
    /// Extensions registered so far (`/2020-01-01/extension/register`).
    pub extensions: usize,
    /// Requests for an extension's next event so far
    /// (`/2020-01-01/extension/event/next`).
    pub extension_polls: usize,
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

/// Configures a [`RuntimeApi`] before it starts.
#[derive(Clone, Debug)]
pub struct RuntimeApiBuilder {
    function_name: String,
    region: String,
    function_timeout: Duration,
}

impl RuntimeApiBuilder {
    /// The function name in `Lambda-Runtime-Invoked-Function-Arn` (and the
    /// default `AWS_LAMBDA_FUNCTION_NAME` of [`Function`](super::Function)). Default
    /// [`DEFAULT_FUNCTION_NAME`].
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = name.into();
        self
    }

    /// The region in the ARN (and the default `AWS_REGION` of
    /// [`Function`](super::Function)). Default [`DEFAULT_REGION`].
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
    pub(super) shared: Arc<Shared>,
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

    /// Answers the next `count` `/next` polls with `status` (e.g. 500) and
    /// no invocation, as a failing Lambda service might; invocations queued
    /// meanwhile wait for the polls after.
    pub fn fail_next_polls(&self, count: usize, status: u16) {
        let status = axum::http::StatusCode::from_u16(status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut inner = self.shared.lock();
        inner
            .failing_polls
            .extend(std::iter::repeat_n(status, count));
        self.shared.publish(&inner);
    }

    /// From now on, takes every `/response` and `/error` post (the
    /// invocation is answered, as the test sees it) but never answers the
    /// post itself, until the emulator stops: a service that never lets the
    /// function go on.
    pub fn hold_answers(&self) {
        self.shared.lock().holding_answers = true;
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
