//! What the gateway tells the application, drained with `Gateway::poll_event`.

use serde_json::Value;

use super::error::GatewayError;
use crate::core::gateway::codec::{AttributeResult, AttributeScope, Attributes, CodecError};
use crate::core::gateway::model::RequestKind;
use crate::core::mqtt::Event;

/// Something the application (the UI) should know.
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayEvent {
    /// A session event, for status and the traffic log: every one except
    /// `Event::Message`, which the gateway decodes into the events below.
    /// Its `Acked`, `Rejected` and `AckTimedOut` are about one MQTT message;
    /// what became of each API call's data is [`GatewayEvent::Settled`].
    Session(Event),
    /// What became of an API call's data (`Event::Acked`, `Rejected` or
    /// `AckTimedOut`), under the publish id the call returned, once every
    /// message carrying it is done: waiting telemetry may be folded into
    /// another message, whole or in part (`coalesce.rs`), so one message's
    /// outcome may settle several calls, and a call several messages'.
    Settled(Event),
    /// The server acknowledged a device's `connect`.
    DeviceRegistered {
        /// Device name.
        device: String,
    },
    /// A device's shared attributes changed (stored in the model).
    SharedAttributes {
        /// Device name.
        device: String,
        /// New values (empty for a deletion).
        updated: Attributes,
        /// Keys deleted (empty for an update).
        deleted: Vec<String>,
    },
    /// The answer to `Gateway::request_attributes`.
    AttributeResponse {
        /// The request id it answers.
        id: u32,
        /// Device name.
        device: String,
        /// The scope that was asked for.
        scope: AttributeScope,
        /// The keys that were asked for.
        keys: Vec<String>,
        /// The values found, read against the request, or none.
        result: AttributeResult,
    },
    /// An attribute request got no answer in time (it is forgotten).
    AttributeRequestTimedOut {
        /// The request id.
        id: u32,
        /// Device name.
        device: String,
        /// The scope asked for.
        scope: AttributeScope,
        /// The keys asked for.
        keys: Vec<String>,
    },
    /// A server RPC to a device; answer with `Gateway::reply_rpc(device, id, ..)`.
    RpcRequest {
        /// Device name.
        device: String,
        /// Request id, unique per device only (0 is an id like any other).
        id: u64,
        /// Method name.
        method: String,
        /// Parameters, any JSON (`null` when absent).
        params: Value,
    },
    /// A device RPC was not answered within the server's timeout.
    RpcExpired {
        /// Device name.
        device: String,
        /// Request id.
        id: u64,
        /// Method name.
        method: String,
    },
    /// The gateway's own shared attributes changed (stored in the model).
    OwnSharedAttributes {
        /// New values (empty for a deletion).
        updated: Attributes,
        /// Keys deleted (empty for an update).
        deleted: Vec<String>,
    },
    /// The answer to `Gateway::request_own_attributes`.
    OwnAttributeResponse {
        /// The request id it answers.
        id: u32,
        /// Client-scope values found.
        client: Attributes,
        /// Shared-scope values found.
        shared: Attributes,
    },
    /// An own attribute request got no answer in time.
    OwnAttributeRequestTimedOut {
        /// The request id.
        id: u32,
    },
    /// A server RPC to the gateway itself; answer with `Gateway::reply_own_rpc(id, ..)`.
    OwnRpcRequest {
        /// Request id (from the topic).
        id: u64,
        /// Method name.
        method: String,
        /// Parameters, any JSON (`null` when absent).
        params: Value,
    },
    /// An own RPC request was not answered within the server's timeout.
    OwnRpcExpired {
        /// Request id.
        id: u64,
        /// Method name.
        method: String,
    },
    /// The answer to a client-side call (`Gateway::call_own_rpc`).
    OwnRpcResponse {
        /// The call id.
        id: u32,
        /// The method called, `None` if the call is not (or no longer) known.
        method: Option<String>,
        /// The answer (`{"error":"timeout"}` when no rule chain answered).
        response: Value,
    },
    /// A client-side call got no answer in time.
    OwnRpcCallTimedOut {
        /// The call id.
        id: u32,
        /// The method called.
        method: String,
    },
    /// A request kept from an earlier page (an attribute request or a
    /// client-side call) waits for its answer again, under `id`; the
    /// answer or its time-out comes as for a request made in this page.
    RequestRestored {
        /// The request id it waits under.
        id: u32,
        /// What it asks.
        kind: RequestKind,
    },
    /// The answer to `getSessionLimits`, sent after every CONNACK (stored in
    /// the model; from now on the traffic keeps inside it).
    SessionLimits(Value),
    /// The answer to `getSessionLimits` could not be read: the traffic is
    /// not paced.
    SessionLimitsUnreadable {
        /// What is wrong with it.
        reason: String,
    },
    /// No answer to `getSessionLimits` came in time (servers before
    /// ThingsBoard 3.8 do not answer, and a connection closed at once
    /// leaves it unanswered): the held uplinks go out, paced by the limits
    /// known from an earlier connection if there are any.
    SessionLimitsUnanswered {
        /// Whether limits known from before still pace the traffic.
        kept: bool,
    },
    /// The server renamed a device: publishes to `old` now go to `new`.
    DeviceRenamed {
        /// The old name.
        old: String,
        /// The new name.
        new: String,
    },
    /// The server deleted a device: publishes to it are refused.
    DeviceDeleted {
        /// Device name.
        device: String,
    },
    /// The server's notice on `v1/gateway/disconnect` (MQTT 5 servers).
    DisconnectNotice {
        /// Device name.
        device: String,
        /// Reason code.
        reason: u32,
        /// The reason in words.
        explanation: String,
    },
    /// An incoming message broke the contract, or answered no pending request.
    DecodeError(CodecError),
    /// The broker refused one of the gateway's subscriptions.
    SubscriptionRefused {
        /// The filter refused.
        filter: String,
    },
    /// The outbox was full (its count or its bytes): the oldest waiting
    /// messages were dropped to make room for the newest.
    OutboxDropped {
        /// Dropped this time.
        count: u64,
        /// Dropped since the page opened.
        total: u64,
    },
    /// An RPC inbox was full (its count or its bytes): its oldest answered
    /// or expired requests (else its oldest) were dropped to make room for
    /// the newest. Dropped pending requests can no longer be answered.
    RpcInboxDropped {
        /// Whether it was the gateway's own inbox (else the devices').
        own: bool,
        /// Dropped this time.
        count: u64,
        /// Dropped from this inbox since the page opened.
        total: u64,
    },
    /// Every device's shared attributes together weighed more than the
    /// model keeps ([`SHARED_TOTAL_BYTES`](crate::core::gateway::model::SHARED_TOTAL_BYTES)):
    /// those of the devices updated longest ago were forgotten whole.
    SharedAttributesForgotten {
        /// The devices forgotten this time.
        devices: Vec<String>,
        /// Devices forgotten since the page opened.
        total: u64,
    },
    /// The bridge to ThingsBoard went up or down (its notification topic,
    /// bridged setups only). When it comes back up, every device is
    /// registered again.
    BridgeState {
        /// Whether it is up.
        up: bool,
    },
    /// One of our own publishes came back from a broker and was ignored
    /// (counted in the model). Not a server message.
    EchoIgnored {
        /// The topic it came back on.
        topic: String,
    },
    /// Something the gateway does by itself after a CONNACK (subscribe,
    /// re-register a device, ask for session limits) failed.
    Failed {
        /// What it was doing, in words.
        action: String,
        /// Why it failed.
        error: GatewayError,
    },
}
