//! The Lambda / Extra Horizon task entry point.
//!
//! Wires tracing, configuration and the shared HTTP client, then serves
//! invocations: concurrently when Lambda Managed Instances set
//! `AWS_LAMBDA_MAX_CONCURRENCY` above 1, one after the other otherwise.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

fn main() -> Result<(), lambda_runtime::Error> {
    exh_task::task::tokio_runtime()?.block_on(serve())
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    exh_task::telemetry::init();
    // The start-up every task shares: configuration (and the Secrets
    // Manager secret), the clients, and /init/error when it cannot be right.
    let handler = exh_task::task::start().await?;
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        async move { handler.invoke(event).await }
    }))
    .await
}
