//! Bad input from the broker: malformed, oversize, garbage.

use super::harness::{options, options_for, Broker, BOTH};
use crate::core::mqtt::{Event, Protocol, SessionError, SessionState};

fn closed_with(broker: &mut Broker) -> Option<SessionError> {
    broker
        .app_events()
        .into_iter()
        .find_map(|event| match event {
            Event::Closed { error } => error,
            _ => None,
        })
}

#[test]
fn malformed_packets_close_the_session_as_malformed() {
    let cases: [&[u8]; 5] = [
        &[0x00, 0x00],                               // packet type 0
        &[0xF0, 0x00],                               // packet type 15
        &[0x40, 0x01, 0x00],                         // PUBACK cut short
        &[0x90, 0x03, 0x00, 0x01, 0x03],             // SUBACK return code 3
        &[0x30, 0x05, 0x00, 0x09, b'a', b'b', b'c'], // topic runs past the end
    ];
    for bytes in cases {
        let mut broker = Broker::connected(options());
        broker.feed(bytes);
        assert!(
            matches!(closed_with(&mut broker), Some(SessionError::Malformed(_))),
            "{bytes:?}"
        );
        assert_eq!(broker.session.state(), SessionState::Disconnected);
    }
}

#[test]
fn malformed_mqtt_5_packets_close_the_session_as_malformed() {
    let cases: [&[u8]; 7] = [
        &[0x00, 0x00],                                           // packet type 0
        &[0x40, 0x01, 0x00],                                     // PUBACK cut short
        &[0x90, 0x04, 0x00, 0x01, 0x00, 0x03],                   // SUBACK reason code 3
        &[0x90, 0x03, 0x00, 0x01, 0x00],                         // SUBACK without a code
        &[0x30, 0x05, 0x00, 0x09, b'a', b'b', b'c'],             // topic runs past the end
        &[0x30, 0x05, 0x00, 0x01, b'a', 0x09, b'x'],             // properties run past the end
        &[0x30, 0x07, 0x00, 0x01, b'a', 0xFF, 0xFF, 0xFF, 0xFF], // properties length of 5 bytes
    ];
    for bytes in cases {
        let mut broker = Broker::connected(options_for(Protocol::V5));
        broker.feed(bytes);
        assert!(
            matches!(closed_with(&mut broker), Some(SessionError::Malformed(_))),
            "{bytes:?}"
        );
        assert_eq!(broker.session.state(), SessionState::Disconnected);
    }
}

#[test]
fn an_accepting_mqtt_5_connack_with_unreadable_properties_is_malformed() {
    let mut broker = Broker::new(options_for(Protocol::V5));
    broker.open_bytes();
    // Property 0x01 (payload format) does not belong in a CONNACK.
    broker.feed(&[0x20, 0x05, 0x00, 0x00, 0x02, 0x01, 0x01]);
    assert!(matches!(
        closed_with(&mut broker),
        Some(SessionError::Malformed(_))
    ));
}

#[test]
fn a_connack_of_the_wrong_length_is_malformed() {
    let mut broker = Broker::new(options());
    broker.open();
    broker.feed(&[0x20, 0x03, 0x00, 0x00, 0x00]);
    assert!(matches!(
        closed_with(&mut broker),
        Some(SessionError::Malformed(_))
    ));
}

#[test]
fn an_incoming_packet_over_its_maximum_closes_with_packet_too_large_as_soon_as_its_header_arrives()
{
    for protocol in BOTH {
        let mut options = options_for(protocol);
        options.max_incoming_packet_size = 65_536;
        let mut broker = Broker::connected(options);
        // Remaining length 131 071 in three bytes.
        broker.feed(&[0x30, 0xFF, 0xFF, 0x07]);
        assert_eq!(
            closed_with(&mut broker),
            Some(SessionError::PacketTooLarge {
                size: 131_075,
                max: 65_536
            }),
            "{protocol:?}"
        );
    }
}

#[test]
fn the_default_incoming_maximum_is_16_mib_whatever_the_outgoing_one() {
    for protocol in BOTH {
        let mut broker = Broker::connected(options_for(protocol));
        // Remaining length 16 777 215 in four bytes: 16 777 220 in all.
        broker.feed(&[0x30, 0xFF, 0xFF, 0xFF, 0x07]);
        assert_eq!(
            closed_with(&mut broker),
            Some(SessionError::PacketTooLarge {
                size: 16_777_220,
                max: 16 * 1024 * 1024
            }),
            "{protocol:?}"
        );
    }
}

#[test]
fn packets_after_a_fatal_one_in_the_same_chunk_are_not_read() {
    for protocol in BOTH {
        let mut broker = Broker::connected(options_for(protocol));
        let bytes = [vec![0x00, 0x00], broker.wire().publish("t", 0, 0, b"x")].concat();
        broker.feed(&bytes);
        let events = broker.app_events();
        assert_eq!(events.len(), 1, "{protocol:?}");
        assert!(matches!(events[0], Event::Closed { .. }));
    }
}

/// xorshift64*: deterministic pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

#[test]
fn random_byte_garbage_never_panics_and_either_parses_or_closes() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..8_000 {
        let protocol = BOTH[round % 3 % 2];
        let mut options = options_for(protocol);
        options.max_incoming_packet_size = 16 + rng.below(200);
        let mut broker = if round % 2 == 0 {
            Broker::connected(options)
        } else {
            let mut broker = Broker::new(options);
            broker.open_bytes();
            if round % 3 == 0 {
                broker.feed(&broker.wire().connack(0));
            }
            broker
        };
        let len = rng.below(80);
        let mut garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Often start with a plausible packet type and a small length.
        if len >= 2 && round % 4 != 0 {
            garbage[0] = ((1 + rng.below(14)) as u8) << 4 | (rng.next() as u8 & 0x0F);
            garbage[1] = rng.below(len as u64) as u8;
        }
        let mut rest = &garbage[..];
        while !rest.is_empty() {
            let take = 1 + rng.below(rest.len() as u64);
            let (chunk, tail) = rest.split_at(take);
            broker.feed(chunk);
            rest = tail;
        }
        broker.sent_bytes();
        broker.timeout_at(broker.now + rng.below(100_000) as u64);
        broker.sent_bytes();
        let events = broker.take_events();
        let closed = events
            .iter()
            .filter(|e| matches!(e, Event::Closed { .. }))
            .count();
        assert!(closed <= 1, "round {round}: {events:?}");
        if broker.session.state() == SessionState::Disconnected {
            assert_eq!(closed, 1, "round {round}: closed without saying so");
        }
    }
}
