//! RPC requests received, keyed by (device, id), with their status. Bounded:
//! past its capacity the oldest answered or expired entry (else the oldest)
//! is dropped and counted.

use std::collections::VecDeque;

use serde_json::Value;

use super::error::ModelError;
use crate::core::time::Millis;

/// Where an RPC request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcStatus {
    /// Waiting for our reply.
    Pending,
    /// Answered at this time.
    Replied {
        /// When the reply was sent.
        at: Millis,
    },
    /// The server's caller has given up (no reply within the RPC timeout).
    Expired {
        /// When it expired.
        at: Millis,
    },
}

/// One RPC request received.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcEntry {
    /// The device it was for, or `None` for the gateway itself.
    pub device: Option<String>,
    /// Its id, unique per device only (and reused after a server restart).
    pub id: u64,
    /// Method name.
    pub method: String,
    /// Parameters, any JSON (`null` when absent).
    pub params: Value,
    /// When it arrived.
    pub received_at: Millis,
    /// When the server's caller gives up.
    pub deadline: Millis,
    /// Where it stands.
    pub status: RpcStatus,
}

/// A bounded inbox of RPC requests.
#[derive(Debug, Clone)]
pub struct RpcInbox {
    entries: VecDeque<RpcEntry>,
    capacity: usize,
    timeout_ms: u64,
    dropped: u64,
}

impl RpcInbox {
    /// An inbox of at most `capacity` entries (at least 1) whose requests
    /// expire `timeout_ms` after arrival.
    pub fn new(capacity: usize, timeout_ms: u64) -> Self {
        RpcInbox {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            timeout_ms,
            dropped: 0,
        }
    }

    fn position(&self, device: Option<&str>, id: u64) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.id == id && e.device.as_deref() == device)
    }

    /// Add a request received at `now`. An older entry with the same
    /// (device, id) is replaced (ids restart with the server). Returns the
    /// entry dropped to make room, if any.
    pub fn push(
        &mut self,
        now: Millis,
        device: Option<&str>,
        id: u64,
        method: &str,
        params: Value,
    ) -> Option<RpcEntry> {
        if let Some(i) = self.position(device, id) {
            self.entries.remove(i);
        }
        let mut dropped = None;
        if self.entries.len() >= self.capacity {
            let victim = self
                .entries
                .iter()
                .position(|e| e.status != RpcStatus::Pending)
                .unwrap_or(0);
            dropped = self.entries.remove(victim);
            self.dropped += 1;
        }
        self.entries.push_back(RpcEntry {
            device: device.map(str::to_string),
            id,
            method: method.to_string(),
            params,
            received_at: now,
            deadline: now.after_ms(self.timeout_ms),
            status: RpcStatus::Pending,
        });
        dropped
    }

    /// The request (device, id), if still in the inbox.
    pub fn get(&self, device: Option<&str>, id: u64) -> Option<&RpcEntry> {
        self.position(device, id).map(|i| &self.entries[i])
    }

    /// Whether (device, id) may be answered: it is in the inbox and not yet
    /// answered. An expired request may still be answered (the caller may
    /// have set a longer timeout than the default).
    pub fn check_reply(&self, device: Option<&str>, id: u64) -> Result<(), ModelError> {
        match self.get(device, id) {
            None => Err(ModelError::UnknownRpc {
                device: device.map(str::to_string),
                id,
            }),
            Some(RpcEntry {
                status: RpcStatus::Replied { .. },
                ..
            }) => Err(ModelError::RpcAlreadyReplied {
                device: device.map(str::to_string),
                id,
            }),
            Some(_) => Ok(()),
        }
    }

    /// Record the reply to (device, id), sent at `now`.
    pub fn mark_replied(
        &mut self,
        now: Millis,
        device: Option<&str>,
        id: u64,
    ) -> Result<(), ModelError> {
        self.check_reply(device, id)?;
        if let Some(i) = self.position(device, id) {
            self.entries[i].status = RpcStatus::Replied { at: now };
        }
        Ok(())
    }

    /// Mark every pending request whose deadline is at or before `now` as
    /// expired; returns them.
    pub fn expire(&mut self, now: Millis) -> Vec<RpcEntry> {
        let mut expired = Vec::new();
        for entry in self.entries.iter_mut() {
            if entry.status == RpcStatus::Pending && entry.deadline <= now {
                entry.status = RpcStatus::Expired { at: now };
                expired.push(entry.clone());
            }
        }
        expired
    }

    /// The earliest deadline of a pending request.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.entries
            .iter()
            .filter(|e| e.status == RpcStatus::Pending)
            .map(|e| e.deadline)
            .min()
    }

    /// Every entry, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &RpcEntry> {
        self.entries.iter()
    }

    /// How many entries the inbox holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the inbox is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most entries it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries were dropped to make room.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
