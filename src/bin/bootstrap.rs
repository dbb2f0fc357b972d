//! The Lambda / Extra Horizon task entry point.
//!
//! Wires tracing, configuration and the shared HTTP client, then serves
//! invocations: concurrently when Lambda Managed Instances set
//! `AWS_LAMBDA_MAX_CONCURRENCY` above 1, one after the other otherwise.

use exh_task::config::Config;
use exh_task::{init_error, Handler};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let http = exh_task::http::client()?;
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            init_error::report(&http, init_error::INVALID_CONFIG, &error.to_string()).await;
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
