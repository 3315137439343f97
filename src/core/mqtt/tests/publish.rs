//! Outgoing publishes: acks, the in-flight cap, packet ids, resends, timeouts.

use bytes::Bytes;
use mqttbytes::v4::Packet;
use mqttbytes::QoS;

use super::harness::{connack, options, puback, publishes, Broker};
use crate::core::mqtt::{Event, PublishId, ServerLimits, SessionError};

#[test]
fn a_qos0_publish_is_written_and_acked_at_once() {
    let mut broker = Broker::connected(options());
    let id = broker.publish("v1/gateway/telemetry", b"{}", QoS::AtMostOnce);
    let sent = publishes(&broker.sent());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].qos, QoS::AtMostOnce);
    assert_eq!(sent[0].payload, Bytes::from_static(b"{}"));
    assert_eq!(broker.app_events(), [Event::Acked(id)]);
}

#[test]
fn a_qos0_publish_needs_a_connected_session() {
    let mut broker = Broker::new(options());
    let result = broker
        .session
        .publish(broker.now, "t", Bytes::new(), QoS::AtMostOnce);
    assert_eq!(result, Err(SessionError::NotConnected));
    broker.open();
    let result = broker
        .session
        .publish(broker.now, "t", Bytes::new(), QoS::AtMostOnce);
    assert_eq!(result, Err(SessionError::NotConnected));
}

#[test]
fn a_qos1_publish_while_disconnected_is_sent_after_connack() {
    let mut broker = Broker::new(options());
    let id = broker.publish("t", b"early", QoS::AtLeastOnce);
    assert_eq!(broker.session.queued_len(), 1);
    assert_eq!(broker.session.poll_transmit(), None);
    broker.open();
    assert_eq!(broker.session.queued_len(), 1);
    broker.feed(&connack(0));
    let sent = publishes(&broker.sent());
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].pkid, sent[0].dup), (1, false));
    broker.feed(&puback(1));
    assert_eq!(
        broker.app_events(),
        [
            Event::Connected {
                session_present: false,
                server_limits: ServerLimits::default(),
            },
            Event::Acked(id)
        ]
    );
}

#[test]
fn pubacks_out_of_order_ack_the_matching_publishes() {
    let mut broker = Broker::connected(options());
    let ids: Vec<PublishId> = (0..3)
        .map(|_| broker.publish("t", b"x", QoS::AtLeastOnce))
        .collect();
    let pkids: Vec<u16> = publishes(&broker.sent()).iter().map(|p| p.pkid).collect();
    assert_eq!(pkids, [1, 2, 3]);
    broker.take_events();
    broker.feed(&[puback(3), puback(1), puback(2)].concat());
    assert_eq!(
        broker.app_events(),
        [
            Event::Acked(ids[2]),
            Event::Acked(ids[0]),
            Event::Acked(ids[1])
        ]
    );
    assert_eq!(broker.session.inflight_len(), 0);
}

#[test]
fn a_duplicate_puback_is_ignored() {
    let mut broker = Broker::connected(options());
    let id = broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.sent();
    broker.take_events();
    broker.feed(&[puback(1), puback(1)].concat());
    assert_eq!(broker.app_events(), [Event::Acked(id)]);
}

#[test]
fn an_unknown_puback_is_ignored() {
    let mut broker = Broker::connected(options());
    broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.sent();
    broker.take_events();
    broker.feed(&puback(42));
    assert_eq!(broker.app_events(), []);
    assert_eq!(broker.session.inflight_len(), 1);
    assert_eq!(
        broker.session.state(),
        crate::core::mqtt::SessionState::Connected
    );
}

#[test]
fn the_inflight_cap_holds_further_publishes_in_order_until_pubacks_free_room() {
    let mut opts = options();
    opts.max_inflight = 2;
    let mut broker = Broker::connected(opts);
    let ids: Vec<PublishId> = (0..5)
        .map(|_| broker.publish("t", b"x", QoS::AtLeastOnce))
        .collect();
    let first: Vec<u16> = publishes(&broker.sent()).iter().map(|p| p.pkid).collect();
    assert_eq!(first, [1, 2]);
    assert_eq!(
        (broker.session.inflight_len(), broker.session.queued_len()),
        (2, 3)
    );

    broker.feed(&puback(2));
    let next: Vec<u16> = publishes(&broker.sent()).iter().map(|p| p.pkid).collect();
    assert_eq!(next, [3]);

    broker.feed(&[puback(1), puback(3)].concat());
    let last: Vec<u16> = publishes(&broker.sent()).iter().map(|p| p.pkid).collect();
    assert_eq!(last, [4, 5]);
    broker.feed(&[puback(5), puback(4)].concat());
    let acked: Vec<Event> = broker.app_events();
    assert_eq!(
        acked,
        [ids[1], ids[0], ids[2], ids[4], ids[3]].map(Event::Acked)
    );
    assert_eq!(
        (broker.session.inflight_len(), broker.session.queued_len()),
        (0, 0)
    );
}

