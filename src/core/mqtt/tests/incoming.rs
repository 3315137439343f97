//! Messages from the broker at QoS 0, 1 and 2.

use bytes::Bytes;
use mqttbytes::v4::{Packet, PubAck, PubComp, PubRec};
use mqttbytes::QoS;

use super::harness::{options, publish, Broker};
use crate::core::mqtt::{Direction, Event};

fn message(topic: &str, payload: &'static [u8], qos: QoS) -> Event {
    Event::Message {
        topic: topic.into(),
        payload: Bytes::from_static(payload),
        qos,
        retain: false,
    }
}

#[test]
fn a_qos0_message_is_delivered_without_an_answer() {
    let mut broker = Broker::connected(options());
    broker.feed(&publish("attrs", 0, 0, b"{\"a\":1}"));
    assert_eq!(
        broker.app_events(),
        [message("attrs", b"{\"a\":1}", QoS::AtMostOnce)]
    );
    assert_eq!(broker.sent(), []);
}

#[test]
fn a_qos1_message_is_acked_before_it_is_delivered() {
    let mut broker = Broker::connected(options());
    broker.feed(&publish("rpc", 1, 513, b"x"));
    assert_eq!(broker.sent(), [Packet::PubAck(PubAck::new(513))]);
    let events = broker.take_events();
    assert!(
        matches!(&events[0], Event::Packet(log) if log.direction == Direction::In && log.kind == "PUBLISH" && log.pkid == Some(513))
    );
    assert!(
        matches!(&events[1], Event::Packet(log) if log.direction == Direction::Out && log.kind == "PUBACK")
    );
    assert_eq!(events[2], message("rpc", b"x", QoS::AtLeastOnce));
}

#[test]
fn a_qos1_message_with_packet_id_0_is_acked_with_0() {
    let mut broker = Broker::connected(options());
    broker.feed(&publish("rpc", 1, 0, b"wrapped"));
    assert_eq!(broker.sent(), [Packet::PubAck(PubAck::new(0))]);
    assert_eq!(
        broker.app_events(),
        [message("rpc", b"wrapped", QoS::AtLeastOnce)]
    );
}

#[test]
fn a_qos2_message_is_delivered_once_and_completed_on_pubrel() {
    let mut broker = Broker::connected(options());
    broker.feed(&publish("q2", 2, 9, b"once"));
    broker.feed(&publish("q2", 2, 9, b"once"));
    assert_eq!(
        broker.sent(),
        [
            Packet::PubRec(PubRec::new(9)),
            Packet::PubRec(PubRec::new(9))
        ]
    );
    broker.feed(&[0x62, 0x02, 0x00, 0x09]);
    assert_eq!(broker.sent(), [Packet::PubComp(PubComp::new(9))]);
    assert_eq!(
        broker.app_events(),
        [message("q2", b"once", QoS::ExactlyOnce)]
    );
}

#[test]
fn the_retain_flag_and_payload_of_a_message_are_kept() {
    let mut broker = Broker::connected(options());
    let mut packet = publish("r", 0, 0, b"kept");
    packet[0] |= 0x01;
    broker.feed(&packet);
    assert_eq!(
        broker.app_events(),
        [Event::Message {
            topic: "r".into(),
            payload: Bytes::from_static(b"kept"),
            qos: QoS::AtMostOnce,
            retain: true,
        }]
    );
}
