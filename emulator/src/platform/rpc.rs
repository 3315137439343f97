//! Server-side RPC requests (REST → device) and their history.

use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;

/// Finished requests kept in the history; older finished ones are dropped first.
pub const RPC_HISTORY_CAP: usize = 1000;

/// Which device a command or an RPC is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A sub-device, by current name: `v1/gateway/rpc`.
    Device(String),
    /// The gateway device itself: `v1/devices/me/rpc/request/<id>`.
    Gateway,
}

/// Life cycle of a request, named after ThingsBoard's `RpcStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RpcStatus {
    /// Held: the device is not registered in the gateway session yet.
    Queued,
    /// Published; for two-way calls, waiting for the reply. One-way calls
    /// stay here (delivery is not observable through a broker).
    Sent,
    /// Two-way call answered.
    Successful,
    /// Published, but no reply before the expiration time (REST 408).
    Timeout,
    /// Never published: the device did not connect before the expiration
    /// time (REST 409).
    Expired,
    /// The device was deleted while the request was pending.
    Deleted,
}

/// A reply body.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcReply {
    /// Valid JSON (`data` of a gateway reply, or a device-level reply body).
    Json(Value),
    /// A device-level reply body that is not JSON (REST caller gets 406).
    NotJson(String),
}

/// One server-side RPC request.
#[derive(Debug, Clone)]
pub struct RpcRecord {
    /// Emulator-wide handle, from 1 (what the HTTP side waits on).
    pub seq: u64,
    /// Destination.
    pub target: Target,
    /// The per-device id put on the wire (ThingsBoard's `rpcSeq`).
    pub rpc_id: i32,
    /// Method name.
    pub method: String,
    /// Parameters, any JSON value.
    pub params: Value,
    /// One-way (no reply expected).
    pub oneway: bool,
    /// Current state.
    pub status: RpcStatus,
    /// When the request was made, epoch ms.
    pub created_time: u64,
    /// When it expires, epoch ms.
    pub expiration_time: u64,
    /// When it was published.
    pub sent_time: Option<u64>,
    /// The reply, once received.
    pub reply: Option<RpcReply>,
    /// When the reply came.
    pub reply_time: Option<u64>,
    /// Replies for this request that came after it was finished.
    pub stale_replies: u32,
}

/// The REST view of an [`RpcRecord`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcView {
    /// Emulator-wide handle.
    pub seq: u64,
    /// `"device"` or `"gateway"`.
    pub target: &'static str,
    /// Device name (the gateway's name for gateway-level calls).
    pub device: String,
    /// The id sent on the wire.
    pub rpc_id: i32,
    /// Method name.
    pub method: String,
    /// Parameters.
    pub params: Value,
    /// One-way call.
    pub oneway: bool,
    /// Current state.
    pub status: RpcStatus,
    /// Creation time, epoch ms.
    pub created_time: u64,
    /// Expiration time, epoch ms.
    pub expiration_time: u64,
    /// Publish time, epoch ms.
    pub sent_time: Option<u64>,
    /// The reply: JSON, or the raw text of a non-JSON device-level reply.
    pub response: Option<Value>,
    /// Whether `response` is the raw text of a non-JSON reply.
    pub response_not_json: bool,
    /// Reply time, epoch ms.
    pub response_time: Option<u64>,
    /// Late or duplicate replies dropped for this request.
    pub stale_replies: u32,
}

impl RpcRecord {
    /// The REST view, naming the gateway `gateway_name`.
    pub fn view(&self, gateway_name: &str) -> RpcView {
        let (target, device) = match &self.target {
            Target::Device(name) => ("device", name.clone()),
            Target::Gateway => ("gateway", gateway_name.to_string()),
        };
        let (response, response_not_json) = match &self.reply {
            None => (None, false),
            Some(RpcReply::Json(v)) => (Some(v.clone()), false),
            Some(RpcReply::NotJson(s)) => (Some(Value::String(s.clone())), true),
        };
        RpcView {
            seq: self.seq,
            target,
            device,
            rpc_id: self.rpc_id,
            method: self.method.clone(),
            params: self.params.clone(),
            oneway: self.oneway,
            status: self.status,
            created_time: self.created_time,
            expiration_time: self.expiration_time,
            sent_time: self.sent_time,
            response,
            response_not_json,
            response_time: self.reply_time,
            stale_replies: self.stale_replies,
        }
    }

    /// Whether the request still waits for something (publication or reply).
    pub fn is_pending(&self) -> bool {
        match self.status {
            RpcStatus::Queued => true,
            RpcStatus::Sent => !self.oneway,
            _ => false,
        }
    }
}

/// All server-side RPC requests, oldest first.
#[derive(Debug, Default)]
pub struct RpcBook {
    records: VecDeque<RpcRecord>,
    next_seq: u64,
}

impl RpcBook {
    /// Adds a request and returns its handle. Drops the oldest finished
    /// request when over the cap.
    pub fn add(&mut self, mut record: RpcRecord) -> u64 {
        self.next_seq += 1;
        record.seq = self.next_seq;
        self.records.push_back(record);
        if self.records.len() > RPC_HISTORY_CAP {
            if let Some(i) = self.records.iter().position(|r| !r.is_pending()) {
                self.records.remove(i);
            }
        }
        self.next_seq
    }

    /// A request by handle.
    pub fn get(&self, seq: u64) -> Option<&RpcRecord> {
        self.records.iter().find(|r| r.seq == seq)
    }

    /// All requests, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &RpcRecord> {
        self.records.iter()
    }

    /// All requests, mutable.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut RpcRecord> {
        self.records.iter_mut()
    }

    /// The most recent request to `target` carrying wire id `rpc_id`.
    pub fn find_mut(&mut self, target: &Target, rpc_id: i32) -> Option<&mut RpcRecord> {
        self.records
            .iter_mut()
            .rev()
            .find(|r| &r.target == target && r.rpc_id == rpc_id)
    }
}
