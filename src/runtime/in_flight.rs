//! The memory the events in flight take together, when several workers
//! serve invocations at once (`AWS_LAMBDA_MAX_CONCURRENCY` above 1).
//!
//! One event alone is held to half the function's memory once read
//! ([`payload::decode`]), and to [`MAX_PAYLOAD_BYTES`] while it arrives;
//! a thousand workers each holding one would not be. So the workers share
//! two rooms:
//!
//! - **arriving**: the payloads being read from the Runtime API take at
//!   most an eighth of the function's memory together (16 MB at Lambda's
//!   least memory, 128 MB: two whole payloads); a worker waits for its
//!   payload's room, by its `Content-Length`, before reading its body
//!   (beyond the few KB its connection has buffered with the head);
//! - **read**: the events read into JSON, until their invocation is
//!   answered, take at most half of it together
//!   ([`payload::event_memory`]); a worker weighs the payload first
//!   ([`payload::weight`], which keeps nothing) and waits for its room
//!   before reading it.
//!
//! No worker waits for one room while holding room another worker waits
//! for in the same order: a worker waits for arriving room holding none,
//! and for read room holding only arriving room; one holding read room
//! runs its invocation, which ends by its deadline, and frees it. Every
//! wait ends by the invocation's deadline, and one for read room within
//! [`HOLDING_WAIT`]: the rooms are first come, first served, so a worker
//! waiting with its payload's room keeps other payloads from arriving,
//! small ones too. An event that finds no room in time is answered
//! `Timeout`, not sent: safe to try again.
//!
//! A sequential function ([`InFlight::unshared`]) holds one event at a
//! time, already bounded: it waits for nothing and weighs nothing more.
//!
//! [`payload::decode`]: super::payload::decode
//! [`payload::weight`]: super::payload::weight
//! [`payload::event_memory`]: super::payload::event_memory
//! [`MAX_PAYLOAD_BYTES`]: super::payload::MAX_PAYLOAD_BYTES

use super::payload::{event_memory, function_memory};
use crate::error::Error;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The longest a worker holding its payload's arriving room waits for
/// read room.
pub const HOLDING_WAIT: Duration = Duration::from_secs(1);

/// The room an event waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Arriving room, for the payload's bytes (by its `Content-Length`).
    Arriving,
    /// Read room, for what the payload takes once read (its weight).
    Read,
}

/// The rooms the workers of one function share; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct InFlight {
    rooms: Option<Arc<Rooms>>,
}

#[derive(Debug)]
struct Rooms {
    arriving: Room,
    read: Room,
    memory_mb: i32,
}

/// Room measured in KiB, so that a function's whole memory (10,240 MB at
/// most) fits a semaphore's `u32` count.
#[derive(Debug)]
struct Room {
    permits: Arc<Semaphore>,
    kib: u32,
}

/// Room an event holds until dropped.
#[derive(Debug, Default)]
pub struct Held {
    _permit: Option<OwnedSemaphorePermit>,
}

impl InFlight {
    /// The rooms of a function of `memory_mb` MB whose workers serve
    /// invocations at once.
    pub fn shared(memory_mb: i32) -> InFlight {
        let memory = function_memory(memory_mb);
        InFlight {
            rooms: Some(Arc::new(Rooms {
                arriving: Room::of(memory / 8),
                read: Room::of(event_memory(memory_mb)),
                memory_mb,
            })),
        }
    }

    /// A sequential function's: no room is shared, nothing is waited for.
    pub const fn unshared() -> InFlight {
        InFlight { rooms: None }
    }

    /// Whether events share rooms, and must be weighed before being read.
    pub fn is_shared(&self) -> bool {
        self.rooms.is_some()
    }

    /// Room for `bytes` in the room `waiting` names, waited for until
    /// `deadline` (read room: [`HOLDING_WAIT`] at most) or `stop`; else
    /// the `Timeout`, not sent, that says how long the event waited, for
    /// which room.
    pub async fn wait(
        &self,
        waiting: Waiting,
        bytes: usize,
        deadline: Instant,
        stop: impl Future<Output = ()>,
    ) -> Result<Held, Error> {
        let Some(rooms) = &self.rooms else {
            return Ok(Held::default());
        };
        let (room, by) = match waiting {
            Waiting::Arriving => (&rooms.arriving, deadline),
            Waiting::Read => (&rooms.read, deadline.min(Instant::now() + HOLDING_WAIT)),
        };
        let until = tokio::select! {
            // Room had wins over a timer due at once.
            biased;
            held = room.take(bytes) => return Ok(held),
            () = tokio::time::sleep_until(by) => match by < deadline {
                true => format!("for {HOLDING_WAIT:?}, holding its payload's room"),
                false => "until its deadline".to_owned(),
            },
            () = stop => "until the function was shut down (SIGTERM)".to_owned(),
        };
        let (event, what, share) = match waiting {
            Waiting::Arriving => (format!("{bytes} bytes"), "payloads arriving", "an eighth"),
            Waiting::Read => (
                format!("{} KB once read", bytes.div_ceil(1000)),
                "events read",
                "half",
            ),
        };
        Err(Error::timeout_unsent(format!(
            "the event ({event}) waited for memory {until}: the {what} at once may take {share} \
             of the function's {} MB; give it more memory or a lower AWS_LAMBDA_MAX_CONCURRENCY",
            rooms.memory_mb
        )))
    }

    /// Room for a payload of `bytes` still to arrive, once there is.
    #[cfg(test)]
    pub(crate) async fn arriving(&self, bytes: usize) -> Held {
        match &self.rooms {
            Some(rooms) => rooms.arriving.take(bytes).await,
            None => Held::default(),
        }
    }

