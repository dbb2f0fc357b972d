//! Envelopes: the ways Lambda and Extra Horizon deliver an event, detected
//! and unwrapped to the request inside, and how each expects its answer.
//!
//! | envelope | detected by | request | answer |
//! | --- | --- | --- | --- |
//! | SQS | `Records[].eventSource == "aws:sqs"` | each record's body | `batchItemFailures` (a FIFO queue's: from its first failure on) |
//! | API Gateway REST (v1) | `httpMethod` + `requestContext` | JSON body | HTTP response |
//! | Extra Horizon API function | v2 format + `x-exh-requesting-user-id` | JSON body | HTTP response, status 200–499 |
//! | Lambda Function URL | v2 format, `*.lambda-url.*` domain | JSON body | HTTP response |
//! | API Gateway HTTP (v2) | `version: "2.0"` + `requestContext` | JSON body | HTTP response |
//! | EventBridge / Scheduler | `detail-type` + `source` + `detail` | `detail` | result |
//! | Extra Horizon task | `functionName` (the Task object) | `data` | result (the task's `result`) |
//! | direct invocation | anything else | the event | result |

use crate::answer_memory::{AnswerMemory, Unread};
use crate::error::{abridged, Error, LambdaError};
use crate::mask::Redactor;
use crate::outcome::EventOutcome;
use crate::runtime::payload::{function_memory_mb, Allowance};
use aws_lambda_events::event::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::borrow::Cow;
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
        /// ([`EXH_USER_HEADER`]), for the logs: cut as the summary's ids
        /// are, since every line of the request carries it.
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
    /// Whether the record came from a FIFO queue (its `eventSourceARN`
    /// ends in `.fifo`), whose order a failure must not be overtaken in.
    pub fifo: bool,
}

/// Which envelope an event came in, as detected by [`detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Envelope {
    /// A direct invocation: the event is the request.
    #[default]
    Direct,
    /// An Extra Horizon task (the Task object).
    ExhTask,
    /// An EventBridge (or EventBridge Scheduler) event.
    EventBridge,
    /// One of the HTTP envelopes.
    Http(HttpKind),
    /// SQS records.
    Sqs,
}

impl Envelope {
    /// The name in log lines: `direct`, `exh_task`, `eventbridge`, `sqs`,
    /// `api_gateway_rest`, `api_gateway_http`, `function_url`, `exh_api_function`.
    pub fn name(self) -> &'static str {
        match self {
            Envelope::Direct => "direct",
            Envelope::ExhTask => "exh_task",
            Envelope::EventBridge => "eventbridge",
            Envelope::Sqs => "sqs",
            Envelope::Http(HttpKind::ApiGatewayRest) => "api_gateway_rest",
            Envelope::Http(HttpKind::ApiGatewayHttp) => "api_gateway_http",
            Envelope::Http(HttpKind::FunctionUrl) => "function_url",
            Envelope::Http(HttpKind::ExhApiFunction) => "exh_api_function",
        }
    }
}

/// The envelope of `event`, by the rules of the module's table.
pub fn detect(event: &Value) -> Envelope {
    let Value::Object(fields) = event else {
        return Envelope::Direct;
    };
    let has = |name: &str| fields.contains_key(name);
    if fields
        .get("Records")
        .and_then(|records| records.get(0))
        .is_some_and(|record| record["eventSource"] == "aws:sqs")
    {
        Envelope::Sqs
    } else if has("requestContext") && has("httpMethod") {
        Envelope::Http(HttpKind::ApiGatewayRest)
    } else if has("requestContext") && fields.get("version").is_some_and(|v| v == "2.0") {
        let domain = event["requestContext"]["domainName"]
            .as_str()
            .unwrap_or_default();
        Envelope::Http(if domain.contains(".lambda-url.") {
            HttpKind::FunctionUrl
        } else if header(event, EXH_USER_HEADER).is_some() {
            HttpKind::ExhApiFunction
        } else {
            HttpKind::ApiGatewayHttp
        })
    } else if has("detail-type") && has("source") && has("detail") {
        Envelope::EventBridge
    } else if fields.get("functionName").is_some_and(Value::is_string) {
        Envelope::ExhTask
    } else {
        Envelope::Direct
    }
}

/// The header `name` of an HTTP event, in any case (API Gateway v2
/// lower-cases header names, clients and tests may not).
fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event["headers"]
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, value)| value.as_str())
}

