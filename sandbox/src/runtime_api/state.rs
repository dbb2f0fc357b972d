//! The emulator's shared state: the queue, the invocations in flight and
//! the bookkeeping that the HTTP handlers and the test's handle both change
//! under one lock.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tokio::sync::{oneshot, watch, Notify};

use super::handlers::{accepted, api_error, header_string, next_response, parse_error_body};
use super::invocation::{InitError, Invocation, Invoke, InvokeError, Outcome};
use super::server::{Counts, Rejected};
use super::{header, MAX_RESPONSE_BYTES};

/// Account id in the default function ARN.
pub(super) const ACCOUNT_ID: &str = "123456789012";

pub(super) struct Shared {
    pub(super) function_arn: String,
    pub(super) function_timeout: Duration,
    pub(super) seed: u32,
    pub(super) inner: Mutex<Inner>,
    /// Woken once per queued invocation.
    pub(super) queued: Notify,
    /// Published after every change of `inner`.
    pub(super) counts: watch::Sender<Counts>,
    /// Set when the [`RuntimeApi`] is dropped.
    pub(super) stopped: watch::Sender<bool>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("function_arn", &self.function_arn)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) sequence: u64,
    pub(super) queue: VecDeque<Queued>,
    in_flight: HashMap<String, Delivered>,
    closed: HashMap<String, Closed>,
    pub(super) polling: usize,
    pub(super) max_in_flight: usize,
    pub(super) delivered: usize,
    pub(super) answered: usize,
    pub(super) next_seen: bool,
    pub(super) init_errors: Vec<InitError>,
    pub(super) rejected: Vec<Rejected>,
    /// Statuses the next `/next` polls answer with, in order.
    pub(super) failing_polls: VecDeque<StatusCode>,
    /// Whether `/response` and `/error` posts are taken and never answered.
    pub(super) holding_answers: bool,
    pub(super) extensions: usize,
    pub(super) extension_polls: usize,
}

impl Inner {
    pub(super) fn counts(&self) -> Counts {
        Counts {
            queued: self.queue.len(),
            polling: self.polling,
            in_flight: self.in_flight.len(),
            max_in_flight: self.max_in_flight,
            delivered: self.delivered,
            answered: self.answered,
            init_errors: self.init_errors.len(),
            rejected: self.rejected.len(),
            extensions: self.extensions,
            extension_polls: self.extension_polls,
        }
    }
}

pub(super) struct Queued {
    pub(super) request_id: String,
    pub(super) invocation_id: String,
    pub(super) invoke: Invoke,
    pub(super) answer: oneshot::Sender<Answer>,
}

struct Delivered {
    invocation_id: String,
    deadline_ms: u64,
    delivered_at: std::time::Instant,
    answer: oneshot::Sender<Answer>,
}

/// Why an invocation is no longer in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closed {
    Answered,
    Withdrawn,
}

#[derive(Debug)]
pub(super) enum AnswerKind {
    Response,
    Error,
    /// `/response` over [`MAX_RESPONSE_BYTES`].
    TooLarge(usize),
}

/// What the function posted, as the server hands it to the waiting test.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) kind: AnswerKind,
    pub(super) body: Bytes,
    pub(super) error_type_header: Option<String>,
    pub(super) deadline_ms: u64,
    pub(super) past_deadline: bool,
    pub(super) echoed_invocation_id: bool,
    pub(super) delivered_at: std::time::Instant,
    pub(super) answered_at: std::time::Instant,
}

