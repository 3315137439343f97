//! The packets a connection reads after CONNECT, and every packet the server
//! writes.
//!
//! PUBLISH and SUBSCRIBE bodies are decoded by mqttbytes 0.6 (`v4` for 3.1
//! and 3.1.1, `v5` for 5). Packets it mishandles are classified here first:
//! a zero-length DISCONNECT (legal in MQTT 5, refused by its `v5::read`),
//! acknowledgements from the client (only consumed), and UNSUBSCRIBE (its
//! `v5` reader prints with `dbg!`). The server's own packets are a handful
//! of fixed layouts, encoded here byte for byte: mqttbytes refuses to encode
//! a QoS 1 PUBLISH with packet id 0, which ThingsBoard's 16-bit truncated
//! counter produces after 65 535 pushes.

use super::connect::Reader;
use super::frame::put_varint;
use crate::platform::session::MqttVersion;
use bytes::Bytes;
use mqttbytes::FixedHeader;

/// One packet from the client, after CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A second CONNECT (a protocol violation: the connection closes).
    Connect,
    /// PUBLISH (any QoS; `pkid` 0 at QoS 0).
    Publish {
        /// Topic name.
        topic: String,
        /// Payload.
        payload: Bytes,
        /// QoS 0, 1 or 2.
        qos: u8,
        /// Packet id.
        pkid: u16,
    },
    /// SUBSCRIBE: filters with their requested QoS.
    Subscribe {
        /// Packet id.
        pkid: u16,
        /// (filter, requested QoS).
        filters: Vec<(String, u8)>,
    },
    /// UNSUBSCRIBE of `filters` filters.
    Unsubscribe {
        /// Packet id.
        pkid: u16,
        /// How many filters it names.
        filters: usize,
    },
    /// PINGREQ.
    PingReq,
    /// DISCONNECT.
    Disconnect,
    /// PUBACK, PUBREC, PUBREL or PUBCOMP from the client: consumed (server
    /// pushes are never retransmitted, so there is nothing to settle).
    Ack,
}

/// Decodes one whole packet (fixed header included) for `version`.
pub fn decode(
    version: MqttVersion,
    packet: Bytes,
    byte1: u8,
    header_len: usize,
    remaining: usize,
) -> Result<Inbound, String> {
    let header = FixedHeader::new(byte1, header_len - 1, remaining);
    let body = packet.get(header_len..).unwrap_or(&[]);
    match byte1 >> 4 {
        1 => Ok(Inbound::Connect),
        3 if remaining >= 2 => {
            let (topic, payload, qos, pkid) = if version.is_v5() {
                let p =
                    mqttbytes::v5::Publish::read(header, packet).map_err(|e| format!("{e:?}"))?;
                (p.topic, p.payload, p.qos as u8, p.pkid)
            } else {
                let p =
                    mqttbytes::v4::Publish::read(header, packet).map_err(|e| format!("{e:?}"))?;
                (p.topic, p.payload, p.qos as u8, p.pkid)
            };
            Ok(Inbound::Publish {
                topic,
                payload,
                qos,
                pkid,
            })
        }
        4..=7 => Ok(Inbound::Ack),
        8 if remaining >= 2 => {
            let (pkid, filters) = if version.is_v5() {
                let s =
                    mqttbytes::v5::Subscribe::read(header, packet).map_err(|e| format!("{e:?}"))?;
                let f = s
                    .filters
                    .into_iter()
                    .map(|f| (f.path, f.qos as u8))
                    .collect();
                (s.pkid, f)
            } else {
                let s =
                    mqttbytes::v4::Subscribe::read(header, packet).map_err(|e| format!("{e:?}"))?;
                let f = s
                    .filters
                    .into_iter()
                    .map(|f| (f.path, f.qos as u8))
                    .collect();
                (s.pkid, f)
            };
            Ok(Inbound::Subscribe { pkid, filters })
        }
        10 => {
            let mut r = Reader::new(body);
            let pkid = r.u16("packet id")?;
            if version.is_v5() {
                r.skip_properties("properties")?;
            }
            let mut filters = 0;
            while !r.is_empty() {
                r.binary("topic filter")?;
                filters += 1;
            }
            Ok(Inbound::Unsubscribe { pkid, filters })
        }
        12 => Ok(Inbound::PingReq),
        14 => Ok(Inbound::Disconnect),
        t => Err(format!("unexpected packet type {t} (length {remaining})")),
    }
}