#[test]
fn packet_ids_wrap_past_65535_skipping_ids_still_in_flight_and_never_0() {
    let mut broker = Broker::connected(options());
    // Ids 1 and 2 stay in flight throughout.
    broker.publish("held", b"1", QoS::AtLeastOnce);
    broker.publish("held", b"2", QoS::AtLeastOnce);
    broker.sent();
    let mut seen = Vec::new();
    for _ in 0..65_536 {
        broker.publish("t", b"x", QoS::AtLeastOnce);
        let sent = publishes(&broker.sent());
        assert_eq!(sent.len(), 1);
        let pkid = sent[0].pkid;
        seen.push(pkid);
        broker.feed(&puback(pkid));
        broker.take_events();
    }
    assert!(!seen.contains(&0));
    assert_eq!(&seen[..2], &[3, 4]);
    assert_eq!(seen[65_532], 65_535);
    // After 65535 comes 1 and 2, both in flight, so 3.
    assert_eq!(&seen[65_533..], &[3, 4, 5]);
    assert_eq!(broker.session.inflight_len(), 2);
}

#[test]
fn reconnect_resends_inflight_publishes_with_dup_and_same_ids_in_order_before_queued_ones() {
    let mut opts = options();
    opts.max_inflight = 3;
    let mut broker = Broker::connected(opts);
    for payload in [b"a", b"b", b"c", b"d"] {
        broker.publish("t", payload, QoS::AtLeastOnce);
    }
    broker.sent();
    broker.feed(&puback(2));
    broker.sent(); // "d" goes out as id 4
    broker.close("network down");
    broker.publish("t", b"e", QoS::AtLeastOnce);
    assert_eq!(
        (broker.session.inflight_len(), broker.session.queued_len()),
        (3, 1)
    );

    let resent = publishes(&broker.reconnect());
    let seen: Vec<(u16, bool, &[u8])> = resent
        .iter()
        .map(|p| (p.pkid, p.dup, &p.payload[..]))
        .collect();
    assert_eq!(
        seen,
        [
            (1, true, &b"a"[..]),
            (3, true, &b"c"[..]),
            (4, true, &b"d"[..]),
        ]
    );
    // "e" waits: the cap of 3 is taken by the resends.
    broker.feed(&puback(3));
    let next = publishes(&broker.sent());
    assert_eq!(
        (next[0].pkid, next[0].dup, &next[0].payload[..]),
        (5, false, &b"e"[..])
    );
}

#[test]
fn reconnect_sends_queued_publishes_after_the_resends_up_to_the_cap() {
    let mut opts = options();
    opts.max_inflight = 2;
    let mut broker = Broker::connected(opts);
    broker.publish("t", b"a", QoS::AtLeastOnce);
    broker.sent();
    broker.close("gone");
    broker.publish("t", b"b", QoS::AtLeastOnce);
    broker.publish("t", b"c", QoS::AtLeastOnce);
    let sent = publishes(&broker.reconnect());
    let seen: Vec<(bool, &[u8])> = sent.iter().map(|p| (p.dup, &p.payload[..])).collect();
    assert_eq!(seen, [(true, &b"a"[..]), (false, &b"b"[..])]);
    assert_eq!(broker.session.queued_len(), 1);
}

