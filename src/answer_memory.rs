//! The memory the upstream answers held at once in the process take once
//! read as JSON, held to half of the function's memory together (the
//! other half is the events', [`payload::event_memory`]).
//!
//! Each answer's body is capped in bytes ([`crate::limits`]), but JSON
//! takes far more once read: 36 times its text for `[0,0,…]` (a 72-byte
//! value per two bytes), 94 times for `[[0],[0],…]`. So the pages of one
//! `all_pages` request or a batch's answers, each within half the memory,
//! could together take more than the function has. So every answer takes
//! from one allowance what it takes once read ([`AnswerMemory::read`]),
//! before it is built: its upper bound if that is short, else its weight,
//! weighed first keeping nothing; what it does not use is given back once
//! it is built. An answer that would take more than is left is refused,
//! unread. What an answer takes ([`Held`]) is kept by the request it was
//! read for (an invocation, an SQS record: [`AnswerMemory::held_in`])
//! until that ends, or given back as soon as it is dropped (an answer
//! asked again, a result redacted). A call made outside any request (by a
//! task of one's own) keeps its answers only while it is made
//! ([`AnswerMemory::held_in_call`]: an `all_pages` call's pages together);
//! the answer it returns is then the task's, and no longer counted.

use crate::runtime::payload::{self, Megabytes, Tenths, Weighed};
use serde_json::Value;
use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// What one request's (or call's) answers have taken from the allowance,
/// given back when it ends.
#[derive(Debug)]
pub(crate) struct AnswerMemory {
    taken: Cell<usize>,
    /// A call's: what it took passes to the request it is made in, if any.
    call: bool,
}

tokio::task_local! {
    /// The request whose answers this task is reading, if any.
    static REQUEST: AnswerMemory;
}

/// What one answer read takes of the allowance: given back when dropped,
/// unless [kept](Held::keep) for the request.
#[must_use = "what an answer takes is given back when dropped"]
#[derive(Debug)]
pub(crate) struct Held {
    weight: usize,
}

/// Why an answer was not read.
#[derive(Debug)]
pub(crate) enum Unread {
    /// It would take more than is left: why, to follow "a body that".
    Over(String),
    /// It is not JSON (nothing was taken for it).
    NotJson,
}

/// The upper bound up to which an answer is reserved at it rather than
/// weighed first: 1 MiB, a text of 6.7 KiB.
const SHORT: usize = 1024 * 1024;

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
    /// Runs `work`, one request's, the answers read for it kept until it
    /// ends. Not an `async fn`, which would hold `work` twice.
    pub(crate) fn held_in<F: Future>(work: F) -> impl Future<Output = F::Output> {
        let request = AnswerMemory {
            taken: Cell::new(0),
            call: false,
        };
        REQUEST.scope(request, work)
    }

    /// Runs `work`, one call's (its pages'), the answers read for it kept
    /// by the request it is made in, if any, else until it ends.
    pub(crate) fn held_in_call<F: Future>(work: F) -> impl Future<Output = F::Output> {
        let call = AnswerMemory {
            taken: Cell::new(0),
            call: true,
        };
        REQUEST.scope(call, work)
    }

    /// Reads `bytes`, an upstream's JSON answer, if what it takes once read
    /// is left: the value, and what it takes.
    pub(crate) fn read(bytes: &[u8]) -> Result<(Value, Held), Unread> {
        let bound = payload::most_weight(bytes.len());
        let short = (bound <= SHORT)
            .then(|| Held::reserve(bound).ok())
            .flatten();
        let mut held = match short {
            Some(held) => held,
            // Long, or its upper bound is more than is left.
            None => match payload::weight_within(bytes, left().load(Ordering::Relaxed)) {
                Ok(weight) => Held::reserve(weight).map_err(Unread::Over)?,
                Err(Weighed::Over) => return Err(Unread::Over(over())),
                Err(Weighed::Json(_)) => return Err(Unread::NotJson),
            },
        };
        match payload::build_within(bytes, held.weight) {
            Ok((value, weight)) => {
                held.give_back(held.weight - weight);
                Ok((value, held))
            }
            // Only if the weights of the two passes disagreed.
            Err(Weighed::Over) => Err(Unread::Over(over())),
            Err(Weighed::Json(_)) => Err(Unread::NotJson),
        }
    }

    /// Holds text of `length` bytes, an answer kept as a JSON string, if
    /// what it takes is left; else why not, as [`Unread::Over`] tells it.
    pub(crate) fn hold_text(length: usize) -> Result<Held, String> {
        Held::reserve(payload::string_weight(length))
    }
}

impl Drop for AnswerMemory {
    fn drop(&mut self) {
        // Dropped once its work has ended: the request around it, if any,
        // is the one in scope.
        match self.call {
            true => keep_for_request(self.taken.get()),
            false => give_back(self.taken.get()),
        }
    }
}

impl Held {
    /// What an empty answer takes: nothing.
    pub(crate) fn none() -> Held {
        Held { weight: 0 }
    }

