//! Decoding whole frames from the broker into packets the session acts on,
//! in MQTT 3.1.1 or MQTT 5.
//!
//! mqttbytes decodes most MQTT 3.1.1 packets. CONNACK and PUBLISH are read
//! here because mqttbytes refuses unknown CONNACK codes and QoS 1 PUBLISH
//! packets with packet id 0, which ThingsBoard sends once its 16-bit id
//! counter wraps. Under MQTT 5 the reason codes of CONNACK, PUBACK, SUBACK and
//! DISCONNECT are read here too (an unknown code is reported, not fatal),
//! and mqttbytes' `v5` reads their property lists; a PUBLISH's properties
//! are skipped by their length (the session announces no topic aliases, so
//! none of them changes how a message is delivered).

use bytes::{Buf, Bytes};
use mqttbytes::v4::{PubAck, PubComp, PubRec, PubRel, Publish, SubAck, UnsubAck};
use mqttbytes::{v5, FixedHeader, QoS};

use super::framing::Frame;
use super::{Direction, PacketLog, Protocol, ServerLimits};

/// A packet from the broker.
#[derive(Debug, Clone)]
pub(crate) enum Incoming {
    /// Answer to CONNECT; `code` 0 accepts.
    ConnAck {
        session_present: bool,
        code: u8,
        /// What an MQTT 5 server announced (all `None` under 3.1.1).
        limits: ServerLimits,
        /// An MQTT 5 server's Reason String.
        reason_string: Option<String>,
    },
    /// An application message (its `pkid` may be 0 even at QoS 1). The
    /// mqttbytes `v4` struct is a plain record here, for both protocols.
    Publish(Publish),
    /// Acknowledgement of our QoS 1 publish.
    PubAck {
        pkid: u16,
        /// The MQTT 5 reason code, if the packet carries one (none means success).
        reason: Option<u8>,
        /// The server's Reason String, if any.
        reason_string: Option<String>,
    },
    /// First answer to a QoS 2 publish (we never send those).
    PubRec(u16),
    /// Release of the broker's QoS 2 publish.
    PubRel(u16),
    /// Last answer to a QoS 2 publish (we never send those).
    PubComp(u16),
    /// Answer to SUBSCRIBE: one code per filter (0..=2 granted QoS; 0x80 and
    /// up refused), a slice of the frame.
    SubAck { pkid: u16, codes: Bytes },
    /// Answer to UNSUBSCRIBE (we never send those).
    UnsubAck(u16),
    /// Answer to PINGREQ.
    PingResp,
    /// MQTT 5: the server ends the connection with a reason.
    Disconnect {
        reason: u8,
        reason_string: Option<String>,
    },
    /// MQTT 5 AUTH, which needs an authentication method we never ask for.
    Auth,
    /// A packet only a client may send (CONNECT, SUBSCRIBE, PINGREQ, ...).
    ClientOnly(&'static str),
}

/// Decode one whole frame of `protocol`, or say in words why it is malformed.
pub(crate) fn decode(frame: &Frame, protocol: Protocol) -> Result<Incoming, String> {
    let header = FixedHeader::new(frame.byte1, frame.header_len - 1, frame.remaining_len);
    let bytes = frame.bytes.clone();
    let v5 = protocol == Protocol::V5;
    let packet = match frame.byte1 >> 4 {
        1 => Incoming::ClientOnly("CONNECT"),
        2 if v5 => decode_connack_v5(frame)?,
        2 => decode_connack(frame)?,
        3 => Incoming::Publish(decode_publish(frame, protocol)?),
        4 if v5 => decode_puback_v5(frame)?,
        4 => Incoming::PubAck {
            pkid: PubAck::read(header, bytes).map_err(describe)?.pkid,
            reason: None,
            reason_string: None,
        },
        5 if v5 => Incoming::PubRec(v5::PubRec::read(header, bytes).map_err(describe)?.pkid),
        5 => Incoming::PubRec(PubRec::read(header, bytes).map_err(describe)?.pkid),
        6 if v5 => Incoming::PubRel(v5::PubRel::read(header, bytes).map_err(describe)?.pkid),
        6 => Incoming::PubRel(PubRel::read(header, bytes).map_err(describe)?.pkid),
        7 if v5 => Incoming::PubComp(v5::PubComp::read(header, bytes).map_err(describe)?.pkid),
        7 => Incoming::PubComp(PubComp::read(header, bytes).map_err(describe)?.pkid),
        8 => Incoming::ClientOnly("SUBSCRIBE"),
        9 if v5 => decode_suback_v5(frame)?,
        9 => {
            // mqttbytes checks every return code is 0, 1, 2 or 0x80.
            let suback = SubAck::read(header, bytes).map_err(describe)?;
            let start = frame.bytes.len() - suback.return_codes.len();
            Incoming::SubAck {
                pkid: suback.pkid,
                codes: frame.bytes.slice(start..),
            }
        }
        10 => Incoming::ClientOnly("UNSUBSCRIBE"),
        11 if v5 => Incoming::UnsubAck(v5::UnsubAck::read(header, bytes).map_err(describe)?.pkid),
        11 => Incoming::UnsubAck(UnsubAck::read(header, bytes).map_err(describe)?.pkid),
        12 => Incoming::ClientOnly("PINGREQ"),
        13 => Incoming::PingResp,
        14 if v5 => decode_disconnect_v5(frame)?,
        14 => Incoming::ClientOnly("DISCONNECT"),
        15 if v5 => Incoming::Auth,
        other => {
            return Err(format!(
                "packet type {other} does not exist in {}",
                protocol.name()
            ))
        }
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
        limits: ServerLimits::default(),
        reason_string: None,
    })
}

