//! What only MQTT 5 does: reason codes in words, No Local, the server's
//! limits from CONNACK, DISCONNECT from the server.

use bytes::Bytes;
use mqttbytes::{v5, QoS};

use super::harness::{options_for, properties, reason_string, Broker, Wire, BOTH};
use crate::core::mqtt::inflight::MAX_STRIKES;
use crate::core::mqtt::{
    explain_reason, Direction, Event, PacketLog, Protocol, PublishId, ServerLimits, SessionError,
    SessionState, SubscribeResult,
};

const V5: Wire = Wire(Protocol::V5);

fn v5_broker() -> Broker {
    Broker::connected(options_for(Protocol::V5))
}

/// A connected MQTT 5 session whose CONNACK carried `props`.
fn connected_with(props: &[u8]) -> Broker {
    let mut broker = Broker::new(options_for(Protocol::V5));
    broker.open_bytes();
    broker.feed(&V5.connack_with(0, props));
    broker.sent_bytes();
    broker
}

/// The packet logs among `events`.
fn logs(events: &[Event]) -> Vec<PacketLog> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Packet(log) => Some(log.clone()),
            _ => None,
        })
        .collect()
}

fn closed_with(events: &[Event]) -> Option<SessionError> {
    events.iter().find_map(|event| match event {
        Event::Closed { error } => error.clone(),
        _ => None,
    })
}

#[test]
fn mqtt_5_connect_is_a_clean_start_with_session_expiry_0_announcing_the_incoming_maximum() {
    let mut broker = Broker::new(options_for(Protocol::V5));
    broker.session.handle_open(broker.now);
    let sent = broker.sent_v5();
    let [v5::Packet::Connect(connect)] = sent.as_slice() else {
        panic!("expected one CONNECT, got {sent:?}");
    };
    assert_eq!(connect.protocol, mqttbytes::Protocol::V5);
    assert!(connect.clean_session);
    assert_eq!(connect.keep_alive, 60);
    assert_eq!(connect.client_id, "gw");
    assert_eq!(connect.login, Some(v5::Login::new("TOKEN", "")));
    let properties = connect.properties.as_ref().expect("CONNECT properties");
    assert_eq!(properties.session_expiry_interval, Some(0));
    assert_eq!(properties.max_packet_size, Some(16 * 1024 * 1024));
    assert_eq!(properties.topic_alias_max, None);
}

#[test]
fn every_filter_of_an_mqtt_5_subscribe_has_no_local_set_in_its_bytes() {
    let mut broker = v5_broker();
    broker
        .session
        .subscribe(
            broker.now,
            &[("v1/gateway/rpc", QoS::AtLeastOnce), ("a", QoS::AtMostOnce)],
        )
        .unwrap();
    let bytes = broker.sent_bytes();
    // 82, length, packet id 1, no properties, then each filter and its options.
    let mut want = vec![0x82, 24, 0x00, 0x01, 0x00];
    want.extend_from_slice(&[0x00, 14]);
    want.extend_from_slice(b"v1/gateway/rpc");
    want.push(0b0000_0101); // QoS 1, No Local
    want.extend_from_slice(&[0x00, 1, b'a']);
    want.push(0b0000_0100); // QoS 0, No Local
    assert_eq!(bytes, want);
}

#[test]
fn an_mqtt_3_1_1_subscribe_carries_only_the_qos_in_its_options_byte() {
    let mut broker = Broker::connected(options_for(Protocol::V311));
    broker
        .session
        .subscribe(broker.now, &[("a", QoS::AtLeastOnce)])
        .unwrap();
    assert_eq!(
        broker.sent_bytes(),
        [0x82, 6, 0x00, 0x01, 0x00, 1, b'a', 0x01]
    );
}

/// Answer the publish in flight with PUBACK `code` three times (packet ids
/// 1, 2, 3: each try gets the next id); the events of the last one.
fn refuse_three_times(broker: &mut Broker, code: u8) -> Vec<Event> {
    for pkid in 1..MAX_STRIKES as u16 {
        broker.feed(&V5.puback_reason(pkid, code));
        assert_eq!(broker.app_events(), [], "strike {pkid} is not the end");
        assert_eq!(broker.session.inflight_len(), 1, "tried again at once");
    }
    broker.feed(&V5.puback_reason(MAX_STRIKES as u16, code));
    broker.app_events()
}

