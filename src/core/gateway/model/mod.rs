//! What the gateway knows: its devices, the requests waiting for answers,
//! the RPC requests received, shared attributes, and its own state. Plain
//! data, changed only by the [client](super::client) and read by the UI;
//! time comes in as [`Millis`].
//!
//! - [`devices`]: registered devices, states, counters, renames.
//! - [`requests`]: pending attribute requests and client-side calls, with timeouts.
//! - [`rpc_inbox`]: RPC requests by (device, id), bounded, with status.
//! - [`shared`]: shared attributes as last received, and deletions, bounded in bytes.
//! - [`own`]: the gateway's own shared attributes, RPC inbox, session limits.
pub mod devices;
pub mod error;
pub mod own;
pub mod requests;
pub mod rpc_inbox;
pub mod shared;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use devices::{keepalive_at, Device, DeviceState, Devices, Expiry, Traffic};
pub use error::ModelError;
pub use own::{OwnState, SessionLimits};
pub use requests::{PendingRequest, PendingRequests, RequestKind};
pub use rpc_inbox::{
    RpcEntry, RpcInbox, RpcStatus, RPC_ENTRY_OVERHEAD, RPC_INBOX_BYTES, RPC_INBOX_CAPACITY,
};
pub use shared::{
    SharedAttributes, SharedValue, SHARED_DEVICE_BYTES, SHARED_PREVIEW_BYTES, SHARED_TOTAL_BYTES,
    SHARED_VALUE_BYTES,
};

use crate::core::gateway::codec::{AttributeUpdate, Attributes};
use crate::core::time::Millis;

/// Timeouts and bounds of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelConfig {
    /// How long an attribute request waits for its answer (default 20 000 ms,
    /// as the official SDK).
    pub attribute_request_timeout_ms: u64,
    /// How long an RPC request may wait for our reply before the server's
    /// caller gives up (default 10 000 ms, the server's REST default).
    pub rpc_timeout_ms: u64,
    /// How many RPC requests each inbox keeps (default
    /// [`RPC_INBOX_CAPACITY`], 256).
    pub rpc_inbox_capacity: usize,
    /// What the RPC requests each inbox keeps may weigh together, in bytes
    /// (default [`RPC_INBOX_BYTES`], 4 MiB).
    pub rpc_inbox_bytes: usize,
    /// What every device's shared attributes may weigh together, in bytes
    /// (default [`SHARED_TOTAL_BYTES`], 16 MiB); past it the attributes of
    /// the devices updated longest ago are forgotten whole.
    pub shared_total_bytes: usize,
    /// How long a client-side RPC call waits for its answer (default 65 000
    /// ms: the server answers `{"error":"timeout"}` after 60 s).
    pub client_rpc_timeout_ms: u64,
    /// The first request id (default 1). The shell starts each tab at a
    /// random point, so two tabs on one gateway do not take each other's
    /// answers for their own.
    pub first_request_id: u32,
    /// After how long without a message naming it the server drops a
    /// sub-device's session (ThingsBoard's
    /// `transport.sessions.inactivity_timeout`, default 600 000 ms).
    pub session_inactivity_ms: u64,
    /// Whether the gateway sends a keep-alive for a quiet device before
    /// that (off when the server keeps sub-devices active itself: the
    /// gateway device's "overwrite activity time" option).
    pub keep_registered: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            attribute_request_timeout_ms: 20_000,
            rpc_timeout_ms: 10_000,
            rpc_inbox_capacity: RPC_INBOX_CAPACITY,
            rpc_inbox_bytes: RPC_INBOX_BYTES,
            shared_total_bytes: SHARED_TOTAL_BYTES,
            client_rpc_timeout_ms: 65_000,
            first_request_id: 1,
            session_inactivity_ms: 600_000,
            keep_registered: true,
        }
    }
}

/// What timed out in one [`Model::expire`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expired {
    /// Requests that got no answer in time (now forgotten).
    pub requests: Vec<PendingRequest>,
    /// Device RPC requests now expired.
    pub rpc: Vec<RpcEntry>,
    /// RPC requests to the gateway itself now expired.
    pub own_rpc: Vec<RpcEntry>,
}

impl Expired {
    /// Whether nothing timed out.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.rpc.is_empty() && self.own_rpc.is_empty()
    }
}

/// Everything the gateway knows.
#[derive(Debug, Clone)]
pub struct Model {
    config: ModelConfig,
    devices: Devices,
    shared: BTreeMap<String, SharedAttributes>,
    requests: PendingRequests,
    rpc: RpcInbox,
    own: OwnState,
    shared_forgotten: u64,
    echoes_ignored: u64,
}

impl Default for Model {
    fn default() -> Self {
        Model::new(ModelConfig::default())
    }
}

impl Model {
    /// An empty model with these timeouts and bounds.
    pub fn new(config: ModelConfig) -> Self {
        Model {
            devices: Devices::new(),
            shared: BTreeMap::new(),
            requests: PendingRequests::new(
                config.attribute_request_timeout_ms,
                config.client_rpc_timeout_ms,
            )
            .starting_at(config.first_request_id),
            rpc: RpcInbox::new(config.rpc_inbox_capacity, config.rpc_timeout_ms)
                .with_byte_cap(config.rpc_inbox_bytes),
            own: OwnState::new(config.rpc_inbox_capacity, config.rpc_timeout_ms)
                .with_rpc_byte_cap(config.rpc_inbox_bytes),
            shared_forgotten: 0,
            echoes_ignored: 0,
            config,
        }
    }

