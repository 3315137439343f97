//! The MQTT transport, as ThingsBoard's: an MQTT *server* (not a broker:
//! nothing a client publishes reaches another client) that drives the
//! [`Platform`](crate::platform::Platform) through the calls of
//! [`crate::platform::session`] and writes what they decide.
//!
//! * [`listener`]: TCP and WebSocket accept loops.
//! * [`link`]: the byte pipe under a connection (TCP, or WebSocket binary
//!   messages, where packets and messages need not line up).
//! * [`frame`]: packet boundaries from the fixed header, so an oversized
//!   packet is refused before its body is buffered.
//! * [`connect`]: CONNECT for MQTT 3.1, 3.1.1 and 5; picks the codec.
//! * [`packets`]: the other packets, read (mqttbytes 0.6) and written.
//! * [`connection`]: one task per connection.
//!
//! Rules the transport applies itself (contract §1, §4, §5, §6):
//!
//! * The first packet must be CONNECT, within 10 s; otherwise the
//!   connection closes. A refused CONNECT gets its CONNACK code, then the
//!   close.
//! * QoS 2 publishes get a PUBACK (ThingsBoard has no QoS 2 flow);
//!   subscriptions are granted at most QoS 1; refused filters get 0x80
//!   (3.1/3.1.1) or 0x8F (5).
//! * No keepalive enforcement (ThingsBoard has none; the platform's
//!   inactivity timeout applies instead).
//! * A packet whose announced remaining length exceeds `maxPayloadSize`
//!   closes the connection (MQTT 5: DISCONNECT 129, malformed packet, first, as ThingsBoard); more than
//!   `maxInflightMessages` QoS 1 publishes received in one read, before any
//!   of their PUBACKs is written, closes it (MQTT 5: DISCONNECT 151). Both
//!   limits are read from the platform per read, so they change at run time.
//! * A malformed packet closes the connection (MQTT 5: DISCONNECT 129).
//! * Server pushes are written at the QoS the platform chose (the one
//!   granted to the matching subscription, else 1) with the connection's own
//!   packet id counter, truncated to 16 bits (0 appears after 65 535),
//!   counted for QoS 0 pushes too, never retransmitted; the client's
//!   PUBACKs for them are consumed.
//! * Every connection's end is logged, and ends its session exactly once
//!   ([`Hub::detach`](crate::hub::Hub::detach), then
//!   [`Platform::close_session`](crate::platform::Platform::close_session)).

pub mod connect;
pub mod connection;
pub mod frame;
pub mod link;
pub mod listener;
pub mod packets;

pub use connection::open_connections;
pub use listener::{accept_loop, bind, Kind};
