//! The transmit buffer: one buffer per `poll_transmit`, each new one sized
//! from the last so batches do not regrow it from empty.

use bytes::Bytes;
use mqttbytes::QoS;

use super::harness::{options, puback, Broker};

/// Publish `count` QoS 1 messages of `size` payload bytes on "t".
fn publish_many(broker: &mut Broker, count: usize, size: usize) {
    for _ in 0..count {
        broker
            .session
            .publish(
                broker.now,
                "t",
                Bytes::from(vec![b'x'; size]),
                QoS::AtLeastOnce,
            )
            .unwrap();
    }
}

#[test]
fn the_next_transmit_buffer_starts_with_the_capacity_the_last_one_reached() {
    let mut broker = Broker::connected(options());
    publish_many(&mut broker, 50, 100);
    let first = broker.session.poll_transmit().unwrap();
    let acks: Vec<u8> = (1..=50).flat_map(puback).collect();
    broker.feed(&acks);
    publish_many(&mut broker, 50, 100);
    let second = broker.session.poll_transmit().unwrap();
    assert_eq!(second.len(), first.len());
    assert_eq!(second.capacity(), first.len().next_power_of_two());
}

#[test]
fn the_transmit_buffer_starts_at_most_256_kib_however_big_the_last_one() {
    let mut opts = options();
    opts.max_inflight = 100;
    let mut broker = Broker::connected(opts);
    publish_many(&mut broker, 10, 40_000);
    let first = broker.session.poll_transmit().unwrap();
    assert!(first.len() > 256 * 1024);
    broker.feed(&(1..=10).flat_map(puback).collect::<Vec<u8>>());
    publish_many(&mut broker, 1, 10);
    let second = broker.session.poll_transmit().unwrap();
    assert_eq!(second.capacity(), 256 * 1024);
}