/// An MQTT 5 CONNACK: flags, reason code, properties. A CONNACK of exactly
/// two bytes is accepted too: it is how a 3.1.1-only broker refuses an
/// MQTT 5 CONNECT (code 1). The properties of a refusal are read if they
/// can be; those of an acceptance must be (they carry the server's limits).
fn decode_connack_v5(frame: &Frame) -> Result<Incoming, String> {
    let mut body = frame.body();
    if body.len() < 2 {
        return Err(format!(
            "CONNACK must carry at least 2 bytes after its header, not {}",
            body.len()
        ));
    }
    let session_present = body.get_u8() & 0x01 == 1;
    let code = body.get_u8();
    let properties = if body.is_empty() {
        None
    } else {
        match v5::ConnAckProperties::extract(&mut body) {
            Ok(properties) => properties,
            Err(error) if code == 0 => return Err(describe(error)),
            Err(_) => None,
        }
    };
    let limits = properties
        .as_ref()
        .map(|p| ServerLimits {
            receive_maximum: p.receive_max,
            maximum_packet_size: p.max_packet_size,
            maximum_qos: p.max_qos,
            server_keep_alive: p.server_keep_alive,
        })
        .unwrap_or_default();
    if limits.receive_maximum == Some(0) || limits.maximum_packet_size == Some(0) {
        return Err("CONNACK announces a Receive Maximum or Maximum Packet Size of 0".into());
    }
    Ok(Incoming::ConnAck {
        session_present,
        code,
        limits,
        reason_string: properties.and_then(|p| p.reason_string),
    })
}

/// An MQTT 5 PUBACK: packet id; then, if the packet is longer, the reason
/// code; then, if longer still, properties. Two bytes mean success.
fn decode_puback_v5(frame: &Frame) -> Result<Incoming, String> {
    let mut body = frame.body();
    if body.len() < 2 {
        return Err("PUBACK too short for its packet id".to_string());
    }
    let pkid = body.get_u16();
    let reason = (!body.is_empty()).then(|| body.get_u8());
    let reason_string =
        read_reason_string(&mut body, v5::PubAckProperties::extract).and_then(|p| p.reason_string);
    Ok(Incoming::PubAck {
        pkid,
        reason,
        reason_string,
    })
}

/// An MQTT 5 SUBACK: packet id, properties, one reason code per filter.
fn decode_suback_v5(frame: &Frame) -> Result<Incoming, String> {
    let mut body = frame.body();
    if body.len() < 3 {
        return Err("SUBACK too short for its packet id and properties".to_string());
    }
    let pkid = body.get_u16();
    v5::SubAckProperties::extract(&mut body).map_err(describe)?;
    if body.is_empty() {
        return Err("SUBACK without a reason code".to_string());
    }
    if let Some(code) = body.iter().find(|&&code| code > 2 && code < 0x80) {
        return Err(format!("SUBACK reason code 0x{code:02x} does not exist"));
    }
    Ok(Incoming::SubAck { pkid, codes: body })
}

