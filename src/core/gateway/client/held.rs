//! The outbox: API publishes that wait (while the session is not
//! connected, for the session limits, or for room in a rate limit), in
//! order, bounded in count and in bytes. When it is full the oldest data
//! give way to the newest, counted, as the IoT Gateway's storage does;
//! registrations (`connect`) are never dropped.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use serde::de::IgnoredAny;

use crate::core::gateway::limits::Class;
use crate::core::mqtt::PublishId;

/// The most messages the outbox holds; beyond it the oldest are dropped.
pub const OFFLINE_QUEUE_LIMIT: usize = 10_000;

/// The most payload bytes the outbox holds (32 MiB): wasm memory never
/// shrinks, so it is bounded in bytes, not only in count; beyond it the
/// oldest are dropped.
pub const OFFLINE_QUEUE_BYTES: usize = 32 * 1024 * 1024;

/// A message held in the offline queue, its publish id already reserved.
#[derive(Debug, Clone)]
pub(super) struct Held {
    pub id: PublishId,
    pub topic: String,
    pub payload: Bytes,
    /// What it takes from the rate limits, once counted.
    pub class: Option<Class>,
    /// Whether it is full: nothing more can be folded into it, so the
    /// outbox is not searched for it again.
    pub coalesced: bool,
    /// The devices a gateway telemetry message names, once read (for
    /// folding); an empty list if the payload is not a JSON object.
    pub devices: Option<Vec<String>>,
}

impl Held {
    /// A message to hold, as accepted (nothing folded into it yet).
    pub fn new(id: PublishId, topic: String, payload: Bytes, class: Option<Class>) -> Held {
        Held {
            id,
            topic,
            payload,
            class,
            coalesced: false,
            devices: None,
        }
    }

    /// The devices it names (a multi-device message's keys), read once.
    pub fn devices(&mut self) -> &[String] {
        let payload = &self.payload;
        self.devices.get_or_insert_with(|| {
            serde_json::from_slice::<HashMap<String, IgnoredAny>>(payload)
                .map(|m| m.into_keys().collect())
                .unwrap_or_default()
        })
    }

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
    /// Hold `held` as the newest; the oldest messages (registrations kept)
    /// are dropped and handed back until the queue is within its bounds.
    pub fn push_back(&mut self, held: Held) -> Vec<Held> {
        self.bytes += held.weight();
        self.items.push_back(held);
        let mut dropped = Vec::new();
        while self.items.len() > OFFLINE_QUEUE_LIMIT || self.bytes > OFFLINE_QUEUE_BYTES {
            // Never the message just held, never a registration.
            let last = self.items.len() - 1;
            let Some(oldest) = self
                .items
                .iter()
                .take(last)
                .position(|h| h.topic != "v1/gateway/connect")
            else {
                break;
            };
            if let Some(h) = self.items.remove(oldest) {
                self.bytes -= h.weight();
                dropped.push(h);
            }
        }
        dropped
    }

    /// The oldest.
    pub fn front(&self) -> Option<&Held> {
        self.items.front()
    }

    /// The oldest, to change.
    pub fn front_mut(&mut self) -> Option<&mut Held> {
        self.items.front_mut()
    }

    /// The message at `index` (0 is the oldest), to read or change.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut Held> {
        self.items.get_mut(index)
    }

    /// Take out the messages at `indices` (ascending, never 0), keeping the
    /// order of the rest; returns them in order.
    pub fn take_at(&mut self, indices: &[usize]) -> Vec<Held> {
        let mut taken = Vec::with_capacity(indices.len());
        let mut wanted = indices.iter().peekable();
        let mut kept = VecDeque::with_capacity(self.items.len() - indices.len());
        for (i, held) in std::mem::take(&mut self.items).into_iter().enumerate() {
            if wanted.peek() == Some(&&i) {
                wanted.next();
                self.bytes -= held.weight();
                taken.push(held);
            } else {
                kept.push_back(held);
            }
        }
        self.items = kept;
        taken
    }

    /// Give the oldest a new (folded) payload, class and devices.
    pub fn refill_front(&mut self, payload: Bytes, class: Class, devices: Vec<String>) {
        if let Some(front) = self.items.front_mut() {
            self.bytes = self.bytes - front.payload.len() + payload.len();
            front.payload = payload;
            front.class = Some(class);
            front.devices = Some(devices);
        }
    }

    /// The message at `index` keeps only `rest` (naming `devices`), the
    /// rest having been folded into the oldest. Returns its id and new
    /// payload.
    pub fn keep_rest(
        &mut self,
        index: usize,
        rest: Bytes,
        devices: Vec<String>,
    ) -> Option<(PublishId, Bytes)> {
        let held = self.items.get_mut(index)?;
        self.bytes = self.bytes - held.payload.len() + rest.len();
        held.payload = rest.clone();
        held.class = None;
        held.devices = Some(devices);
        Some((held.id, rest))
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
        Held::new(PublishId(n), "t".into(), Bytes::from(vec![0; size]), None)
    }

    #[test]
    fn the_queue_weighs_what_it_holds_and_drops_the_oldest_past_its_byte_cap() {
        let mut q = HeldQueue::default();
        assert!(q.push_back(held(1, 99)).is_empty());
        assert!(q.push_back(held(2, 9)).is_empty());
        assert_eq!((q.len(), q.bytes()), (2, 110));
        let dropped = q.push_back(held(3, OFFLINE_QUEUE_BYTES - 20));
        assert_eq!(
            dropped.iter().map(|h| h.id).collect::<Vec<_>>(),
            [PublishId(1)]
        );
        assert_eq!(q.len(), 2);
        assert!(q.bytes() <= OFFLINE_QUEUE_BYTES);
        assert_eq!(q.pop_front().map(|h| h.id), Some(PublishId(2)));
        let mut other = HeldQueue::default();
        other.push_back(held(4, 0));
        q.append(other);
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn registrations_are_never_dropped() {
        let mut q = HeldQueue::default();
        let mut connect = held(1, 10);
        connect.topic = "v1/gateway/connect".into();
        q.push_back(connect);
        q.push_back(held(2, 10));
        let dropped = q.push_back(held(3, OFFLINE_QUEUE_BYTES));
        assert_eq!(
            dropped.iter().map(|h| h.id).collect::<Vec<_>>(),
            [PublishId(2)]
        );
        assert_eq!(q.front().map(|h| h.id), Some(PublishId(1)));
    }
}
