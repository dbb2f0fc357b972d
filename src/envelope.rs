//! Envelopes: the ways Lambda and Extra Horizon deliver an event, detected
//! and unwrapped to the request inside, and how each expects its answer.
//!
//! | envelope | detected by | request | answer |
//! | --- | --- | --- | --- |
//! | SQS | `Records[].eventSource == "aws:sqs"` | each record's body | `batchItemFailures` |
//! | API Gateway REST (v1) | `httpMethod` + `requestContext` | JSON body | HTTP response |
//! | Extra Horizon API function | v2 format + `x-exh-requesting-user-id` | JSON body | HTTP response, status 200–499 |
//! | Lambda Function URL | v2 format, `*.lambda-url.*` domain | JSON body | HTTP response |
//! | API Gateway HTTP (v2) | `version: "2.0"` + `requestContext` | JSON body | HTTP response |
//! | EventBridge / Scheduler | `detail-type` + `source` + `detail` | `detail` | result |
//! | Extra Horizon task | `functionName` (the Task object) | `data` | result (the task's `result`) |
//! | direct invocation | anything else | the event | result |

use crate::error::{Error, LambdaError};
use aws_lambda_events::event::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// The header Extra Horizon sets (and vouches for) on API function calls.
pub const EXH_USER_HEADER: &str = "x-exh-requesting-user-id";

/// An event taken out of its envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// The event is the request (direct invocation, Extra Horizon task,
    /// EventBridge): answered with the result, or failed with the error.
    Request(Value),
    /// An HTTP request whose body is the request: always answered with an
    /// HTTP response, the error as a JSON body with a status.
    Http {
        /// Which HTTP envelope (it decides the status range).
        kind: HttpKind,
        /// The body as JSON (`{}` when empty), or why it is not a request.
        request: Result<Value, Error>,
    },
    /// SQS records: each body is a request, failures are reported by id.
    Sqs(Vec<SqsRecord>),
}

/// The HTTP envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpKind {
    /// API Gateway REST API proxy integration (payload 1.0).
    ApiGatewayRest,
    /// API Gateway HTTP API (payload 2.0).
    ApiGatewayHttp,
    /// Lambda Function URL.
    FunctionUrl,
    /// Extra Horizon API function (`/tasks/v1/api/<name>/...`).
    ExhApiFunction,
}

/// One SQS record: its id and its request (or why it is not one).
#[derive(Debug, Clone, PartialEq)]
pub struct SqsRecord {
    /// `messageId`, echoed in `batchItemFailures`.
    pub message_id: String,
    /// The body as JSON.
    pub request: Result<Value, Error>,
}

/// Detects the envelope of `event` and takes the request(s) out.
pub fn open(event: Value) -> Result<Opened, Error> {
    let Value::Object(fields) = &event else {
        return Ok(Opened::Request(event));
    };
    let has = |name: &str| fields.contains_key(name);
    if fields
        .get("Records")
        .and_then(|records| records.get(0))
        .is_some_and(|record| record["eventSource"] == "aws:sqs")
    {
        return sqs(event);
    }
    if has("requestContext") && has("httpMethod") {
        let request: ApiGatewayProxyRequest = typed(event, "an API Gateway REST event")?;
        return Ok(http(
            HttpKind::ApiGatewayRest,
            request.body,
            request.is_base64_encoded,
        ));
    }
    if has("requestContext") && fields.get("version").is_some_and(|v| v == "2.0") {
        return v2(event);
    }
    if has("detail-type") && has("source") && has("detail") {
        let event: EventBridgeEvent<Value> = typed(event, "an EventBridge event")?;
        return Ok(Opened::Request(event.detail));
    }
    if fields.get("functionName").is_some_and(Value::is_string) {
        return Ok(Opened::Request(match fields.get("data") {
            None | Some(Value::Null) => json!({}),
            Some(data) => data.clone(),
        }));
    }
    Ok(Opened::Request(event))
}

fn v2(event: Value) -> Result<Opened, Error> {
    let domain = event["requestContext"]["domainName"]
        .as_str()
        .unwrap_or_default();
    if domain.contains(".lambda-url.") {
        let request: LambdaFunctionUrlRequest = typed(event, "a Lambda Function URL event")?;
        return Ok(http(
            HttpKind::FunctionUrl,
            request.body,
            request.is_base64_encoded,
        ));
    }
    let request: ApiGatewayV2httpRequest = typed(event, "an API Gateway HTTP (v2) event")?;
    let kind = if request.headers.contains_key(EXH_USER_HEADER) {
        HttpKind::ExhApiFunction
    } else {
        HttpKind::ApiGatewayHttp
    };
    Ok(http(kind, request.body, request.is_base64_encoded))
}

fn sqs(event: Value) -> Result<Opened, Error> {
    let event: SqsEvent = typed(event, "an SQS event")?;
    let records = event
        .records
        .into_iter()
        .enumerate()
        .map(|(index, record)| SqsRecord {
            message_id: record
                .message_id
                .unwrap_or_else(|| format!("record-{index}")),
            request: json_body(
                record.body.as_deref().unwrap_or_default(),
                "SQS message body",
            ),
        })
        .collect();
    Ok(Opened::Sqs(records))
}

