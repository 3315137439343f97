//! What the session tells its caller, drained with `Session::poll_event`.

use bytes::Bytes;
use mqttbytes::QoS;

use super::SessionError;

/// Identifies one call to `Session::publish`, for matching its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublishId(pub u64);

/// Identifies one call to `Session::subscribe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscribeId(pub u64);

/// The broker's answer for one filter of a SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeResult {
    /// The filter as it was asked for.
    pub filter: String,
    /// The QoS granted, or `None` when the broker refused the filter (0x80).
    pub granted: Option<QoS>,
}

/// Which way a packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the broker to us.
    In,
    /// From us to the broker.
    Out,
}

/// One packet in or out, for the traffic log. Cheap to clone (payload is shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketLog {
    /// In or out.
    pub direction: Direction,
    /// Packet type name as MQTT calls it: "CONNECT", "PUBLISH", "PUBACK", ...
    pub kind: &'static str,
    /// Topic of a PUBLISH, or the filters of a SUBSCRIBE joined by ", "; empty otherwise.
    pub topic: String,
    /// QoS of a PUBLISH (0 or 1), or `None`.
    pub qos: Option<u8>,
    /// Packet id, where the packet has one.
    pub pkid: Option<u16>,
    /// DUP flag of a PUBLISH.
    pub dup: bool,
    /// Payload of a PUBLISH; empty otherwise.
    pub payload: Bytes,
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// CONNACK accepted. In-flight publishes from before have been queued for resend.
    Connected {
        /// The broker's session-present flag (not to be trusted with ThingsBoard).
        session_present: bool,
    },
    /// CONNACK refused the connection; `reason` says why in a user's words.
    /// A `Closed` event follows.
    Refused {
        /// The CONNACK return code (1..=5).
        code: u8,
        /// Plain-words explanation from [`super::explain_connack`].
        reason: String,
    },
    /// A PUBLISH from the broker (already acknowledged if QoS 1).
    Message {
        /// Topic it was published on.
        topic: String,
        /// Its payload.
        payload: Bytes,
        /// QoS it arrived with.
        qos: QoS,
        /// Retain flag.
        retain: bool,
    },
    /// The broker acknowledged a QoS 1 publish (or a QoS 0 publish was written).
    Acked(PublishId),
    /// A QoS 1 publish got no PUBACK within `puback_timeout_ms`; it was dropped.
    AckTimedOut {
        /// Which publish.
        id: PublishId,
        /// Its topic.
        topic: String,
    },
    /// SUBACK for a subscribe, with each filter's result in request order.
    Subscribed {
        /// Which subscribe.
        id: SubscribeId,
        /// One result per filter.
        results: Vec<SubscribeResult>,
    },
    /// A packet went in or out (for the traffic log).
    Packet(PacketLog),
    /// The session is over: the caller must close the transport (if still
    /// open) and may reconnect. `error` is `None` after a requested disconnect.
    Closed {
        /// Why, if it was not asked for.
        error: Option<SessionError>,
    },
}