impl Answer {
    pub(super) fn into_invocation(self, request_id: String) -> Result<Invocation, InvokeError> {
        let body = String::from_utf8_lossy(&self.body).into_owned();
        let malformed = |problem: &str| InvokeError::MalformedAnswer {
            request_id: request_id.clone(),
            problem: problem.to_owned(),
            body: body.chars().take(2000).collect(),
        };
        let outcome = match self.kind {
            AnswerKind::Response => match serde_json::from_slice(&self.body) {
                Ok(value) => Outcome::Response(value),
                Err(e) => return Err(malformed(&format!("the /response body is not JSON ({e})"))),
            },
            AnswerKind::Error => match parse_error_body(&self.body) {
                Some((error_type, error_message)) => Outcome::Error {
                    error_type,
                    error_message,
                },
                None => {
                    return Err(malformed(
                        "the /error body is not JSON with string errorType and errorMessage",
                    ))
                }
            },
            AnswerKind::TooLarge(size) => Outcome::Error {
                error_type: "Function.ResponseSizeTooLarge".to_owned(),
                error_message: format!(
                    "Response payload size ({size} bytes) exceeded maximum allowed payload \
                     size ({MAX_RESPONSE_BYTES} bytes)."
                ),
            },
        };
        Ok(Invocation {
            request_id,
            outcome,
            body,
            error_type_header: self.error_type_header,
            deadline_ms: self.deadline_ms,
            past_deadline: self.past_deadline,
            echoed_invocation_id: self.echoed_invocation_id,
            delivered_at: self.delivered_at,
            answered_at: self.answered_at,
        })
    }
}

impl Shared {
    /// Locks the state; a test that panicked elsewhere must not make the
    /// server panic too, so poisoning is ignored.
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn publish(&self, inner: &Inner) {
        self.counts.send_replace(inner.counts());
    }

    pub(super) fn reject(
        &self,
        inner: &mut Inner,
        method: &str,
        path: &str,
        status: StatusCode,
        error_type: &str,
        reason: String,
    ) -> Response {
        inner.rejected.push(Rejected {
            method: method.to_owned(),
            path: path.to_owned(),
            status: status.as_u16(),
            error_type: error_type.to_owned(),
            reason: reason.clone(),
        });
        self.publish(inner);
        api_error(status, error_type, &reason)
    }

    /// The status a failing `/next` poll answers with, if one is due.
    pub(super) fn take_failing_poll(&self) -> Option<StatusCode> {
        let mut inner = self.lock();
        let status = inner.failing_polls.pop_front()?;
        inner.next_seen = true;
        self.publish(&inner);
        Some(status)
    }

