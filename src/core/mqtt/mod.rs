//! The MQTT session (MQTT 5 by default, 3.1.1 selectable): pure and
//! sans-IO, over mqttbytes' `v5` and `v4` codecs.
//!
//! Theory of operation (after quinn-proto and h11): the caller owns the
//! transport (a WebSocket in the browser, a byte pipe in tests) and the clock.
//! It feeds the [`Session`] what happened: the transport opened
//! ([`Session::handle_open`]), bytes arrived ([`Session::handle_data`]), the
//! transport closed ([`Session::handle_close`]), a timer fired
//! ([`Session::handle_timeout`]). After each call it drains
//! [`Session::poll_transmit`] (bytes to write, one WebSocket message),
//! [`Session::poll_event`] (what the application should know) and re-arms
//! its single timer at [`Session::poll_timeout`].
mod connack;
mod decode;
mod encode;
mod error;
mod event;
mod framing;
mod inflight;
mod options;
mod publish;
mod reason;
mod session;
mod timers;
mod topic;

#[cfg(test)]
mod tests;

pub use connack::explain_connack;
pub use error::SessionError;
pub use event::{
    Direction, Event, PacketLog, PublishId, ServerLimits, SubscribeId, SubscribeResult,
};
pub use mqttbytes::QoS;
pub use options::{ConnectOptions, Credentials, Protocol};
pub use reason::explain_reason;
pub use session::{Session, SessionState};
