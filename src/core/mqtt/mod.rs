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
//!
//! Protocols. [`ConnectOptions::protocol`] picks MQTT 5 (the default) or
//! 3.1.1 for the next connection; the two differ only in `encode.rs`,
//! `decode.rs`, `framing.rs` (AUTH) and `publish.rs` (the codec an outgoing
//! PUBLISH is built in). Under MQTT 5 the server's reason codes reach the
//! caller in words ([`explain_reason`]): a PUBACK of 0x80 or more is
//! [`Event::Rejected`], a SUBACK failure a [`SubscribeResult::reason`], a
//! DISCONNECT [`SessionError::ServerDisconnected`]; the CONNACK's Receive
//! Maximum, Maximum Packet Size and Server Keep Alive are obeyed
//! ([`ServerLimits`]); every subscription has No Local. Incoming packets have
//! their own maximum (`max_incoming_packet_size`), apart from the outgoing one.
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

pub use connack::{explain_connack, is_transient_refusal};
pub use error::SessionError;
pub use event::{
    Direction, Event, PacketLog, PublishId, ServerLimits, SubscribeId, SubscribeResult,
};
pub use mqttbytes::QoS;
pub use options::{ConnectOptions, Credentials, Protocol};
pub use reason::explain_reason;
pub use session::{Session, SessionState};
