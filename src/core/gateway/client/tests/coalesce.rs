//! Telemetry that waits in the outbox (offline, or for room in a rate limit)
//! goes out folded into as few messages as the limits allow, and every call
//! is acknowledged under its own id.

use serde_json::{json, Value};

use super::harness::{acked, Harness};
use crate::core::gateway::client::JournalOp;
use crate::core::gateway::codec::TelemetryEntry;
use crate::core::gateway::GatewayEvent;
use crate::core::mqtt::{Event, PublishId};

fn timed(ts: u64, v: Value) -> TelemetryEntry {
    TelemetryEntry::timed(ts, v.as_object().unwrap().clone())
}

/// Gateway rate limits of 10 telemetry messages a second, nothing else.
fn ten_telemetry_messages_a_second() -> Value {
    json!({"maxPayloadSize": 65536, "maxInflightMessages": 100,
        "rateLimits": {"messages": null, "telemetryMessages": null, "telemetryDataPoints": null},
        "gatewayRateLimits": {"messages": null, "telemetryMessages": "10:1", "telemetryDataPoints": null}})
}

/// A gateway (durable or not) under [`ten_telemetry_messages_a_second`]
/// with 20 devices registered, and their names.
fn fleet(durable: bool) -> (Harness, Vec<String>) {
    let mut h = Harness::new();
    h.gw.set_durable(durable);
    h.limits = Some(ten_telemetry_messages_a_second());
    h.open();
    let devices: Vec<String> = (1..=20).map(|n| format!("Meter-{n}")).collect();
    for d in &devices {
        h.gw.connect_device(h.now, d, None).unwrap();
    }
    h.advance(5_000);
    h.take_published();
    h.take_events();
    (h, devices)
}

#[test]
fn telemetry_queued_offline_goes_out_as_one_message_acknowledged_under_every_calls_id() {
    let mut h = Harness::new();
    h.gw.set_durable(true);
    for device in ["A", "B"] {
        h.gw.connect_device(h.now, device, None).unwrap();
    }
    let mut ids = Vec::new();
    for (n, device) in ["A", "B", "A"].into_iter().enumerate() {
        let entry = timed(1_000 + n as u64, json!({ "n": n }));
        ids.extend(
            h.gw.send_telemetry(h.now, &[(device, vec![entry])])
                .unwrap(),
        );
    }
    assert_eq!(h.gw.offline_len(), 3);
    h.gw.take_journal();
    h.open();
    let telemetry = h.take_published_on("v1/gateway/telemetry");
    assert_eq!(
        telemetry,
        [json!({
            "A": [{"ts": 1000, "values": {"n": 0}}, {"ts": 1002, "values": {"n": 2}}],
            "B": [{"ts": 1001, "values": {"n": 1}}],
        })],
        "one message, each device's entries in the order they were sent"
    );
    let acked = acked(&h.take_events());
    for id in &ids {
        assert!(acked.contains(id), "{id:?} acknowledged");
    }
    // And none is left in the durable outbox.
    let deleted: Vec<PublishId> =
        h.gw.take_journal()
            .into_iter()
            .filter_map(|op| match op {
                JournalOp::Delete { id } => Some(id),
                _ => None,
            })
            .collect();
    for id in &ids {
        assert!(deleted.contains(id), "{id:?} left the durable outbox");
    }
}

#[test]
fn folding_stops_at_a_message_of_another_kind_so_the_order_is_kept() {
    let mut h = Harness::new();
    h.gw.connect_device(h.now, "A", None).unwrap();
    h.gw.send_telemetry(h.now, &[("A", vec![timed(1, json!({"t": 1}))])])
        .unwrap();
    h.gw.send_attributes(
        h.now,
        &[("A", json!({"mode": "eco"}).as_object().unwrap().clone())],
    )
    .unwrap();
    h.gw.send_telemetry(h.now, &[("A", vec![timed(2, json!({"t": 2}))])])
        .unwrap();
    h.open();
    let order: Vec<String> = h
        .take_published()
        .into_iter()
        .map(|(topic, _)| topic)
        .filter(|t| t != "v1/devices/me/rpc/request/1" && t != "v1/gateway/connect")
        .collect();
    assert_eq!(
        order,
        [
            "v1/gateway/telemetry",
            "v1/gateway/attributes",
            "v1/gateway/telemetry"
        ]
    );
}

