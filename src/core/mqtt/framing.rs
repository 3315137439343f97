//! Reassembly of a byte stream into whole MQTT packets.
//!
//! The transport may cut a packet anywhere or merge several into one chunk.
//! [`Framer`] keeps what has arrived and hands out one whole packet at a time.
//! It reads the fixed header itself, so a packet declared larger than the
//! maximum is refused as soon as its header is in, before its body arrives.
//! Framing is the same in MQTT 3.1.1 and 5, except that packet type 15
//! (AUTH) exists only in MQTT 5.

use bytes::{Bytes, BytesMut};

use super::Protocol;

/// One whole packet as it came off the wire, fixed header included.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// First byte: packet type (high nibble) and flags (low nibble).
    pub byte1: u8,
    /// Length of the fixed header: 1 + the bytes of the remaining length.
    pub header_len: usize,
    /// Length of variable header + payload.
    pub remaining_len: usize,
    /// The whole packet.
    pub bytes: Bytes,
}

impl Frame {
    /// The bytes after the fixed header (a cheap slice).
    pub fn body(&self) -> Bytes {
        self.bytes.slice(self.header_len..)
    }
}

/// Why the stream cannot be framed; the connection has to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// Not MQTT: the fixed header is invalid.
    Malformed(String),
    /// The fixed header declares a packet of `size` bytes, over `max`.
    TooLarge { size: usize, max: usize },
}

/// A buffer of received bytes that yields whole packets.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    buf: BytesMut,
}

/// The fixed header's remaining length is at most 4 bytes (MQTT 3.1.1 §2.2.3).
const MAX_LENGTH_BYTES: usize = 4;

impl Framer {
    /// Append bytes from the transport.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Forget everything buffered (the connection is gone).
    pub fn clear(&mut self) {
        self.buf = BytesMut::new();
    }

    /// How many bytes wait for the rest of their packet.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole packet, `Ok(None)` if more bytes are needed, or an
    /// error if the stream is not MQTT of `protocol` or the packet is over
    /// `max` bytes.
    pub fn next_frame(
        &mut self,
        max: usize,
        protocol: Protocol,
    ) -> Result<Option<Frame>, FrameError> {
        let Some(&byte1) = self.buf.first() else {
            return Ok(None);
        };
        let kind = byte1 >> 4;
        if kind == 0 || (kind == 15 && protocol == Protocol::V311) {
            return Err(FrameError::Malformed(format!(
                "packet type {kind} does not exist in {}",
                protocol.name()
            )));
        }
        let Some((length_bytes, remaining_len)) = remaining_length(&self.buf[1..])? else {
            return Ok(None);
        };
        let header_len = 1 + length_bytes;
        let size = header_len + remaining_len;
        if size > max {
            return Err(FrameError::TooLarge { size, max });
        }
        if self.buf.len() < size {
            return Ok(None);
        }
        let bytes = self.buf.split_to(size).freeze();
        Ok(Some(Frame {
            byte1,
            header_len,
            remaining_len,
            bytes,
        }))
    }
}

/// Decode the variable-length "remaining length": `(bytes used, value)`, or
/// `None` if its last byte has not arrived yet.
fn remaining_length(bytes: &[u8]) -> Result<Option<(usize, usize)>, FrameError> {
    let mut value = 0usize;
    for (i, &byte) in bytes.iter().take(MAX_LENGTH_BYTES).enumerate() {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((i + 1, value)));
        }
    }
    if bytes.len() >= MAX_LENGTH_BYTES {
        return Err(FrameError::Malformed(
            "the remaining length runs over 4 bytes".to_string(),
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Framer {
        fn next(&mut self, max: usize) -> Result<Option<Frame>, FrameError> {
            self.next_frame(max, Protocol::V311)
        }
    }

    #[test]
    fn a_packet_split_in_two_comes_out_whole_once_complete() {
        let mut framer = Framer::default();
        framer.push(&[0x40, 0x02, 0x00]);
        assert!(framer.next(100).unwrap().is_none());
        framer.push(&[0x07, 0xD0]);
        let frame = framer.next(100).unwrap().unwrap();
        assert_eq!(&frame.bytes[..], &[0x40, 0x02, 0x00, 0x07]);
        assert_eq!(&frame.body()[..], &[0x00, 0x07]);
        assert!(framer.next(100).unwrap().is_none());
        assert_eq!(framer.buffered(), 1);
    }

    #[test]
    fn a_multi_byte_remaining_length_is_decoded() {
        let mut framer = Framer::default();
        let mut packet = vec![0x30, 0x80, 0x01];
        packet.extend(std::iter::repeat_n(0u8, 128));
        framer.push(&packet);
        let frame = framer.next(1000).unwrap().unwrap();
        assert_eq!(frame.header_len, 3);
        assert_eq!(frame.remaining_len, 128);
    }

    #[test]
    fn an_oversize_packet_is_refused_from_its_header_alone() {
        let mut framer = Framer::default();
        framer.push(&[0x30, 0xFF, 0x7F]);
        assert_eq!(
            framer.next(1000).unwrap_err(),
            FrameError::TooLarge {
                size: 3 + 16_383,
                max: 1000
            }
        );
    }

    #[test]
    fn packet_type_15_is_auth_under_mqtt_5_and_malformed_under_3_1_1() {
        let mut framer = Framer::default();
        framer.push(&[0xF0, 0x00]);
        assert!(matches!(
            framer.next_frame(100, Protocol::V311),
            Err(FrameError::Malformed(why)) if why == "packet type 15 does not exist in MQTT 3.1.1"
        ));
        let frame = framer.next_frame(100, Protocol::V5).unwrap().unwrap();
        assert_eq!(frame.byte1, 0xF0);
    }

    #[test]
    fn a_five_byte_remaining_length_is_malformed() {
        let mut framer = Framer::default();
        framer.push(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        assert!(matches!(
            framer.next(usize::MAX),
            Err(FrameError::Malformed(_))
        ));
    }
}
