//! Recognising our own publishes when a plain broker sends them back
//! (contract §11 item 11: a bridged mosquitto echoes the topics it bridges
//! both ways).
//!
//! Gateway topics are told apart by shape in [`super::downlink`]. On the
//! device-level topics (`v1/devices/me/attributes`, `…/rpc/request/+`,
//! `…/rpc/response/+`) an echo looks exactly like a server message, so the
//! [`EchoTracker`] remembers what we published there: recent payloads (a
//! bounded ring, each kept for a time window) and the payloads of our
//! outstanding client-side RPC calls (until their answer or timeout).

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use super::topics::{self, Topic};
use crate::core::time::Millis;

/// Default number of recent publishes remembered.
pub const DEFAULT_ECHO_CAPACITY: usize = 64;
/// Default time a recent publish is remembered, in ms.
pub const DEFAULT_ECHO_WINDOW_MS: u64 = 30_000;

#[derive(Debug, Clone)]
struct Recent {
    topic: String,
    payload: Bytes,
    at: Millis,
}

/// What we published recently on topics that can come back to us.
#[derive(Debug, Clone)]
pub struct EchoTracker {
    recent: VecDeque<Recent>,
    capacity: usize,
    window_ms: u64,
    calls: BTreeMap<u32, Bytes>,
}

impl Default for EchoTracker {
    fn default() -> Self {
        EchoTracker::new(DEFAULT_ECHO_CAPACITY, DEFAULT_ECHO_WINDOW_MS)
    }
}

impl EchoTracker {
    /// A tracker remembering up to `capacity` publishes for `window_ms` each.
    pub fn new(capacity: usize, window_ms: u64) -> Self {
        EchoTracker {
            recent: VecDeque::new(),
            capacity: capacity.max(1),
            window_ms,
            calls: BTreeMap::new(),
        }
    }

    /// Whether a publish of ours on `topic` can come back as an incoming
    /// message that looks like the server's: the device-level topics the
    /// gateway subscribes to.
    pub fn can_echo(topic: &str) -> bool {
        matches!(
            Topic::parse(topic),
            Ok(Topic::OwnAttributes | Topic::OwnRpcRequest(_) | Topic::OwnRpcResponse(_))
        )
    }

    /// Remember a publish (ignored unless [`EchoTracker::can_echo`]).
    pub fn record(&mut self, now: Millis, topic: &str, payload: &Bytes) {
        if !Self::can_echo(topic) {
            return;
        }
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent {
            topic: topic.to_string(),
            payload: payload.clone(),
            at: now,
        });
    }

    /// Remember an outstanding client-side RPC call until [`EchoTracker::forget_call`].
    pub fn record_call(&mut self, id: u32, payload: &Bytes) {
        self.calls.insert(id, payload.clone());
    }

    /// The call `id` was answered or timed out.
    pub fn forget_call(&mut self, id: u32) {
        self.calls.remove(&id);
    }

    /// Number of recent publishes remembered now.
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty() && self.calls.is_empty()
    }

    /// Whether the incoming (`topic`, `payload`) is one of our publishes
    /// coming back. A match is consumed: the same bytes arriving a second
    /// time are taken for the server's.
    pub fn take(&mut self, now: Millis, topic: &str, payload: &[u8]) -> bool {
        let window = self.window_ms;
        self.recent.retain(|r| now.since(r.at) <= window);
        if let Some(i) = self
            .recent
            .iter()
            .position(|r| r.topic == topic && r.payload.as_ref() == payload)
        {
            self.recent.remove(i);
            return true;
        }
        if let Some(rest) = topic.strip_prefix(topics::OWN_RPC_REQUEST_PREFIX) {
            if let Ok(id) = rest.parse::<u32>() {
                if self.calls.get(&id).is_some_and(|p| p.as_ref() == payload) {
                    // Only the echo is consumed here; the model keeps the
                    // call outstanding for its answer.
                    self.calls.remove(&id);
                    return true;
                }
            }
        }
        false
    }
}