    /// Room for an event that takes `bytes` once read, once there is.
    #[cfg(test)]
    async fn read(&self, bytes: usize) -> Held {
        match &self.rooms {
            Some(rooms) => rooms.read.take(bytes).await,
            None => Held::default(),
        }
    }
}

impl Room {
    fn of(bytes: usize) -> Room {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        Room {
            permits: Arc::new(Semaphore::new(kib as usize)),
            kib,
        }
    }

    /// `bytes` of room, waited for; at most the whole room, so that no
    /// wait is for more than there is.
    async fn take(&self, bytes: usize) -> Held {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .min(self.kib);
        // The semaphore is never closed: the error cannot come.
        let permit = self.permits.clone().acquire_many_owned(kib).await.ok();
        Held { _permit: permit }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::payload::MAX_PAYLOAD_BYTES;
    use std::time::Duration;

    const MB: usize = 1024 * 1024;

    /// Whether `room` is had within a moment (the rooms are local: a
    /// grant is immediate when there is room).
    async fn had(room: impl std::future::Future<Output = Held>) -> Option<Held> {
        tokio::time::timeout(Duration::from_millis(50), room)
            .await
            .ok()
    }

    #[tokio::test]
    async fn events_read_at_once_take_half_the_memory_together() {
        let in_flight = InFlight::shared(128);
        let first = had(in_flight.read(40 * MB)).await.expect("room for 40 MB");
        assert!(
            had(in_flight.read(40 * MB)).await.is_none(),
            "80 MB of events read at once, of a 128 MB function"
        );
        let small = had(in_flight.read(20 * MB)).await;
        assert!(small.is_some(), "40 + 20 MB fit in 64");
        drop(first);
        assert!(had(in_flight.read(40 * MB)).await.is_some(), "room freed");
    }

    #[tokio::test]
    async fn payloads_arriving_at_once_take_an_eighth_of_the_memory() {
        let in_flight = InFlight::shared(1024);
        let held: Vec<_> =
            futures::future::join_all((0..21).map(|_| in_flight.arriving(6 * MB))).await;
        assert!(
            had(in_flight.arriving(6 * MB)).await.is_none(),
            "22 payloads of 6 MB arriving at once, of a 1,024 MB function"
        );
        drop(held);
        assert!(had(in_flight.arriving(6 * MB)).await.is_some());
    }

    #[tokio::test]
    async fn the_least_memory_has_room_for_two_whole_payloads() {
        for memory_mb in [128, 0, -1] {
            let in_flight = InFlight::shared(memory_mb);
            let two = [
                had(in_flight.arriving(MAX_PAYLOAD_BYTES)).await,
                had(in_flight.arriving(MAX_PAYLOAD_BYTES)).await,
            ];
            assert!(two.iter().all(Option::is_some), "{memory_mb} MB");
            assert!(had(in_flight.arriving(MAX_PAYLOAD_BYTES)).await.is_none());
        }
    }

    #[tokio::test]
    async fn more_than_the_room_waits_for_all_of_it_not_forever() {
        let in_flight = InFlight::shared(128);
        assert!(had(in_flight.read(usize::MAX)).await.is_some());
    }

    /// [`InFlight::wait`] for `bytes` of `waiting` room, due in a minute,
    /// stopped by `stop`.
    async fn waited(
        in_flight: &InFlight,
        waiting: Waiting,
        bytes: usize,
        stop: impl Future<Output = ()>,
    ) -> Result<Held, Error> {
        let deadline = Instant::now() + Duration::from_secs(60);
        in_flight.wait(waiting, bytes, deadline, stop).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gets_the_room_its_holder_frees() {
        let in_flight = InFlight::shared(128);
        let holder = in_flight.read(40 * MB).await;
        let freed = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(holder);
            std::future::pending::<()>().await
        };
        tokio::select! {
            held = waited(&in_flight, Waiting::Read, 40 * MB, std::future::pending()) => {
                assert!(held.is_ok(), "{:?}", held.err());
            }
            () = freed => unreachable!(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn holding_its_payloads_room_a_worker_waits_for_read_room_briefly() {
        let in_flight = InFlight::shared(128);
        let _all = in_flight.read(usize::MAX).await;
        let started = Instant::now();
        let error = waited(&in_flight, Waiting::Read, MB, std::future::pending())
            .await
            .unwrap_err();
        assert_eq!(started.elapsed(), HOLDING_WAIT);
        assert_eq!(error.error_type(), "Timeout");
        assert_eq!(error.sent(), Some(false));
        assert!(
            error.to_string().contains(
                "(1049 KB once read) waited for memory for 1s, holding its payload's room: \
                 the events read at once may take half of the function's 128 MB"
            ),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_payload_waits_for_arriving_room_until_its_deadline_or_the_shutdown() {
        let in_flight = InFlight::shared(128);
        let _all = in_flight.arriving(usize::MAX).await;
        let started = Instant::now();
        let error = waited(&in_flight, Waiting::Arriving, 100, std::future::pending())
            .await
            .unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        assert_eq!(error.sent(), Some(false));
        assert!(
            error.to_string().contains(
                "(100 bytes) waited for memory until its deadline: the payloads arriving at \
                 once may take an eighth"
            ),
            "{error}"
        );
        let error = waited(&in_flight, Waiting::Arriving, 100, std::future::ready(()))
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("until the function was shut down (SIGTERM)"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_sequential_function_waits_for_nothing() {
        let in_flight = InFlight::unshared();
        assert!(!in_flight.is_shared());
        let _held: Vec<_> =
            futures::future::join_all((0..100).map(|_| in_flight.read(usize::MAX))).await;
        assert!(had(in_flight.arriving(usize::MAX)).await.is_some());
    }
}
