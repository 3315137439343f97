use serde_json::json;

use super::harness::Harness;
use crate::core::gateway::codec::{AttributeResult, AttributeScope};
use crate::core::gateway::{GatewayError, GatewayEvent};

fn found(v: serde_json::Value) -> AttributeResult {
    AttributeResult::Found(v.as_object().unwrap().clone())
}

#[test]
fn a_lone_value_maps_to_the_single_requested_key() {
    let mut h = Harness::connected();
    h.take_published();
    let id =
        h.gw.request_attributes(h.now, "Pump 7", AttributeScope::Shared, &["setpoint"])
            .unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/attributes/request"),
        vec![json!({"id": id, "device": "Pump 7", "client": false, "key": "setpoint"})]
    );
    h.take_events();
    h.push(
        "v1/gateway/attributes/response",
        &json!({"id": id, "device": "Pump 7", "value": 42}).to_string(),
    );
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::AttributeResponse {
            id,
            device: "Pump 7".into(),
            scope: AttributeScope::Shared,
            keys: vec!["setpoint".into()],
            result: found(json!({"setpoint": 42})),
        }]
    );
    let shared = h.gw.model().shared_attributes("Pump 7").unwrap();
    assert_eq!(shared.get("setpoint").unwrap().value, json!(42));
    assert!(h.gw.model().requests().get(id).is_none());
}

#[test]
fn several_keys_are_requested_with_keys_and_read_from_values() {
    let mut h = Harness::connected();
    h.take_published();
    let id =
        h.gw.request_attributes(
            h.now,
            "Pump 7",
            AttributeScope::Client,
            &["firmware", "serial", "firmware"],
        )
        .unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/attributes/request"),
        vec![json!({"id": id, "device": "Pump 7", "client": true, "keys": ["firmware", "serial"]})]
    );
    h.take_events();
    h.push(
        "v1/gateway/attributes/response",
        &json!({"id": id, "device": "Pump 7", "values": {"firmware": "1.4.2"}}).to_string(),
    );
    let events = h.gateway_events();
    assert!(
        matches!(&events[..], [GatewayEvent::AttributeResponse { result, scope: AttributeScope::Client, .. }]
            if *result == found(json!({"firmware": "1.4.2"}))),
        "{events:?}"
    );
    // Client-scope answers are not shared attributes.
    assert!(h.gw.model().shared_attributes("Pump 7").is_none());
}

#[test]
fn an_attribute_response_with_neither_value_nor_values_reads_as_not_found() {
    let mut h = Harness::connected();
    let id =
        h.gw.request_attributes(h.now, "P", AttributeScope::Shared, &["nope"])
            .unwrap();
    h.take_events();
    h.push(
        "v1/gateway/attributes/response",
        &json!({"id": id, "device": "P"}).to_string(),
    );
    assert!(matches!(
        &h.gateway_events()[..],
        [GatewayEvent::AttributeResponse {
            result: AttributeResult::NotFound,
            ..
        }]
    ));
}

#[test]
fn an_attribute_request_times_out_after_20_seconds() {
    let mut h = Harness::connected();
    let id =
        h.gw.request_attributes(h.now, "P", AttributeScope::Shared, &["k"])
            .unwrap();
    h.take_events();
    h.advance(19_999);
    assert!(!h
        .gateway_events()
        .iter()
        .any(|e| matches!(e, GatewayEvent::AttributeRequestTimedOut { .. })));
    h.advance(1);
    let timed_out: Vec<GatewayEvent> = h
        .gateway_events()
        .into_iter()
        .filter(|e| matches!(e, GatewayEvent::AttributeRequestTimedOut { .. }))
        .collect();
    assert_eq!(
        timed_out,
        vec![GatewayEvent::AttributeRequestTimedOut {
            id,
            device: "P".into(),
            scope: AttributeScope::Shared,
            keys: vec!["k".into()],
        }]
    );
    // A late answer now answers nothing.
    h.push(
        "v1/gateway/attributes/response",
        &json!({"id": id, "device": "P", "value": 1}).to_string(),
    );
    let events = h.gateway_events();
    assert!(
        matches!(&events[..], [GatewayEvent::DecodeError(e)] if e.reason.contains("no pending request")),
        "{events:?}"
    );
}

