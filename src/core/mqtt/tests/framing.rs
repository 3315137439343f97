//! However the transport cuts or merges packets, the session sees the same.

use mqttbytes::v4::Packet;
use mqttbytes::QoS;

use super::harness::{connack, options, pingresp, puback, publish, suback, Broker};
use crate::core::mqtt::{Direction, Event, PublishId};

/// CONNACK, PUBLISH QoS 0, PUBLISH QoS 1, SUBACK, PUBACK and PINGRESP in one stream.
fn stream() -> Vec<u8> {
    [
        connack(0),
        publish("a/b", 0, 0, b"zero"),
        publish("c", 1, 7, b"one"),
        suback(9, &[1]),
        puback(1),
        pingresp(),
    ]
    .concat()
}

/// A connecting session with one QoS 1 publish queued, fed `chunks`:
/// returns every event and every packet sent after CONNECT.
fn run(chunks: &[&[u8]]) -> (Vec<Event>, Vec<Packet>) {
    let mut broker = Broker::new(options());
    broker.open();
    broker.publish("up", b"data", QoS::AtLeastOnce);
    broker.take_events();
    let mut sent = Vec::new();
    for chunk in chunks {
        broker.feed(chunk);
        sent.extend(broker.sent());
    }
    (broker.take_events(), sent)
}

#[test]
fn a_merged_stream_fed_whole_yields_every_packet_in_order() {
    let (events, sent) = run(&[&stream()]);
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
    assert_eq!(sent.len(), 2);
}

#[test]
fn every_split_point_of_the_stream_yields_the_same_events_as_whole() {
    let stream = stream();
    let whole = run(&[&stream]);
    for split in 0..=stream.len() {
        let (head, tail) = stream.split_at(split);
        assert_eq!(run(&[head, tail]), whole, "split at {split}");
    }
}

#[test]
fn the_stream_fed_one_byte_at_a_time_yields_the_same_events_as_whole() {
    let stream = stream();
    let whole = run(&[&stream]);
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(&bytes), whole);
}

#[test]
fn every_pair_of_split_points_yields_the_same_events_as_whole() {
    let stream = stream();
    let whole = run(&[&stream]);
    for first in 0..=stream.len() {
        for second in first..=stream.len() {
            let chunks = [&stream[..first], &stream[first..second], &stream[second..]];
            assert_eq!(run(&chunks), whole, "splits at {first} and {second}");
        }
    }
}
