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
    /// The QoS granted, or `None` when the broker refused the filter.
    pub granted: Option<QoS>,
    /// When refused, the broker's code (0x80 under MQTT 3.1.1; an MQTT 5
    /// reason code such as 0x87 or 0x8F), for [`super::explain_reason`];
    /// `None` when granted.
    pub reason: Option<u8>,
}

/// What the server announced in an MQTT 5 CONNACK. Every field is `None`
/// under MQTT 3.1.1 or when the server left the property out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerLimits {
    /// Receive Maximum: most QoS 1 publishes the server takes unacknowledged.
    /// The in-flight window is the smaller of this and `max_inflight`.
    pub receive_maximum: Option<u16>,
    /// Maximum Packet Size the server accepts. Outgoing packets are held to
    /// the smaller of this and `max_packet_size`.
    pub maximum_packet_size: Option<u32>,
    /// Maximum QoS the server supports (reported, not enforced).
    pub maximum_qos: Option<u8>,
    /// Server Keep Alive: the keepalive in seconds the session uses instead
    /// of its own, as MQTT 5 requires.
    pub server_keep_alive: Option<u16>,
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
    /// Reason or return codes the packet carries: the CONNACK code, the
    /// reason of an MQTT 5 PUBACK or DISCONNECT, every code of a SUBACK in
    /// filter order. Empty when the packet has none on the wire (a PUBACK
    /// of two bytes means success). See [`super::explain_reason`].
    pub reasons: Bytes,
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// CONNACK accepted. In-flight publishes from before have been queued for resend.
    Connected {
        /// The broker's session-present flag (not to be trusted with ThingsBoard).
        session_present: bool,
        /// What an MQTT 5 server announced, already applied to this connection.
        server_limits: ServerLimits,
    },
    /// CONNACK refused the connection; `reason` says why in a user's words.
    /// A `Closed` event follows.
    Refused {
        /// The CONNACK return code (1..=5 under MQTT 3.1.1, 128 and up under MQTT 5).
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
    /// The server answered a QoS 1 publish with an MQTT 5 PUBACK reason code
    /// of 0x80 or more: it did not take the message. The publish is done
    /// (not resent). A PUBACK 0x10 (no matching subscribers) is `Acked`.
    /// A publish over the server's Maximum Packet Size is rejected here too,
    /// with 0x95, without being sent.
    Rejected {
        /// Which publish.
        id: PublishId,
        /// Its topic.
        topic: String,
        /// The PUBACK reason code.
        reason: u8,
        /// Plain-words explanation from [`super::explain_reason`], with the
        /// server's own reason string if it sent one.
        explanation: String,
    },
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