#[test]
fn a_missing_puback_times_out_and_frees_the_slot_for_the_queue() {
    let mut opts = options();
    opts.max_inflight = 1;
    opts.keep_alive_secs = 0;
    let mut broker = Broker::connected(opts);
    let start = broker.now;
    let first = broker.publish("slow", b"a", QoS::AtLeastOnce);
    broker.publish("t", b"b", QoS::AtLeastOnce);
    broker.sent();
    broker.take_events();
    assert_eq!(broker.session.poll_timeout(), Some(start + 30_000));
    broker.run_until(start + 29_999);
    assert_eq!(broker.app_events(), []);
    broker.run_until(start + 30_000);
    assert_eq!(
        broker.app_events(),
        [Event::AckTimedOut {
            id: first,
            topic: "slow".into()
        }]
    );
    let next = publishes(&broker.sent());
    assert_eq!((next[0].pkid, &next[0].payload[..]), (2, &b"b"[..]));
    assert_eq!(
        (broker.session.inflight_len(), broker.session.queued_len()),
        (1, 0)
    );
    // A late PUBACK for the dropped publish is ignored.
    broker.feed(&puback(1));
    assert_eq!(broker.app_events(), []);
}

#[test]
fn puback_deadlines_do_not_run_while_disconnected_and_restart_on_resend() {
    let mut opts = options();
    opts.keep_alive_secs = 0;
    let mut broker = Broker::connected(opts);
    broker.publish("t", b"a", QoS::AtLeastOnce);
    broker.sent();
    broker.close("gone");
    assert_eq!(broker.session.poll_timeout(), None);
    broker.run_until(broker.now + 100_000);
    broker.take_events();
    broker.reconnect();
    assert_eq!(broker.session.poll_timeout(), Some(broker.now + 30_000));
    assert_eq!(broker.session.inflight_len(), 1);
}

#[test]
fn topics_that_are_empty_or_have_wildcards_are_refused() {
    let mut broker = Broker::connected(options());
    for topic in ["", "a/+", "a/#"] {
        let result = broker
            .session
            .publish(broker.now, topic, Bytes::new(), QoS::AtLeastOnce);
        assert!(
            matches!(result, Err(SessionError::InvalidTopic(_))),
            "{topic:?}"
        );
    }
    assert_eq!(broker.session.poll_transmit(), None);
}

#[test]
fn a_publish_over_the_maximum_packet_size_is_refused() {
    let mut opts = options();
    opts.max_packet_size = 100;
    let mut broker = Broker::connected(opts);
    // 1 type byte + 1 length byte + 2 + 1 topic + 2 id + 94 payload = 101.
    let result =
        broker
            .session
            .publish(broker.now, "t", Bytes::from(vec![0; 94]), QoS::AtLeastOnce);
    assert_eq!(
        result,
        Err(SessionError::PublishTooLarge {
            size: 101,
            max: 100
        })
    );
    let fits = broker
        .session
        .publish(broker.now, "t", Bytes::from(vec![0; 93]), QoS::AtLeastOnce);
    assert!(fits.is_ok());
    let sent = broker.session.poll_transmit().unwrap();
    assert_eq!(sent.len(), 100);
}

#[test]
fn every_packet_queued_before_poll_transmit_goes_out_as_one_buffer() {
    let mut broker = Broker::connected(options());
    broker.publish("a", b"1", QoS::AtMostOnce);
    broker.publish("b", b"2", QoS::AtLeastOnce);
    broker
        .session
        .subscribe(broker.now, &[("c", QoS::AtLeastOnce)])
        .unwrap();
    let sent = broker.sent();
    assert!(matches!(
        sent.as_slice(),
        [Packet::Publish(_), Packet::Publish(_), Packet::Subscribe(_)]
    ));
    assert_eq!(broker.session.poll_transmit(), None);
}

#[test]
fn a_publish_with_a_reserved_id_is_acked_under_that_id() {
    let mut broker = Broker::connected(options());
    let reserved = broker.session.reserve_publish_id();
    let later = broker.publish("t", b"later", QoS::AtLeastOnce);
    assert!(reserved < later);
    broker
        .session
        .publish_reserved(
            broker.now,
            reserved,
            "t",
            Bytes::from_static(b"held"),
            QoS::AtLeastOnce,
        )
        .unwrap();
    let sent = publishes(&broker.sent());
    let seen: Vec<(u16, &[u8])> = sent.iter().map(|p| (p.pkid, &p.payload[..])).collect();
    assert_eq!(seen, [(1, &b"later"[..]), (2, &b"held"[..])]);
    broker.take_events();
    broker.feed(&[puback(2), puback(1)].concat());
    assert_eq!(
        broker.app_events(),
        [Event::Acked(reserved), Event::Acked(later)]
    );
}

