//! Decoding whole frames from the broker into packets the session acts on.
//!
//! mqttbytes decodes most packets; CONNACK and PUBLISH are read here because
//! mqttbytes refuses unknown CONNACK codes and QoS 1 PUBLISH packets with
//! packet id 0, which ThingsBoard sends once its 16-bit id counter wraps.

use bytes::{Buf, Bytes};
use mqttbytes::v4::{
    PubAck, PubComp, PubRec, PubRel, Publish, SubAck, SubscribeReasonCode, UnsubAck,
};
use mqttbytes::{FixedHeader, QoS};

use super::framing::Frame;
use super::{Direction, PacketLog};

/// A packet from the broker.
#[derive(Debug, Clone)]
pub(crate) enum Incoming {
    /// Answer to CONNECT; `code` 0 accepts.
    ConnAck { session_present: bool, code: u8 },
    /// An application message (its `pkid` may be 0 even at QoS 1).
    Publish(Publish),
    /// Acknowledgement of our QoS 1 publish.
    PubAck(u16),
    /// First answer to a QoS 2 publish (we never send those).
    PubRec(u16),
    /// Release of the broker's QoS 2 publish.
    PubRel(u16),
    /// Last answer to a QoS 2 publish (we never send those).
    PubComp(u16),
    /// Answer to SUBSCRIBE: one granted QoS per filter, `None` for refused.
    SubAck {
        pkid: u16,
        granted: Vec<Option<QoS>>,
    },
    /// Answer to UNSUBSCRIBE (we never send those).
    UnsubAck(u16),
    /// Answer to PINGREQ.
    PingResp,
    /// A packet only a client may send (CONNECT, SUBSCRIBE, PINGREQ, ...).
    ClientOnly(&'static str),
}

/// Decode one whole frame, or say in words why it is malformed.
pub(crate) fn decode(frame: &Frame) -> Result<Incoming, String> {
    let header = FixedHeader::new(frame.byte1, frame.header_len - 1, frame.remaining_len);
    let bytes = frame.bytes.clone();
    let packet = match frame.byte1 >> 4 {
        1 => Incoming::ClientOnly("CONNECT"),
        2 => decode_connack(frame)?,
        3 => Incoming::Publish(decode_publish(frame)?),
        4 => Incoming::PubAck(PubAck::read(header, bytes).map_err(describe)?.pkid),
        5 => Incoming::PubRec(PubRec::read(header, bytes).map_err(describe)?.pkid),
        6 => Incoming::PubRel(PubRel::read(header, bytes).map_err(describe)?.pkid),
        7 => Incoming::PubComp(PubComp::read(header, bytes).map_err(describe)?.pkid),
        8 => Incoming::ClientOnly("SUBSCRIBE"),
        9 => {
            let suback = SubAck::read(header, bytes).map_err(describe)?;
            let granted = suback
                .return_codes
                .iter()
                .map(|code| match code {
                    SubscribeReasonCode::Success(qos) => Some(*qos),
                    SubscribeReasonCode::Failure => None,
                })
                .collect();
            Incoming::SubAck {
                pkid: suback.pkid,
                granted,
            }
        }
        10 => Incoming::ClientOnly("UNSUBSCRIBE"),
        11 => Incoming::UnsubAck(UnsubAck::read(header, bytes).map_err(describe)?.pkid),
        12 => Incoming::ClientOnly("PINGREQ"),
        13 => Incoming::PingResp,
        14 => Incoming::ClientOnly("DISCONNECT"),
        other => return Err(format!("packet type {other} does not exist in MQTT 3.1.1")),
    };
    Ok(packet)
}

fn decode_connack(frame: &Frame) -> Result<Incoming, String> {
    let body = frame.body();
    if body.len() != 2 {
        return Err(format!(
            "CONNACK must carry 2 bytes after its header, not {}",
            body.len()
        ));
    }
    Ok(Incoming::ConnAck {
        session_present: body[0] & 0x01 == 1,
        code: body[1],
    })
}

fn decode_publish(frame: &Frame) -> Result<Publish, String> {
    let qos = match (frame.byte1 >> 1) & 0b11 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        2 => QoS::ExactlyOnce,
        _ => return Err("PUBLISH with QoS 3, which does not exist".to_string()),
    };
    let mut body = frame.body();
    let topic = read_string(&mut body).ok_or("PUBLISH too short for its topic")?;
    let topic = String::from_utf8(topic.to_vec()).map_err(|_| "PUBLISH topic is not UTF-8")?;
    let pkid = if qos == QoS::AtMostOnce {
        0
    } else {
        if body.len() < 2 {
            return Err("PUBLISH too short for its packet id".to_string());
        }
        body.get_u16()
    };
    Ok(Publish {
        dup: frame.byte1 & 0b1000 != 0,
        qos,
        retain: frame.byte1 & 0b0001 != 0,
        topic,
        pkid,
        payload: body,
    })
}

