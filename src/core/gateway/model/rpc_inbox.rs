//! RPC requests received, keyed by (device, id), with their status. Bounded
//! in count ([`RPC_INBOX_CAPACITY`]) and in bytes ([`RPC_INBOX_BYTES`]): a
//! server RPC's params can be as large as the largest packet, and wasm
//! memory never shrinks. Past either bound the oldest answered or expired
//! entries (else the oldest) are dropped and counted; the newest request is
//! always kept, however large.

use std::collections::VecDeque;

use serde_json::Value;

use super::error::ModelError;
use crate::core::time::Millis;
use crate::core::weight::json_weight;

/// How many requests an inbox keeps at most (the devices' inbox and the
/// gateway's own each).
pub const RPC_INBOX_CAPACITY: usize = 256;

/// What the requests an inbox keeps may weigh together (the devices' inbox
/// and the gateway's own each, so 8 MiB for both): their params, method and
/// device name plus [`RPC_ENTRY_OVERHEAD`] each. 4 MiB holds the 256
/// requests of small params the count allows, or 64 requests of 64 KiB.
pub const RPC_INBOX_BYTES: usize = 4 * 1024 * 1024;

/// What one inbox entry costs besides its params, method and device name.
pub const RPC_ENTRY_OVERHEAD: usize = 128;

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

impl RpcEntry {
    /// What this entry weighs in memory, in bytes (what counts toward the
    /// inbox's byte bound).
    pub fn weight(&self) -> usize {
        RPC_ENTRY_OVERHEAD
            + self.device.as_ref().map_or(0, String::len)
            + self.method.len()
            + json_weight(&self.params)
    }
}

/// A bounded inbox of RPC requests.
#[derive(Debug, Clone)]
pub struct RpcInbox {
    entries: VecDeque<RpcEntry>,
    capacity: usize,
    byte_cap: usize,
    bytes: usize,
    timeout_ms: u64,
    dropped: u64,
}

impl RpcInbox {
    /// An inbox of at most `capacity` entries (at least 1) weighing at most
    /// [`RPC_INBOX_BYTES`], whose requests expire `timeout_ms` after arrival.
    pub fn new(capacity: usize, timeout_ms: u64) -> Self {
        RpcInbox {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            byte_cap: RPC_INBOX_BYTES,
            bytes: 0,
            timeout_ms,
            dropped: 0,
        }
    }

    /// The same inbox, keeping entries that weigh at most `byte_cap` bytes
    /// together (the newest is kept whatever it weighs).
    pub fn with_byte_cap(mut self, byte_cap: usize) -> Self {
        self.byte_cap = byte_cap;
        self
    }

    fn position(&self, device: Option<&str>, id: u64) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.id == id && e.device.as_deref() == device)
    }

    /// Add a request received at `now`. An older entry with the same
    /// (device, id) is replaced (ids restart with the server). Returns the
    /// entries dropped to make room (within the count and the byte bound),
    /// oldest first: answered or expired ones first, then the oldest
    /// pending ones. The new request itself is always kept.
    pub fn push(
        &mut self,
        now: Millis,
        device: Option<&str>,
        id: u64,
        method: &str,
        params: Value,
    ) -> Vec<RpcEntry> {
        if let Some(i) = self.position(device, id) {
            if let Some(old) = self.entries.remove(i) {
                self.bytes -= old.weight();
            }
        }
        let entry = RpcEntry {
            device: device.map(str::to_string),
            id,
            method: method.to_string(),
            params,
            received_at: now,
            deadline: now.after_ms(self.timeout_ms),
            status: RpcStatus::Pending,
        };
        let weight = entry.weight();
        let mut dropped = Vec::new();
        while !self.entries.is_empty()
            && (self.entries.len() >= self.capacity || self.bytes + weight > self.byte_cap)
        {
            let victim = self
                .entries
                .iter()
                .position(|e| e.status != RpcStatus::Pending)
                .unwrap_or(0);
            if let Some(old) = self.entries.remove(victim) {
                self.bytes -= old.weight();
                self.dropped += 1;
                dropped.push(old);
            }
        }
        self.bytes += weight;
        self.entries.push_back(entry);
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

    /// What the entries weigh together, in bytes (see [`RpcEntry::weight`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The most the entries weigh together, in bytes (the newest is kept
    /// even if it alone weighs more).
    pub fn byte_cap(&self) -> usize {
        self.byte_cap
    }

    /// How many entries were dropped to make room (for the count or the
    /// bytes).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
