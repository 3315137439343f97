//! The offline queue: API publishes made while the session is not
//! connected, in order, bounded in count and in bytes.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::core::gateway::limits::Class;
use crate::core::mqtt::PublishId;

/// The most messages the offline queue holds; an API call that would go
/// beyond it fails with [`GatewayError::OfflineQueueFull`](super::GatewayError::OfflineQueueFull).
pub const OFFLINE_QUEUE_LIMIT: usize = 10_000;

/// The most payload bytes the offline queue holds (32 MiB): wasm memory
/// never shrinks, so the queue is bounded in bytes, not only in count.
pub const OFFLINE_QUEUE_BYTES: usize = 32 * 1024 * 1024;

/// A message held in the offline queue, its publish id already reserved.
#[derive(Debug, Clone)]
pub(super) struct Held {
    pub id: PublishId,
    pub topic: String,
    pub payload: Bytes,
    /// What it takes from the rate limits, once counted.
    pub class: Option<Class>,
}

impl Held {
    /// What it weighs in the queue.
    fn weight(&self) -> usize {
        self.topic.len() + self.payload.len()
    }
}

/// The held messages, oldest first, with their weight.
#[derive(Debug, Default)]
pub(super) struct HeldQueue {
    items: VecDeque<Held>,
    bytes: usize,
}

impl HeldQueue {
    /// Whether `count` more messages weighing `bytes` together fit.
    pub fn has_room(&self, count: usize, bytes: usize) -> bool {
        self.items.len() + count <= OFFLINE_QUEUE_LIMIT && self.bytes + bytes <= OFFLINE_QUEUE_BYTES
    }

    /// Hold `held` as the newest.
    pub fn push_back(&mut self, held: Held) {
        self.bytes += held.weight();
        self.items.push_back(held);
    }

    /// The oldest.
    pub fn front(&self) -> Option<&Held> {
        self.items.front()
    }

    /// The oldest, to change.
    pub fn front_mut(&mut self) -> Option<&mut Held> {
        self.items.front_mut()
    }

    /// Take the oldest.
    pub fn pop_front(&mut self) -> Option<Held> {
        let held = self.items.pop_front()?;
        self.bytes -= held.weight();
        Some(held)
    }

    /// Append every message of `other`, in order.
    pub fn append(&mut self, other: HeldQueue) {
        self.bytes += other.bytes;
        self.items.extend(other.items);
    }

    /// How many messages wait.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// What the waiting messages weigh together (topics and payloads).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(n: u64, size: usize) -> Held {
        Held {
            id: PublishId(n),
            topic: "t".into(),
            payload: Bytes::from(vec![0; size]),
            class: None,
        }
    }

    #[test]
    fn the_queue_weighs_what_it_holds_and_refuses_past_its_byte_cap() {
        let mut q = HeldQueue::default();
        q.push_back(held(1, 99));
        q.push_back(held(2, 9));
        assert_eq!((q.len(), q.bytes()), (2, 110));
        assert!(q.has_room(1, OFFLINE_QUEUE_BYTES - 110));
        assert!(!q.has_room(1, OFFLINE_QUEUE_BYTES - 109));
        assert_eq!(q.pop_front().map(|h| h.id), Some(PublishId(1)));
        assert_eq!(q.bytes(), 10);
        let mut other = HeldQueue::default();
        other.push_back(held(3, 0));
        q.append(other);
        assert_eq!((q.len(), q.bytes()), (2, 11));
    }
}
