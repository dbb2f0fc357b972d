//! The Lambda runtime loop of `bootstrap` and of every task written with
//! [`crate::task`]: poll `/next`, run the [`Function`], post `/response` or
//! `/error`; one loop, or one per worker when `AWS_LAMBDA_MAX_CONCURRENCY`
//! is above 1.
//!
//! # Why not `lambda_runtime::run`
//!
//! `lambda_runtime` 1.5 owns the bytes of the event until it has turned them
//! into the handler's type, and its loop has faults a function cannot work
//! around from inside its handler (see `repro/lambda_runtime-runtime-faults/`):
//!
//! - it never ends its `serde_json::Deserializer`, so an event with trailing
//!   bytes runs its first value; a payload that nests too deep fails with
//!   its own Rust type name as `errorType`;
//! - at `RUST_LOG=trace` it logs every raw event, and a non-UTF-8 event
//!   ends the process;
//! - a `/next` answer without `Lambda-Runtime-Aws-Request-Id` or
//!   `Lambda-Runtime-Deadline-Ms` panics, and so does a 500 from `/next`
//!   (read as an invocation, it has no request id);
//! - its concurrent workers retry a failing `/next` with no pause at all.
//!
//! No `Deserialize` type can see the raw bytes (a `RawValue` still asks for
//! UTF-8 and stops at the first value), and layers run only after the
//! headers were `expect`ed, so this module speaks the Runtime API itself
//! ([`api`]), reads the payload itself ([`payload`]) and keeps
//! `lambda_runtime` for its types: [`lambda_runtime::Context`] (from the
//! headers once they are checked), [`lambda_runtime::LambdaEvent`],
//! [`lambda_runtime::Config`]. Every failure is one of our `errorType`s, and
//! nothing the Runtime API sends can end the process: only SIGTERM or
//! SIGINT do ([`shutdown`]), after answering what is in flight.

pub mod api;
pub mod endpoint;
pub mod in_flight;
pub mod payload;
pub mod shutdown;

use crate::envelope::Reply;
use crate::error::{Error, LambdaError};
use crate::handler::Handler;
use api::{Next, NextError, RuntimeApi};
use backon::BackoffBuilder;
use endpoint::Endpoint;
use futures::FutureExt;
use in_flight::{Held, InFlight, Waiting};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use shutdown::Shutdown;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// `AWS_LAMBDA_MAX_CONCURRENCY` as Lambda Managed Instances set it (and as
/// `lambda_runtime` reads it): how many invocations may be in flight at
/// once; 1 when unset, 0 or not a number; at most [`MAX_WORKERS`].
pub fn max_concurrency() -> usize {
    requested_concurrency().unwrap_or(1).min(MAX_WORKERS)
}

/// The most invocations served at once, whatever `AWS_LAMBDA_MAX_CONCURRENCY`
/// asks: each is a worker holding a connection to the Runtime API, and
/// Lambda allows a process 1,024 open files.
pub const MAX_WORKERS: usize = 1024;

fn requested_concurrency() -> Option<usize> {
    std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|value| value.parse::<usize>().ok())
        .filter(|&limit| limit > 0)
}

/// What the loop runs for each invocation: `bootstrap`'s [`Handler`], or a
/// task's handler as [`crate::task::serve`] wraps it. Cloned for each
/// invocation (clones share their clients).
pub trait Function: Clone + Send + Sync + 'static {
    /// The answer to `event`: the JSON to post, or the error to report.
    /// Writes the invocation's summary line.
    fn call(
        self,
        event: LambdaEvent<Value>,
    ) -> impl Future<Output = Result<Reply, LambdaError>> + Send;

    /// Whether the function's code may read `_X_AMZN_TRACE_ID` (the AWS
    /// SDK's recursion detection does), so that a sequential worker sets
    /// it to each invocation's trace id, as Lambda's runtimes do. glibc's
    /// `setenv` keeps every value it was given for the life of the process
    /// (about 140 bytes an invocation: 140 MB a million), so a function
    /// that reads none says so.
    const READS_TRACE_ID_VARIABLE: bool = true;
}

/// `bootstrap`'s handler reads no `_X_AMZN_TRACE_ID`: it calls Extra
/// Horizon and HEXONET, no AWS service, and logs the trace id from the
/// invocation's context.
impl Function for Handler {
    const READS_TRACE_ID_VARIABLE: bool = false;

