//! Decoding CONNECT for every protocol level ThingsBoard accepts: MQTT 3.1
//! (`MQIsdp`, level 3), 3.1.1 (`MQTT`, level 4) and 5 (`MQTT`, level 5).
//!
//! Written here rather than taken from mqttbytes 0.6, whose `Connect::read`
//! refuses level 3 and passwords that are not UTF-8.

use crate::platform::session::MqttVersion;

/// The fields of a CONNECT the transport needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol level.
    pub version: MqttVersion,
    /// Client identifier (lossy UTF-8).
    pub client_id: String,
    /// User name, if the flag is set (lossy UTF-8).
    pub username: Option<String>,
    /// Password bytes, if the flag is set.
    pub password: Option<Vec<u8>>,
    /// Keepalive, seconds.
    pub keep_alive: u16,
    /// The clean session / clean start flag.
    pub clean_session: bool,
}

/// Why a CONNECT cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// Not a CONNECT packet (first byte given).
    NotConnect(u8),
    /// Protocol name and level that ThingsBoard does not accept.
    Protocol(String, u8),
    /// Truncated or inconsistent.
    Malformed(&'static str),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::NotConnect(b) => {
                write!(f, "first packet is not CONNECT (byte 0x{b:02x})")
            }
            ConnectError::Protocol(name, level) => {
                write!(f, "unsupported protocol {name:?} level {level}")
            }
            ConnectError::Malformed(what) => write!(f, "malformed CONNECT: {what}"),
        }
    }
}

/// A cursor over a packet body.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], &'static str> {
        if self.bytes.len() < n {
            return Err(what);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, &'static str> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, &'static str> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A two-byte length then that many bytes.
    pub(crate) fn binary(&mut self, what: &'static str) -> Result<&'a [u8], &'static str> {
        let n = self.u16(what)? as usize;
        self.take(n, what)
    }

    /// A variable byte integer.
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<usize, &'static str> {
        let mut value = 0usize;
        for i in 0..4 {
            let b = self.u8(what)?;
            value |= ((b & 0x7f) as usize) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(what)
    }

    /// MQTT 5 properties: a length, then skipped.
    pub(crate) fn skip_properties(&mut self, what: &'static str) -> Result<(), &'static str> {
        let n = self.varint(what)?;
        self.take(n, what).map(|_| ())
    }
}

/// Reads a whole CONNECT packet (fixed header included).
pub fn decode_connect(packet: &[u8], header_len: usize) -> Result<Connect, ConnectError> {
    let byte1 = packet.first().copied().unwrap_or(0);
    if byte1 != 0x10 {
        return Err(ConnectError::NotConnect(byte1));
    }
    let mut r = Reader::new(packet.get(header_len..).unwrap_or(&[]));
    let m = ConnectError::Malformed;
    let name = r.binary("protocol name").map_err(m)?;
    let level = r.u8("protocol level").map_err(m)?;
    let version = match (name, level) {
        (b"MQTT", 4) => MqttVersion::V311,
        (b"MQTT", 5) => MqttVersion::V5,
        (b"MQIsdp", 3) => MqttVersion::V31,
        _ => {
            return Err(ConnectError::Protocol(
                String::from_utf8_lossy(name).into_owned(),
                level,
            ))
        }
    };
    let flags = r.u8("connect flags").map_err(m)?;
    if flags & 0x01 != 0 {
        return Err(m("reserved flag set"));
    }
    let keep_alive = r.u16("keepalive").map_err(m)?;
    if version.is_v5() {
        r.skip_properties("properties").map_err(m)?;
    }
    let client_id = String::from_utf8_lossy(r.binary("client id").map_err(m)?).into_owned();
    if flags & 0x04 != 0 {
        if version.is_v5() {
            r.skip_properties("will properties").map_err(m)?;
        }
        r.binary("will topic").map_err(m)?;
        r.binary("will payload").map_err(m)?;
    } else if flags & 0x38 != 0 {
        return Err(m("will QoS or retain without a will"));
    }
    let username = if flags & 0x80 != 0 {
        Some(String::from_utf8_lossy(r.binary("user name").map_err(m)?).into_owned())
    } else {
        None
    };
    let password = if flags & 0x40 != 0 {
        Some(r.binary("password").map_err(m)?.to_vec())
    } else {
        None
    };
    Ok(Connect {
        version,
        client_id,
        username,
        password,
        keep_alive,
        clean_session: flags & 0x02 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(body: &[u8]) -> Vec<u8> {
        let mut p = vec![0x10];
        super::super::frame::put_varint(&mut p, body.len());
        p.extend_from_slice(body);
        p
    }

    #[test]
    fn levels() {
        // 3.1.1, clean, keepalive 60, id "c", user "u", password "p".
        let p = packet(b"\x00\x04MQTT\x04\xc2\x00\x3c\x00\x01c\x00\x01u\x00\x01p");
        let c = decode_connect(&p, 2).unwrap();
        assert_eq!(c.version, MqttVersion::V311);
        assert_eq!(c.client_id, "c");
        assert_eq!(c.username.as_deref(), Some("u"));
        assert_eq!(c.password.as_deref(), Some(&b"p"[..]));
        assert_eq!(c.keep_alive, 60);
        assert!(c.clean_session);
        // 3.1.
        let p = packet(b"\x00\x06MQIsdp\x03\x82\x00\x0a\x00\x02id\x00\x05TOKEN");
        let c = decode_connect(&p, 2).unwrap();
        assert_eq!(c.version, MqttVersion::V31);
        assert_eq!(c.username.as_deref(), Some("TOKEN"));
        assert_eq!(c.password, None);
        // 5, with properties and a will with properties; binary password.
        let p = packet(
            b"\x00\x04MQTT\x05\xc6\x00\x00\x03\x21\x00\x0a\x00\x00\x02\x01\x01\x00\x01t\x00\x01w\x00\x01u\x00\x02\xff\x00",
        );
        let c = decode_connect(&p, 2).unwrap();
        assert_eq!(c.version, MqttVersion::V5);
        assert_eq!(c.client_id, "");
        assert_eq!(c.password.as_deref(), Some(&[0xff, 0x00][..]));
    }

    #[test]
    fn refusals() {
        let p = packet(b"\x00\x04MQTT\x06\x02\x00\x3c\x00\x01c");
        assert!(matches!(
            decode_connect(&p, 2),
            Err(ConnectError::Protocol(_, 6))
        ));
        let p = packet(b"\x00\x04MQTT\x84\x02\x00\x3c\x00\x01c");
        assert!(matches!(
            decode_connect(&p, 2),
            Err(ConnectError::Protocol(_, 0x84))
        ));
        let p = packet(b"\x00\x04MQTT\x04\x82\x00\x3c\x00\x01c");
        assert!(matches!(
            decode_connect(&p, 2),
            Err(ConnectError::Malformed(_))
        ));
        let p = packet(b"\x00\x04MQTT\x04\x03\x00\x3c\x00\x01c");
        assert!(matches!(
            decode_connect(&p, 2),
            Err(ConnectError::Malformed(_))
        ));
        assert!(matches!(
            decode_connect(&[0x30, 0], 2),
            Err(ConnectError::NotConnect(0x30))
        ));
        assert!(decode_connect(&[0x10, 0], 2).is_err());
    }
}
