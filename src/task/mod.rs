//! Write your own task: an async handler of yours, run the way `bootstrap`
//! runs: with every guarantee of the ready-made function.
//!
//! `bootstrap` serves tasks whose event describes the calls. When a task
//! needs an `if` between two calls (read a document, decide, call
//! HEXONET, write the outcome back), write the handler yourself, as the
//! Python `handler(event, context)` of Extra Horizon's guide, and let
//! [`run`] do the rest:
//!
//! - tracing as `bootstrap` sets it up (`AWS_LAMBDA_LOG_FORMAT`,
//!   `AWS_LAMBDA_LOG_LEVEL`, `RUST_LOG`);
//! - the configuration read once from the environment, and from the AWS
//!   Secrets Manager secret `EXH_TASK_SECRET_ID` names
//!   ([`crate::secrets_manager`]); a configuration that cannot be right is
//!   reported to the Runtime API before the first invocation;
//! - the Extra Horizon and HEXONET / CentralNic clients built once and
//!   shared by every invocation (keep-alive, the kept HEXONET session);
//! - the runtime loop: one invocation at a time on one thread, or
//!   concurrently on every core when Lambda Managed Instances set
//!   `AWS_LAMBDA_MAX_CONCURRENCY` above 1.
//!
//! Your handler gets the [`Event`] (the Extra Horizon [`Task`] with its
//! `data` read as your type, or any other envelope) and a [`Context`]
//! with the clients: [`Context::exh`] (OAuth1 signed, RQL, query, JSON
//! body, all pages, answers read as your types) and [`Context::hexonet`]
//! (commands from a map or [`hexonet_command!`](crate::hexonet_command),
//! the parsed response, pages, sessions). Every call is bounded by the
//! invocation's deadline and retried when that is safe, exactly as
//! `bootstrap`'s. Return anything `Serialize` as the result (an Extra
//! Horizon task's `result`); an error fails the invocation with the
//! `errorType` of its [`TaskError`]: exh-task's own keep the contract's
//! names (`Timeout`, `Unauthorized`, …), [`Failure`] carries yours.
//!
//! # Example
//! ```no_run
//! use exh_task::task::{self, Context, Event, Failure};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Data { document_id: String }
//!
//! #[derive(Deserialize)]
//! struct Document { data: Domains }
//! #[derive(Deserialize)]
//! struct Domains { domains: Vec<String> }
//!
//! #[derive(Serialize)]
//! struct Checked { available: Vec<String> }
//!
//! async fn handler(event: Event<Data>, ctx: Context) -> Result<Checked, Failure> {
//!     let data = event.into_data()?;
//!     let path = format!("/data/v1/domain-checks/documents/{}", data.document_id);
//!     let document: Document = ctx.exh().get(&path).await?;
//!     if document.data.domains.is_empty() {
//!         return Err(Failure::new("NoDomains", "the document lists no domains"));
//!     }
//!     let command = exh_task::hexonet_command! {
//!         COMMAND: "CheckDomains", DOMAIN: document.data.domains,
//!     }?;
//!     let response = ctx.hexonet().command(command).await?;
//!     let available = response.records().iter()
//!         .filter(|record| record.get("DOMAINCHECK").is_some_and(|check| check.starts_with("210")))
//!         .filter_map(|record| record.get("DOMAIN").cloned())
//!         .collect();
//!     Ok(Checked { available })
//! }
//!
//! fn main() -> Result<(), task::BoxError> {
//!     task::run(handler)
//! }
//! ```
//!
//! # Testing a task
//! The `exh-task-sandbox` crate (a dev-dependency) serves Extra Horizon
//! (with real OAuth1 checks), HEXONET and CentralNic on loopback, and
//! emulates the Lambda Runtime API for the compiled binary; or call the
//! handler directly with [`Context::with_timeout`]. `examples/check-domains`
//! does both in its `tests/`.
//!
//! # Pieces
//! [`run`] is [`run_function`]: the extension's registration sent first
//! ([`crate::runtime::shutdown::send_registration`]), [`tokio_runtime`],
//! then [`start`] and [`serve`] on it. Call those yourself to set up more
//! before the loop (tracing of your own, clients of your own); without the
//! early registration, the loop registers when it starts.

mod context;
mod event;
mod failure;

#[doc(hidden)]
pub use context::__private;
pub use context::{Context, Exh, ExhCall, Hexonet, HexonetCall, List, ListPage};
pub use event::{Event, FromPayload, Task};
pub use failure::{Failure, TaskError};