    async fn call(self, event: LambdaEvent<Value>) -> Result<Reply, LambdaError> {
        self.invoke(event)
            .await
            .map_err(|error| LambdaError::from(&error))
    }
}

/// Serves invocations with `function` until SIGTERM or SIGINT, in the
/// mode [`max_concurrency`] asks for. Fails only at start: without
/// `AWS_LAMBDA_RUNTIME_API` or the other variables Lambda sets.
pub async fn run(function: impl Function) -> Result<(), lambda_runtime::Error> {
    run_until(function, Shutdown::on_signals()?).await
}

/// [`run`], shut down by `shutdown`'s signal: one taken before start-up
/// (see [`crate::task::run_function`]), so that a signal during it ends
/// the process cleanly too.
pub async fn run_until(
    function: impl Function,
    shutdown: Shutdown,
) -> Result<(), lambda_runtime::Error> {
    let endpoint = Endpoint::from_env()
        .ok_or("AWS_LAMBDA_RUNTIME_API is not set: not running in Lambda")??;
    let api = RuntimeApi::new(&endpoint)?;
    if let Some(connection) = shutdown::register_extension(&endpoint).await {
        api.adopt(connection);
    }
    let config = Arc::new(function_config(|name| std::env::var(name).ok())?);
    let requested = requested_concurrency();
    let concurrency = requested.unwrap_or(1).min(MAX_WORKERS);
    let in_flight = match concurrency {
        1 => InFlight::unshared(),
        _ => InFlight::shared(config.memory),
    };
    let worker = Worker {
        function,
        api,
        config,
        shutdown,
        in_flight,
    };
    if let Some(requested) = requested.filter(|&n| n > MAX_WORKERS) {
        tracing::warn!(
            requested,
            workers = MAX_WORKERS,
            "AWS_LAMBDA_MAX_CONCURRENCY is above the most workers served at once"
        );
    }
    if concurrency == 1 {
        // Boxed, as each worker's future is when spawned: built on the
        // stack and moved into this one, it would cost a cold start pages.
        Box::pin(worker.serve(true)).await;
    } else {
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            workers.spawn(worker.clone().serve(false));
        }
        while workers.join_next().await.is_some() {}
    }
    tracing::info!("shut down");
    // Lines written so far must reach the log before the process ends.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    Ok(())
}

