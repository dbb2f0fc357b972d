//! Reporting a start-up failure to the Lambda Runtime API.
//!
//! A function that cannot start (say `API_HOST=ftp://...`) posts to
//! `/runtime/init/error` before exiting, so the caller of the first
//! invocation reads the cause instead of a bare `Runtime.ExitError`.

use crate::error::LambdaError;
use crate::runtime::api::RuntimeApi;

/// The `errorType` of a configuration that cannot be right.
pub const INVALID_CONFIG: &str = "InvalidConfig";

/// Posts `error` (`{errorType, errorMessage}`) to the Runtime API named by
/// `AWS_LAMBDA_RUNTIME_API`, through the Runtime API's own client (local
/// to the execution environment: no proxy, unlike the upstream client).
/// Outside Lambda (variable unset) it does nothing.
pub async fn report(error: &LambdaError) {
    let client = match crate::runtime::endpoint::Endpoint::from_env() {
        None => return,
        Some(Ok(api)) => RuntimeApi::new(&api).map_err(|error| error.to_string()),
        Some(Err(error)) => Err(error.to_string()),
    };
    match client {
        Ok(client) => client.init_error(error).await,
        Err(error) => {
            tracing::error!(%error, "cannot report the start-up failure to the Runtime API")
        }
    }
}
