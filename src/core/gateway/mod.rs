//! The ThingsBoard gateway API: codec, model and client.
//!
//! Theory of operation. A [`Gateway`] owns an MQTT [`Session`](crate::core::mqtt::Session)
//! and a [`model::Model`], and is driven exactly like the session: the caller
//! owns the WebSocket and the clock, feeds in what happened
//! ([`Gateway::handle_open`], [`Gateway::handle_data`],
//! [`Gateway::handle_close`], [`Gateway::handle_timeout`]) and drains
//! [`Gateway::poll_transmit`], [`Gateway::poll_event`] and
//! [`Gateway::poll_timeout`].
//!
//! - Out: an API call ([`Gateway::send_telemetry`], [`Gateway::reply_rpc`],
//!   ...) follows renames, refuses deleted devices, builds a
//!   [`codec::Uplink`], which [`codec::Uplink::encode`] checks against the
//!   contract and turns into a topic and JSON bytes; the session publishes
//!   them at QoS 1 and the model records the traffic (counters, pending
//!   requests with their deadlines, replied RPCs). Multi-device messages
//!   (telemetry, attributes, claims) over the session's maximum packet size
//!   are split by device, then by entry or key, into several messages
//!   (contract §6, §11 item 7).
//! - Offline: while the session is not connected, API publishes wait in the
//!   gateway's offline queue (bounded, see
//!   [`client::OFFLINE_QUEUE_LIMIT`]) rather than in the session, so that
//!   after the next CONNACK they follow the `connect`s (contract §5).
//! - In: every PUBLISH from the session is decoded by [`codec::decode`] into
//!   a typed [`codec::Downlink`] (or a [`codec::CodecError`] naming the topic
//!   and the problem); our own publishes sent back by a bridged broker are
//!   recognised as echoes, by shape on gateway topics and by the
//!   [`codec::EchoTracker`] on device topics. The result updates the model
//!   and becomes a [`GatewayEvent`]; attribute responses are read against
//!   the pending request with the same id.
//! - On every CONNACK the gateway subscribes to its seven filters, sends
//!   `connect` again for every registered device (ThingsBoard forgets them
//!   with each connection), asks for `getSessionLimits`, then sends what
//!   waited in the offline queue. Publishes the session still had in
//!   flight are resent before all of these, in the order they were sent.
//! - Time: attribute requests (20 s), client-side calls and RPC requests
//!   (the server's 10 s) time out in the model; [`Gateway::poll_timeout`] is
//!   the earliest of those deadlines and the session's timers.
//!
//! The wire contract is `thingsboard-gateway-contract.md` (read from the
//! server's source); section numbers in comments refer to it.
pub mod client;
pub mod codec;
pub mod limits;
pub mod model;

pub use client::{Gateway, GatewayError, GatewayEvent};