    /// The timeouts and bounds in use.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The timeouts and bounds, to change (they apply from the next check).
    pub fn config_mut(&mut self) -> &mut ModelConfig {
        &mut self.config
    }

    /// The devices.
    pub fn devices(&self) -> &Devices {
        &self.devices
    }

    /// The devices, to change.
    pub fn devices_mut(&mut self) -> &mut Devices {
        &mut self.devices
    }

    /// The shared attributes received for `device`.
    pub fn shared_attributes(&self, device: &str) -> Option<&SharedAttributes> {
        self.shared.get(device)
    }

    /// The shared attributes of every device heard of, by device name.
    pub fn all_shared_attributes(&self) -> &BTreeMap<String, SharedAttributes> {
        &self.shared
    }

    /// The shared attributes of `device`, to change (created empty).
    pub fn shared_attributes_mut(&mut self, device: &str) -> &mut SharedAttributes {
        self.shared.entry(device.to_string()).or_default()
    }

    /// Forget the shared attributes of `device`.
    pub fn forget_shared_attributes(&mut self, device: &str) {
        self.shared.remove(device);
    }

    /// Apply a shared-attribute update or deletion for `device` received
    /// at `now`, keeping every device's attributes within
    /// [`ModelConfig::shared_total_bytes`]. Returns the devices whose
    /// attributes were forgotten to make room (updated longest ago first;
    /// never `device`).
    pub fn apply_shared_attributes(
        &mut self,
        now: Millis,
        device: &str,
        update: &AttributeUpdate,
    ) -> Vec<String> {
        self.shared_attributes_mut(device).apply(now, update);
        self.bound_shared(device)
    }

    /// Store shared-attribute values for `device` received at `now` (an
    /// attribute request's answer), within the same bound as
    /// [`Model::apply_shared_attributes`]; returns the devices forgotten.
    pub fn store_shared_attributes(
        &mut self,
        now: Millis,
        device: &str,
        values: &Attributes,
    ) -> Vec<String> {
        self.shared_attributes_mut(device).update(now, values);
        self.bound_shared(device)
    }

    /// Forget the attributes of the devices updated longest ago (never
    /// `keep`) until every device's weigh at most the total bound.
    fn bound_shared(&mut self, keep: &str) -> Vec<String> {
        let mut forgotten = Vec::new();
        let mut total = self.shared_bytes();
        while total > self.config.shared_total_bytes {
            let Some(oldest) = self
                .shared
                .iter()
                .filter(|(name, _)| name.as_str() != keep)
                .min_by_key(|(_, s)| s.last_at())
                .map(|(name, _)| name.clone())
            else {
                break;
            };
            if let Some(gone) = self.shared.remove(&oldest) {
                total -= gone.bytes();
            }
            forgotten.push(oldest);
        }
        self.shared_forgotten += forgotten.len() as u64;
        forgotten
    }

    /// What every device's shared attributes weigh together, in bytes (the
    /// gateway's own apart).
    pub fn shared_bytes(&self) -> usize {
        self.shared.values().map(SharedAttributes::bytes).sum()
    }

    /// How many devices' shared attributes were forgotten whole to keep
    /// them all within [`ModelConfig::shared_total_bytes`].
    pub fn shared_forgotten(&self) -> u64 {
        self.shared_forgotten
    }

    /// Requests waiting for answers.
    pub fn requests(&self) -> &PendingRequests {
        &self.requests
    }

    /// Requests waiting for answers, to change.
    pub fn requests_mut(&mut self) -> &mut PendingRequests {
        &mut self.requests
    }

    /// RPC requests received for devices.
    pub fn rpc_inbox(&self) -> &RpcInbox {
        &self.rpc
    }

    /// RPC requests received for devices, to change.
    pub fn rpc_inbox_mut(&mut self) -> &mut RpcInbox {
        &mut self.rpc
    }

    /// The gateway's own state.
    pub fn own(&self) -> &OwnState {
        &self.own
    }

    /// The gateway's own state, to change.
    pub fn own_mut(&mut self) -> &mut OwnState {
        &mut self.own
    }

    /// How many of our own publishes came back from a broker and were ignored.
    pub fn echoes_ignored(&self) -> u64 {
        self.echoes_ignored
    }

    /// Count one ignored echo.
    pub fn count_echo(&mut self) {
        self.echoes_ignored += 1;
    }

    /// The earliest time something in the model times out.
    pub fn next_deadline(&self) -> Option<Millis> {
        [
            self.requests.next_deadline(),
            self.rpc.next_deadline(),
            self.own.rpc().next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Time out everything due at `now`.
    pub fn expire(&mut self, now: Millis) -> Expired {
        Expired {
            requests: self.requests.expire(now),
            rpc: self.rpc.expire(now),
            own_rpc: self.own.rpc_mut().expire(now),
        }
    }
}