#[test]
fn a_puback_151_is_tried_again_then_set_aside_in_words_and_not_resent() {
    let mut broker = v5_broker();
    let id = broker.publish("v1/gateway/telemetry", b"{}", QoS::AtLeastOnce);
    broker.sent_bytes();
    broker.take_events();
    assert_eq!(
        refuse_three_times(&mut broker, 151),
        [Event::Rejected {
            id,
            topic: "v1/gateway/telemetry".into(),
            reason: 151,
            explanation:
                "quota exceeded: rate limit or device limit reached (refused 3 times; set aside)"
                    .into(),
        }]
    );
    assert_eq!(broker.session.inflight_len(), 0);
    assert_eq!(broker.reconnect(), []);
}

#[test]
fn a_refused_publish_goes_first_in_line_and_the_rest_flows_after_it_is_set_aside() {
    let mut options = options_for(Protocol::V5);
    options.max_inflight = 1;
    let mut broker = Broker::connected(options);
    let bad = broker.publish("t", b"bad", QoS::AtLeastOnce);
    let good = broker.publish("t", b"good", QoS::AtLeastOnce);
    broker.take_events();
    broker.sent_bytes();
    let events = refuse_three_times(&mut broker, 131);
    assert!(
        matches!(&events[..], [Event::Rejected { id, .. }] if *id == bad),
        "{events:?}"
    );
    let sent = broker.sent_bytes();
    assert_eq!(
        sent.windows(4).filter(|w| *w == b"good").count(),
        1,
        "then the next one"
    );
    broker.feed(&V5.puback_reason(4, 0));
    assert_eq!(broker.app_events(), [Event::Acked(good)]);
}

#[test]
fn each_puback_failure_code_is_rejected_with_its_own_words() {
    let cases = [
        (128, "unspecified error: the server gave no reason"),
        (
            131,
            "the server rejected the message: a required field is missing or it is not valid",
        ),
        (
            135,
            "not authorized: check the access token and what it may do",
        ),
        (
            144,
            "topic name invalid: the server does not accept this topic",
        ),
        (
            153,
            "payload format invalid: the server cannot read the payload (is it valid JSON?)",
        ),
    ];
    for (code, words) in cases {
        let mut broker = v5_broker();
        let id = broker.publish("t", b"x", QoS::AtLeastOnce);
        broker.take_events();
        assert_eq!(
            refuse_three_times(&mut broker, code),
            [Event::Rejected {
                id,
                topic: "t".into(),
                reason: code,
                explanation: format!("{words} (refused 3 times; set aside)"),
            }],
            "code {code}"
        );
    }
}

#[test]
fn a_rejection_carries_the_servers_reason_string_after_the_words() {
    let mut broker = v5_broker();
    broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.take_events();
    let body = |pkid: u8| {
        [
            &[0x00, pkid, 0x83][..],
            &properties(&reason_string("ts is missing")),
        ]
        .concat()
    };
    broker.feed(&super::harness::packet(0x40, &body(1)));
    broker.feed(&super::harness::packet(0x40, &body(2)));
    broker.feed(&super::harness::packet(0x40, &body(3)));
    let events = broker.app_events();
    assert!(
        matches!(&events[..], [Event::Rejected { reason: 131, explanation, .. }]
            if explanation == "the server rejected the message: a required field is missing \
                               or it is not valid (the server says: ts is missing) (refused 3 \
                               times; set aside)"),
        "{events:?}"
    );
}

#[test]
fn a_puback_with_properties_it_cannot_read_still_counts_as_a_refusal() {
    let mut broker = v5_broker();
    let id = broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.take_events();
    // Property 0x01 (payload format) does not belong in a PUBACK.
    for pkid in 1..=3u8 {
        let body = [&[0x00, pkid, 0x97][..], &properties(&[0x01, 0x01])].concat();
        broker.feed(&super::harness::packet(0x40, &body));
    }
    let events = broker.app_events();
    assert!(
        matches!(&events[..], [Event::Rejected { id: got, reason: 0x97, .. }] if *got == id),
        "{events:?}"
    );
    assert_eq!(broker.session.state(), SessionState::Connected);
}

