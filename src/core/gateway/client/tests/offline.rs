//! Publishes made while the session is not connected wait in the gateway's
//! offline queue and go out after the next CONNACK's SUBSCRIBE, `connect`s
//! and `getSessionLimits` (contract §5: telemetry before its `connect`
//! creates a new device as "default").

use mqttbytes::v4::Packet;
use serde_json::json;

use super::harness::Harness;
use crate::core::gateway::client::{OFFLINE_QUEUE_BYTES, OFFLINE_QUEUE_LIMIT};
use crate::core::gateway::codec::{AttributeScope, TelemetryEntry};
use crate::core::gateway::{GatewayError, GatewayEvent};
use crate::core::mqtt::Event;

fn flat(v: serde_json::Value) -> TelemetryEntry {
    TelemetryEntry::flat(v.as_object().unwrap().clone())
}

/// Each packet sent as "KIND" or "PUBLISH topic" (with " dup" for a resend).
fn transcript(packets: &[Packet]) -> Vec<String> {
    packets
        .iter()
        .map(|p| match p {
            Packet::Connect(_) => "CONNECT".to_string(),
            Packet::Subscribe(_) => "SUBSCRIBE".to_string(),
            Packet::Publish(p) if p.dup => format!("PUBLISH {} dup", p.topic),
            Packet::Publish(p) => format!("PUBLISH {}", p.topic),
            other => format!("{other:?}"),
        })
        .collect()
}

fn acked(events: &[GatewayEvent]) -> Vec<crate::core::mqtt::PublishId> {
    events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Session(Event::Acked(id)) => Some(*id),
            _ => None,
        })
        .collect()
}

#[test]
fn telemetry_sent_while_offline_goes_out_after_the_subscribe_limits_and_connects_of_the_next_connack(
) {
    let mut h = Harness::new();
    assert_eq!(
        h.gw.connect_device(h.now, "Pump 9", Some("Water pump")),
        Ok(None)
    );
    let ids =
        h.gw.send_telemetry(h.now, &[("Pump 9", vec![flat(json!({"flow": 1}))])])
            .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(h.gw.offline_len(), 1);
    assert_eq!(h.gw.session().queued_len(), 0);
    h.open();
    assert_eq!(
        transcript(&h.sent),
        [
            "CONNECT",
            "SUBSCRIBE",
            "PUBLISH v1/devices/me/rpc/request/1",
            "PubAck(PubAck { pkid: 1 })",
            "PUBLISH v1/gateway/connect",
            "PUBLISH v1/gateway/telemetry",
        ]
    );
    assert_eq!(
        h.take_published(),
        vec![
            (
                "v1/devices/me/rpc/request/1".to_string(),
                json!({"method": "getSessionLimits", "params": {}})
            ),
            (
                "v1/gateway/connect".to_string(),
                json!({"device": "Pump 9", "type": "Water pump"})
            ),
            (
                "v1/gateway/telemetry".to_string(),
                json!({"Pump 9": [{"flow": 1}]})
            ),
        ]
    );
    assert_eq!(h.gw.offline_len(), 0);
    // The held message is acknowledged under the id its call returned.
    assert!(acked(&h.take_events()).contains(&ids[0]));
}

#[test]
fn after_a_reconnect_resends_come_first_then_subscribe_limits_connects_and_what_waited_offline() {
    let mut h = Harness::connected();
    h.gw.connect_device(h.now, "A", None).unwrap();
    h.take_published();
    h.take_events();
    // One telemetry message in flight when the link drops.
    h.ack_publishes = false;
    h.gw.send_telemetry(h.now, &[("A", vec![flat(json!({"x": 1}))])])
        .unwrap();
    h.take_published();
    h.drop_link();
    h.ack_publishes = true;
    // Offline: a new device, telemetry for it and the old one, own attributes.
    assert_eq!(h.gw.connect_device(h.now, "B", Some("Sensor")), Ok(None));
    let telemetry =
        h.gw.send_telemetry(
            h.now,
            &[
                ("B", vec![flat(json!({"y": 2}))]),
                ("A", vec![flat(json!({"x": 3}))]),
            ],
        )
        .unwrap();
    let own =
        h.gw.send_own_attributes(h.now, json!({"fw": "1"}).as_object().unwrap())
            .unwrap();
    assert_eq!(h.gw.offline_len(), 2);
    assert_eq!(h.gw.poll_transmit(), None);
    h.now = h.now.after_ms(1_000);
    h.open();
    assert_eq!(
        transcript(&h.sent),
        [
            "CONNECT",
            "PUBLISH v1/gateway/telemetry dup",
            "SUBSCRIBE",
            "PUBLISH v1/devices/me/rpc/request/2",
            "PubAck(PubAck { pkid: 2 })",
            "PUBLISH v1/gateway/connect",
            "PUBLISH v1/gateway/connect",
            "PUBLISH v1/gateway/telemetry",
            "PUBLISH v1/devices/me/attributes",
        ]
    );
    let published = h.take_published();
    let mut connects = vec![published[2].1.clone(), published[3].1.clone()];
    connects.sort_by_key(|v| v["device"].to_string());
    assert_eq!(
        connects,
        [
            json!({"device": "A"}),
            json!({"device": "B", "type": "Sensor"})
        ]
    );
    assert_eq!(published[4].1, json!({"B": [{"y": 2}], "A": [{"x": 3}]}));
    let acked = acked(&h.take_events());
    assert!(acked.contains(&telemetry[0]) && acked.contains(&own));
}

