use mqttbytes::QoS;
use serde_json::{json, Value};

use super::{attrs, body};
use crate::core::gateway::codec::{
    AttributeScope, ClaimRequest, CodecError, TelemetryEntry, Uplink, UPLINK_QOS,
};

fn encode(u: Uplink) -> (String, Value) {
    let e = u.encode().expect("encodes");
    let v = body(&e);
    (e.topic, v)
}

fn refuse(u: Uplink) -> CodecError {
    u.encode().expect_err("must be refused")
}

#[test]
fn every_uplink_is_published_at_qos_1() {
    assert_eq!(UPLINK_QOS, QoS::AtLeastOnce);
}

#[test]
fn connect_without_a_type_sends_the_device_alone() {
    let (topic, v) = encode(Uplink::Connect {
        device: "Pump 7".into(),
        device_type: None,
    });
    assert_eq!(topic, "v1/gateway/connect");
    assert_eq!(v, json!({"device": "Pump 7"}));
}

#[test]
fn connect_with_a_type_sends_device_and_type() {
    let (_, v) = encode(Uplink::Connect {
        device: "Pump 7".into(),
        device_type: Some("Water pump".into()),
    });
    assert_eq!(v, json!({"device": "Pump 7", "type": "Water pump"}));
}

#[test]
fn connect_refuses_an_empty_device_name_or_type() {
    let e = refuse(Uplink::Connect {
        device: "".into(),
        device_type: None,
    });
    assert_eq!(e.topic, "v1/gateway/connect");
    assert!(e.reason.contains("device name is empty"), "{e}");
    let e = refuse(Uplink::Connect {
        device: "x".into(),
        device_type: Some("".into()),
    });
    assert!(e.reason.contains("type is empty"), "{e}");
}

#[test]
fn disconnect_sends_the_device_name() {
    let (topic, v) = encode(Uplink::Disconnect {
        device: "Pump 7".into(),
    });
    assert_eq!(topic, "v1/gateway/disconnect");
    assert_eq!(v, json!({"device": "Pump 7"}));
}

#[test]
fn telemetry_for_two_devices_matches_the_contract_example() {
    let (topic, v) = encode(Uplink::Telemetry(vec![
        (
            "Pump 7".into(),
            vec![
                TelemetryEntry::timed(1767225600000, attrs(json!({"flow": 12.5, "running": true}))),
                TelemetryEntry::timed(1767225601000, attrs(json!({"flow": 12.7}))),
            ],
        ),
        (
            "Pump 8".into(),
            vec![TelemetryEntry::flat(attrs(
                json!({"pressure": 3.1, "mode": "auto"}),
            ))],
        ),
    ]));
    assert_eq!(topic, "v1/gateway/telemetry");
    assert_eq!(
        v,
        json!({
          "Pump 7": [
            {"ts": 1767225600000u64, "values": {"flow": 12.5, "running": true}},
            {"ts": 1767225601000u64, "values": {"flow": 12.7}}
          ],
          "Pump 8": [
            {"pressure": 3.1, "mode": "auto"}
          ]
        })
    );
}

#[test]
fn telemetry_merges_the_entries_of_a_repeated_device_in_order() {
    let (_, v) = encode(Uplink::Telemetry(vec![
        (
            "A".into(),
            vec![TelemetryEntry::flat(attrs(json!({"x": 1})))],
        ),
        (
            "A".into(),
            vec![TelemetryEntry::flat(attrs(json!({"x": 2})))],
        ),
    ]));
    assert_eq!(v, json!({"A": [{"x": 1}, {"x": 2}]}));
}

#[test]
fn telemetry_refuses_a_flat_key_named_metadata_with_a_clear_error() {
    let e = refuse(Uplink::Telemetry(vec![(
        "Pump 7".into(),
        vec![TelemetryEntry::flat(attrs(json!({"metadata": 1, "t": 2})))],
    )]));
    assert_eq!(e.topic, "v1/gateway/telemetry");
    let text = e.to_string();
    assert!(text.starts_with("v1/gateway/telemetry: "), "{text}");
    assert!(text.contains("\"metadata\""), "{text}");
    assert!(text.contains("Pump 7"), "{text}");
}