#[test]
fn reconnect_resends_in_the_order_publishes_were_sent_not_the_order_of_their_ids() {
    let mut broker = Broker::connected(options());
    let reserved = broker.session.reserve_publish_id();
    broker.publish("t", b"first", QoS::AtLeastOnce);
    broker
        .session
        .publish_reserved(
            broker.now,
            reserved,
            "t",
            Bytes::from_static(b"second"),
            QoS::AtLeastOnce,
        )
        .unwrap();
    broker.sent();
    let resent = publishes(&broker.reconnect());
    let seen: Vec<(bool, &[u8])> = resent.iter().map(|p| (p.dup, &p.payload[..])).collect();
    assert_eq!(seen, [(true, &b"first"[..]), (true, &b"second"[..])]);
}

#[test]
fn check_publish_refuses_what_publish_would_refuse_and_queues_nothing() {
    let mut opts = options();
    opts.max_packet_size = 100;
    let broker = Broker::new(opts);
    let session = &broker.session;
    assert_eq!(
        session.check_publish("t", 94, QoS::AtLeastOnce),
        Err(SessionError::PublishTooLarge {
            size: 101,
            max: 100
        })
    );
    assert_eq!(session.check_publish("t", 93, QoS::AtLeastOnce), Ok(()));
    // QoS 2 is sent as QoS 1, so it is measured as QoS 1.
    assert_eq!(session.check_publish("t", 93, QoS::ExactlyOnce), Ok(()));
    assert_eq!(
        session.check_publish("t", 1, QoS::AtMostOnce),
        Err(SessionError::NotConnected)
    );
    assert!(matches!(
        session.check_publish("a/#", 1, QoS::AtLeastOnce),
        Err(SessionError::InvalidTopic(_))
    ));
    assert_eq!(session.queued_len(), 0);
}

#[test]
fn max_payload_len_is_the_largest_payload_that_fits_the_maximum_packet_size() {
    // Limits around the 1-, 2- and 3-byte remaining-length boundaries.
    for max in (5..=140).chain(16_380..=16_392).chain([65_536, 2_097_160]) {
        let mut opts = options();
        opts.max_packet_size = max;
        let session = Broker::new(opts).session;
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            let topic = "v1/gateway/telemetry";
            let len = session.max_payload_len(topic, qos);
            let fits = session.publish_size(topic, len, qos) <= max;
            let empty_fits = session.publish_size(topic, 0, qos) <= max;
            assert!(fits || (len == 0 && !empty_fits), "max {max}, {qos:?}");
            if fits {
                assert!(
                    session.publish_size(topic, len + 1, qos) > max,
                    "max {max}, {qos:?}: {len} is not the largest"
                );
            }
        }
    }
}

#[test]
fn under_both_protocols_the_inflight_cap_holds_and_unacked_publishes_are_resent_with_dup_in_order()
{
    for protocol in super::harness::BOTH {
        let mut opts = super::harness::options_for(protocol);
        opts.max_inflight = 2;
        let mut broker = Broker::connected(opts);
        let ids: Vec<PublishId> = [&b"a"[..], b"b", b"c"]
            .iter()
            .map(|payload| {
                let payload = Bytes::copy_from_slice(payload);
                broker
                    .session
                    .publish(broker.now, "t", payload, QoS::AtLeastOnce)
                    .unwrap()
            })
            .collect();
        let first: Vec<(u16, bool)> = broker
            .sent_publishes()
            .iter()
            .map(|(pkid, dup, _)| (*pkid, *dup))
            .collect();
        assert_eq!(first, [(1, false), (2, false)], "{protocol:?}");
        broker.take_events();
        broker.feed(&broker.wire().puback(2));
        assert_eq!(broker.app_events(), [Event::Acked(ids[1])], "{protocol:?}");
        assert_eq!(broker.sent_publishes()[0].0, 3, "{protocol:?}");
        broker.close("gone");
        broker.open_bytes();
        broker.feed(&broker.wire().connack(0));
        let resent: Vec<(u16, bool, Bytes)> = broker.sent_publishes();
        assert_eq!(
            resent,
            [
                (1, true, Bytes::from_static(b"a")),
                (3, true, Bytes::from_static(b"c"))
            ],
            "{protocol:?}"
        );
    }
}
