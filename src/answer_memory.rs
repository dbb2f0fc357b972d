//! The memory the upstream answers held at once in the process take once
//! read as JSON, held to half of the function's memory together (the
//! other half is the events', [`payload::event_memory`]).
//!
//! Each answer's body is capped in bytes ([`crate::limits`]), but JSON of
//! small values takes up to 36 times its text once read (`[0,0,…]`: a
//! 72-byte value per two bytes), so the pages of one `all_pages` request
//! or a batch's answers, each within half the memory, could together take
//! more than the function has. So every request (an event's, an SQS
//! record's: [`AnswerMemory::held_in`]) takes from one allowance what its
//! answers take, found as each is read ([`payload::read_within`]), and
//! gives it back when it ends, its answers dropped with it or moved into
//! the result written right after. An answer that would take more than is
//! left is refused; one long enough to is weighed before it is read,
//! keeping nothing, and refused unread.
//!
//! Outside a request (a task of one's own calling a client), an answer is
//! held to what is left, and takes nothing from it.

use crate::runtime::payload::{self, Weighed};
use serde_json::Value;
use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// What one request's answers have taken from the allowance, given back
/// when the request ends.
#[derive(Debug)]
pub(crate) struct AnswerMemory {
    taken: Cell<usize>,
}

tokio::task_local! {
    /// The request whose answers this task is reading, if any.
    static REQUEST: AnswerMemory;
}

/// Why an answer was not read.
#[derive(Debug)]
pub(crate) enum Unread {
    /// It would take more than is left: why, to follow "a body that".
    Over(String),
    /// It is not JSON (nothing was taken for it).
    NotJson,
}

/// The allowance of the whole process: what is left of it.
fn left() -> &'static AtomicUsize {
    static LEFT: OnceLock<AtomicUsize> = OnceLock::new();
    LEFT.get_or_init(|| AtomicUsize::new(whole()))
}

/// The whole allowance: half of the function's memory.
fn whole() -> usize {
    payload::event_memory(payload::function_memory_mb())
}

impl AnswerMemory {
    /// Runs `work`, one request's, its answers taking from the allowance
    /// until it ends. Not an `async fn`, which would hold `work` twice.
    pub(crate) fn held_in<F: Future>(work: F) -> impl Future<Output = F::Output> {
        let request = AnswerMemory {
            taken: Cell::new(0),
        };
        REQUEST.scope(request, work)
    }

    /// Runs `work`, which reads JSON to hold until it ends (a result being
    /// redacted), as a request of its own.
    pub(crate) fn held_while<R>(work: impl FnOnce() -> R) -> R {
        let reading = AnswerMemory {
            taken: Cell::new(0),
        };
        REQUEST.sync_scope(reading, work)
    }

    /// Reads `bytes`, an upstream's JSON answer, if what it takes once read
    /// is left, and takes that for the request it is read in.
    pub(crate) fn read(bytes: &[u8]) -> Result<Value, Unread> {
        let most = left().load(Ordering::Relaxed);
        match payload::read_within(bytes, most) {
            Ok((value, weight)) => Self::take(weight).map(|()| value).map_err(Unread::Over),
            Err(Weighed::Over) => Err(Unread::Over(Self::over())),
            Err(Weighed::Json(_)) => Err(Unread::NotJson),
        }
    }

    /// Holds text of `length` bytes, an answer kept as a JSON string, if
    /// what it takes is left; else why not, as [`Unread::Over`] tells it.
    pub(crate) fn hold_text(length: usize) -> Result<(), String> {
        Self::take(payload::string_weight(length))
    }

    /// Takes `weight` for the request being read, if it is left.
    fn take(weight: usize) -> Result<(), String> {
        REQUEST
            .try_with(|request| {
                left()
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                        left.checked_sub(weight)
                    })
                    .map_err(|_| Self::over())?;
                request.taken.set(request.taken.get() + weight);
                Ok(())
            })
            .unwrap_or_else(|_| match weight <= left().load(Ordering::Relaxed) {
                true => Ok(()),
                false => Err(Self::over()),
            })
    }

    /// Why an answer that would take more than is left is refused.
    fn over() -> String {
        let whole = whole();
        let left = left().load(Ordering::Relaxed);
        let mine = REQUEST.try_with(|request| request.taken.get()).unwrap_or(0);
        let held = match whole - left {
            0 => String::new(),
            held => format!(
                ", what is left of it with the answers held at once taking {} MB ({} MB of \
                 them this request's)",
                payload::Megabytes(held),
                payload::Megabytes(mine)
            ),
        };
        format!(
            "would take over {} MB once read, half of the function's {} MB{held}: ask for \
             less (select(), limit(), fewer pages or batch items), or give the function more \
             memory",
            payload::Megabytes(left),
            payload::function_memory_mb()
        )
    }
}

impl Drop for AnswerMemory {
    fn drop(&mut self) {
        left().fetch_add(self.taken.get(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[0,0,…]` taking about `mb` MB once read.
    fn numbers_of(mb: usize) -> Vec<u8> {
        let count = mb * 1024 * 1024 / 72;
        format!("[0{}]", ",0".repeat(count - 1)).into_bytes()
    }

    fn over(unread: Unread) -> String {
        match unread {
            Unread::Over(why) => why,
            Unread::NotJson => panic!("read as not JSON"),
        }
    }

    // One test for all: the allowance is the process's, and tests run at
    // once would share it.
    #[tokio::test]
    async fn the_answers_of_the_requests_held_share_half_the_memory_until_they_end() {
        let thirty = numbers_of(30);
        let before = left().load(Ordering::Relaxed);
        let (first, second, third) = AnswerMemory::held_in(async {
            (
                AnswerMemory::read(&thirty).map(|_| ()),
                AnswerMemory::read(&thirty).map(|_| ()),
                AnswerMemory::read(&thirty).map(|_| ()),
            )
        })
        .await;
        assert!(first.is_ok() && second.is_ok());
        let why = over(third.unwrap_err());
        assert!(
            why.starts_with("would take over 3.")
                && why.contains(
                    "MB once read, half of the function's 128 MB, what is left of it with the \
                     answers held at once taking"
                ),
            "{why}"
        );
        // Given back (handler tests running at once may hold a few KB).
        assert!(left().load(Ordering::Relaxed) + (1 << 20) > before);

        // Held at once by two requests, as by two concurrent invocations:
        // the other ends once the one has read twice.
        let (read_twice, one_done) = tokio::sync::oneshot::channel();
        let (one, other) = tokio::join!(
            AnswerMemory::held_in(async {
                let first = AnswerMemory::read(&thirty).map(|_| ());
                tokio::task::yield_now().await;
                let second = AnswerMemory::read(&thirty).map(|_| ());
                read_twice.send(()).unwrap();
                (first, second)
            }),
            AnswerMemory::held_in(async {
                let read = AnswerMemory::read(&thirty).map(|_| ());
                one_done.await.unwrap();
                read
            }),
        );
        assert!(one.0.is_ok() && other.is_ok());
        let why = over(one.1.unwrap_err());
        assert!(why.contains("(30 MB of them this request's)"), "{why}");

        // Outside a request: held to what is left, taking none of it.
        assert!(AnswerMemory::read(&thirty).is_ok());
        assert!(AnswerMemory::read(&thirty).is_ok());
        assert!(AnswerMemory::read(&numbers_of(65)).is_err());
        assert!(matches!(
            AnswerMemory::read(b"<html>"),
            Err(Unread::NotJson)
        ));
        assert!(AnswerMemory::hold_text(1 << 20).is_ok());
        assert!(left().load(Ordering::Relaxed) + (1 << 20) > before);
    }
}