    /// Hands the oldest queued invocation to a `/next` poll, if any.
    pub(super) fn try_deliver(&self, poll: &mut PollGuard) -> Option<Response> {
        let mut inner = self.lock();
        // Lambda's init phase ends only when every registered extension
        // has asked for its next event.
        if inner.extension_polls < inner.extensions {
            return None;
        }
        let queued = inner.queue.pop_front()?;
        let function_timeout = queued
            .invoke
            .function_timeout
            .unwrap_or(self.function_timeout);
        let deadline_ms = epoch_ms(SystemTime::now() + function_timeout);
        let response = next_response(self, &queued, deadline_ms);
        inner.in_flight.insert(
            queued.request_id,
            Delivered {
                invocation_id: queued.invocation_id,
                deadline_ms,
                delivered_at: std::time::Instant::now(),
                answer: queued.answer,
            },
        );
        inner.delivered += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight.len());
        poll.leave(&mut inner);
        self.publish(&inner);
        Some(response)
    }

    /// Takes an invocation back after its test stopped waiting; tells
    /// whether the function had picked it up.
    pub(super) fn withdraw(&self, request_id: &str) -> bool {
        let mut inner = self.lock();
        let picked_up =
            if let Some(at) = inner.queue.iter().position(|q| q.request_id == request_id) {
                inner.queue.remove(at);
                false
            } else {
                inner.in_flight.remove(request_id);
                true
            };
        inner
            .closed
            .entry(request_id.to_owned())
            .or_insert(Closed::Withdrawn);
        self.publish(&inner);
        picked_up
    }

    /// Ends an in-flight invocation with the function's answer.
    pub(super) fn complete(
        &self,
        method_path: (&str, &str),
        request_id: &str,
        headers: &HeaderMap,
        kind: AnswerKind,
        body: Bytes,
    ) -> Response {
        let (method, path) = method_path;
        let mut inner = self.lock();
        let Some(delivered) = inner.in_flight.get(request_id) else {
            let (status, error_type, reason) = match inner.closed.get(request_id) {
                Some(Closed::Answered) => (
                    StatusCode::FORBIDDEN,
                    "InvalidStateTransition",
                    format!("invocation {request_id} was already answered"),
                ),
                Some(Closed::Withdrawn) => (
                    StatusCode::GONE,
                    "InvocationGone",
                    format!("invocation {request_id} timed out: the test stopped waiting for it"),
                ),
                None if inner.queue.iter().any(|q| q.request_id == request_id) => (
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    format!("invocation {request_id} has not been handed out by /next yet"),
                ),
                None => (
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    format!("no invocation has request id {request_id:?}"),
                ),
            };
            return self.reject(&mut inner, method, path, status, error_type, reason);
        };
        let echoed_invocation_id = match headers.get(header::INVOCATION_ID) {
            None => false,
            Some(echo) if echo.as_bytes() == delivered.invocation_id.as_bytes() => true,
            Some(echo) => {
                let reason = format!(
                    "Lambda-Runtime-Invocation-Id {:?} is not the one handed out with \
                     invocation {request_id}: a stale or cross-wired answer",
                    String::from_utf8_lossy(echo.as_bytes())
                );
                return self.reject(
                    &mut inner,
                    method,
                    path,
                    StatusCode::GONE,
                    "InvocationGone",
                    reason,
                );
            }
        };
        let Some(delivered) = inner.in_flight.remove(request_id) else {
            unreachable!("the invocation was found in flight under the same lock");
        };
        inner.closed.insert(request_id.to_owned(), Closed::Answered);
        inner.answered += 1;
        let too_large = matches!(kind, AnswerKind::TooLarge(_));
        let answer = Answer {
            kind,
            body,
            error_type_header: header_string(headers, header::FUNCTION_ERROR_TYPE),
            deadline_ms: delivered.deadline_ms,
            past_deadline: epoch_ms(SystemTime::now()) > delivered.deadline_ms,
            echoed_invocation_id,
            delivered_at: delivered.delivered_at,
            answered_at: std::time::Instant::now(),
        };
        // The test may have stopped waiting just now; then nobody listens.
        let _ = delivered.answer.send(answer);
        if too_large {
            return self.reject(
                &mut inner,
                method,
                path,
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
            );
        }
        self.publish(&inner);
        accepted()
    }
}

/// Counts a `/next` request as outstanding until it is answered or dropped
/// (the function may disconnect while it waits).
pub(super) struct PollGuard {
    pub(super) shared: Arc<Shared>,
    pub(super) counted: bool,
}

impl PollGuard {
    pub(super) fn enter(shared: Arc<Shared>) -> Self {
        let mut inner = shared.lock();
        inner.polling += 1;
        inner.next_seen = true;
        shared.publish(&inner);
        drop(inner);
        PollGuard {
            shared,
            counted: true,
        }
    }

    fn leave(&mut self, inner: &mut Inner) {
        if self.counted {
            inner.polling -= 1;
            self.counted = false;
        }
    }
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        if self.counted {
            let shared = self.shared.clone();
            let mut inner = shared.lock();
            self.leave(&mut inner);
            shared.publish(&inner);
        }
    }
}

pub(super) fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A per-emulator value that makes ids differ between emulators and runs.
pub(super) fn id_seed(address: SocketAddr) -> u32 {
    static STARTED: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = STARTED.fetch_add(1, Ordering::Relaxed) as u32;
    nanos ^ (u32::from(address.port()) << 16) ^ n.wrapping_mul(0x9e37_79b9)
}

/// A UUID-shaped id (`8-4-4-4-12` hex), unique per emulator and sequence.
pub(super) fn uuid_like(seed: u32, sequence: u64, version: u16) -> String {
    format!(
        "{seed:08x}-{:04x}-{version:04x}-8000-{sequence:012x}",
        (sequence >> 48) as u16
    )
}
