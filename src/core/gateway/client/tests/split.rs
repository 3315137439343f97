//! Multi-device messages over the maximum packet size are split into
//! several, each within the limit as the session encodes it, in order.

use bytes::BytesMut;
use mqttbytes::v4::{self, Packet, PubAck, Publish};
use mqttbytes::QoS;
use serde_json::{json, Map, Value};

use super::harness::Harness;
use crate::core::gateway::codec::{Attributes, TelemetryEntry, Uplink};
use crate::core::gateway::{GatewayError, GatewayEvent};
use crate::core::mqtt::{ConnectOptions, Credentials, Event, Protocol, PublishId};

const TELEMETRY: &str = "v1/gateway/telemetry";
const ATTRIBUTES: &str = "v1/gateway/attributes";

fn obj(v: Value) -> Attributes {
    v.as_object().unwrap().clone()
}

/// What the gateway transmitted since the last drain, taken before the
/// broker sees it: every PUBLISH with its size on the wire.
fn transmitted(h: &mut Harness) -> Vec<(usize, Publish)> {
    let mut out = Vec::new();
    while let Some(bytes) = h.gw.poll_transmit() {
        let mut stream = BytesMut::from(&bytes[..]);
        while !stream.is_empty() {
            let before = stream.len();
            let packet = v4::read(&mut stream, usize::MAX).expect("valid MQTT");
            if let Packet::Publish(p) = packet {
                out.push((before - stream.len(), p));
            }
        }
    }
    out
}

/// The broker acknowledges `publishes`; returns the ids the gateway reports acked.
fn ack(h: &mut Harness, publishes: &[(usize, Publish)]) -> Vec<PublishId> {
    let mut buf = BytesMut::new();
    for (_, p) in publishes {
        PubAck::new(p.pkid).write(&mut buf).unwrap();
    }
    h.feed(&buf);
    h.take_events()
        .into_iter()
        .filter_map(|e| match e {
            GatewayEvent::Settled(Event::Acked(id)) => Some(id),
            _ => None,
        })
        .collect()
}

/// The body of a publish, keys in document order.
fn body(p: &Publish) -> Map<String, Value> {
    match serde_json::from_slice(&p.payload).expect("JSON payload") {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A connected gateway whose session has `max_packet_size` = `max`.
fn connected_with_max(max: usize) -> Harness {
    let mut h = Harness::new();
    let mut options = ConnectOptions::new("gw", Credentials::AccessToken("token".into()));
    options.protocol = Protocol::V311;
    options.max_packet_size = max;
    options.max_inflight = u16::MAX;
    h.gw.set_options(options);
    // An answer that fits the tiniest packet limit: no limits.
    h.limits = Some(json!({}));
    h.open();
    h.take_published();
    h.take_events();
    h
}

#[test]
fn two_thousand_devices_in_one_call_go_out_as_several_messages_each_within_65536_bytes_in_order() {
    let mut h = Harness::connected();
    h.take_published();
    h.take_events();
    let names: Vec<String> = (0..2_000).map(|i| format!("Device {i:04}")).collect();
    let batch: Vec<(String, Vec<TelemetryEntry>)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values = obj(json!({"temperature": 21.5, "humidity": i, "pressure": 1013.25}));
            (
                name.clone(),
                vec![TelemetryEntry::timed(1_767_225_600_000 + i as u64, values)],
            )
        })
        .collect();
    let ids = h.gw.send_telemetry(h.now, &batch).unwrap();
    let sent = transmitted(&mut h);
    assert!(ids.len() >= 3, "{} messages", ids.len());
    assert_eq!(sent.len(), ids.len());
    let mut seen = Vec::new();
    for (size, p) in &sent {
        assert_eq!(p.topic, TELEMETRY);
        assert!(*size <= 65_536, "a {size}-byte PUBLISH");
        assert_eq!(
            *size,
            h.gw.session()
                .publish_size(TELEMETRY, p.payload.len(), QoS::AtLeastOnce)
        );
        for (device, entries) in body(p) {
            let i = seen.len();
            let want = json!([{"ts": 1_767_225_600_000u64 + i as u64,
                "values": {"temperature": 21.5, "humidity": i, "pressure": 1013.25}}]);
            assert_eq!(entries, want, "{device}");
            seen.push(device);
        }
    }
    // Every device exactly once, in the order of the call.
    assert_eq!(seen, names);
    // Each message is acknowledged under the id returned for it, in order.
    assert_eq!(ack(&mut h, &sent), ids);
    let d = h.gw.model().devices().get("Device 1999").unwrap();
    assert_eq!(d.telemetry_sent, 1);
}

