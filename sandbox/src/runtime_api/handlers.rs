//! The HTTP side of the emulator: the router and one handler per Runtime
//! API request, each answering as the Lambda service does.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::{json, Value};

use super::invocation::InitError;
use super::state::{epoch_ms, AnswerKind, PollGuard, Queued, Shared};
use super::{header, API_PREFIX, EXTENSION_PREFIX, MAX_RESPONSE_BYTES};

/// Largest `/error` or `/init/error` body the emulator reads.
const MAX_ERROR_BYTES: usize = 1024 * 1024;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            &format!("{API_PREFIX}/invocation/next"),
            get(next_invocation),
        )
        .route(
            &format!("{API_PREFIX}/invocation/{{request_id}}/response"),
            post(invocation_response),
        )
        .route(
            &format!("{API_PREFIX}/invocation/{{request_id}}/error"),
            post(invocation_error),
        )
        .route(&format!("{API_PREFIX}/init/error"), post(init_error))
        .route(
            &format!("{EXTENSION_PREFIX}/register"),
            post(register_extension),
        )
        .route(
            &format!("{EXTENSION_PREFIX}/event/next"),
            get(extension_next),
        )
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .with_state(shared)
}

/// `GET /runtime/invocation/next`: long-polls for the next invocation.
async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(status) = shared.take_failing_poll() {
        return api_error(status, "ServiceException", "a failure the test asked for");
    }
    let mut poll = PollGuard::enter(shared.clone());
    let mut stopped = shared.stopped.subscribe();
    loop {
        // Registered before looking at the queue, so that an invocation
        // queued in between still wakes this poll.
        let notified = shared.queued.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(response) = shared.try_deliver(&mut poll) {
            return response;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = stopped.wait_for(|stopped| *stopped) => return emulator_stopped(),
        }
    }
}