fn http(kind: HttpKind, body: Option<String>, base64: bool) -> Opened {
    let body = body.unwrap_or_default();
    let request = if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|error| Error::invalid_event(format!("the body is not valid base64: {error}")))
            .and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| Error::invalid_event("the base64 body is not UTF-8 text"))
            })
            .and_then(|text| json_body(&text, "HTTP body"))
    } else {
        json_body(&body, "HTTP body")
    };
    Opened::Http { kind, request }
}

/// A body as JSON; an empty body is `{}` (the seed's `GET /users/v1/me`).
fn json_body(body: &str, what: &str) -> Result<Value, Error> {
    if body.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(body)
        .map_err(|error| Error::invalid_event(format!("the {what} is not JSON: {error}")))
}

fn typed<T: DeserializeOwned>(event: Value, what: &str) -> Result<T, Error> {
    serde_json::from_value(event).map_err(|error| {
        Error::invalid_event(format!("looks like {what} but does not parse: {error}"))
    })
}

impl HttpKind {
    /// The HTTP status for `error`. Extra Horizon API functions must answer
    /// within 200–499, so upstream failures become 424 (Failed Dependency)
    /// there; elsewhere they are 502, and 504 for timeouts.
    pub fn status_of(self, error: &Error) -> u16 {
        let status = match error {
            Error::InvalidEvent(_) => 400,
            Error::Forbidden(_) => 403,
            Error::MissingConfig(_) => 500,
            Error::Timeout(_) => 504,
            Error::Unauthorized(_) | Error::Transport(_) | Error::InvalidResponse(_) => 502,
        };
        if self == HttpKind::ExhApiFunction && status >= 500 {
            424
        } else {
            status
        }
    }

    /// The HTTP response (the shape API Gateway and Function URLs take) for
    /// a result or an error.
    pub fn response(self, outcome: Result<Value, Error>) -> Value {
        let (status, body) = match outcome {
            Ok(result) => (200, result),
            Err(error) => (
                self.status_of(&error),
                serde_json::to_value(LambdaError::from(&error)).expect("error objects serialise"),
            ),
        };
        json!({
            "statusCode": status,
            "headers": {"content-type": "application/json"},
            "body": body.to_string(),
            "isBase64Encoded": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_request_is_its_own_envelope() {
        assert_eq!(
            open(json!({"exh": {}})).unwrap(),
            Opened::Request(json!({"exh": {}}))
        );
        assert_eq!(open(json!("text")).unwrap(), Opened::Request(json!("text")));
    }

    #[test]
    fn an_exh_task_carries_the_request_in_data() {
        let task = json!({"id": "5f1", "functionName": "my-task", "data": {"exh": {"path": "/users/v1/"}}, "tags": []});
        assert_eq!(
            open(task).unwrap(),
            Opened::Request(json!({"exh": {"path": "/users/v1/"}}))
        );
        let without_data = json!({"id": "5f1", "functionName": "my-task"});
        assert_eq!(open(without_data).unwrap(), Opened::Request(json!({})));
    }

    #[test]
    fn base64_bodies_are_decoded() {
        let Opened::Http { request, .. } =
            http(HttpKind::FunctionUrl, Some("eyJleGgiOnt9fQ==".into()), true)
        else {
            panic!("not http")
        };
        assert_eq!(request.unwrap(), json!({"exh": {}}));
    }

    #[test]
    fn an_empty_http_body_asks_for_the_current_user() {
        let Opened::Http { request, .. } = http(HttpKind::ApiGatewayHttp, None, false) else {
            panic!("not http")
        };
        assert_eq!(request.unwrap(), json!({}));
    }

    #[test]
    fn a_body_that_is_not_json_is_an_invalid_event() {
        let Opened::Http { request, .. } = http(HttpKind::ApiGatewayHttp, Some("{".into()), false)
        else {
            panic!("not http")
        };
        assert_eq!(request.unwrap_err().error_type(), "InvalidEvent");
    }

    #[test]
    fn exh_api_functions_never_answer_5xx() {
        let kind = HttpKind::ExhApiFunction;
        assert_eq!(kind.status_of(&Error::Timeout("t".into())), 424);
        assert_eq!(kind.status_of(&Error::MissingConfig(vec!["API_HOST"])), 424);
        assert_eq!(kind.status_of(&Error::Forbidden("f".into())), 403);
        assert_eq!(
            HttpKind::ApiGatewayHttp.status_of(&Error::Timeout("t".into())),
            504
        );
    }

    #[test]
    fn http_errors_are_json_bodies_with_a_status() {
        let response = HttpKind::ApiGatewayRest.response(Err(Error::invalid_event("bad")));
        assert_eq!(response["statusCode"], 400);
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"errorType": "InvalidEvent", "errorMessage": "invalid event: bad"})
        );
    }
}