#[test]
fn a_device_whose_entries_alone_are_too_big_is_split_between_its_entries_in_order() {
    let mut h = Harness::connected();
    h.take_published();
    let small = |n: u64| vec![TelemetryEntry::timed(n, obj(json!({"x": n})))];
    let big: Vec<TelemetryEntry> = (0..600)
        .map(|i| TelemetryEntry::timed(i, obj(json!({"blob": "b".repeat(200), "i": i}))))
        .collect();
    let batch = vec![
        ("A".to_string(), small(1)),
        ("Big".to_string(), big.clone()),
        ("C".to_string(), small(3)),
    ];
    let ids = h.gw.send_telemetry(h.now, &batch).unwrap();
    let sent = transmitted(&mut h);
    assert_eq!(sent.len(), ids.len());
    assert!(ids.len() >= 3, "{} messages", ids.len());
    let mut flat: Vec<(String, Value)> = Vec::new();
    for (size, p) in &sent {
        assert!(*size <= 65_536, "a {size}-byte PUBLISH");
        for (device, entries) in body(p) {
            for entry in entries.as_array().unwrap() {
                flat.push((device.clone(), entry.clone()));
            }
        }
    }
    let want: Vec<(String, Value)> = batch
        .iter()
        .flat_map(|(d, entries)| {
            entries.iter().map(move |e| {
                let TelemetryEntry::Timed { ts, values } = e else {
                    unreachable!()
                };
                (d.clone(), json!({"ts": ts, "values": values}))
            })
        })
        .collect();
    assert_eq!(flat, want);
    // Counted once per message that included the device.
    let parts_of_big = sent
        .iter()
        .filter(|(_, p)| body(p).contains_key("Big"))
        .count() as u64;
    assert!(parts_of_big >= 2);
    let d = h.gw.model().devices().get("Big").unwrap();
    assert_eq!(d.telemetry_sent, parts_of_big);
}

#[test]
fn every_message_fits_the_packet_limit_whatever_the_limit() {
    // Many limits around the remaining-length boundaries (127, 16 383).
    let maxes = (120..=160).chain([200, 255, 300, 16_380, 16_385, 16_390]);
    for max in maxes {
        let mut h = connected_with_max(max);
        let batch: Vec<(String, Vec<TelemetryEntry>)> = (0..40)
            .map(|i| {
                let entries = (0..1 + i % 4)
                    .map(|j| {
                        let text = "v".repeat((i * 7 + j * 3) % 25);
                        TelemetryEntry::flat(obj(json!({ format!("k{j}"): text })))
                    })
                    .collect();
                (format!("D{i}"), entries)
            })
            .collect();
        let ids = h.gw.send_telemetry(h.now, &batch).unwrap();
        let sent = transmitted(&mut h);
        assert_eq!(sent.len(), ids.len(), "max {max}");
        let mut flat = Vec::new();
        for (size, p) in &sent {
            assert!(*size <= max, "a {size}-byte PUBLISH over {max}");
            for (device, entries) in body(p) {
                for entry in entries.as_array().unwrap() {
                    flat.push((device.clone(), entry.clone()));
                }
            }
        }
        let want: Vec<(String, Value)> = batch
            .iter()
            .flat_map(|(d, entries)| {
                entries
                    .iter()
                    .map(move |e| (d.clone(), Value::Object(e.values().clone())))
            })
            .collect();
        assert_eq!(flat, want, "max {max}");
    }
}

#[test]
fn a_batch_that_fits_is_one_message_byte_for_byte_the_unsplit_encoding() {
    let mut h = Harness::connected();
    h.take_published();
    let batch = vec![
        (
            "Pump \"7\"".to_string(),
            vec![TelemetryEntry::timed(
                5,
                obj(json!({"flow": 1.5, "é": "水"})),
            )],
        ),
        (
            "Pump 8".to_string(),
            vec![TelemetryEntry::flat(obj(json!({"p": null})))],
        ),
        (
            "Pump \"7\"".to_string(),
            vec![TelemetryEntry::flat(obj(json!({"on": true})))],
        ),
    ];
    let ids = h.gw.send_telemetry(h.now, &batch).unwrap();
    assert_eq!(ids.len(), 1);
    let sent = transmitted(&mut h);
    let want = Uplink::Telemetry(batch).encode().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.payload, want.payload);
    // Repeated devices are merged, and devices keep the order of the call.
    let keys: Vec<String> = body(&sent[0].1).keys().cloned().collect();
    assert_eq!(keys, ["Pump \"7\"", "Pump 8"]);
}

