//! An outgoing PUBLISH as mqttbytes writes it, in the codec of the session's
//! protocol.
//!
//! The packet is built once, in the right codec, when the application
//! publishes; it is then queued, given a packet id, sent, and resent with
//! DUP from the same value, so a steady flow converts nothing per send.

use bytes::{Bytes, BytesMut};
use mqttbytes::{v4, v5, QoS};

use super::Protocol;

/// A PUBLISH we send, as an mqttbytes packet of the session's protocol.
#[derive(Debug, Clone)]
pub(crate) enum Publish {
    /// MQTT 3.1.1.
    V4(v4::Publish),
    /// MQTT 5 (no properties).
    V5(v5::Publish),
}

impl Publish {
    /// A PUBLISH of `payload` on `topic` at `qos`, packet id 0 until it is
    /// given one (mqttbytes refuses to write QoS 1 with id 0).
    pub fn new(protocol: Protocol, topic: &str, qos: QoS, payload: Bytes) -> Self {
        match protocol {
            Protocol::V311 => Publish::V4(v4::Publish::from_bytes(topic, qos, payload)),
            Protocol::V5 => Publish::V5(v5::Publish::from_bytes(topic, qos, payload)),
        }
    }

    /// The same publish in the codec of `protocol` (its fields moved, not
    /// copied), for a session whose protocol changed between connections.
    pub fn into_protocol(self, protocol: Protocol) -> Self {
        match (self, protocol) {
            (Publish::V4(p), Protocol::V5) => Publish::V5(v5::Publish {
                dup: p.dup,
                qos: p.qos,
                retain: p.retain,
                topic: p.topic,
                pkid: p.pkid,
                properties: None,
                payload: p.payload,
            }),
            (Publish::V5(p), Protocol::V311) => Publish::V4(v4::Publish {
                dup: p.dup,
                qos: p.qos,
                retain: p.retain,
                topic: p.topic,
                pkid: p.pkid,
                payload: p.payload,
            }),
            (same, _) => same,
        }
    }

    /// Its topic.
    pub fn topic(&self) -> &str {
        match self {
            Publish::V4(p) => &p.topic,
            Publish::V5(p) => &p.topic,
        }
    }

    /// Its topic, taking it out.
    pub fn into_topic(self) -> String {
        match self {
            Publish::V4(p) => p.topic,
            Publish::V5(p) => p.topic,
        }
    }

    /// Its QoS.
    pub fn qos(&self) -> QoS {
        match self {
            Publish::V4(p) => p.qos,
            Publish::V5(p) => p.qos,
        }
    }

    /// Its payload.
    pub fn payload(&self) -> &Bytes {
        match self {
            Publish::V4(p) => &p.payload,
            Publish::V5(p) => &p.payload,
        }
    }

    /// Its packet id (0 until given one).
    pub fn pkid(&self) -> u16 {
        match self {
            Publish::V4(p) => p.pkid,
            Publish::V5(p) => p.pkid,
        }
    }

    /// Its DUP flag.
    pub fn dup(&self) -> bool {
        match self {
            Publish::V4(p) => p.dup,
            Publish::V5(p) => p.dup,
        }
    }

    /// Give it packet id `pkid` and DUP flag `dup`.
    pub fn set_pkid_and_dup(&mut self, pkid: u16, dup: bool) {
        match self {
            Publish::V4(p) => (p.pkid, p.dup) = (pkid, dup),
            Publish::V5(p) => (p.pkid, p.dup) = (pkid, dup),
        }
    }

    /// Append the encoded packet to `out`.
    pub fn write(&self, out: &mut BytesMut) -> Result<usize, mqttbytes::Error> {
        match self {
            Publish::V4(p) => p.write(out),
            Publish::V5(p) => p.write(out),
        }
    }
}
