//! Answers the person waits for: attribute requests (the device's and the
//! gateway's own), client-side RPC calls, and RPC replies sent.

use serde_json::Value;

use crate::core::gateway::codec::{AttributeScope, Attributes};
use crate::core::gateway::model::RequestKind;

/// Where a request stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Sent, no answer yet.
    Pending,
    /// Answered with these keys and values.
    Found(Attributes),
    /// Answered: none of the keys exist.
    NotFound,
    /// Answered with this JSON (client-side RPC).
    Answered(Value),
    /// No answer in time.
    TimedOut,
}

/// One attribute request of a device, or of the gateway itself (`device` None),
/// or one client-side RPC call of the gateway (`method` Some).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The request id.
    pub id: u32,
    /// The device asked about, `None` for the gateway itself.
    pub device: Option<String>,
    /// The scope asked (device requests).
    pub scope: Option<AttributeScope>,
    /// The keys asked.
    pub keys: Vec<String>,
    /// The method called (gateway client-side RPC).
    pub method: Option<String>,
    /// Where it stands.
    pub outcome: Outcome,
    /// When it was sent (epoch ms).
    pub sent_ms: u64,
    /// When it was answered or timed out (epoch ms).
    pub done_ms: Option<u64>,
}

/// One RPC reply sent, by hand or by a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct SentReply {
    /// The device, `None` for the gateway itself.
    pub device: Option<String>,
    /// The request id.
    pub id: u64,
    /// The reply data.
    pub data: Value,
    /// Whether an auto-reply rule sent it.
    pub auto: bool,
    /// When (epoch ms).
    pub at_ms: u64,
}

impl Answer {
    /// The answer awaited for a request an earlier page sent (kept in the
    /// durable outbox), waiting again from `epoch_ms`; `None` for what the
    /// person does not wait for (keep-alives).
    pub fn restored(id: u32, kind: &RequestKind, epoch_ms: u64) -> Option<Answer> {
        let (device, scope, keys, method) = match kind {
            RequestKind::Attributes {
                device,
                scope,
                keys,
            } => (Some(device.clone()), Some(*scope), keys.clone(), None),
            RequestKind::OwnAttributes {
                client_keys,
                shared_keys,
            } => {
                let scope = if client_keys.is_empty() {
                    AttributeScope::Shared
                } else {
                    AttributeScope::Client
                };
                let keys = client_keys.iter().chain(shared_keys).cloned().collect();
                (None, Some(scope), keys, None)
            }
            RequestKind::OwnRpcCall { method } => (None, None, Vec::new(), Some(method.clone())),
            RequestKind::KeepAlive { .. } => return None,
        };
        Some(Answer {
            id,
            device,
            scope,
            keys,
            method,
            outcome: Outcome::Pending,
            sent_ms: epoch_ms,
            done_ms: None,
        })
    }
}
