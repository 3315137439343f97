//! The send path's old and new ways give the same messages and counts.
//!
//! Before, a multi-device message was built as a JSON value, each device's
//! part serialized (and again item by item when it had to be cut), and a
//! counted telemetry batch parsed every message back to count its entries
//! and data points. Now telemetry is written straight from the batch
//! (`codec::gateway_telemetry_parts`), every part is serialized once
//! (`split::parts_of`), and each message is counted as it is cut. Here the
//! old code, kept verbatim as the reference (`old_split`, `old_count`),
//! runs beside the new on the same inputs: load-test ticks (a random walk
//! of 80 keys for 1,000 devices, from the engine's own generator), repeated
//! devices, flat entries, attributes and claims, under byte, data-point
//! and entry budgets that cut nothing, cut between devices, and cut
//! devices between their items.

use bytes::Bytes;
use mqttbytes::v4::Packet;
use serde_json::{json, Map, Value};

use super::super::split::{parts_of, split, Budget, Cut, Unsplittable};
use super::harness::Harness;
use crate::console::loadtest::generator::Context;
use crate::console::loadtest::rng::Rng;
use crate::console::loadtest::Template;
use crate::core::gateway::client::SentTelemetry;
use crate::core::gateway::codec::{
    gateway_telemetry_parts, Attributes, ClaimRequest, TelemetryBatch, TelemetryEntry, Uplink,
};
use crate::core::gateway::limits::entry_points;
use crate::core::mqtt::{ConnectOptions, Credentials, Protocol};

/// A message of the old split: its payload and devices.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct OldPiece {
    payload: Bytes,
    devices: Vec<String>,
}

/// What the old `SentTelemetry::of` counted in a payload: (entries, points).
fn old_count(payload: &[u8]) -> (u64, u64) {
    let body: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let (mut entries, mut points) = (0, 0);
    for part in body.as_object().into_iter().flat_map(|m| m.values()) {
        entries += match part {
            Value::Array(items) => items.len() as u64,
            _ => 1,
        };
        points += entry_points(part);
    }
    (entries, points)
}

