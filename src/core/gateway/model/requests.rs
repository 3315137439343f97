//! Requests waiting for the server's answer, by id, each with a deadline:
//! attribute requests (the gateway's and its devices') and the gateway's
//! client-side RPC calls.

use std::collections::BTreeMap;

use crate::core::gateway::codec::uplink::MAX_REQUEST_ID;
use crate::core::gateway::codec::AttributeScope;
use crate::core::time::Millis;

/// What a pending request asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    /// A device's attributes, on `v1/gateway/attributes/request`.
    Attributes {
        /// The device asked about.
        device: String,
        /// The scope asked for.
        scope: AttributeScope,
        /// The keys asked for (the answer's lone `value` belongs to a single key).
        keys: Vec<String>,
    },
    /// The gateway's own attributes, on `v1/devices/me/attributes/request/<id>`.
    OwnAttributes {
        /// Client-scope keys asked for.
        client_keys: Vec<String>,
        /// Shared-scope keys asked for.
        shared_keys: Vec<String>,
    },
    /// A request the gateway makes by itself so that the server keeps a
    /// quiet device's session (its answer is not shown).
    KeepAlive {
        /// The device kept registered.
        device: String,
    },
    /// A client-side RPC call, on `v1/devices/me/rpc/request/<id>`.
    OwnRpcCall {
        /// The method called.
        method: String,
    },
}

/// One request waiting for its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    /// Its id (in the body or the topic).
    pub id: u32,
    /// What it asked.
    pub kind: RequestKind,
    /// When it was sent.
    pub sent_at: Millis,
    /// When it times out.
    pub deadline: Millis,
}

/// The pending requests, by id. Ids run from 1 to the server's largest
/// request id and then wrap, skipping ids still pending.
#[derive(Debug, Clone)]
pub struct PendingRequests {
    next_id: u32,
    pending: BTreeMap<u32, PendingRequest>,
    attribute_timeout_ms: u64,
    call_timeout_ms: u64,
}

impl PendingRequests {
    /// Attribute requests time out after `attribute_timeout_ms`, client-side
    /// RPC calls after `call_timeout_ms`.
    pub fn new(attribute_timeout_ms: u64, call_timeout_ms: u64) -> Self {
        PendingRequests {
            next_id: 1,
            pending: BTreeMap::new(),
            attribute_timeout_ms,
            call_timeout_ms,
        }
    }

    /// The same, with ids starting at `first` (taken into `1..=MAX_REQUEST_ID`).
    pub fn starting_at(mut self, first: u32) -> Self {
        self.next_id = first.clamp(1, MAX_REQUEST_ID);
        self
    }

    fn allocate_id(&mut self) -> u32 {
        loop {
            let id = self.next_id;
            self.next_id = if id >= MAX_REQUEST_ID { 1 } else { id + 1 };
            if !self.pending.contains_key(&id) {
                return id;
            }
        }
    }

    /// Start a request sent at `now`; returns its new id.
    pub fn start(&mut self, now: Millis, kind: RequestKind) -> u32 {
        let id = self.allocate_id();
        self.wait(now, id, kind)
    }

    /// Wait again, from `now`, for the answer to a request an earlier page
    /// sent as `id`; returns the id it waits under: `id`, or a new one if
    /// `id` is pending already or out of range (the request must then be
    /// sent under the new id).
    pub fn adopt(&mut self, now: Millis, id: u32, kind: RequestKind) -> u32 {
        let id = if (1..=MAX_REQUEST_ID).contains(&id) && !self.pending.contains_key(&id) {
            id
        } else {
            self.allocate_id()
        };
        self.wait(now, id, kind)
    }

    /// Wait for the answer to `id` from `now`, until its kind's timeout.
    fn wait(&mut self, now: Millis, id: u32, kind: RequestKind) -> u32 {
        let timeout = match kind {
            RequestKind::OwnRpcCall { .. } => self.call_timeout_ms,
            _ => self.attribute_timeout_ms,
        };
        self.pending.insert(
            id,
            PendingRequest {
                id,
                kind,
                sent_at: now,
                deadline: now.after_ms(timeout),
            },
        );
        id
    }

    /// The pending request `id`.
    pub fn get(&self, id: u32) -> Option<&PendingRequest> {
        self.pending.get(&id)
    }

    /// Remove and return the pending request `id` (answered, or not sent).
    pub fn take(&mut self, id: u32) -> Option<PendingRequest> {
        self.pending.remove(&id)
    }

    /// Remove and return every request whose deadline is at or before `now`.
    pub fn expire(&mut self, now: Millis) -> Vec<PendingRequest> {
        let due: Vec<u32> = self
            .pending
            .values()
            .filter(|r| r.deadline <= now)
            .map(|r| r.id)
            .collect();
        due.into_iter()
            .filter_map(|id| self.pending.remove(&id))
            .collect()
    }

    /// The earliest deadline, if any request is pending.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.pending.values().map(|r| r.deadline).min()
    }

    /// Every pending request, by id.
    pub fn iter(&self) -> impl Iterator<Item = &PendingRequest> {
        self.pending.values()
    }

    /// How many requests are pending.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no request is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
