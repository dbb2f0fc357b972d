//! The Lambda / Extra Horizon task entry point.
//!
//! Wires tracing, configuration and the shared HTTP client, then serves
//! invocations with the project's own runtime loop (`exh_task::runtime`):
//! concurrently when Lambda Managed Instances set
//! `AWS_LAMBDA_MAX_CONCURRENCY` above 1, one after the other otherwise.

use exh_task::config::Config;
use exh_task::error::LambdaError;
use exh_task::{init_error, Handler};

fn main() -> Result<(), lambda_runtime::Error> {
    runtime()?.block_on(serve())
}

/// One thread when invocations come one at a time, a worker per core when
/// `AWS_LAMBDA_MAX_CONCURRENCY` is above 1 (`exh_task::runtime::max_concurrency`).
///
/// A sequential function gains nothing from more threads, and with several
/// it loses keep-alive: hyper returns a finished HTTP/1 connection to the
/// pool from a task of its own, which can wait on a preempted worker while
/// the next invocation already asks for a connection; the pool then races a
/// new connect against it and, when the connect wins, closes the old one.
/// On one thread that task runs before the next invocation can arrive.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if exh_task::runtime::max_concurrency() > 1 {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build()
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    exh_task::logging::init();
    let http = exh_task::http::client()?;
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            let report = LambdaError {
                error_type: init_error::INVALID_CONFIG,
                error_message: error.to_string(),
            };
            init_error::report(&http, &report).await;
            return Err(error.into());
        }
    };
    exh_task::runtime::run(Handler::new(config, http)).await
}
