//! Retries with jittered exponential back-off, bounded by the deadline.
//!
//! Only what is safe to repeat is retried: the caller classifies each attempt.
//! The whole sequence, back-off included, ends at the invocation deadline.

use crate::error::Error;
use backon::{BackoffBuilder, ExponentialBuilder};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The outcome of one attempt, as classified by the caller.
pub(crate) enum Attempt<T> {
    /// Final: return it as it is.
    Done(Result<T, Error>),
    /// Worth another try (a connection error, 429, 5xx on an idempotent call);
    /// returned as it is when no try is left.
    Retryable(Result<T, Error>),
}

/// How many times an attempt is made at most.
pub(crate) const MAX_ATTEMPTS: usize = 4;

/// Runs `attempt` until it is done, tries are spent, or `deadline` passes
/// (then [`Error::Timeout`] naming `what`).
pub(crate) async fn retrying<T, F, Fut>(
    deadline: Instant,
    what: &str,
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
    let timeout = || {
        Error::Timeout(format!(
            "{what} did not answer before the invocation deadline"
        ))
    };
    loop {
        let outcome = tokio::time::timeout_at(deadline, attempt())
            .await
            .map_err(|_| timeout())?;
        match outcome {
            Attempt::Done(result) => return result,
            Attempt::Retryable(result) => match delays.next() {
                Some(delay) if Instant::now() + delay < deadline => {
                    tracing::debug!(what, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                }
                _ => return result,
            },
        }
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
        let result = retrying(far(), "call", || async {
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
        let result: Result<u8, _> = retrying(far(), "call", || async {
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
        let result = retrying(far(), "call", || async {
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
        let result: Result<(), _> = retrying(deadline, "GET /slow", || async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Attempt::Done(Ok(()))
        })
        .await;
        assert_eq!(
            result,
            Err(Error::Timeout(
                "GET /slow did not answer before the invocation deadline".into()
            ))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_back_off_sleeps_past_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(10);
        let calls = AtomicUsize::new(0);
        let result = retrying(deadline, "call", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Attempt::Retryable(Ok(503))
        })
        .await;
        assert_eq!(result, Ok(503));
        assert!(Instant::now() <= deadline);
    }
}
