//! The Lambda / Extra Horizon task entry point.
//!
//! Wires tracing, configuration and the shared HTTP client, then serves
//! invocations with the project's own runtime loop (`exh_task::runtime`):
//! concurrently when Lambda Managed Instances set
//! `AWS_LAMBDA_MAX_CONCURRENCY` above 1, one after the other otherwise.

fn main() -> Result<(), lambda_runtime::Error> {
    // Before anything else: the Extensions API answers while we start.
    exh_task::runtime::shutdown::send_registration();
    exh_task::task::tokio_runtime()?.block_on(serve())
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    exh_task::telemetry::init();
    // The start-up every task shares: configuration (and the Secrets
    // Manager secret), the clients, and /init/error when it cannot be right.
    let handler = exh_task::task::start().await?;
    exh_task::runtime::run(handler).await
}
