//! The per-invocation record: which envelope, which requests, which
//! upstream calls (with status or code, attempts and duration), which
//! errors, and how long it all took.
//!
//! # How calls are collected
//! [`observe`] runs an invocation's work inside a tokio task-local holding
//! a fresh [`Record`]; the clients report into whatever record is current
//! with one [`Call`] per logical call. Concurrent batch items, SQS records
//! and pages are futures polled by the invocation's own task, so they all
//! land in its record; in the runtime's concurrent mode each invocation is
//! a task of its own, so records never mix. Outside [`observe`] (a client
//! used as a library) reporting does nothing.

use crate::envelope::{logged_id, Correlation};
use crate::error::{Error, LambdaError, TaskError};
use serde::Serialize;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Which upstream a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The Extra Horizon API.
    Exh,
    /// HEXONET or CentralNic Reseller (`call.cgi`).
    Hexonet,
}

impl Side {
    /// The name in log lines and the `Side` metric dimension.
    pub fn name(self) -> &'static str {
        match self {
            Side::Exh => "exh",
            Side::Hexonet => "hexonet",
        }
    }
}

/// One logical upstream call: every attempt at one request (one page).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpstreamCall {
    /// Which upstream.
    pub side: Side,
    /// The HTTP method.
    pub method: String,
    /// The URL path, never the query: RQL and query values can carry
    /// personal data such as e-mail addresses. Cut at
    /// [`MAX_RECORDED_CHARS`], as is `command`.
    pub path: String,
    /// The HEXONET command name (`QueryDomainList`; `login` for
    /// CentralNic's session login); its parameters are never recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Extra Horizon's HTTP status, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    /// HEXONET's response code, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// The `errorType` the call failed with, when no answer could be had.
    #[serde(rename = "errorType", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<&'static str>,
    /// How many attempts were made (1 without retries).
    pub attempts: u32,
    /// From the first attempt to the final outcome, back-off included.
    pub duration_ms: f64,
}

/// A call being made: started where a logical call begins, told of each
/// attempt, ended with its outcome, which goes into the current record.
///
/// # Example
/// ```
/// use exh_task::telemetry::{Call, Side};
/// let call = Call::start(Side::Exh, "GET", "/users/v1/me");
/// let attempt = call.attempt(async { 200u16 });
/// # drop(attempt);
/// call.end(Ok::<u16, &exh_task::Error>(200));
/// ```
#[derive(Debug)]
pub struct Call {
    side: Side,
    method: String,
    path: String,
    command: Option<String>,
    started: Instant,
    attempts: AtomicU32,
}

/// The most characters of a path or a command name a call is recorded
/// with (an event chooses both): a longer one is cut, with `…`.
pub const MAX_RECORDED_CHARS: usize = 256;

/// `text` as a call records it.
fn recorded(text: &str) -> String {
    crate::error::shortened(text, MAX_RECORDED_CHARS).into_owned()
}

impl Call {
    /// A call to `side` with `method` on `path` (a URL path, no query).
    pub fn start(side: Side, method: &str, path: &str) -> Call {
        Call {
            side,
            method: method.to_owned(),
            path: recorded(path),
            command: None,
            started: Instant::now(),
            attempts: AtomicU32::new(0),
        }
    }

    /// The HEXONET command this call sends.
    pub fn command(mut self, name: &str) -> Call {
        self.command = Some(recorded(name));
        self
    }

    /// Counts one attempt and hands `attempt` back, so it wraps what the
    /// retry loop starts each time.
    pub fn attempt<F>(&self, attempt: F) -> F {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        attempt
    }

    /// Records the call with its outcome: the status (Extra Horizon) or
    /// code (HEXONET) it was answered with, or the error it ended in.
    pub fn end<N: Into<i64>>(self, outcome: Result<N, &Error>) {
        let (answered, error_type) = match outcome {
            Ok(answer) => (Some(answer.into()), None),
            Err(error) => (None, Some(error.error_type())),
        };
        let (status, code) = match self.side {
            Side::Exh => (answered, None),
            Side::Hexonet => (None, answered),
        };
        let call = UpstreamCall {
            side: self.side,
            method: self.method,
            path: self.path,
            command: self.command,
            status,
            code,
            error_type,
            attempts: self.attempts.into_inner(),
            duration_ms: millis(self.started.elapsed()),
        };
        with_current(|record| record.calls.push(call));
    }
}

/// Everything one invocation did, as the summary line and the metrics tell it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Record {
    /// The envelope and the ids it carried.
    pub correlation: Correlation,
    /// The kind of each request run (`exh`, `hexonet`), in order.
    pub requests: Vec<&'static str>,
    /// Every logical upstream call, in the order they completed.
    pub calls: Vec<UpstreamCall>,
    /// Pages fetched by `all_pages` requests, per side.
    pub pages: BTreeMap<Side, u64>,
    /// Every error that ended a request, a record or the invocation, by `errorType`.
    pub errors: BTreeMap<Cow<'static, str>, u64>,
    /// The error the invocation failed with: what the Runtime API received.
    pub error: Option<LambdaError>,
    /// The `messageId` of each SQS record named in `batchItemFailures`
    /// (cut for the logs as the envelope's ids are).
    pub failed_message_ids: Vec<String>,
    /// Whether the answer was ok (every request answered 2xx).
    pub ok: bool,
    /// Whether this was the first invocation of the process.
    pub cold_start: bool,
    /// From the event to the answer.
    pub duration: Duration,
}