#[test]
fn messages_held_offline_are_resent_after_the_connects_they_followed_though_their_ids_are_older() {
    let mut h = Harness::new();
    assert_eq!(h.gw.connect_device(h.now, "B", Some("Sensor")), Ok(None));
    h.gw.send_telemetry(h.now, &[("B", vec![flat(json!({"y": 2}))])])
        .unwrap();
    h.ack_publishes = false;
    h.open();
    let first = [
        "PUBLISH v1/devices/me/rpc/request/1",
        "PUBLISH v1/gateway/connect",
        "PUBLISH v1/gateway/telemetry",
    ];
    let sent = transcript(&h.sent);
    assert_eq!(sent[2], first[0]);
    assert_eq!(sent[4..], first[1..]);
    h.take_published();
    h.drop_link();
    h.open();
    // Nothing was acknowledged: all three are resent in the order they were
    // sent, before the new connection's own messages.
    let resent: Vec<String> = first.iter().map(|p| format!("{p} dup")).collect();
    assert_eq!(
        transcript(&h.sent)[..4],
        ["CONNECT".to_string()]
            .into_iter()
            .chain(resent)
            .collect::<Vec<_>>()[..]
    );
    assert_eq!(transcript(&h.sent)[4], "SUBSCRIBE");
}

#[test]
fn the_offline_queue_refuses_a_call_beyond_its_limit_with_an_error_and_queues_nothing_of_it() {
    let mut h = Harness::new();
    for n in 0..OFFLINE_QUEUE_LIMIT - 1 {
        h.gw.send_own_telemetry(h.now, &[flat(json!({ "n": n }))])
            .unwrap();
    }
    assert_eq!(h.gw.offline_len(), OFFLINE_QUEUE_LIMIT - 1);
    // A batch that needs two messages does not fit the one place left.
    let blob = "b".repeat(40_000);
    let batch = [
        ("P1", vec![flat(json!({ "blob": blob }))]),
        ("P2", vec![flat(json!({ "blob": blob }))]),
    ];
    let err = h.gw.send_telemetry(h.now, &batch).unwrap_err();
    let held_bytes = h.gw.offline_bytes();
    assert_eq!(
        err,
        GatewayError::OfflineQueueFull {
            limit: OFFLINE_QUEUE_LIMIT,
            limit_bytes: OFFLINE_QUEUE_BYTES,
            held: OFFLINE_QUEUE_LIMIT - 1,
            held_bytes,
            count: 2
        }
    );
    assert!(err.to_string().contains("offline queue is full"), "{err}");
    assert_eq!(h.gw.offline_len(), OFFLINE_QUEUE_LIMIT - 1);
    assert!(h.gw.model().devices().get("P1").is_none());
    // The last place is taken; the next call is refused, not dropped.
    let last = OFFLINE_QUEUE_LIMIT - 1;
    h.gw.send_own_telemetry(h.now, &[flat(json!({ "n": last }))])
        .unwrap();
    let full = GatewayError::OfflineQueueFull {
        limit: OFFLINE_QUEUE_LIMIT,
        limit_bytes: OFFLINE_QUEUE_BYTES,
        held: OFFLINE_QUEUE_LIMIT,
        held_bytes: h.gw.offline_bytes(),
        count: 1,
    };
    assert_eq!(
        h.gw.send_own_telemetry(h.now, &[flat(json!({"n": -1}))]),
        Err(full.clone())
    );
    assert_eq!(
        h.gw.request_attributes(h.now, "A", AttributeScope::Shared, &["k"]),
        Err(full)
    );
    assert_eq!(h.gw.model().next_deadline(), None);
    // At the next CONNACK everything held goes out, in order, and the
    // gateway's own getSessionLimits is not refused.
    h.open();
    let sent = h.take_published_on("v1/devices/me/telemetry");
    assert_eq!(sent.len(), OFFLINE_QUEUE_LIMIT);
    assert!(sent.iter().enumerate().all(|(i, v)| v["n"] == json!(i)));
    assert_eq!(h.gw.offline_len(), 0);
    assert!(h.gw.model().own().session_limits().is_some());
}

