//! The gateway's own device state: its shared attributes, the RPC requests
//! sent to it, and the session limits the server reported.

use serde_json::Value;

use super::rpc_inbox::RpcInbox;
use super::shared::SharedAttributes;
use crate::core::time::Millis;

/// The answer to `getSessionLimits`, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionLimits {
    /// The JSON answer (`maxPayloadSize`, `maxInflightMessages`,
    /// `rateLimits`, `gatewayRateLimits`; `null` fields mean unlimited).
    pub value: Value,
    /// When it arrived.
    pub received_at: Millis,
}

/// What the gateway knows about itself as a device.
#[derive(Debug, Clone)]
pub struct OwnState {
    shared: SharedAttributes,
    rpc: RpcInbox,
    session_limits: Option<SessionLimits>,
    session_limits_call: Option<u32>,
}

impl OwnState {
    /// Nothing received; RPC inbox of `rpc_capacity` entries expiring after `rpc_timeout_ms`.
    pub fn new(rpc_capacity: usize, rpc_timeout_ms: u64) -> Self {
        OwnState {
            shared: SharedAttributes::new(),
            rpc: RpcInbox::new(rpc_capacity, rpc_timeout_ms),
            session_limits: None,
            session_limits_call: None,
        }
    }

    /// The same, its RPC inbox keeping requests that weigh at most
    /// `byte_cap` bytes together.
    pub fn with_rpc_byte_cap(mut self, byte_cap: usize) -> Self {
        self.rpc = self.rpc.with_byte_cap(byte_cap);
        self
    }

    /// The gateway's shared attributes.
    pub fn shared(&self) -> &SharedAttributes {
        &self.shared
    }

    /// The gateway's shared attributes, to update.
    pub fn shared_mut(&mut self) -> &mut SharedAttributes {
        &mut self.shared
    }

    /// Server RPC requests to the gateway itself (device `None`).
    pub fn rpc(&self) -> &RpcInbox {
        &self.rpc
    }

    /// The gateway's RPC inbox, to update.
    pub fn rpc_mut(&mut self) -> &mut RpcInbox {
        &mut self.rpc
    }

    /// The session limits last received.
    pub fn session_limits(&self) -> Option<&SessionLimits> {
        self.session_limits.as_ref()
    }

    /// Store the session limits received at `now`.
    pub fn set_session_limits(&mut self, now: Millis, value: Value) {
        self.session_limits = Some(SessionLimits {
            value,
            received_at: now,
        });
    }

    /// The id of the `getSessionLimits` call awaiting its answer.
    pub fn session_limits_call(&self) -> Option<u32> {
        self.session_limits_call
    }

    /// Remember (or clear) the pending `getSessionLimits` call.
    pub fn set_session_limits_call(&mut self, id: Option<u32>) {
        self.session_limits_call = id;
    }
}