use crate::config::Config;
use crate::envelope::{self, Correlation, Reply};
use crate::error::{abridged, LambdaError};
use crate::{init_error, secrets_manager, telemetry, Handler};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::marker::PhantomData;

/// What [`run`] fails with: a start-up or Runtime API error.
pub type BoxError = lambda_runtime::Error;

/// Runs `handler` for every invocation until the process ends, after the
/// start-up `bootstrap` does (see the [module documentation](self)).
///
/// `handler` takes the event (an [`Event`] of your task's `data` type, or
/// the raw payload as a [`Value`]) and the invocation's [`Context`], and
/// returns its result or an error with a [`TaskError`] `errorType`.
///
/// # Example
/// ```no_run
/// use exh_task::task::{self, Context, Event};
///
/// async fn handler(event: Event<serde_json::Value>, ctx: Context) -> Result<serde_json::Value, exh_task::Error> {
///     let data = event.into_data()?;
///     let me: serde_json::Value = ctx.exh().get("/users/v1/me").await?;
///     Ok(serde_json::json!({"data": data, "me": me["email"]}))
/// }
///
/// fn main() -> Result<(), task::BoxError> {
///     task::run(handler)
/// }
/// ```
pub fn run<P: FromPayload + Send + 'static>(handler: impl TaskFn<P>) -> Result<(), BoxError> {
    run_function(|shared| task_function(shared, handler))
}

/// What [`run`] and `bootstrap` share: the extension's registration sent
/// first, tracing, [`start`], then the runtime loop running the
/// [`crate::runtime::Function`] that `function` makes of the shared
/// [`Handler`] (`bootstrap` runs the handler itself).
///
/// # Example
/// ```no_run
/// fn main() -> Result<(), exh_task::task::BoxError> {
///     exh_task::task::run_function(|handler| handler)
/// }
/// ```
pub fn run_function<F: crate::runtime::Function>(
    function: impl FnOnce(Handler) -> F,
) -> Result<(), BoxError> {
    // Before anything else: the Extensions API answers while we start.
    crate::runtime::shutdown::send_registration();
    // Boxed: `block_on` and its callers would otherwise each hold a copy
    // of the whole future on the stack, pages a cold start faults in.
    let runtime = tokio_runtime()?;
    let ran = runtime.block_on(Box::pin(async move {
        crate::telemetry::init();
        // Taken before start-up: the registration is out, so Lambda may
        // send SIGTERM while start-up waits (on the secret, say), which
        // would otherwise end the process by its default action.
        let shutdown = crate::runtime::shutdown::Shutdown::on_signals()?;
        let handler = tokio::select! {
            handler = start() => handler?,
            _ = shutdown.started() => {
                tracing::info!("shut down during start-up");
                return Ok(());
            }
        };
        crate::runtime::run_until(function(handler), shutdown).await
    }));
    // Not waiting for blocking work still under way: a DNS lookup ahead
    // (`crate::dns`) that its server never answers must not hold the exit.
    runtime.shutdown_background();
    ran
}

/// The tokio runtime [`run`] runs on: one thread when invocations come one
/// at a time, a worker per core when `AWS_LAMBDA_MAX_CONCURRENCY` is above
/// 1 (read as `lambda_runtime` does).
///
/// A sequential function gains nothing from more threads, and with several
/// it loses keep-alive: hyper returns a finished HTTP/1 connection to the
/// pool from a task of its own, which can wait on a preempted worker while
/// the next invocation already asks for a connection; the pool then races a
/// new connect against it and, when the connect wins, closes the old one.
/// On one thread that task runs before the next invocation can arrive.
///
/// # Example
/// ```no_run
/// let runtime = exh_task::task::tokio_runtime().expect("a tokio runtime");
/// runtime.block_on(async { /* start, then serve */ });
/// ```
pub fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if crate::runtime::max_concurrency() > 1 {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build()
}