#[test]
fn untimed_entries_of_one_device_are_not_folded_together() {
    // The server would stamp both with the same receive time.
    let mut h = Harness::new();
    h.gw.connect_device(h.now, "A", None).unwrap();
    for n in 0..2 {
        let flat = TelemetryEntry::flat(json!({ "n": n }).as_object().unwrap().clone());
        h.gw.send_telemetry(h.now, &[("A", vec![flat])]).unwrap();
    }
    h.open();
    assert_eq!(h.take_published_on("v1/gateway/telemetry").len(), 2);
}

#[test]
fn telemetry_waiting_on_the_message_rate_is_folded_and_arrives_sooner() {
    let mut h = Harness::new();
    h.limits = Some(ten_telemetry_messages_a_second());
    h.open();
    h.take_published();
    h.take_events();
    let ids: Vec<PublishId> = (0..30)
        .flat_map(|n| {
            let entry = timed(10_000 + n, json!({ "n": n }));
            h.gw.send_telemetry(h.now, &[("Pump 7", vec![entry])])
                .unwrap()
        })
        .collect();
    assert!(h.gw.offline_len() > 0, "what exceeds the limit waits");
    let start = h.now;
    let mut sent = Vec::new();
    while h.gw.offline_len() > 0 && h.now.since(start) < 5_000 {
        sent.extend(h.take_published_on("v1/gateway/telemetry"));
        h.advance(50);
    }
    sent.extend(h.take_published_on("v1/gateway/telemetry"));
    // A burst of 8 (80 % of 10), then the 22 that waited in one message,
    // where one by one they would have taken about 3 s.
    assert!(sent.len() <= 9, "{} messages", sent.len());
    assert!(
        h.now.since(start) <= 200,
        "done after {} ms",
        h.now.since(start)
    );
    let arrived: Vec<Value> = sent
        .iter()
        .flat_map(|m| m["Pump 7"].as_array().unwrap().clone())
        .map(|e| e["values"]["n"].clone())
        .collect();
    assert_eq!(arrived, (0..30).map(|n| json!(n)).collect::<Vec<_>>());
    let acked = acked(&h.take_events());
    assert!(
        ids.iter().all(|id| acked.contains(id)),
        "all 30 acknowledged"
    );
}

#[test]
fn a_simulated_fleet_over_the_message_rate_keeps_up_with_every_entry_once_and_in_order() {
    use crate::core::gateway::limits::{Buckets, RateLimit};
    // 20 devices ticked every 200 ms: 100 device entries a second offered,
    // against 10 telemetry messages a second (8 at 80 %), each device entry
    // of a gateway message counting as one.
    let (mut h, devices) = fleet(false);
    let mut sent = Vec::new();
    for tick in 0..50u64 {
        let batch: Vec<(&str, Vec<TelemetryEntry>)> = devices
            .iter()
            .map(|d| (d.as_str(), vec![timed(tick, json!({ "t": tick }))]))
            .collect();
        h.gw.send_telemetry(h.now, &batch).unwrap();
        h.advance(200);
        sent.extend(
            h.take_published_on("v1/gateway/telemetry")
                .into_iter()
                .map(|m| (h.now, m)),
        );
    }
    let last_tick = h.now;
    while h.gw.offline_len() > 0 && h.now.since(last_tick) < 120_000 {
        h.advance(100);
        sent.extend(
            h.take_published_on("v1/gateway/telemetry")
                .into_iter()
                .map(|m| (h.now, m)),
        );
    }
    let drained = h.now.since(last_tick);
    // One by one that is 1,000 device entries at 8 a second: about two
    // minutes. Folded, a device's waiting entries go as one.
    assert!(drained <= 3_000, "drained {drained} ms after the last tick");
    let mut server = Buckets::new(&RateLimit::parse("10:1").unwrap());
    for (at, m) in &sent {
        let n = m.as_object().unwrap().len() as u64;
        assert!(server.ready_at(*at, n) <= *at, "the server's 10:1 is kept");
        server.take(*at, n);
    }
    for d in &devices {
        let got: Vec<u64> = sent
            .iter()
            .flat_map(|(_, m)| m[d.as_str()].as_array().cloned().unwrap_or_default())
            .map(|e| e["ts"].as_u64().unwrap())
            .collect();
        assert_eq!(
            got,
            (0..50).collect::<Vec<_>>(),
            "{d}: every entry once, in order"
        );
    }
}

