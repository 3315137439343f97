//! Closing: by the transport, by the session, by request; one Closed each.

use mqttbytes::v4::Packet;
use mqttbytes::QoS;

use super::harness::{connack, options, publish, publishes, Broker};
use crate::core::mqtt::{Event, SessionError, SessionState};

#[test]
fn a_transport_close_emits_one_closed_with_the_reason_and_keeps_publishes_in_flight() {
    let mut broker = Broker::connected(options());
    broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.sent();
    broker.take_events();
    broker.close("network down");
    assert_eq!(
        broker.app_events(),
        [Event::Closed {
            error: Some(SessionError::TransportClosed("network down".into()))
        }]
    );
    assert_eq!(broker.session.state(), SessionState::Disconnected);
    assert_eq!(broker.session.inflight_len(), 1);
    assert_eq!(broker.session.poll_timeout(), None);
}

#[test]
fn a_transport_close_after_the_session_closed_itself_emits_no_second_closed() {
    let mut broker = Broker::new(options());
    broker.open();
    broker.feed(&connack(4));
    assert_eq!(broker.app_events().len(), 2);
    broker.close("closed by the caller");
    assert_eq!(broker.app_events(), []);
}

#[test]
fn a_transport_that_fails_before_opening_still_gets_one_closed() {
    let mut broker = Broker::new(options());
    broker.close("connection refused");
    assert_eq!(
        broker.app_events(),
        [Event::Closed {
            error: Some(SessionError::TransportClosed("connection refused".into()))
        }]
    );
}

#[test]
fn bytes_not_yet_polled_are_discarded_when_the_transport_closes() {
    let mut broker = Broker::connected(options());
    broker.publish("t", b"x", QoS::AtMostOnce);
    broker.close("gone");
    assert_eq!(broker.session.poll_transmit(), None);
}

#[test]
fn a_partial_packet_is_discarded_when_the_transport_closes() {
    let mut broker = Broker::connected(options());
    let packet = publish("t", 0, 0, b"x");
    broker.feed(&packet[..3]);
    broker.reconnect();
    broker.take_events();
    broker.feed(&publish("fresh", 0, 0, b"y"));
    let events = broker.app_events();
    assert!(matches!(events.as_slice(), [Event::Message { topic, .. }] if topic == "fresh"));
}

#[test]
fn disconnect_sends_disconnect_after_queued_bytes_and_closes_without_error() {
    let mut broker = Broker::connected(options());
    broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.publish("t", b"y", QoS::AtMostOnce);
    broker.session.disconnect(broker.now);
    let sent = broker.sent();
    assert_eq!(publishes(&sent).len(), 2);
    assert_eq!(sent.last(), Some(&Packet::Disconnect));
    let events = broker.app_events();
    assert_eq!(events.last(), Some(&Event::Closed { error: None }));
    assert_eq!(broker.session.state(), SessionState::Disconnected);
    assert_eq!(broker.session.inflight_len(), 1);
    broker.close("closed after disconnect");
    assert_eq!(broker.app_events(), []);
}

#[test]
fn data_after_the_session_closed_is_ignored() {
    let mut broker = Broker::connected(options());
    broker.session.disconnect(broker.now);
    broker.sent();
    broker.take_events();
    broker.feed(&publish("late", 0, 0, b"x"));
    assert_eq!(broker.app_events(), []);
}

#[test]
fn every_packet_in_and_out_is_logged_with_its_payload() {
    let mut broker = Broker::connected(options());
    broker.publish("up", b"payload", QoS::AtLeastOnce);
    broker.feed(&publish("down", 1, 3, b"in"));
    let logs: Vec<_> = broker
        .take_events()
        .into_iter()
        .filter_map(|event| match event {
            Event::Packet(log) => Some((log.kind, log.topic, log.qos, log.pkid, log.payload)),
            _ => None,
        })
        .collect();
    assert_eq!(
        logs,
        [
            ("PUBLISH", "up".into(), Some(1), Some(1), "payload".into()),
            ("PUBLISH", "down".into(), Some(1), Some(3), "in".into()),
            ("PUBACK", String::new(), None, Some(3), bytes::Bytes::new()),
        ]
    );
}

#[test]
fn last_error_tells_why_the_last_connection_ended() {
    let mut broker = Broker::new(options());
    assert_eq!(broker.session.last_error(), None);
    broker.open();
    broker.feed(&connack(5));
    assert!(matches!(
        broker.session.last_error(),
        Some(SessionError::Refused { code: 5, .. })
    ));
    broker.close("closed by the caller");
    assert!(matches!(
        broker.session.last_error(),
        Some(SessionError::Refused { code: 5, .. })
    ));
    broker.open();
    broker.session.disconnect(broker.now);
    assert_eq!(broker.session.last_error(), None);
}
