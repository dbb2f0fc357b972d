//! Replay protection: the nonces already seen, per consumer key.

use std::collections::{HashSet, VecDeque};

/// Remembers the last [`NonceStore::CAPACITY`] `(consumer key, nonce)` pairs.
///
/// Extra Horizon answers a reused nonce with `DUPLICATE_REQUEST_EXCEPTION`.
/// A real server may forget nonces whose timestamp is too old to be accepted
/// anyway; the sandbox has no clock in its contract, so it forgets the oldest
/// pairs instead, which keeps memory bounded and tests deterministic.
#[derive(Debug, Default)]
pub(crate) struct NonceStore {
    seen: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
}

impl NonceStore {
    /// How many nonces are remembered.
    pub(crate) const CAPACITY: usize = 100_000;

    /// Records the nonce; false when this consumer key already used it.
    pub(crate) fn first_use(&mut self, consumer_key: &str, nonce: &str) -> bool {
        let entry = (consumer_key.to_owned(), nonce.to_owned());
        if !self.seen.insert(entry.clone()) {
            return false;
        }
        if self.order.len() == Self::CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.order.push_back(entry);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_per_consumer_key() {
        let mut store = NonceStore::default();
        assert!(store.first_use("k", "n"));
        assert!(!store.first_use("k", "n"));
        assert!(store.first_use("other", "n"));
    }

    #[test]
    fn the_oldest_nonce_is_forgotten_at_capacity() {
        let mut store = NonceStore::default();
        for i in 0..=NonceStore::CAPACITY {
            assert!(store.first_use("k", &i.to_string()));
        }
        assert_eq!(store.order.len(), NonceStore::CAPACITY);
        assert!(store.first_use("k", "0"));
        assert!(!store.first_use("k", &NonceStore::CAPACITY.to_string()));
    }
}
