//! The wire format: typed messages for every topic of the contract, both
//! directions. Pure functions over bytes, no session and no clock of its own.
//!
//! - [`topics`]: topic names, the subscription list, incoming topic parsing.
//! - [`data`]: attribute maps, scopes, telemetry entries, claims.
//! - [`uplink`]: gateway → server ([`Uplink::encode`]).
//! - [`downlink`]: server → gateway ([`decode`]).
//! - [`echo`]: recognising our own publishes sent back by a broker.
//! - [`error`]: [`CodecError`], naming the topic and the problem.
pub mod batch;
pub mod data;
pub mod downlink;
pub mod echo;
pub mod error;
mod fields;
pub mod topics;
pub mod uplink;

#[cfg(test)]
mod tests;

pub use batch::{TelemetryBatch, Values};
pub use data::{AttributeScope, Attributes, ClaimRequest, TelemetryEntry};
pub use downlink::{
    decode, explain_disconnect_reason, AttributeResponseBody, AttributeResult, AttributeUpdate,
    Downlink,
};
pub use echo::EchoTracker;
pub use error::CodecError;
pub use topics::Topic;
pub use uplink::{gateway_telemetry_parts, Encoded, Item, Part, Uplink, UPLINK_QOS};
