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
//!   payload's room, by its `Content-Length`, before reading its first
//!   byte;
//! - **read**: the events read into JSON, until their invocation is
//!   answered, take at most half of it together
//!   ([`payload::event_memory`]); a worker weighs the payload first
//!   ([`payload::weight`], which keeps nothing) and waits for its room
//!   before reading it.
//!
//! No worker waits for one room while holding room another worker waits
//! for in the same order: a worker waits for arriving room holding none,
//! and for read room holding only arriving room; one holding read room
//! runs its invocation, which ends by its deadline, and frees it. So every
//! wait ends, at the latest with the invocation's deadline.
//!
//! A sequential function ([`InFlight::unshared`]) holds one event at a
//! time, already bounded: it waits for nothing and weighs nothing more.
//!
//! [`payload::decode`]: super::payload::decode
//! [`payload::weight`]: super::payload::weight
//! [`payload::event_memory`]: super::payload::event_memory
//! [`MAX_PAYLOAD_BYTES`]: super::payload::MAX_PAYLOAD_BYTES

use super::payload::event_memory;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The rooms the workers of one function share; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct InFlight {
    rooms: Option<Arc<Rooms>>,
}

#[derive(Debug)]
struct Rooms {
    arriving: Room,
    read: Room,
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
        let memory = usize::try_from(memory_mb).unwrap_or(0).max(128) * 1024 * 1024;
        InFlight {
            rooms: Some(Arc::new(Rooms {
                arriving: Room::of(memory / 8),
                read: Room::of(event_memory(memory_mb)),
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

    /// Room for a payload of `bytes` still to arrive, once there is.
    pub async fn arriving(&self, bytes: usize) -> Held {
        match &self.rooms {
            Some(rooms) => rooms.arriving.take(bytes).await,
            None => Held::default(),
        }
    }

    /// Room for an event that takes `bytes` once read, once there is.
    pub async fn read(&self, bytes: usize) -> Held {
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

    #[tokio::test]
    async fn a_sequential_function_waits_for_nothing() {
        let in_flight = InFlight::unshared();
        assert!(!in_flight.is_shared());
        let _held: Vec<_> =
            futures::future::join_all((0..100).map(|_| in_flight.read(usize::MAX))).await;
        assert!(had(in_flight.arriving(usize::MAX)).await.is_some());
    }
}
