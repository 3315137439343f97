//! Publishes made while the session is not connected wait in the gateway's
//! offline queue and go out after the next CONNACK's SUBSCRIBE, `connect`s
//! and `getSessionLimits` (contract §5: telemetry before its `connect`
//! creates a new device as "default").

use mqttbytes::v4::Packet;
use serde_json::{json, Value};

use super::harness::{acked, Harness};
use crate::core::gateway::client::{OFFLINE_QUEUE_BYTES, OFFLINE_QUEUE_LIMIT};
use crate::core::gateway::codec::{AttributeScope, TelemetryEntry};
use crate::core::gateway::GatewayEvent;

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

/// The ids of the requests restored, as their events said.
fn restored_ids(h: &mut Harness) -> Vec<u32> {
    h.gateway_events()
        .into_iter()
        .filter_map(|e| match e {
            GatewayEvent::RequestRestored { id, .. } => Some(id),
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
fn a_full_outbox_drops_the_oldest_counted_and_keeps_the_newest_and_the_registrations() {
    use crate::core::gateway::client::JournalOp;
    let mut h = Harness::new();
    h.gw.set_durable(true);
    h.gw.connect_device(h.now, "A", None).unwrap();
    let first =
        h.gw.send_own_telemetry(h.now, &[flat(json!({ "n": 0 }))])
            .unwrap();
    for n in 1..OFFLINE_QUEUE_LIMIT + 5 {
        h.gw.send_own_telemetry(h.now, &[flat(json!({ "n": n }))])
            .unwrap();
    }
    // Five over the limit: the five oldest gave way, counted.
    assert_eq!(h.gw.offline_len(), OFFLINE_QUEUE_LIMIT);
    assert_eq!(h.gw.outbox_dropped(), 5);
    let events = h.take_events();
    let drops: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::OutboxDropped { count, total } => Some((*count, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(drops, [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5)]);
    // Dropped messages leave the durable outbox too.
    assert!(h
        .gw
        .take_journal()
        .contains(&JournalOp::Delete { id: first }));
    // At the next CONNACK: the registration, then the newest, in order.
    h.open();
    let published = h.take_published();
    let connects: Vec<&Value> = published
        .iter()
        .filter(|(t, _)| t == "v1/gateway/connect")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        connects,
        [&json!({"device": "A"})],
        "the registration is kept"
    );
    let sent: Vec<&Value> = published
        .iter()
        .filter(|(t, _)| t == "v1/devices/me/telemetry")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(sent.len(), OFFLINE_QUEUE_LIMIT);
    assert_eq!(sent[0]["n"], json!(5), "the oldest five were dropped");
    assert!(sent
        .windows(2)
        .all(|w| w[0]["n"].as_u64() < w[1]["n"].as_u64()));
}

#[test]
fn the_outbox_is_bounded_in_bytes_too() {
    let mut h = Harness::new();
    let blob = "b".repeat(60_000);
    for n in 0..600 {
        h.gw.send_own_telemetry(h.now, &[flat(json!({ "n": n, "blob": blob }))])
            .unwrap();
    }
    // 32 MiB of 60 kB messages: about 559 fit; the oldest gave way.
    let kept = h.gw.offline_len();
    assert!((550..=560).contains(&kept), "{kept} kept");
    assert!(h.gw.offline_bytes() <= OFFLINE_QUEUE_BYTES);
    assert_eq!(h.gw.outbox_dropped(), (600 - kept) as u64);
    h.open();
    let sent = h.take_published_on("v1/devices/me/telemetry");
    assert_eq!(sent.len(), kept);
    assert_eq!(sent.last().unwrap()["n"], json!(599), "the newest is kept");
    assert_eq!(h.gw.offline_bytes(), 0);
}

#[test]
fn a_durable_outbox_journals_each_uplink_until_it_is_acknowledged() {
    use crate::core::gateway::client::JournalOp;
    let mut h = Harness::new();
    h.gw.set_durable(true);
    h.gw.connect_device(h.now, "A", None).unwrap();
    let ids =
        h.gw.send_telemetry(h.now, &[("A", vec![flat(json!({"x": 1}))])])
            .unwrap();
    h.gw.request_attributes(h.now, "A", AttributeScope::Shared, &["k"])
        .unwrap();
    h.gw.call_own_rpc(h.now, "getTime", json!({})).unwrap();
    let puts: Vec<String> =
        h.gw.take_journal()
            .into_iter()
            .map(|op| match op {
                JournalOp::Put { topic, .. } => topic,
                JournalOp::Delete { id } => format!("delete {id:?}"),
            })
            .collect();
    assert_eq!(
        puts,
        [
            "v1/gateway/telemetry",
            "v1/gateway/attributes/request",
            "v1/devices/me/rpc/request/2"
        ],
        "every uplink made through the API, not the registration"
    );
    h.open();
    let journal = h.gw.take_journal();
    assert!(
        journal.contains(&JournalOp::Delete { id: ids[0] }),
        "{journal:?}"
    );
    assert!(
        !journal.iter().any(|op| matches!(op, JournalOp::Put { .. })),
        "getSessionLimits, which the gateway sends by itself, is not kept: {journal:?}"
    );
}

/// A page that sent an attribute request and a client-side call while
/// offline, durable: what it kept.
fn kept_requests() -> Vec<(String, bytes::Bytes)> {
    use crate::core::gateway::client::JournalOp;
    let mut h = Harness::new();
    h.gw.set_durable(true);
    h.gw.connect_device(h.now, "A", None).unwrap();
    h.gw.request_attributes(h.now, "A", AttributeScope::Shared, &["mode"])
        .unwrap();
    h.gw.call_own_rpc(h.now, "getTime", json!({})).unwrap();
    h.gw.take_journal()
        .into_iter()
        .filter_map(|op| match op {
            JournalOp::Put { topic, payload, .. } => Some((topic, payload)),
            JournalOp::Delete { .. } => None,
        })
        .collect()
}

#[test]
fn requests_kept_across_a_reload_wait_for_their_answers_again() {
    use crate::core::gateway::codec::AttributeResult;
    let kept = kept_requests();
    assert_eq!(kept.len(), 2);
    // The next page.
    let mut h = Harness::new();
    h.gw.connect_device(h.now, "A", None).unwrap();
    h.gw.restore(kept);
    let restored = restored_ids(&mut h);
    assert_eq!(restored, [1, 2], "under the ids they were sent with");
    h.open();
    let published = h.take_published();
    assert!(published.contains(&(
        "v1/gateway/attributes/request".to_string(),
        json!({"id": 1, "device": "A", "client": false, "key": "mode"})
    )));
    assert!(published.contains(&(
        "v1/devices/me/rpc/request/2".to_string(),
        json!({"method": "getTime", "params": {}})
    )));
    h.take_events();
    h.push(
        "v1/gateway/attributes/response",
        r#"{"id":1,"device":"A","value":"eco"}"#,
    );
    h.push("v1/devices/me/rpc/response/2", r#"{"time":5}"#);
    let events = h.gateway_events();
    assert!(
        events.iter().any(|e| matches!(e,
            GatewayEvent::AttributeResponse { id: 1, result: AttributeResult::Found(v), .. }
                if v.get("mode") == Some(&json!("eco")))),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e,
            GatewayEvent::OwnRpcResponse { id: 2, method: Some(m), .. } if m == "getTime")),
        "{events:?}"
    );
}

#[test]
fn a_kept_request_whose_id_this_page_uses_already_is_sent_under_a_new_one() {
    let kept = kept_requests();
    let mut h = Harness::new();
    h.gw.connect_device(h.now, "A", None).unwrap();
    // This page asked already, under id 1.
    let own =
        h.gw.request_attributes(h.now, "A", AttributeScope::Client, &["k"]);
    assert_eq!(own, Ok(1));
    h.gw.restore(kept);
    let restored = restored_ids(&mut h);
    assert_eq!(restored, [2, 3]);
    h.open();
    let published = h.take_published();
    assert!(published.contains(&(
        "v1/gateway/attributes/request".to_string(),
        json!({"id": 2, "device": "A", "client": false, "key": "mode"})
    )));
    assert!(published
        .iter()
        .any(|(topic, _)| topic == "v1/devices/me/rpc/request/3"));
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