#[test]
fn telemetry_accepts_metadata_inside_a_timed_entry() {
    let (_, v) = encode(Uplink::Telemetry(vec![(
        "P".into(),
        vec![TelemetryEntry::timed(5, attrs(json!({"metadata": "m"})))],
    )]));
    assert_eq!(v, json!({"P": [{"ts": 5, "values": {"metadata": "m"}}]}));
}

#[test]
fn telemetry_never_writes_values_without_ts_nor_flat_ts() {
    for flat in [
        json!({"values": {"a": 1}}),
        json!({"ts": 1, "temp": 1}),
        json!({"ts": 1, "values": {"a": 1}}),
    ] {
        let e = refuse(Uplink::Telemetry(vec![(
            "P".into(),
            vec![TelemetryEntry::flat(attrs(flat.clone()))],
        )]));
        assert!(e.reason.contains("timed entry"), "{flat}: {e}");
        let e = refuse(Uplink::OwnTelemetry(vec![TelemetryEntry::flat(attrs(
            flat,
        ))]));
        assert_eq!(e.topic, "v1/devices/me/telemetry");
    }
}

#[test]
fn telemetry_refuses_empty_batches_devices_and_entries() {
    let e = refuse(Uplink::Telemetry(vec![]));
    assert!(e.reason.contains("no telemetry"), "{e}");
    let e = refuse(Uplink::Telemetry(vec![("P".into(), vec![])]));
    assert!(e.reason.contains("no telemetry entries"), "{e}");
    let e = refuse(Uplink::Telemetry(vec![(
        "P".into(),
        vec![TelemetryEntry::timed(1, attrs(json!({})))],
    )]));
    assert!(e.reason.contains("no values"), "{e}");
    let e = refuse(Uplink::Telemetry(vec![(
        "".into(),
        vec![TelemetryEntry::flat(attrs(json!({"a": 1})))],
    )]));
    assert!(e.reason.contains("device name is empty"), "{e}");
}

#[test]
fn client_attributes_for_many_devices_match_the_contract_example() {
    let (topic, v) = encode(Uplink::Attributes(vec![
        (
            "Pump 7".into(),
            attrs(json!({"firmware": "1.4.2", "serial": "P7-0042"})),
        ),
        ("Pump 8".into(), attrs(json!({"firmware": "1.4.1"}))),
    ]));
    assert_eq!(topic, "v1/gateway/attributes");
    assert_eq!(
        v,
        json!({"Pump 7": {"firmware": "1.4.2", "serial": "P7-0042"}, "Pump 8": {"firmware": "1.4.1"}})
    );
}

#[test]
fn client_attributes_refuse_an_empty_batch_or_device() {
    assert!(refuse(Uplink::Attributes(vec![]))
        .reason
        .contains("no attributes"));
    let e = refuse(Uplink::Attributes(vec![("P".into(), attrs(json!({})))]));
    assert!(e.reason.contains("has no attributes"), "{e}");
}

#[test]
fn an_attribute_request_for_one_key_uses_key() {
    let (topic, v) = encode(Uplink::AttributeRequest {
        id: 17,
        device: "Pump 7".into(),
        scope: AttributeScope::Shared,
        keys: vec!["setpoint".into()],
    });
    assert_eq!(topic, "v1/gateway/attributes/request");
    assert_eq!(
        v,
        json!({"id": 17, "device": "Pump 7", "client": false, "key": "setpoint"})
    );
}