/// What Lambda says of the function (name, memory, version, log stream),
/// from the variables it sets, read by `lookup`. Unlike
/// `lambda_runtime::Config::from_env`, which panics, a variable that is
/// missing or unusable is an error that names it.
fn function_config(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<lambda_runtime::Config, String> {
    let required = |name: &str| {
        lookup(name).ok_or_else(|| format!("{name} is not set: not running in Lambda"))
    };
    let memory = required("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")?;
    Ok(lambda_runtime::Config {
        function_name: required("AWS_LAMBDA_FUNCTION_NAME")?,
        memory: memory.parse().map_err(|_| {
            format!("AWS_LAMBDA_FUNCTION_MEMORY_SIZE is {memory:?}, not a number of megabytes")
        })?,
        version: required("AWS_LAMBDA_FUNCTION_VERSION")?,
        log_stream: lookup("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default(),
        log_group: lookup("AWS_LAMBDA_LOG_GROUP_NAME").unwrap_or_default(),
    })
}

/// One poller: everything an invocation needs, cheap to clone.
#[derive(Clone)]
struct Worker<F> {
    function: F,
    api: RuntimeApi,
    config: Arc<lambda_runtime::Config>,
    shutdown: Shutdown,
    /// The memory the events in flight share with the other workers'.
    in_flight: InFlight,
}

impl<F: Function> Worker<F> {
    /// Polls and answers until shutdown. `sequential`: the only worker, so
    /// `_X_AMZN_TRACE_ID` can name its invocation, as Lambda's runtimes do
    /// (for a function that [reads it](Function::READS_TRACE_ID_VARIABLE)).
    async fn serve(self, sequential: bool) {
        let mut pause = Pause::new();
        loop {
            let Some(next) = self.poll().await else {
                return;
            };
            match next {
                Ok(next) => {
                    pause.reset();
                    self.invoke(next, sequential).await;
                }
                Err(NextError::NoDeadline {
                    request_id,
                    invocation_id,
                }) => {
                    pause.reset();
                    let error = Error::invalid_event(format!(
                        "the Runtime API handed out {request_id} without a usable Lambda-Runtime-Deadline-Ms header"
                    ));
                    tracing::warn!(request_id, %error, "invocation refused");
                    let error = LambdaError::from(&error);
                    self.api
                        .fail(&request_id, invocation_id.as_ref(), &error)
                        .await;
                }
                Err(error) => {
                    let delay = pause.next();
                    tracing::warn!(%error, ?delay, "no invocation from the Runtime API; polling again after a pause");
                    tokio::select! {
                        _ = self.shutdown.started() => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// The next `/next` answer; `None` once the shutdown signal has come.
    /// A poll under way at the signal gets [`shutdown::IN_TRANSIT`] more:
    /// it may be reading an invocation the Runtime API already handed out,
    /// which must be answered rather than dropped with the connection (one
    /// whose payload is still on its way then comes with that error).
    async fn poll(&self) -> Option<Result<Next, NextError>> {
        if self.shutdown.is_started() {
            return None;
        }
        let in_transit_over = async {
            let signalled = self.shutdown.started().await;
            tokio::time::sleep_until(signalled + shutdown::IN_TRANSIT).await;
        };
        self.api.next_until(in_transit_over, &self.in_flight).await
    }

    /// Runs one invocation and posts its answer.
    async fn invoke(&self, mut next: Next, sequential: bool) {
        let trace_id = trace_id(&next);
        if sequential && F::READS_TRACE_ID_VARIABLE {
            match &trace_id {
                Some(trace_id) => std::env::set_var("_X_AMZN_TRACE_ID", trace_id),
                None => std::env::remove_var("_X_AMZN_TRACE_ID"),
            }
        }
        // The span `lambda_runtime` puts around each invocation, kept for
        // the log queries that look for it.
        let span = tracing::info_span!(
            target: INVOCATION_SPAN_TARGET,
            "Lambda runtime invoke",
            requestId = %next.request_id,
            xrayTraceId = trace_id.as_deref()
        );
        async {
            let answer = match self.event(&mut next).await {
                // The event's room is held until its answer is had.
                Ok((event, _read)) => self.answer(event).await,
                // The event never reached the handler, whose summary line
                // would otherwise say why the invocation failed.
                Err(error) => Err(LambdaError::from(&logged(error))),
            };
            let invocation_id = next.invocation_id.as_ref();
            match answer {
                Ok(reply) => {
                    self.api
                        .respond(&next.request_id, invocation_id, reply.into_json())
                        .await
                }
                Err(error) => self.api.fail(&next.request_id, invocation_id, &error).await,
            }
        }
        .instrument(span)
        .await
    }

    /// The handler's event: the payload read by [`payload::decode`], the
    /// context from the (checked) headers. With workers sharing the memory
    /// ([`InFlight`]), the payload is weighed first and read once there is
    /// room for it, with that room; its bytes, and the room they held, are
    /// let go once it is read (or refused).
    async fn event(&self, next: &mut Next) -> Result<(LambdaEvent<Value>, Held), Error> {
        let arriving = std::mem::take(&mut next.arriving);
        let bytes = std::mem::replace(&mut next.payload, Ok(Default::default()))?;
        let memory = self.config.memory;
        if !self.in_flight.is_shared() {
            let payload = payload::decode(&bytes, memory)?;
            let context = context_of(next, &self.config)?;
            return Ok((LambdaEvent::new(payload, context), Held::default()));
        }
        let weight = payload::weight(&bytes, memory)?;
        let context = context_of(next, &self.config)?;
        let deadline = crate::handler::instant_of_epoch_ms(context.deadline);
        let read = self
            .in_flight
            .wait(Waiting::Read, weight, deadline, self.shutdown.grace_over())
            .await?;
        let payload = payload::decode_weighed(&bytes)?;
        drop((bytes, arriving));
        Ok((LambdaEvent::new(payload, context), read))
    }

    /// The function's answer; a panic is an error answer, not the end of
    /// the worker. It must come by the invocation's deadline less half of
    /// [`crate::handler::DEADLINE_MARGIN`] (after the deadline the handler
    /// keeps itself, so that its own `Timeout` and summary line come
    /// first), and after a shutdown signal within
    /// [`shutdown::GRACE`]: a function that never ends cannot hold its
    /// worker.
    async fn answer(&self, event: LambdaEvent<Value>) -> Result<Reply, LambdaError> {
        let answer_by = crate::handler::instant_of_epoch_ms(event.context.deadline)
            + crate::handler::DEADLINE_MARGIN / 2;
        let handled = AssertUnwindSafe(self.function.clone().call(event)).catch_unwind();
        let failure = tokio::select! {
            // An answer the function has wins over a timer due at once.
            biased;
            handled = handled => match handled {
                Ok(answer) => return answer,
                Err(_) => Error::InvalidResponse(
                    "the function failed inside (a panic): the log has its message".to_owned(),
                ),
            },
            // Whether a request went out is not known here: say it may have.
            _ = self.shutdown.grace_over() => Error::timeout_sent(
                "the function was shut down (SIGTERM) before an answer came; a request may have been sent",
            ),
            _ = tokio::time::sleep_until(answer_by) => Error::timeout_sent(
                "the function did not answer before the invocation deadline; a request may have been sent",
            ),
        };
        Err(LambdaError::from(&logged(failure)))
    }
}

/// The longest X-Ray trace id taken (Lambda's, with its `Lineage`, are a
/// few hundred bytes at most).
const MAX_TRACE_ID_BYTES: usize = 1024;

/// The invocation's X-Ray trace id, if it is visible ASCII and at most
/// [`MAX_TRACE_ID_BYTES`] long. glibc's `setenv` keeps every value it was
/// given for the life of the process, so a sequential function that
/// [reads it](Function::READS_TRACE_ID_VARIABLE) keeps each invocation's
/// id in memory (`_X_AMZN_TRACE_ID`, as `lambda_runtime` sets it); a
/// longer one is left out, with a warning, rather than kept.
fn trace_id(next: &Next) -> Option<String> {
    let id = next.headers.get("lambda-runtime-trace-id")?.to_str().ok()?;
    if id.len() > MAX_TRACE_ID_BYTES {
        tracing::warn!(
            requestId = %next.request_id,
            bytes = id.len(),
            "the invocation's Lambda-Runtime-Trace-Id is over {MAX_TRACE_ID_BYTES} bytes: not used"
        );
        return None;
    }
    Some(id.to_owned())
}

/// The context of invocation `next` of the function `config` describes,
/// from its (checked) headers. Without
/// `Lambda-Runtime-Invoked-Function-Arn` its `invoked_function_arn` is
/// empty, not the sentence `lambda_runtime` puts there in its place.
fn context_of(next: &Next, config: &Arc<lambda_runtime::Config>) -> Result<Context, Error> {
    let mut context =
        Context::new(&next.request_id, config.clone(), &next.headers).map_err(|_| {
            Error::invalid_event(unusable_context_header(
                &next.request_id,
                config,
                &next.headers,
            ))
        })?;
    if !next.headers.contains_key(INVOKED_FUNCTION_ARN) {
        context.invoked_function_arn.clear();
    }
    Ok(context)
}

/// The header of the function's ARN, as Lambda names it.
const INVOKED_FUNCTION_ARN: &str = "lambda-runtime-invoked-function-arn";

/// Which header `lambda_runtime::Context::new` could not read into the
/// context of `request_id`, and why, without quoting it: its text is the
/// caller's. Each is tried alone, as `Context::new` names none.
fn unusable_context_header(
    request_id: &str,
    config: &Arc<lambda_runtime::Config>,
    headers: &http::HeaderMap,
) -> String {
    for name in [
        "lambda-runtime-client-context",
        "lambda-runtime-cognito-identity",
        INVOKED_FUNCTION_ARN,
    ] {
        let Some(value) = headers.get(name) else {
            continue;
        };
        let mut alone = http::HeaderMap::new();
        alone.insert(name, value.clone());
        alone.insert(api::DEADLINE_MS, http::HeaderValue::from_static("0"));
        let Err(error) = Context::new(request_id, config.clone(), &alone) else {
            continue;
        };
        let why = match error.downcast_ref::<serde_json::Error>() {
            Some(error) => format!(
                "not the JSON Lambda sends ({:?} error at line {}, column {})",
                error.classify(),
                error.line(),
                error.column()
            ),
            None => "not visible ASCII".to_owned(),
        };
        return format!("the invocation's {name} header is {why}");
    }
    "the invocation's headers could not be read into its context".to_owned()
}

/// The target of the span around each invocation: one that logs nothing,
/// so the log subscriber can keep the span (and its ids) at any level.
pub const INVOCATION_SPAN_TARGET: &str = "exh_task::invocation";

/// `error`, logged as the handler's summary logs a failed invocation, for
/// the failures that end an invocation outside the handler.
fn logged(error: Error) -> Error {
    tracing::error!(
        errorType = error.error_type(),
        errorMessage = %error,
        "invocation failed"
    );
    error
}

/// The pause before polling a failing Runtime API again: jittered, from
/// 20 ms doubling up to 2 s, so a broken API costs a few requests a second
/// per worker instead of a busy loop.
struct Pause(backon::ExponentialBackoff);

impl Pause {
    const BUILDER: backon::ExponentialBuilder = backon::ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_secs(2))
        .with_jitter()
        .without_max_times();

    fn new() -> Pause {
        Pause(Self::BUILDER.build())
    }

    fn reset(&mut self) {
        *self = Pause::new();
    }

    fn next(&mut self) -> Duration {
        self.0.next().unwrap_or(Duration::from_secs(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_of(vars: &[(&str, &str)]) -> Result<lambda_runtime::Config, String> {
        function_config(|name| {
            vars.iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.to_string())
        })
    }

    const LAMBDA: [(&str, &str); 3] = [
        ("AWS_LAMBDA_FUNCTION_NAME", "exh-task"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ];

    #[test]
    fn the_function_config_is_read_from_what_lambda_sets() {
        let config = config_of(&LAMBDA).unwrap();
        assert_eq!(
            (config.function_name.as_str(), config.memory),
            ("exh-task", 128)
        );
    }

    #[test]
    fn a_missing_or_unusable_lambda_variable_is_an_error_that_names_it() {
        for (index, (name, _)) in LAMBDA.iter().enumerate() {
            let mut vars = LAMBDA.to_vec();
            vars.remove(index);
            let error = config_of(&vars).unwrap_err();
            assert!(error.contains(name), "{error}");
        }
        let mut vars = LAMBDA.to_vec();
        vars[1].1 = "lots";
        let error = config_of(&vars).unwrap_err();
        assert!(error.contains("\"lots\""), "{error}");
    }

    fn next_with(headers: &[(&str, &[u8])]) -> Next {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        Next {
            request_id: "r-1".to_owned(),
            invocation_id: None,
            headers: map,
            payload: Ok(Default::default()),
            arriving: Held::default(),
        }
    }

    #[test]
    fn a_missing_function_arn_is_empty_not_a_placeholder() {
        let config = Arc::new(config_of(&LAMBDA).unwrap());
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:exh-task";
        let deadline = (api::DEADLINE_MS, &b"1"[..]);
        let next = next_with(&[deadline, (INVOKED_FUNCTION_ARN, arn.as_bytes())]);
        assert_eq!(
            context_of(&next, &config).unwrap().invoked_function_arn,
            arn
        );
        let next = next_with(&[deadline]);
        assert_eq!(context_of(&next, &config).unwrap().invoked_function_arn, "");
    }

    #[test]
    fn a_trace_id_over_its_bound_is_not_used() {
        let lambdas = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let next = next_with(&[("lambda-runtime-trace-id", lambdas.as_bytes())]);
        assert_eq!(trace_id(&next).as_deref(), Some(lambdas));
        let long = format!("Root=1-{}", "a".repeat(MAX_TRACE_ID_BYTES));
        let next = next_with(&[("lambda-runtime-trace-id", long.as_bytes())]);
        assert_eq!(trace_id(&next), None);
    }

    #[test]
    fn an_unusable_context_header_is_named_without_its_text() {
        let config = Arc::new(config_of(&LAMBDA).unwrap());
        let cases: [(&str, &[u8], &str); 3] = [
            (
                "lambda-runtime-client-context",
                br#"{"client":"hunter2-from-the-caller"}"#,
                "not the JSON Lambda sends (Data error at line 1, column 35)",
            ),
            (
                "lambda-runtime-cognito-identity",
                b"{hunter2",
                "not the JSON Lambda sends (Syntax error",
            ),
            (
                "lambda-runtime-invoked-function-arn",
                b"arn:hunter2\xff",
                "not visible ASCII",
            ),
        ];
        for (name, value, why) in cases {
            let next = next_with(&[("lambda-runtime-deadline-ms", b"1"), (name, value)]);
            assert!(Context::new("r-1", config.clone(), &next.headers).is_err());
            let message = unusable_context_header("r-1", &config, &next.headers);
            assert!(
                message.starts_with(&format!("the invocation's {name} header is {why}")),
                "{message}"
            );
            assert!(!message.contains("hunter2"), "{message}");
        }
    }
}
