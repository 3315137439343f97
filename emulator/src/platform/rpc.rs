//! Server-side RPC requests (REST → device), plain and persistent.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::VecDeque;
use uuid::Uuid;

/// Finished requests kept; older finished ones are dropped first.
pub const RPC_HISTORY_CAP: usize = 1000;

/// Life cycle of a request: ThingsBoard's `RpcStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RpcStatus {
    /// Held: the device has no session to send it to yet.
    Queued,
    /// Pushed to the device's session; a two-way call waits for the reply.
    Sent,
    /// Acknowledged by the device (kept for ThingsBoard's vocabulary; the
    /// transport does not report push acknowledgements, so one-way calls go
    /// from `SENT` to `SUCCESSFUL`).
    Delivered,
    /// Answered (two-way) or pushed (one-way).
    Successful,
    /// Pushed, but no reply before the expiration time.
    Timeout,
    /// Never pushed: no session before the expiration time.
    Expired,
    /// The device was deleted while the request was pending.
    Failed,
}

impl RpcStatus {
    /// Parses a status name (`?rpcStatus=`).
    pub fn parse(s: &str) -> Option<RpcStatus> {
        Some(match s {
            "QUEUED" => RpcStatus::Queued,
            "SENT" => RpcStatus::Sent,
            "DELIVERED" => RpcStatus::Delivered,
            "SUCCESSFUL" => RpcStatus::Successful,
            "TIMEOUT" => RpcStatus::Timeout,
            "EXPIRED" => RpcStatus::Expired,
            "FAILED" => RpcStatus::Failed,
            _ => return None,
        })
    }

    /// The name, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            RpcStatus::Queued => "QUEUED",
            RpcStatus::Sent => "SENT",
            RpcStatus::Delivered => "DELIVERED",
            RpcStatus::Successful => "SUCCESSFUL",
            RpcStatus::Timeout => "TIMEOUT",
            RpcStatus::Expired => "EXPIRED",
            RpcStatus::Failed => "FAILED",
        }
    }
}

/// A reply body (in a state file `{"JSON":..}` or `{"NOT_JSON":"text"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RpcReply {
    /// Valid JSON (`data` of a gateway reply, or a device-level reply body).
    Json(Value),
    /// A device-level reply body that is not JSON (REST caller gets 406).
    NotJson(String),
}

/// One server-side RPC request (in a state file, with these fields in
/// camelCase).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcRecord {
    /// ThingsBoard's RPC id (`rpcId` of a persistent call).
    pub uuid: Uuid,
    /// The device it is for.
    pub device: Uuid,
    /// The per-device id put on the wire (ThingsBoard's `rpcSeq`, from 0).
    pub rpc_id: i32,
    /// Method name.
    pub method: String,
    /// Parameters, any JSON value.
    pub params: Value,
    /// One-way (no reply expected).
    pub oneway: bool,
    /// Persistent (`{"rpcId"}` answered at once, state kept).
    pub persistent: bool,
    /// `retries` of the request, as given.
    pub retries: Option<Value>,
    /// `additionalInfo` of the request, as given.
    pub additional_info: Option<Value>,
    /// Current state.
    pub status: RpcStatus,
    /// When the request was made, epoch ms.
    pub created_time: u64,
    /// When it expires, epoch ms.
    pub expiration_time: u64,
    /// When it was pushed.
    pub sent_time: Option<u64>,
    /// The reply, once received.
    pub reply: Option<RpcReply>,
    /// Replies for this request that came after it was finished.
    pub stale_replies: u32,
}

impl RpcRecord {
    /// Whether the request still waits for something (a push or a reply).
    pub fn is_pending(&self) -> bool {
        match self.status {
            RpcStatus::Queued => true,
            RpcStatus::Sent | RpcStatus::Delivered => !self.oneway,
            _ => false,
        }
    }

    /// ThingsBoard's `Rpc` entity as `GET /api/rpc/persistent/{rpcId}` shows it.
    pub fn to_json(&self, tenant: Uuid) -> Value {
        let tenant_id = json!({"entityType": "TENANT", "id": tenant});
        let device_id = json!({"entityType": "DEVICE", "id": self.device});
        let response = match &self.reply {
            None => Value::Null,
            Some(RpcReply::Json(v)) => v.clone(),
            Some(RpcReply::NotJson(s)) => json!({"error": s}),
        };
        json!({
            "id": {"entityType": "RPC", "id": self.uuid},
            "createdTime": self.created_time,
            "tenantId": tenant_id,
            "deviceId": device_id,
            "expirationTime": self.expiration_time,
            "request": {
                "id": self.uuid,
                "tenantId": tenant_id,
                "deviceId": device_id,
                "oneway": self.oneway,
                "expirationTime": self.expiration_time,
                "body": {"method": self.method, "params": params_text(&self.params)},
                "persisted": self.persistent,
                "retries": self.retries,
            },
            "response": response,
            "status": self.status,
            "additionalInfo": self.additional_info,
        })
    }
}

/// ThingsBoard keeps `params` as JSON text.
fn params_text(params: &Value) -> String {
    match params {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// All server-side RPC requests, oldest first.
#[derive(Debug, Default)]
pub struct RpcBook {
    records: VecDeque<RpcRecord>,
}

impl RpcBook {
    /// Adds a request. Drops the oldest finished request when over the cap.
    pub fn add(&mut self, record: RpcRecord) {
        self.records.push_back(record);
        if self.records.len() > RPC_HISTORY_CAP {
            if let Some(i) = self.records.iter().position(|r| !r.is_pending()) {
                self.records.remove(i);
            }
        }
    }

    /// A request by id.
    pub fn get(&self, uuid: Uuid) -> Option<&RpcRecord> {
        self.records.iter().find(|r| r.uuid == uuid)
    }

    /// A book of `records`, oldest first, as a state file held them.
    pub fn restore(records: Vec<RpcRecord>) -> RpcBook {
        RpcBook {
            records: records.into(),
        }
    }

    /// Removes a request by id.
    pub fn remove(&mut self, uuid: Uuid) -> Option<RpcRecord> {
        let i = self.records.iter().position(|r| r.uuid == uuid)?;
        self.records.remove(i)
    }

    /// All requests, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &RpcRecord> {
        self.records.iter()
    }

    /// All requests, mutable.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut RpcRecord> {
        self.records.iter_mut()
    }

    /// The most recent request to `device` carrying wire id `rpc_id`.
    pub fn find_mut(&mut self, device: Uuid, rpc_id: i32) -> Option<&mut RpcRecord> {
        self.records
            .iter_mut()
            .rev()
            .find(|r| r.device == device && r.rpc_id == rpc_id)
    }
}