/// CONNACK: `code` is the 3.1.1 return code or the MQTT 5 reason code.
pub fn connack(version: MqttVersion, session_present: bool, code: u8) -> Vec<u8> {
    let sp = u8::from(session_present && code == 0);
    if version.is_v5() {
        vec![0x20, 3, sp, code, 0]
    } else {
        vec![0x20, 2, sp, code]
    }
}

/// PUBACK; the reason code is written only under MQTT 5 and only when not 0
/// (as Netty's encoder does).
pub fn puback(version: MqttVersion, pkid: u16, reason: u8) -> Vec<u8> {
    let [hi, lo] = pkid.to_be_bytes();
    if version.is_v5() && reason != 0 {
        vec![0x40, 3, hi, lo, reason]
    } else {
        vec![0x40, 2, hi, lo]
    }
}

/// SUBACK with one code per filter: the granted QoS, or refused (0x80 under
/// 3.1/3.1.1, 0x8F "topic filter invalid" under MQTT 5).
pub fn suback(version: MqttVersion, pkid: u16, granted: &[Option<u8>]) -> Vec<u8> {
    let codes = granted.iter().map(|g| match g {
        Some(qos) => (*qos).min(1),
        None if version.is_v5() => 0x8f,
        None => 0x80,
    });
    let mut out = vec![0x90];
    let props = usize::from(version.is_v5());
    put_varint(&mut out, 2 + props + granted.len());
    out.extend_from_slice(&pkid.to_be_bytes());
    if version.is_v5() {
        out.push(0);
    }
    out.extend(codes);
    out
}

/// UNSUBACK (MQTT 5: one success code per filter).
pub fn unsuback(version: MqttVersion, pkid: u16, filters: usize) -> Vec<u8> {
    let mut out = vec![0xb0];
    if version.is_v5() {
        put_varint(&mut out, 3 + filters);
        out.extend_from_slice(&pkid.to_be_bytes());
        out.push(0);
        out.extend(std::iter::repeat_n(0u8, filters));
    } else {
        out.push(2);
        out.extend_from_slice(&pkid.to_be_bytes());
    }
    out
}

/// PINGRESP.
pub fn pingresp() -> Vec<u8> {
    vec![0xd0, 0]
}

/// MQTT 5 DISCONNECT with a reason code.
pub fn disconnect(reason: u8) -> Vec<u8> {
    vec![0xe0, 2, reason, 0]
}