/// The `200` answer of `/next` for `queued`.
pub(super) fn next_response(shared: &Shared, queued: &Queued, deadline_ms: u64) -> Response {
    let invoke = &queued.invoke;
    let body = invoke.payload.to_bytes();
    let trace_id = invoke
        .trace_id
        .clone()
        .unwrap_or_else(|| trace_id_for(shared.seed, &queued.request_id));
    let mut headers = vec![
        (header::REQUEST_ID, queued.request_id.clone()),
        (header::DEADLINE_MS, deadline_ms.to_string()),
        (header::INVOKED_FUNCTION_ARN, shared.function_arn.clone()),
        (header::TRACE_ID, trace_id),
        (header::INVOCATION_ID, queued.invocation_id.clone()),
    ];
    if let Some(value) = &invoke.client_context {
        headers.push((header::CLIENT_CONTEXT, ascii_json(value)));
    }
    if let Some(value) = &invoke.cognito_identity {
        headers.push((header::COGNITO_IDENTITY, ascii_json(value)));
    }
    if let Some(tenant_id) = &invoke.tenant_id {
        headers.push((header::TENANT_ID, tenant_id.clone()));
    }
    let mut response = Response::new(Body::from(body));
    let map = response.headers_mut();
    map.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in headers
        .into_iter()
        .filter(|(name, _)| !invoke.omitted_headers.contains(name))
    {
        // Every value is visible ASCII: generated, validated by `Invoke`, or
        // JSON with non-ASCII escaped.
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// `POST /runtime/invocation/{id}/response`.
async fn invocation_response(
    State(shared): State<Arc<Shared>>,
    UrlPath(request_id): UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (kind, body) = match read_body(body, MAX_RESPONSE_BYTES).await {
        Ok(bytes) => (AnswerKind::Response, bytes),
        Err(BodyError::TooLarge(size)) => (AnswerKind::TooLarge(size), Bytes::new()),
        Err(error @ BodyError::Broken(_)) => {
            return refuse_unreadable(&shared, &uri, "request", error)
        }
    };
    let answer = shared.complete(("POST", uri.path()), &request_id, &headers, kind, body);
    unless_held(&shared, answer).await
}

/// `POST /runtime/invocation/{id}/error`.
async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    UrlPath(request_id): UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match read_body(body, MAX_ERROR_BYTES).await {
        Ok(bytes) => {
            let answer = shared.complete(
                ("POST", uri.path()),
                &request_id,
                &headers,
                AnswerKind::Error,
                bytes,
            );
            unless_held(&shared, answer).await
        }
        Err(error) => refuse_unreadable(&shared, &uri, "error", error),
    }
}

/// `answer`, or, once the test asked for it ([`super::RuntimeApi::hold_answers`]),
/// no answer until the emulator stops.
async fn unless_held(shared: &Shared, answer: Response) -> Response {
    if !shared.lock().holding_answers {
        return answer;
    }
    until_stopped(shared).await
}

/// Refuses a `POST` whose `what` body could not be read: 413 when it was
/// over the limit, 400 when the connection broke first.
fn refuse_unreadable(shared: &Shared, uri: &Uri, what: &str, error: BodyError) -> Response {
    let (status, error_type) = match error {
        BodyError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
        BodyError::Broken(_) => (StatusCode::BAD_REQUEST, "TruncatedHTTPRequest"),
    };
    let mut inner = shared.lock();
    shared.reject(
        &mut inner,
        "POST",
        uri.path(),
        status,
        error_type,
        format!("the {what} body could not be read: {error}"),
    )
}

/// `POST /runtime/init/error`: accepted until the first `/next`, as the
/// init phase ends there.
async fn init_error(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = read_body(body, MAX_ERROR_BYTES).await;
    let mut inner = shared.lock();
    if inner.next_seen {
        return shared.reject(
            &mut inner,
            "POST",
            uri.path(),
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "an init error after the first /next: the init phase is over".to_owned(),
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(error) => {
            return shared.reject(
                &mut inner,
                "POST",
                uri.path(),
                StatusCode::BAD_REQUEST,
                "TruncatedHTTPRequest",
                format!("the init error body could not be read: {error}"),
            )
        }
    };
    let (error_type, error_message) = parse_error_body(&body).unwrap_or_default();
    inner.init_errors.push(InitError {
        error_type_header: header_string(&headers, header::FUNCTION_ERROR_TYPE),
        error_type,
        error_message,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    shared.publish(&inner);
    accepted()
}

/// `POST /2020-01-01/extension/register`: every extension is welcome;
/// its identifier is its sequence number.
async fn register_extension(State(shared): State<Arc<Shared>>) -> Response {
    let mut inner = shared.lock();
    inner.extensions += 1;
    let identifier = format!("extension-{}", inner.extensions);
    shared.publish(&inner);
    let mut response = Json(
        json!({"functionName": "exh-task", "functionVersion": "$LATEST", "handler": "bootstrap"}),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&identifier) {
        response.headers_mut().insert(
            HeaderName::from_static("lambda-extension-identifier"),
            value,
        );
    }
    response
}

/// `GET /2020-01-01/extension/event/next`: counted (the first `/next`
/// waits for it, as Lambda's init phase does); no events are emulated, so
/// the poll waits until the emulator stops.
async fn extension_next(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut inner = shared.lock();
        inner.extension_polls += 1;
        shared.publish(&inner);
    }
    // A `/next` poll may have waited for this extension.
    shared.queued.notify_waiters();
    until_stopped(&shared).await
}

/// Waits until the emulator stops, then answers as it does when it stops.
async fn until_stopped(shared: &Shared) -> Response {
    let _ = shared
        .stopped
        .subscribe()
        .wait_for(|stopped| *stopped)
        .await;
    emulator_stopped()
}

/// The answer of a request still waiting when the emulator stops.
fn emulator_stopped() -> Response {
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "EmulatorStopped",
        "the Runtime API emulator is shutting down",
    )
}

async fn unknown_path(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    let mut inner = shared.lock();
    shared.reject(
        &mut inner,
        method.as_str(),
        uri.path(),
        StatusCode::NOT_FOUND,
        "NotFound",
        "the Runtime API has no such path".to_owned(),
    )
}

async fn wrong_method(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    let mut inner = shared.lock();
    shared.reject(
        &mut inner,
        method.as_str(),
        uri.path(),
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("{method} is not allowed on this path"),
    )
}

pub(super) fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({"status": "OK"}))).into_response()
}

pub(super) fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

#[derive(Debug)]
enum BodyError {
    TooLarge(usize),
    Broken(String),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge(size) => write!(f, "body of at least {size} bytes is too large"),
            BodyError::Broken(reason) => write!(f, "{reason}"),
        }
    }
}

/// Reads a request body of at most `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
        if buffer.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(buffer.len() + chunk.len()));
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buffer))
}

/// `(errorType, errorMessage)` of a Lambda error body, if both are strings.
pub(super) fn parse_error_body(body: &[u8]) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error_type = value.get("errorType")?.as_str()?.to_owned();
    let error_message = value.get("errorMessage")?.as_str()?.to_owned();
    Some((error_type, error_message))
}

pub(super) fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// JSON text with every non-ASCII character escaped (`\uXXXX`), so that it
/// can travel in a header and still parse as the same JSON.
fn ascii_json(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// An X-Ray header like Lambda's, derived from the request id.
fn trace_id_for(seed: u32, request_id: &str) -> String {
    let epoch_s = epoch_ms(SystemTime::now()) / 1000;
    let digits: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let tail = &digits[digits.len().saturating_sub(16)..];
    format!("Root=1-{epoch_s:08x}-{seed:08x}{tail:0>16};Parent={tail:0>16};Sampled=0")
}
