//! The Lambda / Extra Horizon task entry point.
//!
//! Wires tracing, configuration and the shared HTTP client, then serves
//! invocations: concurrently when Lambda Managed Instances set
//! `AWS_LAMBDA_MAX_CONCURRENCY` above 1, one after the other otherwise.

use exh_task::config::Config;
use exh_task::error::LambdaError;
use exh_task::{init_error, secrets_manager, Handler};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

fn main() -> Result<(), lambda_runtime::Error> {
    runtime()?.block_on(serve())
}

/// One thread when invocations come one at a time, a worker per core when
/// `AWS_LAMBDA_MAX_CONCURRENCY` is above 1 (read as `lambda_runtime` does).
///
/// A sequential function gains nothing from more threads, and with several
/// it loses keep-alive: hyper returns a finished HTTP/1 connection to the
/// pool from a task of its own, which can wait on a preempted worker while
/// the next invocation already asks for a connection; the pool then races a
/// new connect against it and, when the connect wins, closes the old one.
/// On one thread that task runs before the next invocation can arrive.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let concurrent = std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|value| value.parse::<u32>().ok())
        .is_some_and(|limit| limit > 1);
    let mut builder = if concurrent {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build()
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    exh_task::telemetry::init();
    let http = exh_task::http::client()?;
    // The secret named by EXH_TASK_SECRET_ID, if any, fills what the
    // environment leaves unset; read once, before the first invocation.
    let config = match secrets_manager::overlay(|name| std::env::var(name).ok())
        .await
        .and_then(Config::from_lookup)
    {
        Ok(config) => config,
        Err(error) => {
            let report = LambdaError {
                error_type: init_error::INVALID_CONFIG,
                error_message: error.to_string(),
            };
            tracing::error!(
                errorType = report.error_type,
                errorMessage = %report.error_message,
                "invalid configuration"
            );
            init_error::report(&http, &report).await;
            return Err(error.into());
        }
    };
    let handler = Handler::new(config, http);
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        async move { handler.invoke(event).await }
    }))
    .await
}
