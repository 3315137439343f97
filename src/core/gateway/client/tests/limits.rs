//! The session limits obeyed: what the server reports with
//! `getSessionLimits` paces every uplink (contract §6, §11 item 7).

use serde_json::{json, Value};

use super::harness::Harness;
use crate::core::gateway::codec::TelemetryEntry;
use crate::core::gateway::limits::{Buckets, RateLimit};
use crate::core::gateway::GatewayEvent;
use crate::core::time::Millis;

fn flat(v: Value) -> TelemetryEntry {
    TelemetryEntry::flat(v.as_object().unwrap().clone())
}

fn limits(gateway: Value) -> Value {
    json!({"maxPayloadSize": 65536, "maxInflightMessages": 100,
        "rateLimits": {"messages": null, "telemetryMessages": null, "telemetryDataPoints": null},
        "gatewayRateLimits": gateway})
}

/// A connected gateway whose server reports these gateway rate limits.
fn limited(gateway: Value) -> Harness {
    let mut h = Harness::new();
    h.limits = Some(limits(gateway));
    h.open();
    h.take_published();
    h.take_events();
    h
}

/// Run the clock for `ms` in 50 ms steps; every publish on `topic` with the
/// time it left.
fn run(h: &mut Harness, ms: u64, topic: &str) -> Vec<(Millis, Value)> {
    let mut out = Vec::new();
    let end = h.now.after_ms(ms);
    while h.now < end {
        for body in h.take_published_on(topic) {
            out.push((h.now, body));
        }
        h.advance(50);
    }
    for body in h.take_published_on(topic) {
        out.push((h.now, body));
    }
    out
}

/// Whether a server enforcing `limit` (ThingsBoard's greedy token buckets,
/// at 100 %) would have let every message of `sent` through, each taking
/// `weight` tokens.
fn server_allows(sent: &[(Millis, Value)], limit: &str, weight: impl Fn(&Value) -> u64) -> bool {
    let mut server = Buckets::new(&RateLimit::parse(limit).unwrap());
    sent.iter().all(|(t, v)| {
        let n = weight(v);
        let ok = server.ready_at(*t, n) <= *t;
        server.take(*t, n);
        ok
    })
}

#[test]
fn telemetry_keeps_to_eighty_percent_of_the_message_rate_and_all_of_it_arrives_in_order() {
    let mut h = limited(
        json!({"messages": null, "telemetryMessages": "10:1", "telemetryDataPoints": null}),
    );
    let ids: Vec<_> = (0..30)
        .flat_map(|n| {
            h.gw.send_telemetry(h.now, &[("Pump 7", vec![flat(json!({ "n": n }))])])
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 30);
    assert!(h.gw.offline_len() > 0, "what exceeds the limit waits");
    let sent = run(&mut h, 5_000, "v1/gateway/telemetry");
    let order: Vec<Value> = sent
        .iter()
        .map(|(_, v)| v["Pump 7"][0]["n"].clone())
        .collect();
    assert_eq!(order, (0..30).map(|n| json!(n)).collect::<Vec<_>>());
    assert!(
        server_allows(&sent, "10:1", |_| 1),
        "the server's 10:1 is never exceeded"
    );
    // 80 %: a burst of 8, then 8 a second.
    let first_second = sent
        .iter()
        .filter(|(t, _)| t.since(sent[0].0) < 1_000)
        .count();
    assert!(
        (8..=16).contains(&first_second),
        "{first_second} in the first second"
    );
    let last = sent.last().unwrap().0.since(sent[0].0);
    assert!(
        (2_500..=3_100).contains(&last),
        "30 messages took {last} ms"
    );
    assert_eq!(h.gw.offline_len(), 0);
    let acked = h
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, GatewayEvent::Session(crate::core::mqtt::Event::Acked(_))))
        .count();
    assert!(acked >= 1);
}

#[test]
fn a_batch_is_cut_under_the_data_point_limit_and_paced_by_it() {
    let mut h = limited(
        json!({"messages": null, "telemetryMessages": null, "telemetryDataPoints": "200:1"}),
    );
    let batch: Vec<(String, Vec<TelemetryEntry>)> = (0..100)
        .map(|i| (format!("D{i}"), vec![flat(json!({"a": i, "b": i, "c": i}))]))
        .collect();
    let ids = h.gw.send_telemetry(h.now, &batch).unwrap();
    assert!(
        ids.len() >= 2,
        "300 points need more than one message of at most 160"
    );
    let sent = run(&mut h, 4_000, "v1/gateway/telemetry");
    let points = |v: &Value| -> u64 {
        v.as_object()
            .unwrap()
            .values()
            .map(|e| e[0].as_object().unwrap().len() as u64)
            .sum()
    };
    assert!(
        sent.iter().all(|(_, v)| points(v) <= 160),
        "each message within one window"
    );
    assert_eq!(
        sent.iter().map(|(_, v)| points(v)).sum::<u64>(),
        300,
        "every point once"
    );
    assert!(
        server_allows(&sent, "200:1", points),
        "never over the server's 200 a second"
    );
}

