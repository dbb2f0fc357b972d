//! The Lambda / Extra Horizon task entry point.
//!
//! The start-up every task shares (`exh_task::task::run_function`): the
//! extension's registration, tracing, configuration (and the Secrets
//! Manager secret), the clients, and `/init/error` when it cannot be
//! right; then the project's own runtime loop (`exh_task::runtime`) runs
//! the handler: concurrently when Lambda Managed Instances set
//! `AWS_LAMBDA_MAX_CONCURRENCY` above 1, one after the other otherwise.

fn main() -> Result<(), lambda_runtime::Error> {
    exh_task::task::run_function(|handler| handler)
}
