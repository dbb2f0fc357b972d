//! The Lambda Runtime API (version `2018-06-01`) as the function speaks it:
//! `/next`, `/response`, `/error`.
//!
//! Every `/next` answer is checked before it is used: a missing or
//! unusable `Lambda-Runtime-Aws-Request-Id` or `Lambda-Runtime-Deadline-Ms`,
//! a status other than 200 or a payload over the limit is a [`NextError`]
//! for the caller to report or skip, never a panic (as in `lambda_runtime`
//! 1.5, whose `Context` building `expect`s both headers).

use crate::error::LambdaError;
use crate::runtime::payload::MAX_PAYLOAD_BYTES;
use reqwest::header::{HeaderMap, HeaderValue};
use std::fmt;

/// `Lambda-Runtime-Aws-Request-Id`: the invocation's id, part of the paths.
pub const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
/// `Lambda-Runtime-Deadline-Ms`: the deadline, Unix epoch milliseconds.
pub const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
/// `Lambda-Runtime-Invocation-Id`: echoed on `/response` and `/error`, so
/// the service can refuse an answer to an invocation that timed out.
pub const INVOCATION_ID: &str = "lambda-runtime-invocation-id";
/// `Lambda-Runtime-Function-Error-Type` of an `/error` post.
const FUNCTION_ERROR_TYPE: &str = "lambda-runtime-function-error-type";

/// A client of the Runtime API named by `AWS_LAMBDA_RUNTIME_API`.
#[derive(Clone, Debug)]
pub struct RuntimeApi {
    http: reqwest::Client,
    base: String,
}

/// One invocation as `/next` handed it out.
#[derive(Debug)]
pub struct Next {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Invocation-Id`, when sent.
    pub invocation_id: Option<String>,
    /// Every header, for the rest of the context.
    pub headers: HeaderMap,
    /// The payload, or why it could not be read whole.
    pub payload: Result<Vec<u8>, String>,
}

/// Why a `/next` answer is not an invocation.
#[derive(Debug)]
pub enum NextError {
    /// Occurs when the Runtime API could not be reached or the connection
    /// broke: retried after a back-off.
    Unreachable(String),
    /// Occurs when `/next` answers with a status other than 200.
    Status(u16),
    /// Occurs when the answer has no usable request id: it cannot be
    /// answered, only skipped.
    NoRequestId,
    /// Occurs when the answer has a request id but no usable deadline: it
    /// is answered with an `InvalidEvent` error.
    NoDeadline {
        /// The invocation to answer.
        request_id: String,
        /// Its `Lambda-Runtime-Invocation-Id`, when sent.
        invocation_id: Option<String>,
    },
}

impl fmt::Display for NextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextError::Unreachable(reason) => {
                write!(f, "the Runtime API cannot be reached: {reason}")
            }
            NextError::Status(status) => write!(f, "/next answered with status {status}"),
            NextError::NoRequestId => {
                f.write_str("/next answered without a usable Lambda-Runtime-Aws-Request-Id")
            }
            NextError::NoDeadline { request_id, .. } => write!(
                f,
                "/next handed out {request_id} without a usable Lambda-Runtime-Deadline-Ms"
            ),
        }
    }
}

impl RuntimeApi {
    /// A client for `api` (`host:port`, as in `AWS_LAMBDA_RUNTIME_API`).
    ///
    /// No timeout (`/next` is a long poll) and no proxy: the Runtime API is
    /// local to the execution environment.
    pub fn new(api: &str) -> Result<RuntimeApi, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(crate::http::USER_AGENT)
            .no_proxy()
            .http1_only()
            .build()?;
        Ok(RuntimeApi {
            http,
            base: format!("http://{api}/2018-06-01/runtime"),
        })
    }

    /// The HTTP client, for the Extensions API beside this one.
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Long-polls `/next` for the next invocation.
    pub async fn next(&self) -> Result<Next, NextError> {
        let unreachable =
            |error: reqwest::Error| NextError::Unreachable(crate::http::describe(&error));
        let mut response = self
            .http
            .get(format!("{}/invocation/next", self.base))
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(NextError::Status(status));
        }
        let headers = std::mem::take(response.headers_mut());
        let request_id = header_text(&headers, REQUEST_ID)
            .filter(|id| is_path_segment(id))
            .ok_or(NextError::NoRequestId)?;
        let invocation_id = header_text(&headers, INVOCATION_ID);
        if header_text(&headers, DEADLINE_MS)
            .and_then(|ms| ms.parse::<u64>().ok())
            .is_none()
        {
            return Err(NextError::NoDeadline {
                request_id,
                invocation_id,
            });
        }
        let payload = read_capped(response).await.map_err(|error| match error {
            Capped::Over => format!("the event is over {MAX_PAYLOAD_BYTES} bytes"),
            Capped::Broken(error) => format!(
                "the event could not be read: {}",
                crate::http::describe(&error)
            ),
        });
        Ok(Next {
            request_id,
            invocation_id,
            headers,
            payload,
        })
    }

    /// Posts `json`, the result, as the answer of `request_id`.
    pub async fn respond(&self, request_id: &str, invocation_id: Option<&str>, json: String) {
        let request = self
            .post(request_id, "response", invocation_id)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json);
        send(request, request_id, "response").await;
    }

    /// Posts `error` as the failure of `request_id`.
    pub async fn fail(&self, request_id: &str, invocation_id: Option<&str>, error: &LambdaError) {
        let mut request = self.post(request_id, "error", invocation_id).json(error);
        // A task's own `errorType` may hold what a header cannot: the body
        // still carries it.
        if let Ok(error_type) = HeaderValue::from_str(&error.error_type) {
            request = request.header(FUNCTION_ERROR_TYPE, error_type);
        }
        send(request, request_id, "error").await;
    }

    fn post(
        &self,
        request_id: &str,
        what: &str,
        invocation_id: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self
            .http
            .post(format!("{}/invocation/{request_id}/{what}", self.base));
        match invocation_id {
            Some(id) => request.header(INVOCATION_ID, id),
            None => request,
        }
    }
}

/// Sends an answer; a failure is logged, as nothing else can be done with
/// it (the service reports the invocation as timed out).
async fn send(request: reqwest::RequestBuilder, request_id: &str, what: &str) {
    match request.send().await {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => tracing::error!(
            request_id,
            status = response.status().as_u16(),
            "the Runtime API refused the invocation's {what}"
        ),
        Err(error) => tracing::error!(
            request_id,
            error = %crate::http::describe(&error),
            "the invocation's {what} could not be sent to the Runtime API"
        ),
    }
}

/// A header's value, if it is visible ASCII and not empty.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// Whether `id` can stand in a path as it is: a request id must not be
/// able to address another path of the Runtime API.
fn is_path_segment(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
        && id != "."
        && id != ".."
}

enum Capped {
    Over,
    Broken(reqwest::Error),
}

/// The body, read chunk by chunk up to [`MAX_PAYLOAD_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, Capped> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_PAYLOAD_BYTES as u64)
    {
        return Err(Capped::Over);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Capped::Broken)? {
        if body.len() + chunk.len() > MAX_PAYLOAD_BYTES {
            return Err(Capped::Over);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_that_could_address_another_path_is_not_used() {
        assert!(is_path_segment("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
        for id in ["", "..", "a/b", "a?b", "a%2Fb", "a b"] {
            assert!(!is_path_segment(id), "{id:?}");
        }
    }
}