#[test]
fn a_server_that_closes_right_after_a_publish_three_times_gets_it_set_aside() {
    let mut broker = v5_broker();
    let id = broker.publish("v1/gateway/rpc", b"{}", QoS::AtLeastOnce);
    broker.take_events();
    for _ in 1..MAX_STRIKES {
        broker.close("closed by the server");
        assert!(!broker
            .app_events()
            .iter()
            .any(|e| matches!(e, Event::Rejected { .. })));
        broker.open_bytes();
        broker.feed(&broker.wire().connack(0));
        assert_eq!(broker.session.inflight_len(), 1, "resent after CONNACK");
    }
    broker.close("closed by the server");
    let events = broker.app_events();
    assert!(
        events.iter().any(|e| matches!(e, Event::Rejected { id: got, explanation, .. }
            if *got == id && explanation.contains("closed the connection right after this message"))),
        "{events:?}"
    );
    assert_eq!(broker.reconnect(), []);
}

#[test]
fn a_puback_16_no_matching_subscribers_and_a_three_byte_puback_0_count_as_acked() {
    let mut broker = v5_broker();
    let first = broker.publish("t", b"x", QoS::AtLeastOnce);
    let second = broker.publish("t", b"y", QoS::AtLeastOnce);
    broker.take_events();
    broker.feed(&[V5.puback_reason(1, 16), V5.puback_reason(2, 0)].concat());
    assert_eq!(
        broker.app_events(),
        [Event::Acked(first), Event::Acked(second)]
    );
}

#[test]
fn a_two_byte_mqtt_5_puback_means_success() {
    let mut broker = v5_broker();
    let id = broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.take_events();
    broker.feed(&V5.puback(1));
    let events = broker.take_events();
    assert_eq!(logs(&events)[0].reasons, Bytes::new());
    assert_eq!(events.last(), Some(&Event::Acked(id)));
}

#[test]
fn a_server_disconnect_142_closes_the_session_saying_it_was_taken_over() {
    let mut broker = v5_broker();
    broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.take_events();
    broker.feed(&V5.disconnect(142, &[]));
    let events = broker.take_events();
    assert_eq!(
        closed_with(&events),
        Some(SessionError::ServerDisconnected {
            reason: 142,
            explanation: "session taken over: another client connected with the same credentials"
                .into()
        })
    );
    assert_eq!(logs(&events)[0].kind, "DISCONNECT");
    assert_eq!(logs(&events)[0].reasons, Bytes::from_static(&[142]));
    assert_eq!(broker.session.state(), SessionState::Disconnected);
    assert_eq!(
        broker.session.inflight_len(),
        1,
        "kept for the next connection"
    );
    assert_eq!(
        broker.session.last_error().map(ToString::to_string),
        Some(
            "the server closed the connection (reason 142): session taken over: another client \
             connected with the same credentials"
                .into()
        )
    );
}

#[test]
fn server_disconnects_for_rate_quota_size_and_shutdown_are_explained() {
    let cases = [
        (
            150,
            "message rate too high: the server's rate limit was exceeded",
        ),
        (151, "quota exceeded: rate limit or device limit reached"),
        (
            149,
            "packet too large: the message is over the server's size limit",
        ),
        (
            135,
            "not authorized: check the access token and what it may do",
        ),
        (139, "the server is shutting down"),
    ];
    for (reason, words) in cases {
        let mut broker = v5_broker();
        broker.feed(&V5.disconnect(reason, &reason_string("")));
        assert_eq!(
            closed_with(&broker.take_events()),
            Some(SessionError::ServerDisconnected {
                reason,
                explanation: words.into()
            }),
            "reason {reason}"
        );
    }
}

