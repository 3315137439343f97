//! Framing: finding where one MQTT packet ends in the bytes read so far,
//! from its fixed header alone, so an oversized packet is refused before its
//! body is buffered.

/// What the start of the read buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Not even a whole fixed header yet.
    NeedHeader,
    /// A fixed header announcing `len` bytes in all (header included), not
    /// all of which have arrived; `remaining` is the announced remaining
    /// length.
    Partial {
        /// Announced remaining length (variable header + payload).
        remaining: usize,
    },
    /// A whole packet of `len` bytes (header included) is at the start.
    Whole {
        /// First byte: packet type and flags.
        byte1: u8,
        /// Length of the fixed header (2 to 5).
        header_len: usize,
        /// Remaining length.
        remaining: usize,
    },
    /// The remaining length is not a valid variable byte integer.
    Malformed,
}

/// Reads the fixed header at the start of `buf`.
pub fn frame(buf: &[u8]) -> Framing {
    let Some(&byte1) = buf.first() else {
        return Framing::NeedHeader;
    };
    let mut remaining = 0usize;
    for i in 0..4 {
        let Some(&b) = buf.get(1 + i) else {
            return Framing::NeedHeader;
        };
        remaining |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            let header_len = 2 + i;
            return if buf.len() >= header_len + remaining {
                Framing::Whole {
                    byte1,
                    header_len,
                    remaining,
                }
            } else {
                Framing::Partial { remaining }
            };
        }
    }
    Framing::Malformed
}

/// Appends `len` as an MQTT variable byte integer.
pub fn put_varint(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(frame(&[]), Framing::NeedHeader);
        assert_eq!(frame(&[0x30]), Framing::NeedHeader);
        assert_eq!(frame(&[0x30, 0x80]), Framing::NeedHeader);
        assert_eq!(
            frame(&[0xc0, 0x00, 0xff]),
            Framing::Whole {
                byte1: 0xc0,
                header_len: 2,
                remaining: 0
            }
        );
        assert_eq!(frame(&[0x30, 0x03, 1]), Framing::Partial { remaining: 3 });
        // 10 MiB announced by 4 bytes of header: known without the body.
        assert_eq!(
            frame(&[0x30, 0x80, 0x80, 0x80, 0x05]),
            Framing::Partial { remaining: 5 << 21 }
        );
        assert_eq!(
            frame(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Framing::Malformed
        );
        let mut v = Vec::new();
        put_varint(&mut v, 321);
        assert_eq!(v, [0xc1, 0x02]);
    }
}