/// The start-up before the first invocation: the shared HTTP client, the
/// configuration (the environment, then the Secrets Manager secret
/// `EXH_TASK_SECRET_ID` names for what it leaves unset), and the
/// [`Handler`] holding the clients built from them.
///
/// A configuration that cannot be right is logged and reported to the
/// Runtime API (`/init/error`, `errorType` `InvalidConfig`) before the
/// error is returned, so the first invocation's caller reads the cause.
///
/// # Example
/// ```no_run
/// # async fn run() -> Result<(), exh_task::task::BoxError> {
/// let handler = exh_task::task::start().await?;
/// # Ok(()) }
/// ```
pub async fn start() -> Result<Handler, BoxError> {
    let http = crate::http::client()?;
    // Read once, before the first invocation; the environment always wins.
    let read = async { secrets_manager::overlay(crate::config::environment()?).await };
    let config = match read.await.and_then(Config::from_lookup) {
        Ok(config) => config,
        Err(error) => {
            let report = LambdaError {
                error_type: init_error::INVALID_CONFIG.into(),
                error_message: error.to_string(),
            };
            tracing::error!(
                errorType = report.error_type.as_ref(),
                errorMessage = %report.error_message,
                "invalid configuration"
            );
            init_error::report(&report).await;
            return Err(error.into());
        }
    };
    // Beside the rest of the start-up and the first `/next`, not after them.
    for host in config.hosts_to_look_up(|name| std::env::var(name).ok()) {
        crate::dns::SHARED.prefetch(&host);
    }
    let handler = Handler::new(config, http);
    telemetry::panic::log_panics(handler.redactor().clone());
    Ok(handler)
}

/// The runtime loop: every invocation's payload read as `P`, then
/// `handler` run with a [`Context`] on `shared`'s clients; concurrently
/// when `AWS_LAMBDA_MAX_CONCURRENCY` is above 1.
///
/// It is `bootstrap`'s loop ([`crate::runtime`]), with its guarantees: the
/// payload read as JSON strictly (trailing bytes, bad UTF-8 and deep
/// nesting are `InvalidEvent`s), a malformed or failing Runtime API
/// survived, a panic answered as an error, SIGTERM answered within its
/// grace; one summary line per invocation (and its metrics); no
/// configured secret in the result or the error, in any form; and a result
/// over Lambda's 6 MB limit answered with an `InvalidResponse` that says
/// so.
///
/// # Example
/// ```no_run
/// use exh_task::task::{self, Context};
///
/// async fn handler(event: serde_json::Value, ctx: Context) -> Result<exh_task::envelope::Reply, exh_task::Error> {
///     ctx.handler().handle(event, ctx.deadline()).await
/// }
///
/// # async fn run() -> Result<(), task::BoxError> {
/// task::serve(task::start().await?, handler).await
/// # }
/// ```
pub async fn serve<P: FromPayload + Send + 'static>(
    shared: Handler,
    handler: impl TaskFn<P>,
) -> Result<(), BoxError> {
    crate::runtime::run(task_function(shared, handler)).await
}

/// `handler` on `shared`'s clients, as the runtime loop runs it.
fn task_function<P, F: TaskFn<P>>(shared: Handler, handler: F) -> Function<F, P> {
    Function {
        shared,
        handler,
        payload: PhantomData,
    }
}

/// A task's handler: an async function (or closure) of the payload `P` (an
/// [`Event`], or the raw [`Value`]) and the invocation's [`Context`] that
/// returns its result or an error with a [`TaskError`] `errorType`. Every
/// `async fn(P, Context) -> Result<R, E>` with `R: Serialize` and `E:
/// TaskError` is one: there is nothing to implement.
///
/// # Example
/// ```
/// use exh_task::task::{Context, Failure, TaskFn};
///
/// async fn handler(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, Failure> {
///     Ok(event)
/// }
/// fn is_a_task<P>(_: impl TaskFn<P>) {}
/// is_a_task(handler);
/// ```
pub trait TaskFn<P>: Clone + Send + Sync + 'static {
    /// The result: the invocation's answer.
    type Output: Serialize;
    /// What the handler fails with.
    type Error: TaskError;
    /// The future of one call.
    type Future: Future<Output = Result<Self::Output, Self::Error>> + Send + 'static;

    /// Runs the handler on one invocation's payload.
    fn call(&self, payload: P, ctx: Context) -> Self::Future;
}

impl<P, R, E, F, Fut> TaskFn<P> for F
where
    F: Fn(P, Context) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: Serialize,
    E: TaskError,
{
    type Output = R;
    type Error = E;
    type Future = Fut;

    fn call(&self, payload: P, ctx: Context) -> Fut {
        self(payload, ctx)
    }
}

/// A task's handler as the runtime loop runs it.
struct Function<F, P> {
    shared: Handler,
    handler: F,
    payload: PhantomData<fn() -> P>,
}