#[test]
fn an_attribute_request_for_several_keys_uses_keys() {
    let (_, v) = encode(Uplink::AttributeRequest {
        id: 18,
        device: "Pump 7".into(),
        scope: AttributeScope::Client,
        keys: vec!["firmware".into(), "serial".into()],
    });
    assert_eq!(
        v,
        json!({"id": 18, "device": "Pump 7", "client": true, "keys": ["firmware", "serial"]})
    );
    assert!(v.get("shared").is_none());
}

#[test]
fn an_attribute_request_never_sends_an_empty_key_list() {
    let e = refuse(Uplink::AttributeRequest {
        id: 1,
        device: "P".into(),
        scope: AttributeScope::Client,
        keys: vec![],
    });
    assert_eq!(e.topic, "v1/gateway/attributes/request");
    assert!(e.reason.contains("no attribute keys"), "{e}");
}

#[test]
fn an_attribute_request_refuses_an_id_the_server_cannot_read() {
    let e = refuse(Uplink::AttributeRequest {
        id: i32::MAX as u32 + 1,
        device: "P".into(),
        scope: AttributeScope::Client,
        keys: vec!["k".into()],
    });
    assert!(e.reason.contains("request id"), "{e}");
}

#[test]
fn an_rpc_reply_carries_data_as_a_json_value_not_a_string() {
    let (topic, v) = encode(Uplink::RpcReply {
        device: "Pump 7".into(),
        id: 0,
        data: json!({"ok": true, "rpm": 1200}),
    });
    assert_eq!(topic, "v1/gateway/rpc");
    assert_eq!(
        v,
        json!({"device": "Pump 7", "id": 0, "data": {"ok": true, "rpm": 1200}})
    );
    assert!(v["data"].is_object());
}

#[test]
fn a_claim_matches_the_contract_example() {
    let (topic, v) = encode(Uplink::Claim(vec![
        (
            "Pump 7".into(),
            ClaimRequest {
                secret_key: Some("abc123".into()),
                duration_ms: Some(60000),
            },
        ),
        ("Pump 8".into(), ClaimRequest::default()),
    ]));
    assert_eq!(topic, "v1/gateway/claim");
    assert_eq!(
        v,
        json!({"Pump 7": {"secretKey": "abc123", "durationMs": 60000}, "Pump 8": {}})
    );
}

#[test]
fn own_telemetry_is_an_object_for_one_entry_and_an_array_for_several() {
    let (topic, v) = encode(Uplink::OwnTelemetry(vec![TelemetryEntry::flat(attrs(
        json!({"k": 1}),
    ))]));
    assert_eq!(topic, "v1/devices/me/telemetry");
    assert_eq!(v, json!({"k": 1}));
    let (_, v) = encode(Uplink::OwnTelemetry(vec![
        TelemetryEntry::timed(10, attrs(json!({"k": 1}))),
        TelemetryEntry::flat(attrs(json!({"k": 2}))),
    ]));
    assert_eq!(v, json!([{"ts": 10, "values": {"k": 1}}, {"k": 2}]));
    assert!(refuse(Uplink::OwnTelemetry(vec![]))
        .reason
        .contains("no telemetry"));
}

#[test]
fn own_telemetry_allows_a_flat_metadata_key() {
    let (_, v) = encode(Uplink::OwnTelemetry(vec![TelemetryEntry::flat(attrs(
        json!({"metadata": 1}),
    ))]));
    assert_eq!(v, json!({"metadata": 1}));
}

#[test]
fn own_attributes_are_a_flat_object() {
    let (topic, v) = encode(Uplink::OwnAttributes(attrs(json!({"fw": "1.0"}))));
    assert_eq!(topic, "v1/devices/me/attributes");
    assert_eq!(v, json!({"fw": "1.0"}));
    assert!(refuse(Uplink::OwnAttributes(attrs(json!({}))))
        .reason
        .contains("no attributes"));
}