/// An MQTT 5 DISCONNECT: a reason code and properties, or nothing at all
/// (`e0 00`, normal disconnection, which mqttbytes' `v5::read` refuses).
fn decode_disconnect_v5(frame: &Frame) -> Result<Incoming, String> {
    let mut body = frame.body();
    if body.is_empty() {
        return Ok(Incoming::Disconnect {
            reason: 0,
            reason_string: None,
        });
    }
    let reason = body.get_u8();
    let reason_string = read_reason_string(&mut body, v5::DisconnectProperties::extract)
        .and_then(|p| p.reason_string);
    Ok(Incoming::Disconnect {
        reason,
        reason_string,
    })
}

/// The property list at the start of `body`, read with mqttbytes' `extract`,
/// if there is one and it can be read. A packet that carries a reason is
/// acted on even when its properties cannot be read: they only add words.
fn read_reason_string<T>(
    body: &mut Bytes,
    extract: fn(&mut Bytes) -> Result<Option<T>, mqttbytes::Error>,
) -> Option<T> {
    if body.is_empty() {
        return None;
    }
    extract(body).ok().flatten()
}

fn decode_publish(frame: &Frame, protocol: Protocol) -> Result<Publish, String> {
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
    if protocol == Protocol::V5 {
        let len = read_varint(&mut body).ok_or("PUBLISH too short for its properties")?;
        if len > body.len() {
            return Err("PUBLISH properties run past the packet end".to_string());
        }
        body.advance(len);
    }
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

/// An MQTT variable byte integer (at most 4 bytes), or `None` if cut short
/// or too long.
fn read_varint(body: &mut Bytes) -> Option<usize> {
    let mut value = 0usize;
    for i in 0..4 {
        if body.is_empty() {
            return None;
        }
        let byte = body.get_u8();
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Every byte value once, so a single reason code can be handed out as a
/// `Bytes` without allocating.
static CODES: [u8; 256] = {
    let mut codes = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        codes[i] = i as u8;
        i += 1;
    }
    codes
};

/// `code` as a one-byte `Bytes`, without allocating.
fn one_code(code: u8) -> Bytes {
    let at = usize::from(code);
    Bytes::from_static(&CODES[at..=at])
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
        reasons: Bytes::new(),
    };
    match packet {
        Incoming::ConnAck { code, .. } => PacketLog {
            reasons: one_code(*code),
            ..simple("CONNACK", None)
        },
        Incoming::Publish(publish) => PacketLog {
            direction: Direction::In,
            kind: "PUBLISH",
            topic: publish.topic.clone(),
            qos: Some(publish.qos as u8),
            pkid: (publish.qos != QoS::AtMostOnce).then_some(publish.pkid),
            dup: publish.dup,
            payload: publish.payload.clone(),
            reasons: Bytes::new(),
        },
        Incoming::PubAck { pkid, reason, .. } => PacketLog {
            reasons: reason.map(one_code).unwrap_or_default(),
            ..simple("PUBACK", Some(*pkid))
        },
        Incoming::PubRec(pkid) => simple("PUBREC", Some(*pkid)),
        Incoming::PubRel(pkid) => simple("PUBREL", Some(*pkid)),
        Incoming::PubComp(pkid) => simple("PUBCOMP", Some(*pkid)),
        Incoming::SubAck { pkid, codes } => PacketLog {
            reasons: codes.clone(),
            ..simple("SUBACK", Some(*pkid))
        },
        Incoming::UnsubAck(pkid) => simple("UNSUBACK", Some(*pkid)),
        Incoming::PingResp => simple("PINGRESP", None),
        Incoming::Disconnect { reason, .. } => PacketLog {
            reasons: one_code(*reason),
            ..simple("DISCONNECT", None)
        },
        Incoming::Auth => simple("AUTH", None),
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
        E::InvalidConnectReturnCode(code) | E::InvalidReason(code) => {
            format!("reason code 0x{code:02x} does not exist for this packet")
        }
        E::InvalidPropertyType(kind) => format!("property {kind} does not belong in this packet"),
        E::InvalidPacketType(kind) => format!("packet type {kind} does not exist"),
        E::PacketIdZero => "a packet id of 0 where MQTT requires another".to_string(),
        E::InsufficientBytes(n) => format!("the packet is {n} bytes short"),
        other => format!("{other:?}"),
    }
}