#[test]
fn a_zero_length_disconnect_from_the_server_is_a_normal_disconnection() {
    let mut broker = v5_broker();
    broker.feed(&[0xE0, 0x00]);
    assert_eq!(
        broker.app_events(),
        [Event::Closed {
            error: Some(SessionError::ServerDisconnected {
                reason: 0,
                explanation: "the server ended the connection without giving an error".into()
            })
        }]
    );
}

#[test]
fn under_3_1_1_a_disconnect_from_the_broker_is_a_protocol_error() {
    let mut broker = Broker::connected(options_for(Protocol::V311));
    broker.feed(&[0xE0, 0x00]);
    assert_eq!(
        closed_with(&broker.take_events()),
        Some(SessionError::Protocol(
            "the broker sent DISCONNECT, which only a client may send".into()
        ))
    );
}

#[test]
fn the_clients_own_mqtt_5_disconnect_is_the_two_bytes_e0_00() {
    let mut broker = v5_broker();
    broker.session.disconnect(broker.now);
    assert_eq!(broker.sent_bytes(), [0xE0, 0x00]);
    assert_eq!(broker.app_events(), [Event::Closed { error: None }]);
}

#[test]
fn a_200_kib_incoming_publish_is_accepted_while_a_70_kib_outgoing_one_is_refused() {
    for protocol in BOTH {
        let mut broker = Broker::connected(options_for(protocol));
        let big = vec![b'r'; 200 * 1024];
        broker.feed(&broker.wire().publish("v1/gateway/rpc", 1, 5, &big));
        let events = broker.app_events();
        assert!(
            matches!(&events[..], [Event::Message { payload, .. }] if payload.len() == big.len()),
            "{protocol:?}"
        );
        assert_eq!(broker.sent_kinds(), ["PUBACK"], "{protocol:?}");
        let result = broker.session.publish(
            broker.now,
            "v1/gateway/telemetry",
            Bytes::from(vec![b'x'; 70 * 1024]),
            QoS::AtLeastOnce,
        );
        assert!(
            matches!(
                result,
                Err(SessionError::PublishTooLarge { max: 65_536, .. })
            ),
            "{protocol:?}: {result:?}"
        );
    }
}

#[test]
fn connack_refusals_under_mqtt_5_are_explained_in_words() {
    let cases = [
        (134, "bad user name or password: check the access token"),
        (135, "not authorized: check the access token"),
        (133, "client id rejected: check the client id"),
        (
            136,
            "server unavailable: the broker or ThingsBoard behind it is down",
        ),
        (
            159,
            "connection rate exceeded: too many connects in a short time, wait before retrying",
        ),
        (
            132,
            "the server does not accept MQTT 5: choose MQTT 3.1.1 in the profile",
        ),
        (0xB0, "unknown refusal code 176"),
    ];
    for (code, reason) in cases {
        let mut broker = Broker::new(options_for(Protocol::V5));
        broker.open_bytes();
        broker.take_events();
        broker.feed(&V5.connack(code));
        let events = broker.take_events();
        assert_eq!(logs(&events)[0].reasons, Bytes::copy_from_slice(&[code]));
        let reason = reason.to_string();
        assert_eq!(
            events[1..],
            [
                Event::Refused {
                    code,
                    reason: reason.clone()
                },
                Event::Closed {
                    error: Some(SessionError::Refused { code, reason })
                },
            ],
            "code {code}"
        );
    }
}

#[test]
fn a_connack_refusal_carries_the_servers_reason_string() {
    let mut broker = Broker::new(options_for(Protocol::V5));
    broker.open_bytes();
    broker.feed(&V5.connack_with(135, &reason_string("device is not a gateway")));
    let events = broker.app_events();
    assert!(
        matches!(&events[0], Event::Refused { code: 135, reason }
            if reason == "not authorized: check the access token (the server says: device is not a gateway)"),
        "{events:?}"
    );
}

#[test]
fn a_3_1_1_only_broker_refusing_mqtt_5_with_code_1_says_to_choose_3_1_1() {
    let mut broker = Broker::new(options_for(Protocol::V5));
    broker.open_bytes();
    broker.feed(&[0x20, 0x02, 0x00, 0x01]);
    let events = broker.app_events();
    assert!(
        matches!(&events[0], Event::Refused { code: 1, reason }
            if reason == "the broker does not accept MQTT 5 (protocol version refused): \
                          choose MQTT 3.1.1 in the profile"),
        "{events:?}"
    );
}

