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
use crate::mask::Redactor;
use crate::outcome::EventOutcome;
use aws_lambda_events::event::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::fmt;

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
        /// The Extra Horizon user who called an API function
        /// ([`EXH_USER_HEADER`]), for the logs.
        requesting_user: Option<String>,
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
        return Ok(Opened::Request(task_data(event)));
    }
    Ok(Opened::Request(event))
}

/// The `data` of an Extra Horizon task, moved out of it; none is `{}`.
fn task_data(task: Value) -> Value {
    match task {
        Value::Object(mut fields) => match fields.swap_remove("data") {
            None | Some(Value::Null) => json!({}),
            Some(data) => data,
        },
        _ => json!({}),
    }
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
    let requesting_user = request
        .headers
        .get(EXH_USER_HEADER)
        .map(|user| String::from_utf8_lossy(user.as_bytes()).into_owned());
    let kind = if requesting_user.is_some() {
        HttpKind::ExhApiFunction
    } else {
        HttpKind::ApiGatewayHttp
    };
    Ok(Opened::Http {
        kind,
        request: body_request(request.body, request.is_base64_encoded),
        requesting_user,
    })
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
    Opened::Http {
        kind,
        request: body_request(body, base64),
        requesting_user: None,
    }
}

/// The request in an HTTP body, base64-encoded or not.
fn body_request(body: Option<String>, base64: bool) -> Result<Value, Error> {
    let body = body.unwrap_or_default();
    if base64 {
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
    }
}

/// A body as JSON; an empty body is `{}` (the seed's `GET /users/v1/me`).
fn json_body(body: &str, what: &str) -> Result<Value, Error> {
    if body.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(body)
        .map_err(|error| Error::invalid_event(format!("the {what} is not JSON: {error}")))
}

/// The envelope `event` seems to be, as its type. The event is consumed, so
/// its strings (the body above all) are moved into the type, not copied.
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
    /// an event's outcome or the error that kept it from one.
    ///
    /// The result document is serialised once, straight into the response's
    /// `body` string; a response over [`MAX_RESULT_BYTES`] (the escaped body
    /// is larger than the result) is answered as its `InvalidResponse` error.
    pub fn response(self, outcome: Result<&EventOutcome, &Error>) -> Reply {
        let fitted = match outcome {
            Ok(outcome) => Reply::fitting(&HttpResponse::new(200, &outcome.document())),
            Err(error) => return self.error_response(error),
        };
        fitted.unwrap_or_else(|error| self.error_response(&error))
    }

    fn error_response(self, error: &Error) -> Reply {
        let body = LambdaError::from(error);
        Reply::fitting(&HttpResponse::new(self.status_of(error), &body))
            .expect("an error answer is far below the limit")
    }
}

/// The largest answer a synchronous Lambda invocation may return (6 MB),
/// less room for the runtime's own framing.
pub const MAX_RESULT_BYTES: usize = 6 * 1024 * 1024 - 64 * 1024;

/// An envelope's answer, serialised: exactly the bytes the runtime sends.
///
/// It serialises as this JSON text, verbatim (a [`RawValue`]), so the
/// answer is written once and its size is checked on the bytes sent.
#[derive(Debug, Clone)]
pub struct Reply(Box<RawValue>);

impl Reply {
    /// `answer` serialised, or the `InvalidResponse` error when it is over
    /// [`MAX_RESULT_BYTES`] (Lambda would refuse it with a less helpful one).
    fn fitting<T: Serialize>(answer: &T) -> Result<Reply, Error> {
        // Our documents have string keys and no fallible `Serialize`.
        let json = serde_json::value::to_raw_value(answer).expect("answers serialise");
        let size = json.get().len();
        if size > MAX_RESULT_BYTES {
            return Err(Error::InvalidResponse(format!(
                "the result is {size} bytes, over Lambda's 6 MB limit: ask for less (select(), limit())"
            )));
        }
        Ok(Reply(json))
    }

    /// This answer without any secret `redactor` knows. An answer that
    /// holds none (the usual case) costs one scan and is kept as it is;
    /// one that does is read, redacted string by string (an HTTP body as
    /// the JSON it is) and written again, so it stays valid JSON.
    pub fn redacted(self, redactor: &Redactor) -> Result<Reply, Error> {
        if !redactor.finds(self.json()) {
            return Ok(self);
        }
        // Readable unless deeper than serde_json's limit, which only an
        // upstream body at that limit plus our envelope can be.
        let value: Value = serde_json::from_str(self.json()).map_err(|_| {
            Error::InvalidResponse(
                "the result holds a secret and nests too deep to be redacted".to_owned(),
            )
        })?;
        Reply::fitting(&redactor.value(value))
    }

    /// The JSON text sent.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The answer as a JSON value, for reading it rather than sending it.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.json()).expect("a reply is JSON")
    }
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// The answer of a direct invocation, an Extra Horizon task or an
/// EventBridge event: the result document, or the error it is over the
/// size limit with.
pub fn result(outcome: &EventOutcome) -> Result<Reply, Error> {
    Reply::fitting(&outcome.document())
}

/// The answer of an SQS event: `batchItemFailures` naming `failed`, the
/// message ids of the records to retry.
pub fn batch_item_failures(failed: impl IntoIterator<Item = String>) -> Result<Reply, Error> {
    let mut response = SqsBatchResponse::default();
    failed.into_iter().for_each(|id| response.add_failure(id));
    Reply::fitting(&response)
}