#[test]
fn an_own_attribute_request_joins_keys_with_commas() {
    let (topic, v) = encode(Uplink::OwnAttributeRequest {
        id: 5,
        client_keys: vec!["a".into(), "b".into()],
        shared_keys: vec!["c".into()],
    });
    assert_eq!(topic, "v1/devices/me/attributes/request/5");
    assert_eq!(v, json!({"clientKeys": "a,b", "sharedKeys": "c"}));
    let (_, v) = encode(Uplink::OwnAttributeRequest {
        id: 6,
        client_keys: vec![],
        shared_keys: vec!["c".into()],
    });
    assert_eq!(v, json!({"sharedKeys": "c"}));
    let (_, v) = encode(Uplink::OwnAttributeRequest {
        id: 7,
        client_keys: vec![],
        shared_keys: vec![],
    });
    assert_eq!(v, json!({}));
}

#[test]
fn an_own_attribute_request_refuses_a_key_holding_a_comma() {
    let e = refuse(Uplink::OwnAttributeRequest {
        id: 5,
        client_keys: vec!["a,b".into()],
        shared_keys: vec![],
    });
    assert_eq!(e.topic, "v1/devices/me/attributes/request/5");
    assert!(e.reason.contains("comma"), "{e}");
}

#[test]
fn an_own_rpc_reply_is_valid_json_on_the_response_topic() {
    let (topic, v) = encode(Uplink::OwnRpcReply {
        id: 9,
        data: json!("done"),
    });
    assert_eq!(topic, "v1/devices/me/rpc/response/9");
    assert_eq!(v, json!("done"));
    let e = Uplink::OwnRpcReply {
        id: 9,
        data: json!({"ok": true}),
    }
    .encode()
    .unwrap();
    assert_eq!(&e.payload[..], br#"{"ok":true}"#);
}

#[test]
fn a_client_side_rpc_call_sends_method_and_params() {
    let (topic, v) = encode(Uplink::OwnRpcCall {
        id: 3,
        method: "getCurrentTime".into(),
        params: json!(null),
    });
    assert_eq!(topic, "v1/devices/me/rpc/request/3");
    assert_eq!(v, json!({"method": "getCurrentTime", "params": null}));
    let e = refuse(Uplink::OwnRpcCall {
        id: 3,
        method: "".into(),
        params: json!({}),
    });
    assert!(e.reason.contains("method"), "{e}");
}

#[test]
fn get_session_limits_is_a_client_side_call_with_empty_params() {
    let (topic, v) = encode(Uplink::get_session_limits(1));
    assert_eq!(topic, "v1/devices/me/rpc/request/1");
    assert_eq!(v, json!({"method": "getSessionLimits", "params": {}}));
}

#[test]
fn an_own_claim_sends_the_optional_fields_or_an_empty_object() {
    let (topic, v) = encode(Uplink::OwnClaim(ClaimRequest {
        secret_key: Some("s".into()),
        duration_ms: Some(60000),
    }));
    assert_eq!(topic, "v1/devices/me/claim");
    assert_eq!(v, json!({"secretKey": "s", "durationMs": 60000}));
    let (_, v) = encode(Uplink::OwnClaim(ClaimRequest::default()));
    assert_eq!(v, json!({}));
}

#[test]
fn device_names_with_quotes_markup_and_unicode_survive_encoding() {
    for name in [
        "say \"hi\"",
        "<img src=x onerror=alert(1)>",
        "Pompe n°7 — 水泵 🚰",
        "back\\slash\nnewline",
    ] {
        let (_, v) = encode(Uplink::Connect {
            device: name.into(),
            device_type: Some(name.into()),
        });
        assert_eq!(v, json!({"device": name, "type": name}));
        let (_, v) = encode(Uplink::Telemetry(vec![(
            name.into(),
            vec![TelemetryEntry::flat(attrs(json!({name: name})))],
        )]));
        assert_eq!(v, json!({name: [{name: name}]}));
        let (_, v) = encode(Uplink::RpcReply {
            device: name.into(),
            id: 1,
            data: json!(name),
        });
        assert_eq!(v, json!({"device": name, "id": 1, "data": name}));
    }
}
