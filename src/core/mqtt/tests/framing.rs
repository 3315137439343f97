//! However the transport cuts or merges packets, the session sees the same.

use mqttbytes::QoS;

use super::harness::{options_for, Broker, Wire, BOTH};
use crate::core::mqtt::{Direction, Event, Protocol, PublishId};

/// CONNACK, PUBLISH QoS 0, PUBLISH QoS 1, SUBACK, PUBACK and PINGRESP in
/// one stream (under MQTT 5 a PUBACK with a reason too).
fn stream(protocol: Protocol) -> Vec<u8> {
    let wire = Wire(protocol);
    let mut stream = [
        wire.connack(0),
        wire.publish("a/b", 0, 0, b"zero"),
        wire.publish("c", 1, 7, b"one"),
        wire.suback(9, &[1]),
        wire.puback(1),
        wire.pingresp(),
    ]
    .concat();
    if protocol == Protocol::V5 {
        stream.extend(wire.puback_reason(2, 0x97));
    }
    stream
}

/// A connecting session with two QoS 1 publishes queued, fed `chunks`:
/// returns every event and every byte sent after CONNECT.
fn run(protocol: Protocol, chunks: &[&[u8]]) -> (Vec<Event>, Vec<u8>) {
    let mut broker = Broker::new(options_for(protocol));
    broker.open_bytes();
    broker.publish("up", b"data", QoS::AtLeastOnce);
    broker.publish("up", b"more", QoS::AtLeastOnce);
    broker.take_events();
    let mut sent = Vec::new();
    for chunk in chunks {
        broker.feed(chunk);
        sent.extend(broker.sent_bytes());
    }
    (broker.take_events(), sent)
}

#[test]
fn a_merged_stream_fed_whole_yields_every_packet_in_order() {
    let (events, _) = run(Protocol::V311, &[&stream(Protocol::V311)]);
    let logs: Vec<(Direction, &str)> = events
        .iter()
        .filter_map(|event| match event {
            Event::Packet(log) => Some((log.direction, log.kind)),
            _ => None,
        })
        .collect();
    use Direction::{In, Out};
    assert_eq!(
        logs,
        [
            (In, "CONNACK"),
            (Out, "PUBLISH"),
            (Out, "PUBLISH"),
            (In, "PUBLISH"),
            (In, "PUBLISH"),
            (Out, "PUBACK"),
            (In, "SUBACK"),
            (In, "PUBACK"),
            (In, "PINGRESP"),
        ]
    );
    let app: Vec<&Event> = events
        .iter()
        .filter(|event| !matches!(event, Event::Packet(_)))
        .collect();
    assert!(matches!(app[0], Event::Connected { .. }));
    assert!(matches!(app[1], Event::Message { topic, .. } if topic == "a/b"));
    assert!(matches!(app[2], Event::Message { topic, .. } if topic == "c"));
    assert_eq!(app[3], &Event::Acked(PublishId(1)));
    assert_eq!(app.len(), 4);
}

#[test]
fn a_merged_mqtt_5_stream_fed_whole_ends_with_the_refused_publish_sent_again() {
    let (events, sent) = run(Protocol::V5, &[&stream(Protocol::V5)]);
    let app: Vec<&Event> = events
        .iter()
        .filter(|event| !matches!(event, Event::Packet(_)))
        .collect();
    assert_eq!(app.len(), 4);
    assert_eq!(app[3], &Event::Acked(PublishId(1)));
    // PUBACK 0x97 is a first strike: "more" goes out again, first in line.
    let sends_of_more = sent.windows(4).filter(|w| *w == b"more").count();
    assert_eq!(sends_of_more, 2);
    assert!(sent.ends_with(&[0x40, 0x02, 0x00, 0x07]) || sent.ends_with(b"more"));
}

#[test]
fn every_split_point_of_the_stream_yields_the_same_events_as_whole() {
    for protocol in BOTH {
        let stream = stream(protocol);
        let whole = run(protocol, &[&stream]);
        for split in 0..=stream.len() {
            let (head, tail) = stream.split_at(split);
            assert_eq!(
                run(protocol, &[head, tail]),
                whole,
                "{protocol:?}: split at {split}"
            );
        }
    }
}

#[test]
fn the_stream_fed_one_byte_at_a_time_yields_the_same_events_as_whole() {
    for protocol in BOTH {
        let stream = stream(protocol);
        let whole = run(protocol, &[&stream]);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(run(protocol, &bytes), whole, "{protocol:?}");
    }
}

#[test]
fn every_pair_of_split_points_yields_the_same_events_as_whole() {
    for protocol in BOTH {
        let stream = stream(protocol);
        let whole = run(protocol, &[&stream]);
        for first in 0..=stream.len() {
            for second in first..=stream.len() {
                let chunks = [&stream[..first], &stream[first..second], &stream[second..]];
                assert_eq!(
                    run(protocol, &chunks),
                    whole,
                    "{protocol:?}: splits at {first} and {second}"
                );
            }
        }
    }
}