impl Record {
    /// Attempts beyond the first, over every call (of `side`, if given).
    pub fn retries(&self, side: Option<Side>) -> u64 {
        self.calls_of(side)
            .map(|call| u64::from(call.attempts.saturating_sub(1)))
            .sum()
    }

    /// The calls to `side`, or every call.
    pub fn calls_of(&self, side: Option<Side>) -> impl Iterator<Item = &UpstreamCall> {
        self.calls
            .iter()
            .filter(move |call| side.is_none_or(|side| call.side == side))
    }

    /// How many errors the invocation saw, of every type.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

tokio::task_local! {
    static CURRENT: RefCell<Record>;
}

/// Only the first invocation of a process is a cold start.
static COLD: AtomicBool = AtomicBool::new(true);

fn with_current(change: impl FnOnce(&mut Record)) {
    // No record outside `observe`: a client used as a library reports nowhere.
    let _ = CURRENT.try_with(|record| change(&mut record.borrow_mut()));
}

/// Runs one invocation's `work` with a fresh record, then writes its
/// summary line (and error line) and, when enabled, its metrics.
///
/// Inside an invocation already observed (a task's handler that runs
/// [`Handler::handle`](crate::Handler::handle)), `work` adds to that
/// invocation's record: one invocation, one summary line.
pub async fn observe<T, E: TaskError>(work: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    if CURRENT.try_with(|_| ()).is_ok() {
        return work.await;
    }
    let started = Instant::now();
    let record = Record {
        cold_start: COLD.swap(false, Ordering::Relaxed),
        ..Record::default()
    };
    let (result, mut record) = CURRENT
        .scope(RefCell::new(record), async {
            let result = work.await;
            (result, CURRENT.with(RefCell::take))
        })
        .await;
    record.duration = started.elapsed();
    if let Err(error) = &result {
        let error = LambdaError::of(error);
        record.ok = false;
        *record.errors.entry(error.error_type.clone()).or_default() += 1;
        record.error = Some(error);
    }
    super::summary::emit(&record);
    super::metrics::emit(&record);
    result
}

/// Notes the envelope the current invocation came in and its ids.
pub fn correlate(correlation: Correlation) {
    with_current(|record| record.correlation = correlation);
}

/// Notes the SQS records the current invocation answers as failed, by
/// `messageId`.
pub fn record_sqs_failures(message_ids: &[String]) {
    with_current(|record| {
        record.failed_message_ids = message_ids.iter().map(|id| logged_id(id)).collect();
    });
}

/// Notes whether the current invocation's answer is ok.
pub fn set_ok(ok: bool) {
    with_current(|record| record.ok = ok);
}

/// Notes that the current invocation runs a request of `kind`.
pub fn record_request(kind: &'static str) {
    with_current(|record| record.requests.push(kind));
}

/// Notes that an `all_pages` request to `side` fetched `pages` pages.
pub fn record_pages(side: Side, pages: usize) {
    with_current(|record| *record.pages.entry(side).or_default() += pages as u64);
}

/// Notes, and logs at WARN, an error that ended a batch item, an SQS
/// record or an HTTP request (answered, so not the invocation's error).
pub fn record_error(error: &Error) {
    super::summary::request_failed(error);
    with_current(|record| *record.errors.entry(error.error_type().into()).or_default() += 1);
}

/// `duration` in milliseconds, to the microsecond.
pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_micros() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_made_during_an_invocation_land_in_its_record() {
        let record = CURRENT
            .scope(RefCell::new(Record::default()), async {
                let call =
                    Call::start(Side::Hexonet, "POST", "/api/call.cgi").command("CheckDomain");
                for _ in 0..2 {
                    call.attempt(());
                }
                call.end(Ok::<i64, &Error>(210));
                Call::start(Side::Exh, "GET", "/users/v1/me")
                    .end(Err::<u16, _>(&Error::timeout_sent("t")));
                record_pages(Side::Exh, 3);
                CURRENT.with(RefCell::take)
            })
            .await;
        assert_eq!(record.calls.len(), 2);
        let hexonet = &record.calls[0];
        assert_eq!(
            (hexonet.code, hexonet.status, hexonet.attempts),
            (Some(210), None, 2)
        );
        assert_eq!(hexonet.command.as_deref(), Some("CheckDomain"));
        assert_eq!(record.calls[1].error_type, Some("Timeout"));
        assert_eq!(record.retries(None), 1);
        assert_eq!(record.retries(Some(Side::Exh)), 0);
        assert_eq!(record.pages[&Side::Exh], 3);
    }

    #[test]
    fn a_call_outside_any_invocation_is_dropped_quietly() {
        Call::start(Side::Exh, "GET", "/").end(Ok::<u16, &Error>(200));
    }

    #[tokio::test]
    async fn a_failed_invocation_records_the_error_the_runtime_receives() {
        let result: Result<(), Error> = observe(async { Err(Error::Forbidden("no".into())) }).await;
        assert_eq!(result.unwrap_err().error_type(), "Forbidden");
    }
}
