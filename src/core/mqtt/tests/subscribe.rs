//! SUBSCRIBE and SUBACK.

use mqttbytes::v4::Packet;
use mqttbytes::QoS;

use super::harness::{options, publishes, suback, Broker};
use crate::core::mqtt::{Event, SessionError, SubscribeResult};

fn subscribe_pkid(broker: &mut Broker) -> u16 {
    match broker.sent().as_slice() {
        [Packet::Subscribe(subscribe)] => subscribe.pkid,
        other => panic!("expected one SUBSCRIBE, got {other:?}"),
    }
}

#[test]
fn suback_reports_the_granted_qos_of_each_filter_in_request_order() {
    let mut broker = Broker::connected(options());
    let id = broker
        .session
        .subscribe(
            broker.now,
            &[
                ("v1/gateway/rpc", QoS::AtLeastOnce),
                ("v1/gateway/attributes", QoS::AtMostOnce),
            ],
        )
        .unwrap();
    let pkid = subscribe_pkid(&mut broker);
    assert_ne!(pkid, 0);
    broker.feed(&suback(pkid, &[1, 0]));
    assert_eq!(
        broker.app_events(),
        [Event::Subscribed {
            id,
            results: vec![
                SubscribeResult {
                    filter: "v1/gateway/rpc".into(),
                    granted: Some(QoS::AtLeastOnce),
                    reason: None,
                },
                SubscribeResult {
                    filter: "v1/gateway/attributes".into(),
                    granted: Some(QoS::AtMostOnce),
                    reason: None,
                },
            ]
        }]
    );
}

#[test]
fn a_refused_filter_0x80_is_reported_with_no_granted_qos() {
    let mut broker = Broker::connected(options());
    let id = broker
        .session
        .subscribe(
            broker.now,
            &[("ok", QoS::AtLeastOnce), ("forbidden/#", QoS::AtLeastOnce)],
        )
        .unwrap();
    let pkid = subscribe_pkid(&mut broker);
    broker.feed(&suback(pkid, &[1, 0x80]));
    let events = broker.app_events();
    let Event::Subscribed { id: got, results } = &events[0] else {
        panic!("expected Subscribed, got {events:?}");
    };
    assert_eq!(*got, id);
    assert_eq!(results[0].granted, Some(QoS::AtLeastOnce));
    assert_eq!(results[1].granted, None);
    assert_eq!(results[1].reason, Some(0x80));
    assert_eq!(results[1].filter, "forbidden/#");
}

#[test]
fn subscribe_needs_a_connected_session() {
    let mut broker = Broker::new(options());
    let result = broker
        .session
        .subscribe(broker.now, &[("a", QoS::AtMostOnce)]);
    assert_eq!(result, Err(SessionError::NotConnected));
    broker.open();
    let result = broker
        .session
        .subscribe(broker.now, &[("a", QoS::AtMostOnce)]);
    assert_eq!(result, Err(SessionError::NotConnected));
}

#[test]
fn empty_or_ill_formed_filters_are_refused() {
    let mut broker = Broker::connected(options());
    for filters in [
        &[][..],
        &[("", QoS::AtMostOnce)],
        &[("a/#/b", QoS::AtMostOnce)],
        &[("ok", QoS::AtMostOnce), ("a+", QoS::AtMostOnce)],
    ] {
        let result = broker.session.subscribe(broker.now, filters);
        assert!(
            matches!(result, Err(SessionError::InvalidTopic(_))),
            "{filters:?}"
        );
    }
    assert_eq!(broker.session.poll_transmit(), None);
}

#[test]
fn subscribe_and_publish_share_packet_ids_without_collision() {
    let mut broker = Broker::connected(options());
    broker.publish("t", b"x", QoS::AtLeastOnce);
    broker
        .session
        .subscribe(broker.now, &[("s", QoS::AtMostOnce)])
        .unwrap();
    broker.publish("t", b"y", QoS::AtLeastOnce);
    let sent = broker.sent();
    let ids: Vec<u16> = sent
        .iter()
        .map(|packet| match packet {
            Packet::Publish(p) => p.pkid,
            Packet::Subscribe(s) => s.pkid,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(publishes(&sent).len(), 2);
}

#[test]
fn a_suback_with_an_unknown_id_is_ignored() {
    let mut broker = Broker::connected(options());
    broker.feed(&suback(77, &[0]));
    assert_eq!(broker.app_events(), []);
}

#[test]
fn pending_subscribes_are_dropped_when_the_connection_is_lost() {
    let mut broker = Broker::connected(options());
    broker
        .session
        .subscribe(broker.now, &[("s", QoS::AtMostOnce)])
        .unwrap();
    let pkid = subscribe_pkid(&mut broker);
    broker.reconnect();
    broker.take_events();
    broker.feed(&suback(pkid, &[0]));
    assert_eq!(broker.app_events(), []);
}

#[test]
fn a_suback_with_the_wrong_number_of_results_is_a_protocol_error() {
    let mut broker = Broker::connected(options());
    broker
        .session
        .subscribe(
            broker.now,
            &[("a", QoS::AtMostOnce), ("b", QoS::AtMostOnce)],
        )
        .unwrap();
    let pkid = subscribe_pkid(&mut broker);
    broker.feed(&suback(pkid, &[0]));
    assert!(matches!(
        broker.app_events().as_slice(),
        [Event::Closed {
            error: Some(SessionError::Protocol(_))
        }]
    ));
}