    /// Takes `weight` from the allowance, if it is left.
    fn reserve(weight: usize) -> Result<Held, String> {
        left()
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(weight)
            })
            .map(|_| Held { weight })
            .map_err(|_| over())
    }

    /// Keeps what the answer takes until the request it was read for ends
    /// (gives it back now if it was read for none).
    pub(crate) fn keep(mut self) {
        keep_for_request(std::mem::take(&mut self.weight));
    }

    fn give_back(&mut self, weight: usize) {
        self.weight -= weight;
        give_back(weight);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.give_back(self.weight);
    }
}

/// Adds `weight` to what the request in scope holds until it ends; gives
/// it back if there is none.
fn keep_for_request(weight: usize) {
    let kept = REQUEST.try_with(|request| request.taken.set(request.taken.get() + weight));
    if kept.is_err() {
        give_back(weight);
    }
}

/// Gives `weight` back to the allowance.
fn give_back(weight: usize) {
    left().fetch_add(weight, Ordering::Relaxed);
}

/// Why an answer that would take more than is left is refused.
fn over() -> String {
    let left = Megabytes(left().load(Ordering::Relaxed));
    // Told as the rest of the whole, so that the two add up.
    let held = Megabytes(whole()).tenths() - left.tenths();
    let mine = REQUEST
        .try_with(|request| {
            let taken = Megabytes(request.taken.get());
            match request.call {
                true => format!(" ({taken} MB of them this call's)"),
                false => format!(" ({taken} MB of them this request's)"),
            }
        })
        .unwrap_or_default();
    let held = match held {
        0 => String::new(),
        held => format!(
            ", what is left of it with the answers held at once taking {} MB{mine}",
            Tenths(held)
        ),
    };
    format!(
        "would take over {left} MB once read, half of the function's {} MB{held}: ask for \
         less (select(), limit(), fewer pages or batch items), or give the function more \
         memory",
        payload::function_memory_mb()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[0,0,…]` taking about `mb` MB once read.
    fn numbers_of(mb: usize) -> Vec<u8> {
        let count = mb * 1024 * 1024 / 72;
        format!("[0{}]", ",0".repeat(count - 1)).into_bytes()
    }

    /// `read`, kept for the request it was read for.
    fn kept(read: Result<(Value, Held), Unread>) -> Result<(), Unread> {
        read.map(|(_, held)| held.keep())
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
    async fn the_answers_of_the_requests_and_calls_held_share_half_the_memory_until_they_end() {
        let thirty = numbers_of(30);
        let before = left().load(Ordering::Relaxed);
        let (first, second, third) = AnswerMemory::held_in(async {
            (
                kept(AnswerMemory::read(&thirty)),
                kept(AnswerMemory::read(&thirty)),
                kept(AnswerMemory::read(&thirty)),
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
                let first = kept(AnswerMemory::read(&thirty));
                tokio::task::yield_now().await;
                let second = kept(AnswerMemory::read(&thirty));
                read_twice.send(()).unwrap();
                (first, second)
            }),
            AnswerMemory::held_in(async {
                let read = kept(AnswerMemory::read(&thirty));
                one_done.await.unwrap();
                read
            }),
        );
        assert!(one.0.is_ok() && other.is_ok());
        let why = over(one.1.unwrap_err());
        assert!(why.contains("(30 MB of them this request's)"), "{why}");

        // A call's answers pass to the request it is made in, else end with
        // it (a task's calls, one after the other).
        let third = AnswerMemory::held_in(async {
            for _ in 0..2 {
                AnswerMemory::held_in_call(async { kept(AnswerMemory::read(&thirty)) })
                    .await
                    .unwrap();
            }
            kept(AnswerMemory::read(&thirty))
        })
        .await;
        assert!(third.is_err(), "the calls' answers are the request's");
        for _ in 0..3 {
            AnswerMemory::held_in_call(async { kept(AnswerMemory::read(&thirty)) })
                .await
                .unwrap();
        }

        // A short answer whose upper bound is more than is left is weighed.
        let filler = AnswerMemory::hold_text(left().load(Ordering::Relaxed) - 200_000).unwrap();
        let short = format!(r#"{{"a": "{}"}}"#, "x".repeat(2_000));
        assert!(AnswerMemory::read(short.as_bytes()).is_ok());
        let html = format!("<html>{}</html>", "x".repeat(2_000));
        assert!(matches!(
            AnswerMemory::read(html.as_bytes()),
            Err(Unread::NotJson)
        ));
        drop(filler);

        // Outside a request: an answer holds its share while it lives, and
        // a kept one is given back at once.
        let (_, held) = AnswerMemory::read(&thirty).unwrap();
        let (_, more) = AnswerMemory::read(&thirty).unwrap();
        assert!(AnswerMemory::read(&thirty).is_err(), "two held");
        drop((held, more));
        kept(AnswerMemory::read(&thirty)).unwrap();
        kept(AnswerMemory::read(&thirty)).unwrap();
        assert!(AnswerMemory::read(&numbers_of(65)).is_err());
        assert!(matches!(
            AnswerMemory::read(b"<html>"),
            Err(Unread::NotJson)
        ));
        assert!(AnswerMemory::hold_text(1 << 20).is_ok());
        assert!(left().load(Ordering::Relaxed) + (1 << 20) > before);
    }
}