/// A server push: PUBLISH at `qos` (0 or 1; more counts as 1), not
/// retained, not a duplicate, with packet id `pkid` (0 included) at QoS 1.
/// `None` if the topic is longer than an MQTT string can be.
pub fn publish(
    version: MqttVersion,
    qos: u8,
    pkid: u16,
    topic: &str,
    payload: &[u8],
) -> Option<Vec<u8>> {
    let topic_len = u16::try_from(topic.len()).ok()?;
    let props = usize::from(version.is_v5());
    let id_len = if qos == 0 { 0 } else { 2 };
    let remaining = 2 + topic.len() + id_len + props + payload.len();
    let mut out = Vec::with_capacity(remaining + 5);
    out.push(if qos == 0 { 0x30 } else { 0x32 });
    put_varint(&mut out, remaining);
    out.extend_from_slice(&topic_len.to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    if qos != 0 {
        out.extend_from_slice(&pkid.to_be_bytes());
    }
    if version.is_v5() {
        out.push(0);
    }
    out.extend_from_slice(payload);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::frame::{frame, Framing};
    use super::*;

    fn dec(version: MqttVersion, bytes: &[u8]) -> Result<Inbound, String> {
        let Framing::Whole {
            byte1,
            header_len,
            remaining,
        } = frame(bytes)
        else {
            return Err("not whole".into());
        };
        decode(
            version,
            Bytes::copy_from_slice(&bytes[..header_len + remaining]),
            byte1,
            header_len,
            remaining,
        )
    }

    #[test]
    fn inbound() {
        use MqttVersion::*;
        assert_eq!(dec(V5, &[0xe0, 0]), Ok(Inbound::Disconnect));
        assert_eq!(dec(V5, &[0xe0, 1, 0x04]), Ok(Inbound::Disconnect));
        assert_eq!(dec(V311, &[0xe0, 0]), Ok(Inbound::Disconnect));
        assert_eq!(dec(V5, &[0x40, 2, 0, 1]), Ok(Inbound::Ack));
        assert_eq!(dec(V311, &[0xc0, 0]), Ok(Inbound::PingReq));
        assert_eq!(
            dec(V311, b"\x32\x07\x00\x01t\x00\x05hi"),
            Ok(Inbound::Publish {
                topic: "t".into(),
                payload: Bytes::from_static(b"hi"),
                qos: 1,
                pkid: 5
            })
        );
        assert_eq!(
            dec(V5, b"\x30\x06\x00\x01t\x00hi"),
            Ok(Inbound::Publish {
                topic: "t".into(),
                payload: Bytes::from_static(b"hi"),
                qos: 0,
                pkid: 0
            })
        );
        assert_eq!(
            dec(V311, b"\x82\x0a\x00\x07\x00\x01a\x02\x00\x01b\x01"),
            Ok(Inbound::Subscribe {
                pkid: 7,
                filters: vec![("a".into(), 2), ("b".into(), 1)]
            })
        );
        assert_eq!(
            dec(V5, b"\x82\x07\x00\x07\x00\x00\x01a\x01"),
            Ok(Inbound::Subscribe {
                pkid: 7,
                filters: vec![("a".into(), 1)]
            })
        );
        assert_eq!(
            dec(V5, b"\xa2\x09\x00\x03\x00\x00\x01a\x00\x01b"),
            Ok(Inbound::Unsubscribe {
                pkid: 3,
                filters: 2
            })
        );
        assert!(dec(V311, &[0x30, 0]).is_err());
        assert!(dec(V311, &[0x32, 3, 0, 1, b't']).is_err());
        assert!(dec(V311, &[0x20, 2, 0, 0]).is_err());
        assert!(dec(V311, &[0xf0, 0]).is_err());
    }

    #[test]
    fn outbound() {
        use MqttVersion::*;
        assert_eq!(connack(V311, true, 0), [0x20, 2, 1, 0]);
        assert_eq!(connack(V5, true, 134), [0x20, 3, 0, 134, 0]);
        assert_eq!(puback(V5, 0xffff, 144), [0x40, 3, 0xff, 0xff, 144]);
        assert_eq!(puback(V311, 2, 144), [0x40, 2, 0, 2]);
        assert_eq!(suback(V311, 1, &[Some(2), None]), [0x90, 4, 0, 1, 1, 0x80]);
        assert_eq!(suback(V5, 1, &[None]), [0x90, 4, 0, 1, 0, 0x8f]);
        assert_eq!(unsuback(V5, 1, 2), [0xb0, 5, 0, 1, 0, 0, 0]);
        assert_eq!(unsuback(V311, 1, 2), [0xb0, 2, 0, 1]);
        assert_eq!(
            publish(V311, 1, 0, "t", b"x").unwrap(),
            [0x32, 6, 0, 1, b't', 0, 0, b'x']
        );
        assert_eq!(
            publish(V5, 1, 1, "t", b"").unwrap(),
            [0x32, 6, 0, 1, b't', 0, 1, 0]
        );
        assert_eq!(
            publish(V311, 0, 7, "t", b"x").unwrap(),
            [0x30, 4, 0, 1, b't', b'x']
        );
        assert_eq!(
            publish(V5, 0, 7, "t", b"").unwrap(),
            [0x30, 4, 0, 1, b't', 0]
        );
    }

    /// Random bytes never panic the decoders.
    #[test]
    fn no_panic_on_noise() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let kind = [0x10u8, 0x30, 0x32, 0x34, 0x82, 0xa2, 0xe0, 0x40][(seed >> 8) as usize % 8];
            for i in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push((seed >> (i % 8)) as u8);
            }
            let mut p = vec![kind];
            put_varint(&mut p, len);
            p.extend_from_slice(&bytes);
            for v in [MqttVersion::V311, MqttVersion::V5] {
                let _ = dec(v, &p);
            }
            let _ = super::super::connect::decode_connect(&p, 2);
        }
    }
}