#[test]
fn the_servers_receive_maximum_caps_the_inflight_window() {
    // Receive Maximum (0x21) = 3.
    let mut broker = Broker::new(options_for(Protocol::V5));
    let ids: Vec<PublishId> = (0..5)
        .map(|_| broker.publish("t", b"x", QoS::AtLeastOnce))
        .collect();
    broker.open_bytes();
    broker.take_events();
    broker.feed(&V5.connack_with(0, &[0x21, 0x00, 0x03]));
    let limits = ServerLimits {
        receive_maximum: Some(3),
        ..ServerLimits::default()
    };
    assert_eq!(
        broker.app_events(),
        [Event::Connected {
            session_present: false,
            server_limits: limits
        }]
    );
    assert_eq!(broker.session.server_limits(), limits);
    assert_eq!(broker.session.inflight_window(), 3);
    assert_eq!(broker.sent_kinds(), ["PUBLISH"; 3]);
    assert_eq!(broker.session.queued_len(), 2);
    broker.feed(&V5.puback(1));
    assert_eq!(broker.sent_kinds(), ["PUBLISH"]);
    assert_eq!(broker.app_events(), [Event::Acked(ids[0])]);
    broker.close("gone");
    assert_eq!(broker.session.server_limits(), ServerLimits::default());
    assert_eq!(broker.session.inflight_window(), 50);
}

#[test]
fn the_servers_maximum_packet_size_lowers_the_outgoing_limit_and_a_queued_publish_over_it_is_rejected_unsent(
) {
    let mut broker = Broker::new(options_for(Protocol::V5));
    let big = broker.publish("t", &[b'x'; 2_000], QoS::AtLeastOnce);
    let small = broker.publish("t", b"ok", QoS::AtLeastOnce);
    broker.open_bytes();
    broker.take_events();
    // Maximum Packet Size (0x27) = 1 000.
    broker.feed(&V5.connack_with(0, &[0x27, 0x00, 0x00, 0x03, 0xE8]));
    assert_eq!(broker.session.max_packet_size(), 1_000);
    let events = broker.app_events();
    assert!(
        matches!(&events[1], Event::Rejected { id, reason: 0x95, explanation, .. }
            if *id == big && explanation == "packet too large: the message is over the server's \
                                             size limit: 2009 bytes, over the server's 1000"),
        "{events:?}"
    );
    let sent = broker.sent_v5();
    assert!(
        matches!(&sent[..], [v5::Packet::Publish(p)] if p.payload == "ok" && p.pkid == 1),
        "{sent:?}"
    );
    broker.feed(&V5.puback(1));
    assert_eq!(broker.app_events(), [Event::Acked(small)]);
    let result = broker.session.publish(
        broker.now,
        "t",
        Bytes::from(vec![0; 1_000]),
        QoS::AtLeastOnce,
    );
    assert!(matches!(
        result,
        Err(SessionError::PublishTooLarge { max: 1_000, .. })
    ));
}

#[test]
fn the_servers_keep_alive_replaces_ours() {
    // Server Keep Alive (0x13) = 10 s: ping 5 s after the last send.
    let broker = connected_with(&[0x13, 0x00, 0x0A]);
    assert_eq!(broker.session.poll_timeout(), Some(broker.now + 5_000));
}

#[test]
fn suback_failure_codes_under_mqtt_5_are_refusals_with_their_reason() {
    let mut broker = v5_broker();
    let id = broker
        .session
        .subscribe(
            broker.now,
            &[
                ("a", QoS::AtLeastOnce),
                ("b/#", QoS::AtLeastOnce),
                ("c", QoS::AtLeastOnce),
            ],
        )
        .unwrap();
    broker.sent_bytes();
    broker.take_events();
    broker.feed(&V5.suback(1, &[1, 0x87, 0x8F]));
    let events = broker.take_events();
    assert_eq!(
        logs(&events)[0].reasons,
        Bytes::from_static(&[1, 0x87, 0x8F])
    );
    let result = |filter: &str, granted, reason| SubscribeResult {
        filter: filter.into(),
        granted,
        reason,
    };
    assert_eq!(
        events[1],
        Event::Subscribed {
            id,
            results: vec![
                result("a", Some(QoS::AtLeastOnce), None),
                result("b/#", None, Some(0x87)),
                result("c", None, Some(0x8F)),
            ]
        }
    );
    assert_eq!(
        explain_reason(0x8F),
        "topic filter invalid: the server does not accept this subscription"
    );
}