#[test]
fn the_offline_queue_is_bounded_in_bytes_too() {
    let mut h = Harness::new();
    let blob = "b".repeat(60_000);
    let mut queued = 0;
    let err = loop {
        match h
            .gw
            .send_own_telemetry(h.now, &[flat(json!({ "blob": blob }))])
        {
            Ok(_) => queued += 1,
            Err(e) => break e,
        }
    };
    // 32 MiB of 60 kB messages: about 559 fit, far fewer than the count limit.
    assert!((550..=560).contains(&queued), "{queued} queued");
    assert!(h.gw.offline_bytes() <= OFFLINE_QUEUE_BYTES);
    assert!(
        matches!(err, GatewayError::OfflineQueueFull { held, .. } if held == queued),
        "{err}"
    );
    assert!(err.to_string().contains("KiB"), "{err}");
    h.open();
    assert_eq!(h.take_published_on("v1/devices/me/telemetry").len(), queued);
    assert_eq!(h.gw.offline_bytes(), 0);
}

#[test]
fn a_durable_outbox_journals_each_data_uplink_until_it_is_acknowledged() {
    use crate::core::gateway::client::JournalOp;
    let mut h = Harness::new();
    h.gw.set_durable(true);
    h.gw.connect_device(h.now, "A", None).unwrap();
    let ids =
        h.gw.send_telemetry(h.now, &[("A", vec![flat(json!({"x": 1}))])])
            .unwrap();
    h.gw.request_attributes(h.now, "A", AttributeScope::Shared, &["k"])
        .unwrap();
    let puts = h.gw.take_journal();
    assert!(
        matches!(&puts[..], [JournalOp::Put { id, topic, .. }] if *id == ids[0] && topic == "v1/gateway/telemetry"),
        "only the data uplink, not the registration or the request: {puts:?}"
    );
    h.open();
    let deletes = h.gw.take_journal();
    assert!(
        deletes.contains(&JournalOp::Delete { id: ids[0] }),
        "{deletes:?}"
    );
}

#[test]
fn uplinks_restored_after_a_reload_go_out_after_the_registrations_in_order() {
    let mut h = Harness::new();
    h.gw.set_durable(true);
    h.gw.connect_device(h.now, "A", Some("pump")).unwrap();
    let restored = h.gw.restore(vec![
        (
            "v1/gateway/telemetry".into(),
            bytes::Bytes::from(r#"{"A":[{"n":1}]}"#),
        ),
        (
            "v1/gateway/telemetry".into(),
            bytes::Bytes::from(r#"{"A":[{"n":2}]}"#),
        ),
    ]);
    assert_eq!(restored.len(), 2);
    assert!(
        h.gw.take_journal().is_empty(),
        "already stored: not journaled again"
    );
    h.open();
    let sent: Vec<String> = h
        .take_published()
        .into_iter()
        .filter(|(t, _)| t.starts_with("v1/gateway/"))
        .map(|(t, v)| format!("{t} {v}"))
        .collect();
    assert_eq!(
        sent,
        [
            r#"v1/gateway/connect {"device":"A","type":"pump"}"#,
            r#"v1/gateway/telemetry {"A":[{"n":1}]}"#,
            r#"v1/gateway/telemetry {"A":[{"n":2}]}"#,
        ]
    );
    let deletes = h.gw.take_journal();
    for id in restored {
        assert!(deletes.contains(&crate::core::gateway::client::JournalOp::Delete { id }));
    }
}