/// The ids an envelope carries, for the logs: whatever ties an invocation
/// to the task, message or HTTP request it served. Never a body, never a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Correlation {
    /// The envelope.
    pub envelope: Envelope,
    /// The Extra Horizon task's `id`.
    pub task_id: Option<String>,
    /// The Extra Horizon task's `functionName`.
    pub function_name: Option<String>,
    /// API Gateway's or the Function URL's `requestContext.requestId`.
    pub http_request_id: Option<String>,
    /// The Extra Horizon user who called an API function ([`EXH_USER_HEADER`]).
    pub requesting_user: Option<String>,
    /// The EventBridge event's `id`.
    pub event_id: Option<String>,
    /// The `messageId` of each SQS record.
    pub message_ids: Vec<String>,
}

/// The longest id kept, so an odd event cannot blow up its log line.
const MAX_ID_CHARS: usize = 128;

/// `id` as the logs carry it: its first [`MAX_ID_CHARS`] characters.
pub(crate) fn logged_id(id: &str) -> String {
    id.chars().take(MAX_ID_CHARS).collect()
}

impl Correlation {
    /// The ids of `event`, which came in `envelope`.
    pub fn of(event: &Value, envelope: Envelope) -> Correlation {
        let id = |value: &Value| value.as_str().map(logged_id);
        let mut correlation = Correlation {
            envelope,
            ..Correlation::default()
        };
        match envelope {
            Envelope::Direct => {}
            Envelope::ExhTask => {
                correlation.task_id = id(&event["id"]);
                correlation.function_name = id(&event["functionName"]);
            }
            Envelope::EventBridge => correlation.event_id = id(&event["id"]),
            Envelope::Http(kind) => {
                correlation.http_request_id = id(&event["requestContext"]["requestId"]);
                if kind == HttpKind::ExhApiFunction {
                    correlation.requesting_user =
                        header(event, EXH_USER_HEADER).and_then(|user| id(&Value::from(user)));
                }
            }
            Envelope::Sqs => {
                correlation.message_ids = event["Records"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|record| id(&record["messageId"]))
                    .collect();
            }
        }
        correlation
    }
}

/// Detects the envelope of `event` and takes the request(s) out.
pub fn open(event: Value) -> Result<Opened, Error> {
    open_correlated(event).1
}

/// [`open`], with the envelope's [`Correlation`] (known also when the
/// event does not open).
pub fn open_correlated(event: Value) -> (Correlation, Result<Opened, Error>) {
    let envelope = detect(&event);
    let correlation = Correlation::of(&event, envelope);
    let opened = match envelope {
        Envelope::Sqs => sqs(event),
        Envelope::Http(HttpKind::ApiGatewayRest) => {
            typed(event, "an API Gateway REST event").map(|request: ApiGatewayProxyRequest| {
                http(
                    HttpKind::ApiGatewayRest,
                    request.body,
                    request.is_base64_encoded,
                )
            })
        }
        Envelope::Http(kind) => v2(event, kind),
        Envelope::EventBridge => typed(event, "an EventBridge event")
            .map(|event: EventBridgeEvent<Value>| Opened::Request(event.detail)),
        Envelope::ExhTask => Ok(Opened::Request(task_data(event))),
        Envelope::Direct => Ok(Opened::Request(event)),
    };
    (correlation, opened)
}

/// An event told apart as [`open`] tells it, the Extra Horizon task kept
/// whole (for `exh_task::task`, whose handlers read the Task object).
#[derive(Debug, Clone, PartialEq)]
pub enum Detected {
    /// An Extra Horizon task: the Task object, `data` still in it.
    Task(Value),
    /// Any other envelope, opened.
    Opened(Opened),
}

/// [`open`], without taking the `data` out of an Extra Horizon task.
pub fn open_keeping_task(event: Value) -> Result<Detected, Error> {
    if detect(&event) == Envelope::ExhTask {
        return Ok(Detected::Task(event));
    }
    open(event).map(Detected::Opened)
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

/// A payload 2.0 event of `kind`: a Function URL, an Extra Horizon API
/// function or an API Gateway HTTP API.
fn v2(event: Value, kind: HttpKind) -> Result<Opened, Error> {
    if kind == HttpKind::FunctionUrl {
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
        .map(|user| logged_id(&String::from_utf8_lossy(user.as_bytes())));
    Ok(Opened::Http {
        kind,
        request: body_request(request.body, request.is_base64_encoded),
        requesting_user,
    })
}

/// The most records an SQS event holds: the most an event source mapping
/// hands a function at once (a standard queue's largest batch size).
pub const MAX_SQS_RECORDS: usize = 10_000;

fn sqs(event: Value) -> Result<Opened, Error> {
    let records = event["Records"].as_array().map_or(0, Vec::len);
    if records > MAX_SQS_RECORDS {
        return Err(Error::invalid_event(format!(
            "an SQS event holds at most {MAX_SQS_RECORDS} records (the largest batch SQS hands \
             a function), not {records}"
        )));
    }
    let event: SqsEvent = typed(event, "an SQS event")?;
    // The records' bodies are read at once: they share one allowance.
    let mut allowance = Allowance::new(function_memory_mb());
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
                &mut allowance,
            ),
            fifo: record
                .event_source_arn
                .is_some_and(|arn| arn.ends_with(".fifo")),
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
    let mut allowance = Allowance::new(function_memory_mb());
    if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|error| Error::invalid_event(format!("the body is not valid base64: {error}")))
            .and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| Error::invalid_event("the base64 body is not UTF-8 text"))
            })
            .and_then(|text| json_body(&text, "HTTP body", &mut allowance))
    } else {
        json_body(&body, "HTTP body", &mut allowance)
    }
}