#[test]
fn the_traffic_log_carries_the_reason_codes_of_connack_and_puback() {
    let mut broker = Broker::new(options_for(Protocol::V5));
    broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.open_bytes();
    broker.feed(&V5.connack(0));
    broker.feed(&V5.puback_reason(1, 0x10));
    let logs = logs(&broker.take_events());
    let ins: Vec<(&str, &[u8])> = logs
        .iter()
        .filter(|log| log.direction == Direction::In)
        .map(|log| (log.kind, &log.reasons[..]))
        .collect();
    assert_eq!(ins, [("CONNACK", &[0][..]), ("PUBACK", &[0x10][..])]);
}

#[test]
fn an_incoming_mqtt_5_publish_skips_its_properties_and_is_acked_with_a_two_byte_puback() {
    let mut broker = v5_broker();
    // Payload format 1, message expiry 60 s, a user property.
    let props = [
        &[0x01, 0x01, 0x02, 0, 0, 0, 60, 0x26, 0, 1, b'k', 0, 1, b'v'][..],
        &reason_string(""),
    ]
    .concat();
    let mut body = vec![0x00, 0x03];
    body.extend_from_slice(b"rpc");
    body.extend_from_slice(&[0x01, 0x02]);
    body.extend_from_slice(&properties(&props));
    body.extend_from_slice(b"{\"id\":1}");
    // Reason String is not a PUBLISH property, but its length is known: skipped too.
    broker.feed(&super::harness::packet(0x32, &body));
    assert_eq!(broker.sent_bytes(), [0x40, 0x02, 0x01, 0x02]);
    assert_eq!(
        broker.app_events(),
        [Event::Message {
            topic: "rpc".into(),
            payload: Bytes::from_static(b"{\"id\":1}"),
            qos: QoS::AtLeastOnce,
            retain: false,
        }]
    );
}

#[test]
fn auth_from_the_server_is_a_protocol_error() {
    let mut broker = v5_broker();
    broker.feed(&[0xF0, 0x00]);
    assert_eq!(
        closed_with(&broker.take_events()),
        Some(SessionError::Protocol(
            "the broker sent AUTH, but no authentication method was asked for".into()
        ))
    );
}

#[test]
fn publishes_queued_under_one_protocol_go_out_in_the_next_connections_protocol() {
    let mut broker = Broker::new(options_for(Protocol::V5));
    broker.publish("t", b"queued", QoS::AtLeastOnce);
    broker.session.set_options(options_for(Protocol::V311));
    broker.open();
    broker.feed(&super::harness::connack(0));
    let sent = super::harness::publishes(&broker.sent());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].payload, "queued");
}

#[test]
fn the_reasons_of_thingsboards_gateway_disconnect_notices_are_explained() {
    assert_eq!(
        explain_reason(150),
        "message rate too high: the server's rate limit was exceeded"
    );
    assert_eq!(
        explain_reason(128),
        "unspecified error: the server gave no reason"
    );
    assert_eq!(
        explain_reason(129),
        "malformed packet: the server could not read what was sent"
    );
    assert_eq!(explain_reason(0xFF), "unknown reason code");
}

#[test]
fn a_session_taken_over_is_not_reconnected_but_a_rate_limit_close_is() {
    use crate::core::protocol::Protocol as _;
    let mut broker = v5_broker();
    broker.feed(&V5.disconnect(142, &[]));
    assert!(
        !broker.session.should_retry(),
        "another client holds the token now"
    );
    let mut broker = v5_broker();
    broker.feed(&V5.disconnect(150, &[]));
    assert!(broker.session.should_retry());
}