#[test]
fn registrations_after_a_connack_wait_for_the_limits_and_keep_to_the_message_rate() {
    let mut h =
        limited(json!({"messages": "5:1", "telemetryMessages": null, "telemetryDataPoints": null}));
    let names: Vec<String> = (0..12).map(|i| format!("Dev {i}")).collect();
    for name in &names {
        h.gw.connect_device(h.now, name, None).unwrap();
    }
    run(&mut h, 5_000, "v1/gateway/connect");
    h.drop_link();
    h.now = h.now.after_ms(10_000);
    h.open();
    let sent = run(&mut h, 5_000, "v1/gateway/connect");
    assert_eq!(sent.len(), 12, "every device registered again");
    assert!(server_allows(&sent, "5:1", |_| 1));
}

#[test]
fn without_an_answer_to_get_session_limits_the_held_uplinks_go_after_five_seconds() {
    let mut h = Harness::new();
    h.limits = None;
    h.gw.send_own_telemetry(h.now, &[flat(json!({"x": 1}))])
        .unwrap();
    h.open();
    assert!(h.take_published_on("v1/devices/me/telemetry").is_empty());
    assert!(h.gw.awaiting_limits());
    h.advance(4_900);
    assert!(h.take_published_on("v1/devices/me/telemetry").is_empty());
    h.advance(200);
    assert_eq!(
        h.take_published_on("v1/devices/me/telemetry"),
        vec![json!({"x": 1})]
    );
    assert!(h
        .take_events()
        .contains(&GatewayEvent::SessionLimitsUnanswered { kept: false }));
}

#[test]
fn the_in_flight_window_and_packet_size_follow_the_server() {
    let mut h = Harness::new();
    h.limits = Some(json!({"maxPayloadSize": 1000, "maxInflightMessages": 20}));
    h.open();
    assert_eq!(h.gw.session().options().max_inflight, 16, "80 % of 20");
    assert_eq!(h.gw.session().options().max_packet_size, 1000);
    let batch: Vec<(String, Vec<TelemetryEntry>)> = (0..40)
        .map(|i| {
            (
                format!("Device {i}"),
                vec![flat(json!({"text": "x".repeat(50)}))],
            )
        })
        .collect();
    let ids = h.gw.send_telemetry(h.now, &batch).unwrap();
    assert!(ids.len() >= 3, "{} messages", ids.len());
    h.take_published();
    // A server with larger limits never raises what the options asked.
    let mut h = Harness::new();
    h.limits = Some(json!({"maxPayloadSize": 1_000_000, "maxInflightMessages": 10_000}));
    h.open();
    assert_eq!(h.gw.session().options().max_inflight, 50);
    assert_eq!(h.gw.session().options().max_packet_size, 65_536);
}

#[test]
fn an_unreadable_answer_is_reported_and_the_traffic_goes_unpaced() {
    let mut h = Harness::new();
    h.limits = Some(json!({"gatewayRateLimits": {"messages": "ten a second"}}));
    h.open();
    let events = h.take_events();
    assert!(
        events.iter().any(|e| matches!(e, GatewayEvent::SessionLimitsUnreadable { reason } if reason.contains("gatewayRateLimits.messages"))),
        "{events:?}"
    );
    h.gw.send_own_telemetry(h.now, &[flat(json!({"x": 1}))])
        .unwrap();
    assert_eq!(h.take_published_on("v1/devices/me/telemetry").len(), 1);
}

#[test]
fn a_batch_for_many_devices_is_cut_so_each_device_entry_keeps_to_the_telemetry_message_rate() {
    // ThingsBoard hands each device's part of a gateway message to its rate
    // limits as a message of its own.
    let mut h = limited(
        json!({"messages": null, "telemetryMessages": "10:1", "telemetryDataPoints": null}),
    );
    let batch: Vec<(String, Vec<TelemetryEntry>)> = (0..40)
        .map(|i| (format!("D{i}"), vec![flat(json!({ "v": i }))]))
        .collect();
    h.gw.send_telemetry(h.now, &batch).unwrap();
    let sent = run(&mut h, 6_000, "v1/gateway/telemetry");
    let entries = |v: &Value| v.as_object().unwrap().len() as u64;
    assert!(
        sent.iter().all(|(_, v)| entries(v) <= 8),
        "at most 80 % of 10 devices a message"
    );
    assert_eq!(
        sent.iter().map(|(_, v)| entries(v)).sum::<u64>(),
        40,
        "every device once"
    );
    assert!(
        server_allows(&sent, "10:1", entries),
        "the server's 10:1 is never exceeded"
    );
}