/// A u16-length-prefixed string's bytes, or `None` if cut short.
fn read_string(body: &mut Bytes) -> Option<Bytes> {
    if body.len() < 2 {
        return None;
    }
    let len = usize::from(body.get_u16());
    (len <= body.len()).then(|| body.split_to(len))
}

/// The traffic-log line for a packet from the broker.
pub(crate) fn log_incoming(packet: &Incoming) -> PacketLog {
    let simple = |kind, pkid| PacketLog {
        direction: Direction::In,
        kind,
        topic: String::new(),
        qos: None,
        pkid,
        dup: false,
        payload: Bytes::new(),
    };
    match packet {
        Incoming::ConnAck { .. } => simple("CONNACK", None),
        Incoming::Publish(publish) => super::encode::log_publish(Direction::In, publish),
        Incoming::PubAck(pkid) => simple("PUBACK", Some(*pkid)),
        Incoming::PubRec(pkid) => simple("PUBREC", Some(*pkid)),
        Incoming::PubRel(pkid) => simple("PUBREL", Some(*pkid)),
        Incoming::PubComp(pkid) => simple("PUBCOMP", Some(*pkid)),
        Incoming::SubAck { pkid, .. } => simple("SUBACK", Some(*pkid)),
        Incoming::UnsubAck(pkid) => simple("UNSUBACK", Some(*pkid)),
        Incoming::PingResp => simple("PINGRESP", None),
        Incoming::ClientOnly(kind) => simple(kind, None),
    }
}

/// A readable sentence for a mqttbytes error (which is not a std error).
pub(crate) fn describe(error: mqttbytes::Error) -> String {
    use mqttbytes::Error as E;
    match error {
        E::MalformedPacket => "the packet is shorter than its contents require".to_string(),
        E::MalformedRemainingLength => "the remaining length runs over 4 bytes".to_string(),
        E::PayloadRequired => "the packet is missing its body".to_string(),
        E::PayloadSizeIncorrect => "the packet has the wrong length".to_string(),
        E::PayloadTooLong => "the packet is longer than MQTT allows".to_string(),
        E::PayloadSizeLimitExceeded(size) => format!("the packet of {size} bytes is too large"),
        E::TopicNotUtf8 => "a string is not UTF-8".to_string(),
        E::BoundaryCrossed(len) => format!("a {len}-byte string runs past the packet end"),
        E::InvalidQoS(qos) => format!("QoS {qos} does not exist"),
        E::InvalidSubscribeReasonCode(code) => {
            format!("SUBACK return code 0x{code:02x} does not exist")
        }
        E::InvalidPacketType(kind) => format!("packet type {kind} does not exist"),
        E::PacketIdZero => "a packet id of 0 where MQTT requires another".to_string(),
        E::InsufficientBytes(n) => format!("the packet is {n} bytes short"),
        other => format!("{other:?}"),
    }
}