#[test]
fn an_attribute_request_without_keys_is_refused_and_sends_nothing() {
    let mut h = Harness::connected();
    h.take_published();
    let pending = h.gw.model().requests().len();
    let err =
        h.gw.request_attributes::<&str>(h.now, "P", AttributeScope::Client, &[])
            .unwrap_err();
    assert!(matches!(err, GatewayError::Codec(_)));
    assert!(err.to_string().contains("no attribute keys"), "{err}");
    assert!(h.take_published().is_empty());
    assert_eq!(h.gw.model().requests().len(), pending);
}

#[test]
fn shared_attribute_updates_and_deletions_are_kept_with_their_time() {
    let mut h = Harness::connected();
    h.take_events();
    h.push(
        "v1/gateway/attributes",
        r#"{"device": "Pump 7", "data": {"setpoint": 42}}"#,
    );
    let at = h.now;
    h.now = h.now.after_ms(100);
    h.push(
        "v1/gateway/attributes",
        r#"{"device": "Pump 7", "data": {"deleted": ["schedule"]}}"#,
    );
    let events = h.gateway_events();
    assert_eq!(
        events,
        vec![
            GatewayEvent::SharedAttributes {
                device: "Pump 7".into(),
                updated: json!({"setpoint": 42}).as_object().unwrap().clone(),
                deleted: vec![],
            },
            GatewayEvent::SharedAttributes {
                device: "Pump 7".into(),
                updated: Default::default(),
                deleted: vec!["schedule".into()],
            },
        ]
    );
    let shared = h.gw.model().shared_attributes("Pump 7").unwrap();
    assert_eq!(shared.get("setpoint").unwrap().at, at);
    assert_eq!(shared.deleted().get("schedule"), Some(&h.now));
}

#[test]
fn a_malformed_server_message_becomes_a_decode_error_and_the_session_stays_up() {
    let mut h = Harness::connected();
    h.take_events();
    h.push("v1/gateway/rpc", r#"{"device":"P","data":{"id":1}}"#);
    let events = h.gateway_events();
    assert!(
        matches!(&events[..], [GatewayEvent::DecodeError(e)]
            if e.to_string() == r#"v1/gateway/rpc: "data.method" is missing"#),
        "{events:?}"
    );
    assert!(h.gw.is_connected());
}

#[test]
fn an_answer_naming_another_device_is_not_taken_for_ours() {
    // Another tab of the same gateway may use the same request id for
    // another device: the server only echoes the id.
    let mut h = Harness::connected();
    let id =
        h.gw.request_attributes(h.now, "Pump 7", AttributeScope::Shared, &["setpoint"])
            .unwrap();
    h.take_events();
    h.push(
        "v1/gateway/attributes/response",
        &json!({"id": id, "device": "Pump 8", "value": 1}).to_string(),
    );
    let events = h.gateway_events();
    assert!(
        matches!(&events[..], [GatewayEvent::DecodeError(e)] if e.to_string().contains("answers no pending request")),
        "{events:?}"
    );
    assert!(h.gw.model().shared_attributes("Pump 7").is_none());
    assert!(
        h.gw.model().requests().get(id).is_some(),
        "ours still waits"
    );
    h.push(
        "v1/gateway/attributes/response",
        &json!({"id": id, "device": "Pump 7", "value": 42}).to_string(),
    );
    assert!(matches!(
        &h.gateway_events()[..],
        [GatewayEvent::AttributeResponse { device, .. }] if device == "Pump 7"
    ));
}

#[test]
fn large_shared_attributes_of_many_devices_stay_within_their_bytes_and_what_is_forgotten_is_told() {
    use crate::core::gateway::model::SHARED_TOTAL_BYTES;
    let mut h = Harness::connected();
    h.take_events();
    let blob = "x".repeat(64 * 1024);
    let mut told = Vec::new();
    for i in 0..300 {
        let body = serde_json::json!({"device": format!("D{i}"), "data": {"blob": blob}});
        h.push("v1/gateway/attributes", &body.to_string());
        for event in h.gateway_events() {
            if let GatewayEvent::SharedAttributesForgotten { devices, total } = event {
                told.extend(devices);
                assert_eq!(total, told.len() as u64);
            }
        }
    }
    let model = h.gw.model();
    assert!(
        model.shared_bytes() <= SHARED_TOTAL_BYTES,
        "{} bytes",
        model.shared_bytes()
    );
    assert!(!told.is_empty(), "300 × 64 KiB is more than 16 MiB");
    assert_eq!(told.len() as u64, model.shared_forgotten());
    assert_eq!(told[0], "D0");
    assert_eq!(
        model.all_shared_attributes().len() + told.len(),
        300,
        "every device is kept or told forgotten"
    );
}