/// A body as JSON, read within what is left of the event's `allowance`;
/// an empty body is `{}` (the seed's `GET /users/v1/me`).
fn json_body(body: &str, what: &str, allowance: &mut Allowance) -> Result<Value, Error> {
    if body.trim().is_empty() {
        return Ok(json!({}));
    }
    allowance.decode(body, what)
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
            Error::Timeout { .. } => 504,
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
            Ok(outcome) => Reply::of(&HttpResponse::new(200, &outcome.document())),
            Err(error) => return self.error_response(error),
        };
        fitted.unwrap_or_else(|error| self.error_response(&error))
    }

    fn error_response(self, error: &Error) -> Reply {
        let mut body = LambdaError::from(error);
        if let Cow::Owned(cut) = abridged(&body.error_message) {
            body.error_message = cut;
        }
        // Abridged, the message is at most a few hundred KB once escaped
        // twice (JSON in the `body` string): far below the limit.
        Reply::of(&HttpResponse::new(self.status_of(error), &body))
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
    /// [`MAX_RESULT_BYTES`] (Lambda would refuse it with a less helpful one)
    /// or is not JSON (a task's type with a map whose keys are not strings,
    /// or a failing `Serialize`).
    ///
    /// # Example
    /// ```
    /// use exh_task::envelope::Reply;
    /// let reply = Reply::of(&serde_json::json!({"ok": true})).unwrap();
    /// assert_eq!(reply.json(), r#"{"ok":true}"#);
    /// let keys = std::collections::HashMap::from([((1, 2), "not a JSON key")]);
    /// assert_eq!(Reply::of(&keys).unwrap_err().error_type(), "InvalidResponse");
    /// ```
    pub fn of<T: Serialize + ?Sized>(answer: &T) -> Result<Reply, Error> {
        let json = serde_json::value::to_raw_value(answer).map_err(|error| {
            Error::InvalidResponse(format!("the result cannot be written as JSON: {error}"))
        })?;
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
        // Read as the answers are, within what they may take (a 6 MB
        // result of short values takes 50 times that once read), and held
        // until written again.
        let (value, _held) = AnswerMemory::read(self.json().as_bytes()).map_err(|unread| {
            Error::InvalidResponse(match unread {
                Unread::Over(why) => {
                    format!("the result holds a secret and, read to be redacted, {why}")
                }
                // Readable unless deeper than serde_json's limit, which
                // only an upstream body at that limit plus our envelope
                // can be.
                Unread::NotJson => {
                    "the result holds a secret and nests too deep to be redacted".to_owned()
                }
            })
        })?;
        Reply::of(&redactor.value(value))
    }

    /// The JSON text sent.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The JSON text sent, taken without a copy (a result can be megabytes).
    ///
    /// # Example
    /// ```
    /// use exh_task::envelope::Reply;
    /// let reply = Reply::of(&serde_json::json!({"ok": true})).unwrap();
    /// assert_eq!(reply.into_json(), r#"{"ok":true}"#);
    /// ```
    pub fn into_json(self) -> String {
        Box::<str>::from(self.0).into_string()
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
    Reply::of(&outcome.document())
}

/// The answer of an SQS event: `batchItemFailures` naming `failed`, the
/// message ids of the records to retry.
pub fn batch_item_failures(failed: impl IntoIterator<Item = String>) -> Result<Reply, Error> {
    let mut response = SqsBatchResponse::default();
    failed.into_iter().for_each(|id| response.add_failure(id));
    Reply::of(&response)
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
    fn each_envelope_is_correlated_by_the_ids_it_carries() {
        let task = json!({"id": "5f1", "functionName": "my-task", "data": {}});
        let (correlation, opened) = open_correlated(task);
        assert!(opened.is_ok());
        assert_eq!(correlation.envelope, Envelope::ExhTask);
        assert_eq!(correlation.task_id.as_deref(), Some("5f1"));
        assert_eq!(correlation.function_name.as_deref(), Some("my-task"));

        let sqs = json!({"Records": [{"messageId": "m1", "eventSource": "aws:sqs", "body": "{}"},
            {"messageId": "m2", "eventSource": "aws:sqs", "body": "{}"}]});
        assert_eq!(open_correlated(sqs).0.message_ids, ["m1", "m2"]);

        let api_function = json!({"version": "2.0", "routeKey": "$default", "rawPath": "/",
            "headers": {"X-Exh-Requesting-User-Id": "u1"},
            "requestContext": {"requestId": "r1", "http": {"method": "POST", "path": "/"}},
            "isBase64Encoded": false});
        let (correlation, opened) = open_correlated(api_function);
        assert_eq!(
            correlation.envelope,
            Envelope::Http(HttpKind::ExhApiFunction)
        );
        assert_eq!(correlation.envelope.name(), "exh_api_function");
        assert_eq!(correlation.requesting_user.as_deref(), Some("u1"));
        assert_eq!(correlation.http_request_id.as_deref(), Some("r1"));
        assert!(matches!(
            opened,
            Ok(Opened::Http {
                kind: HttpKind::ExhApiFunction,
                ..
            })
        ));
    }

    #[test]
    fn an_event_that_does_not_open_still_names_its_envelope() {
        let broken = json!({"Records": [{"eventSource": "aws:sqs", "body": 7}]});
        let (correlation, opened) = open_correlated(broken);
        assert_eq!(correlation.envelope, Envelope::Sqs);
        assert_eq!(opened.unwrap_err().error_type(), "InvalidEvent");
    }

    /// The records' bodies are read at once, so they share the memory one
    /// event may take once read (half of a 128 MB function's here): two of
    /// ~40 MB each do not both fit.
    #[test]
    fn the_records_bodies_share_the_events_memory() {
        let body = format!("[0{}]", ",0".repeat(549_999));
        let sqs = json!({"Records": [
            {"messageId": "m1", "eventSource": "aws:sqs", "body": body},
            {"messageId": "m2", "eventSource": "aws:sqs", "body": body},
        ]});
        let Ok(Opened::Sqs(records)) = open(sqs) else {
            panic!("not opened as SQS");
        };
        assert!(records[0].request.is_ok());
        let error = records[1].request.as_ref().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("less the 38 MB the event's other bodies take"),
            "{error}"
        );
    }

    #[test]
    fn an_sqs_event_of_more_records_than_sqs_hands_out_is_refused_before_it_is_read() {
        let record = json!({"messageId": "m", "eventSource": "aws:sqs", "body": "{}"});
        let at_most = json!({"Records": vec![record.clone(); MAX_SQS_RECORDS]});
        assert!(open(at_most).is_ok());
        let over = json!({"Records": vec![record; MAX_SQS_RECORDS + 1]});
        let error = open(over).unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(
            error.to_string().contains("at most 10000 records"),
            "{error}"
        );
    }

    #[test]
    fn an_overlong_id_is_cut_for_the_logs() {
        let task = json!({"id": "x".repeat(1000), "functionName": "f"});
        let correlation = Correlation::of(&task, detect(&task));
        assert_eq!(correlation.task_id.map(|id| id.len()), Some(MAX_ID_CHARS));
    }

    #[test]
    fn an_overlong_requesting_user_is_cut_for_every_line_that_carries_it() {
        let user = "u".repeat(100_000);
        let api_function = json!({"version": "2.0", "routeKey": "$default", "rawPath": "/",
            "headers": {EXH_USER_HEADER: user},
            "requestContext": {"requestId": "r1", "http": {"method": "POST", "path": "/"}},
            "isBase64Encoded": false});
        let (correlation, opened) = open_correlated(api_function);
        let Ok(Opened::Http {
            requesting_user, ..
        }) = opened
        else {
            panic!("not http: {opened:?}")
        };
        assert_eq!(
            requesting_user.as_ref().map(String::len),
            Some(MAX_ID_CHARS)
        );
        assert_eq!(requesting_user, correlation.requesting_user);
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
        assert_eq!(kind.status_of(&Error::timeout_sent("t")), 424);
        assert_eq!(kind.status_of(&Error::MissingConfig(vec!["API_HOST"])), 424);
        assert_eq!(kind.status_of(&Error::Forbidden("f".into())), 403);
        assert_eq!(
            HttpKind::ApiGatewayHttp.status_of(&Error::timeout_sent("t")),
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
