//! Reporting a start-up failure to the Lambda Runtime API.
//!
//! A function that cannot start (say `API_HOST=ftp://...`) posts to
//! `/runtime/init/error` before exiting, so the caller of the first
//! invocation reads the cause instead of a bare `Runtime.ExitError`.

use crate::error::LambdaError;
use crate::runtime::api::RuntimeApi;
use crate::runtime::endpoint::Endpoint;

/// How long the report may take.
const REPORT_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// The `errorType` of a configuration that cannot be right.
pub const INVALID_CONFIG: &str = "InvalidConfig";

/// Posts `error` (`{errorType, errorMessage}`) to the Runtime API named by
/// `AWS_LAMBDA_RUNTIME_API`, through the Runtime API's own client (local
/// to the execution environment: no proxy, unlike the upstream client).
/// Outside Lambda (variable unset) it does nothing.
pub async fn report(error: &LambdaError) {
    match Endpoint::from_env() {
        None => {}
        Some(Ok(api)) => report_to(&api, error).await,
        Some(Err(reason)) => {
            tracing::error!(%reason, "cannot report the start-up failure to the Runtime API")
        }
    }
}

/// [`report`] to the Runtime API at `api`, bounded by [`REPORT_TIME`]: the
/// process must end even when the Runtime API takes the report and never
/// answers.
async fn report_to(api: &Endpoint, error: &LambdaError) {
    let client = match RuntimeApi::new(api) {
        Ok(client) => client,
        Err(reason) => {
            tracing::error!(%reason, "cannot report the start-up failure to the Runtime API");
            return;
        }
    };
    if tokio::time::timeout(REPORT_TIME, client.init_error(error))
        .await
        .is_err()
    {
        tracing::error!(
            "the Runtime API did not take the report of the start-up failure within {} s",
            REPORT_TIME.as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_runtime_api_that_never_answers_does_not_hold_the_report() {
        // Bound, never accepted: the request sits in the backlog unanswered.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let api = Endpoint::parse(&listener.local_addr().expect("its address").to_string())
            .expect("host:port");
        let error = LambdaError {
            error_type: INVALID_CONFIG.into(),
            error_message: "API_HOST is not a URL".into(),
        };
        let started = tokio::time::Instant::now();
        let reported = tokio::time::timeout(REPORT_TIME * 2, report_to(&api, &error)).await;
        assert!(reported.is_ok(), "the report outlived twice its bound");
        assert!(
            started.elapsed() >= REPORT_TIME,
            "it gave up before its bound"
        );
    }
}
