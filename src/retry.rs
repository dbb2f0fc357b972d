//! Retries with jittered exponential back-off, bounded by the deadline.
//!
//! Only what is safe to repeat is retried: the caller classifies each attempt.
//! The whole sequence, back-off included, ends at the invocation deadline.
//! A server's `Retry-After` is honoured when the wait and a request after
//! it ([`MIN_REQUEST_TIME`]) fit in the time left, and ends the retries at
//! once when they do not: waiting less would only be refused again.

use crate::error::Error;
use crate::http::{sent_timeout, MIN_REQUEST_TIME};
use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::future::Future;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// The outcome of one attempt, as classified by the caller.
pub(crate) enum Attempt<T> {
    /// Final: return it as it is.
    Done(Result<T, Error>),
    /// Worth another try (a connection error, 429, 5xx on an idempotent call);
    /// returned as it is when no try is left.
    Retryable(Result<T, Error>),
    /// Worth another try, not before the server's `Retry-After`; returned
    /// as it is when no try is left or the wait does not fit in the time left.
    RetryAfter(Result<T, Error>, Duration),
}

impl<T> Attempt<T> {
    /// [`Attempt::RetryAfter`] when the answer's `headers` name a wait,
    /// [`Attempt::Retryable`] otherwise.
    pub(crate) fn retry(result: Result<T, Error>, headers: &HeaderMap) -> Attempt<T> {
        match retry_after(headers, SystemTime::now()) {
            Some(wait) => Attempt::RetryAfter(result, wait),
            None => Attempt::Retryable(result),
        }
    }
}

/// The wait a `Retry-After` header asks for: delay seconds, or an HTTP date
/// (a date already past is no wait).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How many times an attempt is made at most.
pub(crate) const MAX_ATTEMPTS: usize = 4;

/// Runs `attempt` until it is done, tries are spent, or `deadline` passes
/// (then [`Error::Timeout`] naming `what`, worded for an `idempotent` call
/// or not).
pub(crate) async fn retrying<T, F, Fut>(
    deadline: Instant,
    what: &str,
    idempotent: bool,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(2))
        .with_max_times(MAX_ATTEMPTS - 1)
        .with_jitter()
        .build();
    loop {
        // Each exchange ends at the deadline itself; this bounds the rest.
        let outcome = tokio::time::timeout_at(deadline, attempt())
            .await
            .map_err(|_| sent_timeout(what, idempotent))?;
        let (result, asked) = match outcome {
            Attempt::Done(result) => return result,
            Attempt::Retryable(result) => (result, None),
            Attempt::RetryAfter(result, wait) => (result, Some(wait)),
        };
        let Some(backoff) = delays.next() else {
            return result;
        };
        let delay = asked.map_or(backoff, |wait| wait.max(backoff));
        let fits = Instant::now()
            .checked_add(delay.saturating_add(MIN_REQUEST_TIME))
            .is_some_and(|next| next <= deadline);
        if !fits {
            return result;
        }
        tracing::debug!(what, ?delay, "retrying");
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn a_done_attempt_is_not_repeated() {
        let calls = AtomicUsize::new(0);
        let result = retrying(far(), "call", true, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Attempt::Done(Ok(7))
        })
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn retryable_attempts_stop_after_the_last_try_with_the_last_outcome() {
        let calls = AtomicUsize::new(0);
        let result: Result<u8, _> = retrying(far(), "call", true, || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Attempt::Retryable(Err(Error::Transport(format!("try {n}"))))
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), MAX_ATTEMPTS);
        assert_eq!(
            result,
            Err(Error::Transport(format!("try {}", MAX_ATTEMPTS - 1)))
        );
    }

    #[tokio::test]
    async fn a_retry_that_succeeds_returns_the_success() {
        let calls = AtomicUsize::new(0);
        let result = retrying(far(), "call", true, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Attempt::Retryable(Ok(503)),
                _ => Attempt::Done(Ok(200)),
            }
        })
        .await;
        assert_eq!(result, Ok(200));
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_outlives_the_deadline_is_a_timeout() {
        let deadline = Instant::now() + Duration::from_millis(100);
        let result: Result<(), _> = retrying(deadline, "GET /slow", true, || async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Attempt::Done(Ok(()))
        })
        .await;
        assert_eq!(
            result,
            Err(Error::timeout_sent(
                "GET /slow did not answer before the invocation deadline"
            ))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_back_off_sleeps_past_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(10);
        let calls = AtomicUsize::new(0);
        let result = retrying(deadline, "call", true, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Attempt::Retryable(Ok(503))
        })
        .await;
        assert_eq!(result, Ok(503));
        assert!(Instant::now() <= deadline);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_that_fits_is_waited_for() {
        let start = Instant::now();
        let calls = AtomicUsize::new(0);
        let result = retrying(far(), "call", true, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Attempt::RetryAfter(Ok(429), Duration::from_secs(3)),
                _ => Attempt::Done(Ok(200)),
            }
        })
        .await;
        assert_eq!(result, Ok(200));
        assert!(Instant::now() >= start + Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_beyond_the_deadline_ends_the_retries_at_once() {
        let start = Instant::now();
        let calls = AtomicUsize::new(0);
        let result = retrying(far(), "call", true, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Attempt::RetryAfter(Ok(429), Duration::from_secs(999_999_999))
        })
        .await;
        assert_eq!(result, Ok(429));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(Instant::now(), start);
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let header = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers, now)
        };
        assert_eq!(header("120"), Some(Duration::from_secs(120)));
        // 2015-10-21 07:28:00 UTC is `now`; 07:28:30 is 30 s later.
        assert_eq!(
            header("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            header("Wed, 21 Oct 2015 07:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(header("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
