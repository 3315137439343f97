//! The MQTT 3.1.1 session: pure and sans-IO, over mqttbytes.
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
mod session;
mod timers;
mod topic;

#[cfg(test)]
mod tests;

pub use connack::explain_connack;
pub use error::SessionError;
pub use event::{Direction, Event, PacketLog, PublishId, SubscribeId, SubscribeResult};
pub use mqttbytes::QoS;
pub use options::{ConnectOptions, Credentials};
pub use session::{Session, SessionState};