/// Every `(device, ts)` in a gateway telemetry payload.
fn entries_of(payload: &Value) -> Vec<(String, u64)> {
    payload
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(d, entries)| {
            entries
                .as_array()
                .into_iter()
                .flatten()
                .map(move |e| (d.clone(), e["ts"].as_u64().unwrap()))
        })
        .collect()
}

#[test]
fn ticks_cut_differently_each_time_still_fold_and_the_durable_outbox_always_holds_exactly_what_is_unsent(
) {
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    // As the page's simulator does: each tick goes in chunks whose sizes
    // vary (they follow the measured cost), so the messages behind the
    // front name other device groups each tick.
    let (mut h, devices) = fleet(true);
    // The durable outbox, as the shell keeps it, and what the server has.
    let mut stored: HashMap<PublishId, Value> = HashMap::new();
    let mut at_server: Vec<(String, u64)> = Vec::new();
    let mut offered: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut calls = Vec::new();
    let mut acked = Vec::new();
    let chunkings: [&[usize]; 3] = [&[7, 6, 7], &[5, 9, 6], &[3, 3, 14]];
    let check = |h: &mut Harness,
                 stored: &mut HashMap<PublishId, Value>,
                 at_server: &mut Vec<(String, u64)>,
                 acked: &mut Vec<PublishId>| {
        for m in h.take_published_on("v1/gateway/telemetry") {
            at_server.extend(entries_of(&m));
        }
        for e in h.take_events() {
            if let GatewayEvent::Settled(Event::Acked(id)) = e {
                acked.push(id);
            }
        }
        for op in h.gw.take_journal() {
            match op {
                JournalOp::Put { id, payload, .. } => {
                    stored.insert(id, serde_json::from_slice(&payload).unwrap());
                }
                JournalOp::Delete { id } => {
                    stored.remove(&id);
                }
            }
        }
    };
    for tick in 0..50u64 {
        let mut rest: &[String] = &devices;
        for &n in chunkings[tick as usize % 3] {
            let (chunk, more) = rest.split_at(n);
            rest = more;
            let batch: Vec<(&str, Vec<TelemetryEntry>)> = chunk
                .iter()
                .map(|d| (d.as_str(), vec![timed(tick, json!({ "t": tick }))]))
                .collect();
            calls.extend(h.gw.send_telemetry(h.now, &batch).unwrap());
            offered.extend(chunk.iter().map(|d| (d.clone(), tick)));
        }
        h.advance(200);
        check(&mut h, &mut stored, &mut at_server, &mut acked);
        // Stored and delivered together are everything offered, once.
        let mut all: Vec<(String, u64)> = at_server.clone();
        all.extend(stored.values().flat_map(entries_of));
        let distinct: BTreeSet<_> = all.iter().cloned().collect();
        assert_eq!(
            all.len(),
            distinct.len(),
            "tick {tick}: an entry is both stored and delivered, or twice"
        );
        assert_eq!(
            distinct, offered,
            "tick {tick}: an entry is neither stored nor delivered"
        );
    }
    let last_tick = h.now;
    while h.gw.offline_len() > 0 && h.now.since(last_tick) < 120_000 {
        h.advance(100);
        check(&mut h, &mut stored, &mut at_server, &mut acked);
    }
    let drained = h.now.since(last_tick);
    assert!(drained <= 3_000, "drained {drained} ms after the last tick");
    assert!(stored.is_empty(), "nothing left in the durable outbox");
    // Every call acknowledged exactly once.
    let mut counts: BTreeMap<PublishId, u32> = BTreeMap::new();
    for id in &acked {
        *counts.entry(*id).or_default() += 1;
    }
    for id in &calls {
        assert_eq!(counts.get(id), Some(&1), "{id:?} acknowledged once");
    }
    // Each device's entries arrived once, in order.
    for d in &devices {
        let got: Vec<u64> = at_server
            .iter()
            .filter(|(x, _)| x == d)
            .map(|(_, ts)| *ts)
            .collect();
        assert_eq!(got, (0..50).collect::<Vec<_>>(), "{d}");
    }
}
