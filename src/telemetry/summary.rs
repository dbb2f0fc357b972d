//! The summary line: one per invocation, at INFO, under the target
//! [`TARGET`], and the error lines, which carry `errorType` and
//! `errorMessage` (the error's `Display`, never its `Debug` form).
//!
//! # The summary line
//! Its message is `invocation`; its fields:
//! `envelope` (`direct`, `exh_task`, `exh_api_function`, `api_gateway_rest`,
//! `api_gateway_http`, `function_url`, `eventbridge`, `sqs`), `requests` (the
//! kind of each request, in order), `ok`, `duration_ms`, `cold_start`,
//! `upstream_calls`, `retries`, `pages`, `calls` (each logical upstream call:
//! `side`, `method`, `path` without the query, HEXONET `command`, `status`
//! or `code` or `errorType`, `attempts`, `duration_ms`), the envelope's ids
//! (`exh_task_id`, `exh_function_name`, `sqs_message_ids`, `http_request_id`,
//! `requesting_user_id`, `eventbridge_id`), `sqs_failed_message_ids` (the
//! records `batchItemFailures` names), `errors` (count by `errorType`),
//! `omitted` (how many entries each list left out past [`MAX_LISTED`];
//! the counts cover them all) and, for a failed invocation, the
//! `errorType` and `errorMessage` the Runtime API received. The Lambda `requestId` and `xrayTraceId` come from
//! the runtime's span around it.
//!
//! `calls`, `requests`, `errors` and the SQS id lists are JSON text; the
//! JSON lines of [`super::subscriber`] embed them as JSON.

use super::record::{millis, Record};
use crate::error::Error;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use tracing::field::display;

/// The target of summary lines (`RUST_LOG=exh_task::summary=off` hides them).
pub const TARGET: &str = "exh_task::summary";

/// The message of summary lines.
pub const MESSAGE: &str = "invocation";

/// The most entries each list of the summary line holds (`calls`,
/// `requests`, `sqs_message_ids`, `sqs_failed_message_ids`); `omitted`
/// counts the ones left out, by list, so that the line stays one
/// CloudWatch log event (256 KiB) however much the invocation did.
pub const MAX_LISTED: usize = 200;

/// The first [`MAX_LISTED`] of `items`, the number left out noted in
/// `omitted` under `name`.
fn first<'a, T>(
    items: &'a [T],
    name: &'static str,
    omitted: &mut BTreeMap<&'static str, usize>,
) -> &'a [T] {
    if items.len() > MAX_LISTED {
        omitted.insert(name, items.len() - MAX_LISTED);
    }
    &items[..items.len().min(MAX_LISTED)]
}

/// Writes the summary line of `record`, after the ERROR line of its
/// error if the invocation failed.
pub fn emit(record: &Record) {
    if let Some(error) = &record.error {
        tracing::error!(
            errorType = error.error_type.as_ref(),
            errorMessage = %error.error_message,
            "invocation failed"
        );
    }
    let ids = &record.correlation;
    let error = record.error.as_ref();
    let mut omitted = BTreeMap::new();
    let requests = first(&record.requests, "requests", &mut omitted);
    let calls = first(&record.calls, "calls", &mut omitted);
    let message_ids = first(&ids.message_ids, "sqs_message_ids", &mut omitted);
    let failed_ids = first(
        &record.failed_message_ids,
        "sqs_failed_message_ids",
        &mut omitted,
    );
    let listed = |items: &[String]| (!items.is_empty()).then(|| display(Json(items.to_vec())));
    tracing::info!(
        target: TARGET,
        envelope = ids.envelope.name(),
        requests = %Json(requests),
        ok = record.ok,
        duration_ms = millis(record.duration),
        cold_start = record.cold_start,
        upstream_calls = record.calls.len(),
        retries = record.retries(None),
        pages = record.pages.values().sum::<u64>(),
        calls = %Json(calls),
        exh_task_id = ids.task_id.as_deref(),
        exh_function_name = ids.function_name.as_deref(),
        sqs_message_ids = listed(message_ids),
        sqs_failed_message_ids = listed(failed_ids),
        http_request_id = ids.http_request_id.as_deref(),
        requesting_user_id = ids.requesting_user.as_deref(),
        eventbridge_id = ids.event_id.as_deref(),
        errors = (!record.errors.is_empty()).then(|| display(Json(&record.errors))),
        omitted = (!omitted.is_empty()).then(|| display(Json(&omitted))),
        errorType = error.map(|error| error.error_type.as_ref()),
        errorMessage = error.map(|error| error.error_message.as_str()),
        "{MESSAGE}"
    );
}

/// The WARN line of an error that ended one request of the invocation.
pub fn request_failed(error: &Error) {
    tracing::warn!(
        errorType = error.error_type(),
        errorMessage = %error,
        "request failed"
    );
}

/// A value shown as its compact JSON text.
struct Json<T>(T);

impl<T: Serialize> fmt::Display for Json<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(&self.0).map_err(|_| fmt::Error)?;
        formatter.write_str(&text)
    }
}