/// An HTTP response as API Gateway and Function URLs read it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpResponse<'a, T: Serialize> {
    status_code: u16,
    headers: JsonContent,
    body: JsonText<'a, T>,
    is_base64_encoded: bool,
}

impl<'a, T: Serialize> HttpResponse<'a, T> {
    fn new(status_code: u16, body: &'a T) -> Self {
        HttpResponse {
            status_code,
            headers: JsonContent {
                content_type: "application/json",
            },
            body: JsonText(body),
            is_base64_encoded: false,
        }
    }
}

#[derive(Serialize)]
struct JsonContent {
    #[serde(rename = "content-type")]
    content_type: &'static str,
}

/// A value that serialises as a string holding its JSON text: written
/// through the serialiser's own string escaping as it is produced, so the
/// text is never built apart from the answer it goes into.
struct JsonText<'a, T>(&'a T);

impl<T: Serialize> Serialize for JsonText<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<T: Serialize> fmt::Display for JsonText<'_, T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        serde_json::to_writer(Utf8Writer(formatter), self.0).map_err(|_| fmt::Error)
    }
}

/// `serde_json` writes whole UTF-8 pieces (it cuts strings only before the
/// ASCII bytes it escapes), so each write is text for the formatter.
struct Utf8Writer<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl std::io::Write for Utf8Writer<'_, '_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = std::str::from_utf8(bytes).map_err(std::io::Error::other)?;
        self.0.write_str(text).map_err(std::io::Error::other)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
        let response = HttpKind::ApiGatewayRest
            .response(Err(&Error::invalid_event("bad")))
            .to_value();
        assert_eq!(response["statusCode"], 400);
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"errorType": "InvalidEvent", "errorMessage": "invalid event: bad"})
        );
    }

    /// An Extra Horizon answer whose body is a string of `quotes` `"`
    /// characters: each takes 2 bytes in the result, 4 in an HTTP body.
    fn quotes(count: usize) -> EventOutcome {
        EventOutcome::Single(crate::outcome::Outcome::Exh(crate::exh::Answer {
            status: 200,
            body: Value::String("\"".repeat(count)),
        }))
    }

    #[test]
    fn a_result_is_sent_as_its_document_serialised() {
        let outcome = quotes(2);
        let reply = result(&outcome).unwrap();
        assert_eq!(
            reply.json(),
            serde_json::to_string(&outcome.document()).unwrap()
        );
        assert_eq!(serde_json::to_string(&reply).unwrap(), reply.json());
    }

    #[test]
    fn an_http_response_holds_the_result_text_as_its_body() {
        // Escapes, control characters and multi-byte text, which the body
        // string escapes a second time.
        let outcome = EventOutcome::Single(crate::outcome::Outcome::Exh(crate::exh::Answer {
            status: 200,
            body: json!({"text": "é \"q\" \\ \n\t\u{1} 😀", "n": [1.5, -0.0, 2]}),
        }));
        let response = HttpKind::FunctionUrl.response(Ok(&outcome));
        let expected = json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": serde_json::to_string(&outcome.document()).unwrap(),
            "isBase64Encoded": false,
        });
        assert_eq!(response.json(), expected.to_string());
    }

    #[test]
    fn a_result_of_exactly_the_limit_is_sent_and_one_byte_more_is_refused() {
        let overhead = result(&quotes(0)).unwrap().json().len();
        let at_limit = EventOutcome::Single(crate::outcome::Outcome::Exh(crate::exh::Answer {
            status: 200,
            body: Value::String("x".repeat(MAX_RESULT_BYTES - overhead)),
        }));
        assert_eq!(result(&at_limit).unwrap().json().len(), MAX_RESULT_BYTES);
        let over = EventOutcome::Single(crate::outcome::Outcome::Exh(crate::exh::Answer {
            status: 200,
            body: Value::String("x".repeat(MAX_RESULT_BYTES - overhead + 1)),
        }));
        let error = result(&over).unwrap_err();
        assert_eq!(
            error,
            Error::InvalidResponse(format!(
                "the result is {} bytes, over Lambda's 6 MB limit: ask for less (select(), limit())",
                MAX_RESULT_BYTES + 1
            ))
        );
    }

    #[test]
    fn a_result_that_fits_directly_is_refused_when_its_http_escaped_body_does_not() {
        let outcome = quotes(MAX_RESULT_BYTES / 3);
        let direct = result(&outcome).unwrap();
        assert!(direct.json().len() < MAX_RESULT_BYTES);
        for kind in [HttpKind::ApiGatewayHttp, HttpKind::ExhApiFunction] {
            let response = kind.response(Ok(&outcome)).to_value();
            assert_eq!(
                response["statusCode"],
                kind.status_of(&Error::InvalidResponse(String::new()))
            );
            let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
            assert_eq!(body["errorType"], "InvalidResponse", "{body}");
            let message = body["errorMessage"].as_str().unwrap();
            assert!(message.contains("over Lambda's 6 MB limit"), "{message}");
        }
    }

    #[test]
    fn sqs_failures_are_named_by_message_id() {
        let reply = batch_item_failures(["a".to_owned(), "b".to_owned()]).unwrap();
        assert_eq!(
            reply.json(),
            r#"{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"b"}]}"#
        );
        assert_eq!(
            batch_item_failures([]).unwrap().json(),
            r#"{"batchItemFailures":[]}"#
        );
    }
}