/// The old way to the body: the uplink's JSON value.
fn old_body(uplink: &Uplink) -> Map<String, Value> {
    match uplink.to_json().expect("a valid uplink") {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Budgets from "cuts nothing" to "cuts every device between its items".
fn budgets() -> Vec<Budget> {
    let b = |bytes, points, entries| Budget {
        bytes,
        points,
        entries,
    };
    vec![
        b(usize::MAX, None, None),
        b(65_536 - 40, None, None),
        b(4_000, None, None),
        b(900, None, None),
        b(65_536, Some(500), None),
        b(65_536, Some(7), None),
        b(65_536, None, Some(3)),
        b(2_000, Some(100), Some(10)),
    ]
}

/// Old and new agree on `batch`'s telemetry under every budget: the same
/// payloads byte for byte, the same devices, the same refusals, and each
/// message's counts are what parsing it back gives.
fn same_telemetry(batch: &[(String, Vec<TelemetryEntry>)]) -> usize {
    let body = old_body(&Uplink::Telemetry(batch.to_vec()));
    let parts = gateway_telemetry_parts(batch).expect("a valid batch");
    let mut messages = 0;
    for budget in budgets() {
        let old = old_split(&body, Cut::Elements, budget);
        let new = split(&parts, budget);
        match (old, new) {
            (Ok(old), Ok(new)) => {
                assert_eq!(old.len(), new.len(), "{budget:?}");
                for (o, n) in old.iter().zip(&new) {
                    assert_eq!(o.payload, n.payload, "{budget:?}");
                    assert_eq!(o.devices, n.devices, "{budget:?}");
                    assert_eq!(old_count(&o.payload), (n.entries, n.points), "{budget:?}");
                }
                messages += new.len();
            }
            (Err(old), Err(new)) => assert_eq!(old, new, "{budget:?}"),
            (old, new) => panic!("{budget:?}: old {old:?}, new {new:?}"),
        }
    }
    messages
}

/// One load-test tick: `devices` devices, one message each of a random
/// walk of `keys` keys, from the engine's generator.
fn walk_tick(devices: usize, keys: usize, seed: u64) -> Vec<(String, Vec<TelemetryEntry>)> {
    let template = Template::RandomWalk {
        keys: (0..keys).map(|i| format!("k{i}")).collect(),
    };
    let mut payloads = template.compile(devices).unwrap();
    let mut rng = Rng::new(seed);
    (0..devices)
        .map(|i| {
            let device = format!("Meter-{}", i + 1);
            let ts = 1_767_225_600_000 + i as u64;
            let ctx = Context {
                device: &device,
                n: 0,
                ts,
            };
            let values = payloads.next(i, &ctx, &mut rng);
            (device.clone(), vec![TelemetryEntry::timed(ts, values)])
        })
        .collect()
}

fn obj(v: Value) -> Attributes {
    v.as_object().unwrap().clone()
}

#[test]
fn a_load_test_tick_gives_the_same_messages_and_counts_as_the_old_way() {
    let tick = walk_tick(1_000, 80, 7);
    let messages = same_telemetry(&tick);
    assert!(
        messages > 100,
        "the budgets cut the tick: {messages} messages"
    );
    // Unsplit, the one message is the uplink's old encoding.
    let parts = gateway_telemetry_parts(&tick).unwrap();
    let all = split(&parts, budgets()[0]).unwrap();
    assert_eq!(all.len(), 1);
    let encoded = Uplink::Telemetry(tick).encode().unwrap();
    assert_eq!(all[0].payload, encoded.payload);
    assert_eq!((all[0].entries, all[0].points), (1_000, 80_000));
}

#[test]
fn repeated_devices_flat_entries_and_odd_values_give_the_same_messages_and_counts() {
    let timed = |ts: u64, v: Value| TelemetryEntry::timed(ts, obj(v));
    let flat = |v: Value| TelemetryEntry::flat(obj(v));
    let mut batch = vec![
        (
            "A \"quoted\" \u{e9}".to_string(),
            vec![timed(1, json!({"t": 1.5, "s": "x\ny", "n": null}))],
        ),
        (
            "B".to_string(),
            vec![flat(json!({"a": 1, "b": [1, 2], "c": {"d": true}}))],
        ),
        (
            "A \"quoted\" \u{e9}".to_string(),
            vec![
                timed(2, json!({"t": -0.0, "big": 1e300})),
                flat(json!({"u": u64::MAX})),
            ],
        ),
    ];
    for i in 0..60 {
        let entries = (0..i % 7 + 1)
            .map(|j| {
                timed(
                    1_000 + j,
                    json!({"v": i * j, "w": format!("{:1$}", "", (i % 5) as usize * 40)}),
                )
            })
            .collect();
        batch.push((format!("Dev-{}", i % 23), entries));
    }
    same_telemetry(&batch);
}

#[test]
fn refused_telemetry_is_refused_with_the_same_reason() {
    let bad: Vec<Vec<(String, Vec<TelemetryEntry>)>> = vec![
        vec![],
        vec![("".into(), vec![TelemetryEntry::flat(obj(json!({"a": 1})))])],
        vec![("A".into(), vec![])],
        vec![("A".into(), vec![TelemetryEntry::timed(1, Map::new())])],
        vec![
            ("A".into(), vec![TelemetryEntry::flat(obj(json!({"a": 1})))]),
            (
                "B".into(),
                vec![
                    TelemetryEntry::flat(obj(json!({"a": 1}))),
                    TelemetryEntry::flat(obj(json!({"metadata": 1}))),
                ],
            ),
        ],
        vec![(
            "A".into(),
            vec![TelemetryEntry::flat(obj(json!({"values": 1})))],
        )],
    ];
    for batch in bad {
        let old = Uplink::Telemetry(batch.clone()).to_json().unwrap_err();
        let new = gateway_telemetry_parts(&batch).unwrap_err();
        assert_eq!(old, new);
    }
}

#[test]
fn attributes_and_claims_give_the_same_messages_as_the_old_way() {
    let mut attributes = Vec::new();
    for i in 0..40 {
        let mut attrs = Map::new();
        for k in 0..(i % 9 + 1) {
            attrs.insert(
                format!("key{k}"),
                json!({"n": i * k, "s": "x".repeat((k * 37) as usize)}),
            );
        }
        attributes.push((format!("Dev-{}", i % 13), attrs));
    }
    let claims: Vec<(String, ClaimRequest)> = (0..30)
        .map(|i| {
            let claim = ClaimRequest {
                secret_key: Some("s".repeat(i * 20)),
                duration_ms: Some(i as u64),
            };
            (format!("Dev-{i}"), claim)
        })
        .collect();
    for (uplink, cut) in [
        (Uplink::Attributes(attributes), Cut::Members),
        (Uplink::Claim(claims), Cut::Never),
    ] {
        let body = old_body(&uplink);
        let parts = parts_of(&body, cut);
        for budget in budgets() {
            let old = old_split(&body, cut, budget);
            let new = split(&parts, budget);
            match (old, new) {
                (Ok(old), Ok(new)) => {
                    let new: Vec<OldPiece> = new
                        .into_iter()
                        .map(|p| OldPiece {
                            payload: p.payload,
                            devices: p.devices,
                        })
                        .collect();
                    assert_eq!(old, new, "{cut:?} {budget:?}");
                }
                (Err(old), Err(new)) => assert_eq!(old, new, "{cut:?} {budget:?}"),
                (old, new) => panic!("{cut:?} {budget:?}: old {old:?}, new {new:?}"),
            }
        }
    }
}

#[test]
fn a_tick_through_the_gateway_is_published_as_the_old_way_split_it_and_counted_alike() {
    let mut h = Harness::connected();
    h.take_published();
    let tick = walk_tick(1_000, 80, 11);
    let sent = h.gw.send_telemetry_counted(h.now, &tick).unwrap();
    h.take_events();
    let published: Vec<Bytes> = std::mem::take(&mut h.sent)
        .into_iter()
        .filter_map(|p| match p {
            Packet::Publish(p) if p.topic == "v1/gateway/telemetry" => Some(p.payload),
            _ => None,
        })
        .collect();
    let budget = Budget {
        bytes: h.gw.session().max_payload_len(
            "v1/gateway/telemetry",
            crate::core::gateway::codec::UPLINK_QOS,
        ),
        points: None,
        entries: None,
    };
    let old = old_split(&old_body(&Uplink::Telemetry(tick)), Cut::Elements, budget).unwrap();
    assert!(old.len() > 10, "{} messages", old.len());
    let old_payloads: Vec<Bytes> = old.iter().map(|p| p.payload.clone()).collect();
    assert_eq!(published, old_payloads);
    let counts: Vec<(u64, u64)> = sent.iter().map(|s| (s.entries, s.points)).collect();
    let old_counts: Vec<(u64, u64)> = old_payloads.iter().map(|p| old_count(p)).collect();
    assert_eq!(counts, old_counts);
}

/// A connected gateway whose session has `max_packet_size` = `max`.
fn connected_with_max(max: usize) -> Harness {
    let mut h = Harness::new();
    let mut options = ConnectOptions::new("gw", Credentials::AccessToken("token".into()));
    options.protocol = Protocol::V311;
    options.max_packet_size = max;
    options.max_inflight = u16::MAX;
    h.gw.set_options(options);
    h.limits = Some(json!({}));
    h.open();
    h.take_published();
    h.take_events();
    h
}

/// Every telemetry payload the gateway published since the last call.
fn telemetry_payloads(h: &mut Harness) -> Vec<Bytes> {
    h.take_events();
    std::mem::take(&mut h.sent)
        .into_iter()
        .filter_map(|p| match p {
            Packet::Publish(p) if p.topic == "v1/gateway/telemetry" => Some(p.payload),
            _ => None,
        })
        .collect()
}

/// `messages` messages of `template` for `devices` devices in turn (so a
/// device has several entries once `messages` > `devices`), generated the
/// map way and the batch way from the same seed.
fn both_ways(
    template: &Template,
    devices: usize,
    messages: usize,
) -> (Vec<(String, Vec<TelemetryEntry>)>, TelemetryBatch) {
    let names: Vec<String> = (0..devices).map(|i| format!("Meter-{}", i + 1)).collect();
    let (mut a, mut b) = (
        template.compile(devices).unwrap(),
        template.compile(devices).unwrap(),
    );
    let (mut rng_a, mut rng_b) = (Rng::new(5), Rng::new(5));
    let mut map_way: Vec<(String, Vec<TelemetryEntry>)> = Vec::new();
    let mut batch = TelemetryBatch::new();
    for j in 0..messages {
        let i = j % devices;
        let ts = 1_767_225_600_000 + j as u64 * 3;
        let ctx = Context {
            device: &names[i],
            n: (j / devices) as u64,
            ts,
        };
        let values = a.next(i, &ctx, &mut rng_a);
        match map_way.iter_mut().find(|(d, _)| *d == names[i]) {
            Some((_, entries)) => entries.push(TelemetryEntry::timed(ts, values)),
            None => map_way.push((names[i].clone(), vec![TelemetryEntry::timed(ts, values)])),
        }
        batch.timed(&names[i], ts, |v| b.write(i, &ctx, &mut rng_b, v));
    }
    (map_way, batch)
}

#[test]
fn every_template_written_as_a_batch_is_published_and_counted_as_its_map_of_values() {
    let templates = [
        Template::SmartMeter,
        Template::SmartTracker,
        Template::RandomWalk {
            keys: (0..80).map(|i| format!("k{i}")).collect(),
        },
        Template::RandomWalk {
            keys: vec!["t".into(), "h \"q\"".into(), "t".into(), "é".into()],
        },
        Template::Custom {
            json: r#"{"t": {"$random": [20, 30]}, "f": {"$random": [0.5, 1.5]}, "n": {"$seq": 1},
                "s": {"$choice": ["a", "b\n"]}, "w": {"$sine": [0, 10, 60]}, "at": {"$time": "ms"},
                "who": {"$device": ""}, "fixed": {"unit": "kWh", "v": [1, {"$seq": 0}]}}"#
                .into(),
        },
    ];
    for template in &templates {
        for max in [65_536, 3_000] {
            let (map_way, batch) = both_ways(template, 150, 400);
            assert_eq!(batch.entries(), 400);
            let mut a = connected_with_max(max);
            let mut b = connected_with_max(max);
            let counted_a = a.gw.send_telemetry_counted(a.now, &map_way).unwrap();
            let counted_b = b.gw.send_telemetry_batch(b.now, &batch).unwrap();
            let (payloads_a, payloads_b) = (telemetry_payloads(&mut a), telemetry_payloads(&mut b));
            assert!(!payloads_a.is_empty());
            assert_eq!(payloads_a, payloads_b, "{template:?} {max}");
            let counts = |c: &[SentTelemetry]| -> Vec<(u64, u64)> {
                c.iter().map(|s| (s.entries, s.points)).collect()
            };
            assert_eq!(counts(&counted_a), counts(&counted_b), "{template:?} {max}");
            let points: u64 = counted_b.iter().map(|s| s.points).sum();
            assert_eq!(points, batch.points());
            let old: Vec<(u64, u64)> = payloads_b.iter().map(|p| old_count(p)).collect();
            assert_eq!(counts(&counted_b), old, "{template:?} {max}");
        }
    }
}

#[test]
fn a_batch_follows_renames_merging_two_devices_that_are_one_device_by_device() {
    let mut h = connected_with_max(65_536);
    for d in ["Old", "New", "Other"] {
        h.gw.connect_device(h.now, d, None).unwrap();
    }
    let body = json!({"method": "gateway_device_renamed", "params": {"Old": "New"}});
    h.push("v1/devices/me/rpc/request/40", &body.to_string());
    h.take_events();
    h.sent.clear();
    let mut batch = TelemetryBatch::new();
    for (d, n) in [("New", 1), ("Other", 2), ("Old", 3), ("New", 4), ("Old", 5)] {
        batch.timed(d, n as u64, |v| {
            v.put("v", &n);
            v.put("w", &(n * 2));
        });
    }
    let counted = h.gw.send_telemetry_batch(h.now, &batch).unwrap();
    let payloads = telemetry_payloads(&mut h);
    // The map way would interleave "Old"'s entries with "New"'s in batch
    // order (1, 3, 4, 5); a batch keeps each device's entries together,
    // "Old"'s after "New"'s (1, 4, 3, 5). The server stores them by "ts".
    assert_eq!(
        std::str::from_utf8(&payloads[0]).unwrap(),
        r#"{"New":[{"ts":1,"values":{"v":1,"w":2}},{"ts":4,"values":{"v":4,"w":8}},{"ts":3,"values":{"v":3,"w":6}},{"ts":5,"values":{"v":5,"w":10}}],"Other":[{"ts":2,"values":{"v":2,"w":4}}]}"#
    );
    assert_eq!(payloads.len(), 1);
    assert_eq!((counted[0].entries, counted[0].points), (5, 10));
    // Cut between its entries, the merged device stays in order.
    let mut small = connected_with_max(120);
    for d in ["Old", "New"] {
        small.gw.connect_device(small.now, d, None).unwrap();
    }
    small.push("v1/devices/me/rpc/request/40", &body.to_string());
    small.take_events();
    small.sent.clear();
    let counted = small.gw.send_telemetry_batch(small.now, &batch).unwrap();
    let ts: Vec<u64> = telemetry_payloads(&mut small)
        .iter()
        .flat_map(|p| {
            let body: Map<String, Value> = serde_json::from_slice(p).unwrap();
            body.into_iter()
                .flat_map(|(_, entries)| entries.as_array().unwrap().clone())
                .map(|e| e["ts"].as_u64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ts, [1, 4, 3, 5, 2]);
    assert_eq!(counted.iter().map(|c| c.points).sum::<u64>(), 10);
}

#[test]
fn a_batch_is_refused_as_its_map_of_values_is() {
    let mut h = connected_with_max(65_536);
    let err = |h: &mut Harness, batch: &TelemetryBatch| {
        h.gw.send_telemetry_batch(h.now, batch)
            .unwrap_err()
            .to_string()
    };
    let map_err = |h: &mut Harness, batch: &[(String, Vec<TelemetryEntry>)]| {
        h.gw.send_telemetry_counted(h.now, batch)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(err(&mut h, &TelemetryBatch::new()), map_err(&mut h, &[]));
    let mut nameless = TelemetryBatch::new();
    nameless.timed("", 1, |v| v.put("a", &1));
    let nameless_map = vec![(
        String::new(),
        vec![TelemetryEntry::timed(1, obj(json!({"a": 1})))],
    )];
    assert_eq!(err(&mut h, &nameless), map_err(&mut h, &nameless_map));
    let mut empty = TelemetryBatch::new();
    empty.timed("A", 1, |v| v.put("a", &1));
    empty.timed("A", 2, |_| {});
    let empty_map = vec![(
        "A".to_string(),
        vec![
            TelemetryEntry::timed(1, obj(json!({"a": 1}))),
            TelemetryEntry::timed(2, Map::new()),
        ],
    )];
    assert_eq!(err(&mut h, &empty), map_err(&mut h, &empty_map));
    assert!(err(&mut h, &empty).contains("entry 1 of \"A\" has no values"));
    assert!(telemetry_payloads(&mut h).is_empty(), "nothing is sent");
}

// ---- The old split, verbatim (c994f52's `client/split.rs`) ----

/// One `"Dev":part` member, serialized, with its data points.
struct Member<'a> {
    device: &'a str,
    bytes: Vec<u8>,
    points: u64,
}

/// The data points of a part (or of one of its items) cut as `cut`.
fn old_points(cut: Cut, value: &Value) -> u64 {
    match cut {
        Cut::Elements => entry_points(value),
        Cut::Members => match value {
            Value::Object(map) => map.len() as u64,
            _ => 1,
        },
        Cut::Never => 0,
    }
}

fn json(value: &impl serde::Serialize) -> Vec<u8> {
    // Strings and `Value`s always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Split `body` (device name to part) into messages of at most `budget`
/// payload bytes, devices and their items in order, no device twice in one
/// message. Fails, naming the first device, if one piece of a part (per
/// `cut`) does not fit alone.
pub(super) fn old_split(
    body: &Map<String, Value>,
    cut: Cut,
    budget: Budget,
) -> Result<Vec<OldPiece>, Unsplittable> {
    let mut members = Vec::with_capacity(body.len());
    for (device, part) in body {
        let key = json(device);
        let mut bytes = key.clone();
        bytes.push(b':');
        bytes.extend_from_slice(&json(part));
        let part_points = if budget.points.is_some() {
            old_points(cut, part)
        } else {
            0
        };
        // `{` + member + `}`.
        if bytes.len() + 2 <= budget.bytes && part_points <= budget.max_points() {
            members.push(Member {
                device,
                bytes,
                points: part_points,
            });
            continue;
        }
        let (open, close, items): (u8, u8, Vec<(Vec<u8>, u64)>) = match (cut, part) {
            (Cut::Elements, Value::Array(items)) if items.len() > 1 => (
                b'[',
                b']',
                items
                    .iter()
                    .map(|item| (json(item), entry_points(item)))
                    .collect(),
            ),
            (Cut::Members, Value::Object(map)) if map.len() > 1 => (
                b'{',
                b'}',
                map.iter()
                    .map(|(k, v)| {
                        let mut item = json(k);
                        item.push(b':');
                        item.extend_from_slice(&json(v));
                        (item, 1)
                    })
                    .collect(),
            ),
            // Over the point budget but not cuttable: it goes whole (the
            // pacer waits for a full bucket for it).
            _ if bytes.len() + 2 <= budget.bytes => {
                members.push(Member {
                    device,
                    bytes,
                    points: part_points,
                });
                continue;
            }
            _ => {
                return Err(Unsplittable {
                    device: device.clone(),
                    payload_len: bytes.len() + 2,
                })
            }
        };
        cut_part(device, &key, (open, close), items, budget, &mut members)?;
    }
    Ok(pack(members, budget))
}

/// Cut one device's serialized `items` into members `"Dev":[..]` (or
/// `{..}`), each as full as `budget` allows, appended to `members`.
fn cut_part<'a>(
    device: &'a str,
    key: &[u8],
    (open, close): (u8, u8),
    items: Vec<(Vec<u8>, u64)>,
    budget: Budget,
    members: &mut Vec<Member<'a>>,
) -> Result<(), Unsplittable> {
    // `{` key `:` open item close `}`.
    let overhead = key.len() + 5;
    // The member being built, without its closing bracket, and its points.
    let mut current: Vec<u8> = Vec::new();
    let mut current_points = 0u64;
    for (item, item_points) in items {
        if overhead + item.len() > budget.bytes {
            return Err(Unsplittable {
                device: device.to_string(),
                payload_len: overhead + item.len(),
            });
        }
        // `,` item close, in braces.
        let over_bytes = current.len() + item.len() + 4 > budget.bytes;
        let over_points = current_points + item_points > budget.max_points();
        if !current.is_empty() && (over_bytes || over_points) {
            current.push(close);
            let bytes = std::mem::take(&mut current);
            members.push(Member {
                device,
                bytes,
                points: std::mem::take(&mut current_points),
            });
        }
        if current.is_empty() {
            current.extend_from_slice(key);
            current.push(b':');
            current.push(open);
        } else {
            current.push(b',');
        }
        current.extend_from_slice(&item);
        current_points += item_points;
    }
    current.push(close);
    members.push(Member {
        device,
        bytes: current,
        points: current_points,
    });
    Ok(())
}

/// Pack members in order into `{..}` payloads within `budget`;
/// consecutive members of one device go to separate messages.
fn pack(members: Vec<Member<'_>>, budget: Budget) -> Vec<OldPiece> {
    let mut pieces = Vec::new();
    // Bytes still to write if they all went in one message.
    let mut remaining = members.iter().map(|m| m.bytes.len() + 1).sum::<usize>() + 1;
    let mut buf: Vec<u8> = Vec::new();
    let mut devices: Vec<String> = Vec::new();
    let mut buf_points = 0u64;
    let close = |buf: &mut Vec<u8>, devices: &mut Vec<String>, pieces: &mut Vec<OldPiece>| {
        buf.push(b'}');
        pieces.push(OldPiece {
            payload: Bytes::from(std::mem::take(buf)),
            devices: std::mem::take(devices),
        });
    };
    for member in members {
        if !buf.is_empty() {
            // `,` member `}`.
            let fits = buf.len() + member.bytes.len() + 2 <= budget.bytes
                && buf_points + member.points <= budget.max_points()
                && (devices.len() as u64) < budget.entries.unwrap_or(u64::MAX);
            let repeated = devices.last().is_some_and(|d| d == member.device);
            if fits && !repeated {
                buf.push(b',');
            } else {
                close(&mut buf, &mut devices, &mut pieces);
                buf_points = 0;
            }
        }
        if buf.is_empty() {
            buf.reserve(remaining.min(budget.bytes));
            buf.push(b'{');
        }
        buf_points += member.points;
        remaining -= member.bytes.len() + 1;
        buf.extend_from_slice(&member.bytes);
        devices.push(member.device.to_string());
    }
    if !buf.is_empty() {
        close(&mut buf, &mut devices, &mut pieces);
    }
    pieces
}