#[test]
fn an_entry_too_big_for_any_message_is_refused_naming_the_device_and_size_and_nothing_is_sent() {
    let mut h = Harness::connected();
    h.take_published();
    let blob = "x".repeat(70_000);
    let batch = vec![
        ("A", vec![TelemetryEntry::flat(obj(json!({"x": 1})))]),
        (
            "Huge",
            vec![
                TelemetryEntry::flat(obj(json!({"y": 2}))),
                TelemetryEntry::flat(obj(json!({ "blob": blob }))),
            ],
        ),
    ];
    let err = h.gw.send_telemetry(h.now, &batch).unwrap_err();
    let payload_len = format!(r#"{{"Huge":[{{"blob":"{blob}"}}]}}"#).len();
    let size =
        h.gw.session()
            .publish_size(TELEMETRY, payload_len, QoS::AtLeastOnce);
    assert_eq!(
        err,
        GatewayError::TooLarge {
            device: "Huge".into(),
            part: "one telemetry entry",
            topic: TELEMETRY.into(),
            size,
            max: 65_536,
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("\"Huge\"") && text.contains(&size.to_string()),
        "{text}"
    );
    assert!(text.contains("nothing was sent"), "{text}");
    assert!(transmitted(&mut h).is_empty());
    assert!(h.gw.model().devices().get("A").is_none());
}

#[test]
fn attributes_over_the_limit_are_split_by_device_and_then_by_key() {
    let mut h = Harness::connected();
    h.take_published();
    let mut batch: Vec<(String, Attributes)> = (0..2_000)
        .map(|i| {
            let attrs = obj(json!({"firmware": "1.4.2", "serial": format!("P-{i:05}")}));
            (format!("Device {i:04}"), attrs)
        })
        .collect();
    let many: Attributes = (0..1_000)
        .map(|k| (format!("key{k:04}"), json!("a".repeat(100))))
        .collect();
    batch.insert(1_000, ("Wide".to_string(), many.clone()));
    let ids = h.gw.send_attributes(h.now, &batch).unwrap();
    let sent = transmitted(&mut h);
    assert_eq!(sent.len(), ids.len());
    assert!(ids.len() >= 4, "{} messages", ids.len());
    let mut devices: Vec<String> = Vec::new();
    let mut wide = Attributes::new();
    for (size, p) in &sent {
        assert_eq!(p.topic, ATTRIBUTES);
        assert!(*size <= 65_536, "a {size}-byte PUBLISH");
        for (device, attrs) in body(p) {
            if device == "Wide" {
                wide.extend(attrs.as_object().unwrap().clone());
            }
            if devices.last() != Some(&device) {
                devices.push(device);
            }
        }
    }
    let want: Vec<String> = batch.iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(devices, want);
    assert_eq!(wide, many);
}

#[test]
fn a_claim_over_the_packet_limit_is_refused_naming_the_device() {
    let mut h = Harness::connected();
    h.take_published();
    let err =
        h.gw.claim(h.now, "Pump 7", Some("s".repeat(70_000)), None)
            .unwrap_err();
    assert!(
        matches!(&err, GatewayError::TooLarge { device, part: "its claim", max: 65_536, size, .. }
            if device == "Pump 7" && *size > 70_000),
        "{err:?}"
    );
    assert!(transmitted(&mut h).is_empty());
}

#[test]
fn a_counted_batch_tells_each_message_its_entries_and_data_points_and_they_add_up() {
    let mut h = Harness::connected();
    h.take_published();
    h.take_events();
    let batch: Vec<(String, Vec<TelemetryEntry>)> = (0..2_000)
        .map(|i| {
            let values = obj(json!({"pulseCounter": i, "leakage": false, "batteryLevel": 90}));
            let entries = vec![
                TelemetryEntry::timed(1_000 + i as u64, values.clone()),
                TelemetryEntry::timed(2_000 + i as u64, values),
            ];
            (format!("Meter-{i}"), entries)
        })
        .collect();
    let counted = h.gw.send_telemetry_counted(h.now, &batch).unwrap();
    let sent = transmitted(&mut h);
    assert!(counted.len() >= 2, "{} messages", counted.len());
    assert_eq!(counted.iter().map(|c| c.entries).sum::<u64>(), 4_000);
    assert_eq!(counted.iter().map(|c| c.points).sum::<u64>(), 12_000);
    for (c, (_, p)) in counted.iter().zip(&sent) {
        let entries: u64 = body(p)
            .values()
            .map(|v| v.as_array().unwrap().len() as u64)
            .sum();
        assert_eq!(c.entries, entries);
        assert_eq!(c.points, entries * 3);
    }
    let ids: Vec<PublishId> = counted.iter().map(|c| c.id).collect();
    assert_eq!(ack(&mut h, &sent), ids);
}
