//! Reporting a start-up failure to the Lambda Runtime API.
//!
//! A function that cannot start (say `API_HOST=ftp://...`) posts to
//! `/runtime/init/error` before exiting, so the caller of the first
//! invocation reads the cause instead of a bare `Runtime.ExitError`.

use crate::error::LambdaError;

/// The `errorType` of a configuration that cannot be right.
pub const INVALID_CONFIG: &str = "InvalidConfig";

/// Posts `error` (`{errorType, errorMessage}`) to the Runtime API named by
/// `AWS_LAMBDA_RUNTIME_API`. Outside Lambda (variable unset) it does nothing.
pub async fn report(http: &reqwest::Client, error: &LambdaError) {
    let api = match crate::runtime::endpoint::Endpoint::from_env() {
        None => return,
        Some(Ok(api)) => api,
        Some(Err(error)) => {
            tracing::error!(%error, "cannot report the start-up failure to the Runtime API");
            return;
        }
    };
    let url = api.url("/2018-06-01/runtime/init/error");
    let sent = http
        .post(url)
        .header(
            "Lambda-Runtime-Function-Error-Type",
            error.error_type.as_ref(),
        )
        .json(error)
        .send()
        .await;
    if let Err(error) = sent {
        tracing::error!(%error, "could not report the start-up failure to the Runtime API");
    }
}