impl<F: Clone, P> Clone for Function<F, P> {
    fn clone(&self) -> Self {
        Function {
            shared: self.shared.clone(),
            handler: self.handler.clone(),
            payload: PhantomData,
        }
    }
}

impl<P: FromPayload + Send + 'static, F: TaskFn<P>> crate::runtime::Function for Function<F, P> {
    async fn call(self, event: LambdaEvent<Value>) -> Result<Reply, LambdaError> {
        let ctx = Context::new(self.shared.clone(), event.context);
        let redactor = self.shared.redactor();
        let payload = event.payload;
        let handler = self.handler;
        telemetry::observe(async move {
            telemetry::record::correlate(Correlation::of(&payload, envelope::detect(&payload)));
            let answered = async {
                let payload =
                    P::from_payload(payload).map_err(|error| LambdaError::from(&error))?;
                let result = handler
                    .call(payload, ctx)
                    .await
                    .map_err(|error| LambdaError::of(&error))?;
                Reply::of(&result)
                    .and_then(|reply| reply.redacted(redactor))
                    .map_err(|error| LambdaError::from(&error))
            };
            match answered.await {
                Ok(reply) => {
                    telemetry::record::set_ok(true);
                    Ok(reply)
                }
                Err(error) => Err(LambdaError {
                    error_message: abridged(&redactor.redact(&error.error_message)).into_owned(),
                    ..error
                }),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Function as _;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::HashMap;

    const TOKEN_SECRET: &str = "task-token-secret-4711";

    /// `handler` as the runtime loop runs it, on a handler whose secrets
    /// include [`TOKEN_SECRET`].
    fn function<P, F: TaskFn<P>>(handler: F) -> Function<F, P> {
        let shared = crate::handler::handler(&[
            ("API_HOST", "127.0.0.1:9"),
            ("API_OAUTH_CONSUMER_KEY", "task-consumer-key"),
            ("API_OAUTH_CONSUMER_SECRET", "task-consumer-secret"),
            ("API_OAUTH_TOKEN", "task-token"),
            ("API_OAUTH_TOKEN_SECRET", TOKEN_SECRET),
        ]);
        task_function(shared, handler)
    }

    fn invocation(payload: Value) -> LambdaEvent<Value> {
        LambdaEvent::new(payload, lambda_runtime::Context::default())
    }

    #[tokio::test]
    async fn a_tasks_own_error_keeps_its_error_type_and_loses_any_secret() {
        async fn failing(_: Value, _: Context) -> Result<Value, Failure> {
            Err(Failure::new(
                "DocumentGone",
                format!("gone (signed with {TOKEN_SECRET})"),
            ))
        }
        let error = function(failing)
            .call(invocation(json!({})))
            .await
            .unwrap_err();
        assert_eq!(error.error_type, "DocumentGone");
        assert!(!error.error_message.contains(TOKEN_SECRET), "{error:?}");
        assert!(
            error.error_message.starts_with("gone (signed with "),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_result_that_holds_a_secret_is_answered_without_it() {
        async fn echoing(_: Value, _: Context) -> Result<Value, Failure> {
            Ok(json!({"echo": TOKEN_SECRET, "n": 1}))
        }
        let reply = function(echoing).call(invocation(json!({}))).await.unwrap();
        assert!(!reply.json().contains(TOKEN_SECRET), "{}", reply.json());
        assert_eq!(reply.to_value()["n"], 1);
    }

    #[tokio::test]
    async fn a_result_that_is_not_json_is_an_invalid_response() {
        async fn unwritable(_: Value, _: Context) -> Result<HashMap<(u8, u8), u8>, Failure> {
            Ok(HashMap::from([((1, 2), 3)]))
        }
        let error = function(unwritable)
            .call(invocation(json!({})))
            .await
            .unwrap_err();
        assert_eq!(error.error_type, "InvalidResponse");
        assert!(
            error.error_message.contains("cannot be written as JSON"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn data_of_the_wrong_shape_is_refused_before_the_handler_runs() {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            #[allow(dead_code)]
            document_id: String,
        }
        async fn never(_: Event<Data>, _: Context) -> Result<Value, Failure> {
            panic!("the handler ran")
        }
        let task = json!({"functionName": "check-domains", "data": {"documentid": "d1"}});
        let error = function(never).call(invocation(task)).await.unwrap_err();
        assert_eq!(error.error_type, "InvalidEvent");
        assert!(error.error_message.contains("documentId"), "{error:?}");
    }
}
