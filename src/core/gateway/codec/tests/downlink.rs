use serde_json::{json, Value};

use super::attrs;
use crate::core::gateway::codec::{
    decode, explain_disconnect_reason, AttributeResponseBody, AttributeResult, AttributeUpdate,
    CodecError, Downlink, EchoTracker,
};
use crate::core::time::Millis;

fn dec(topic: &str, payload: &str) -> Result<Downlink, CodecError> {
    decode(
        Millis(0),
        topic,
        payload.as_bytes(),
        Some(&mut EchoTracker::default()),
    )
}

/// Decoded as from ThingsBoard itself or a relay: no echo filtering.
fn direct(topic: &str, payload: &str) -> Result<Downlink, CodecError> {
    decode(Millis(0), topic, payload.as_bytes(), None)
}

#[test]
fn without_a_bridged_broker_nothing_is_taken_for_an_echo() {
    // A genuine server request with a top-level id is read as a request
    // (and refused as one), not dropped as our own reply.
    let e = direct(
        "v1/gateway/rpc",
        r#"{"device":"A","id":0,"data":{"ok":true}}"#,
    )
    .unwrap_err();
    assert!(e.reason.contains("data"), "{e}");
    let e = direct("v1/gateway/telemetry", r#"{"A":[{"x":1}]}"#).unwrap_err();
    assert!(e.reason.contains("bridged broker"), "{e}");
    assert!(matches!(
        direct(
            "v1/gateway/rpc",
            r#"{"device":"A","data":{"id":0,"method":"m"}}"#
        ),
        Ok(Downlink::RpcRequest { .. })
    ));
}

fn ok(topic: &str, payload: &str) -> Downlink {
    dec(topic, payload).unwrap_or_else(|e| panic!("{topic} {payload}: {e}"))
}

fn err(topic: &str, payload: &str) -> String {
    let e = dec(topic, payload).expect_err("must be refused");
    assert_eq!(e.topic, topic);
    let text = e.to_string();
    assert!(text.starts_with(&format!("{topic}: ")), "{text}");
    text
}

fn is_echo(d: &Downlink) -> bool {
    matches!(d, Downlink::Echo { .. })
}

#[test]
fn a_shared_attribute_update_matches_the_contract_example() {
    let d = ok(
        "v1/gateway/attributes",
        r#"{"device": "Pump 7", "data": {"setpoint": 42, "schedule": {"on": "06:00"}}}"#,
    );
    assert_eq!(
        d,
        Downlink::SharedAttributes {
            device: "Pump 7".into(),
            update: AttributeUpdate::Updated(attrs(
                json!({"setpoint": 42, "schedule": {"on": "06:00"}})
            )),
        }
    );
}

#[test]
fn a_shared_attribute_deletion_matches_the_contract_example() {
    let d = ok(
        "v1/gateway/attributes",
        r#"{"device": "Pump 7", "data": {"deleted": ["schedule"]}}"#,
    );
    assert_eq!(
        d,
        Downlink::SharedAttributes {
            device: "Pump 7".into(),
            update: AttributeUpdate::Deleted(vec!["schedule".into()]),
        }
    );
}

#[test]
fn our_client_attribute_upload_coming_back_is_an_echo() {
    let d = ok(
        "v1/gateway/attributes",
        r#"{"Pump 7": {"firmware": "1.4.2", "serial": "P7-0042"}, "Pump 8": {"firmware": "1.4.1"}}"#,
    );
    assert!(is_echo(&d), "{d:?}");
    // A device literally named "device": the value is an object, so it is ours.
    let d = ok(
        "v1/gateway/attributes",
        r#"{"device": {"a": 1}, "data": {"b": 2}}"#,
    );
    assert!(is_echo(&d), "{d:?}");
}

#[test]
fn a_shared_attribute_update_must_have_exactly_device_and_data() {
    let t = err(
        "v1/gateway/attributes",
        r#"{"device": "P", "data": {"a": 1}, "extra": 1}"#,
    );
    assert!(t.contains("\"extra\""), "{t}");
    let t = err("v1/gateway/attributes", r#"{"device": "P"}"#);
    assert!(t.ends_with("\"data\" is missing"), "{t}");
    let t = err("v1/gateway/attributes", r#"{"device": "P", "data": 5}"#);
    assert!(
        t.contains("\"data\" must be an object, got a number"),
        "{t}"
    );
    let t = err("v1/gateway/attributes", r#"{"device": "P", "data": {}}"#);
    assert!(t.contains("holds no attributes"), "{t}");
    let t = err(
        "v1/gateway/attributes",
        r#"{"device": "P", "data": {"deleted": ["a", 1]}}"#,
    );
    assert!(t.contains("\"data.deleted[1]\" must be a string"), "{t}");
    let t = err("v1/gateway/attributes", r#"{"a": 1}"#);
    assert!(t.contains("\"device\" is missing"), "{t}");
}

#[test]
fn an_attribute_response_with_value_matches_the_contract_example() {
    let d = ok(
        "v1/gateway/attributes/response",
        r#"{"id":17,"device":"Pump 7","value":42}"#,
    );
    assert_eq!(
        d,
        Downlink::AttributeResponse {
            id: 17,
            device: "Pump 7".into(),
            body: AttributeResponseBody::Value(json!(42)),
        }
    );
}

#[test]
fn an_attribute_response_with_values_matches_the_contract_example() {
    let d = ok(
        "v1/gateway/attributes/response",
        r#"{"id":18,"device":"Pump 7","values":{"firmware":"1.4.2","serial":"P7-0042"}}"#,
    );
    assert_eq!(
        d,
        Downlink::AttributeResponse {
            id: 18,
            device: "Pump 7".into(),
            body: AttributeResponseBody::Values(attrs(
                json!({"firmware":"1.4.2","serial":"P7-0042"})
            )),
        }
    );
}

#[test]
fn an_attribute_response_with_neither_value_nor_values_reads_as_not_found() {
    let d = ok(
        "v1/gateway/attributes/response",
        r#"{"id":19,"device":"Pump 7"}"#,
    );
    let Downlink::AttributeResponse { id, body, .. } = d else {
        panic!("{d:?}")
    };
    assert_eq!(id, 19);
    assert_eq!(body, AttributeResponseBody::Nothing);
    assert_eq!(
        body.resolve(&["setpoint".into()]),
        Ok(AttributeResult::NotFound)
    );
}

#[test]
fn a_lone_value_maps_to_the_single_requested_key() {
    let body = AttributeResponseBody::Value(json!(42));
    assert_eq!(
        body.resolve(&["setpoint".into()]),
        Ok(AttributeResult::Found(attrs(json!({"setpoint": 42}))))
    );
    let e = body
        .resolve(&["a".into(), "b".into()])
        .expect_err("ambiguous");
    assert!(e.contains("2 keys"), "{e}");
}

#[test]
fn values_read_as_the_keys_found() {
    let body = AttributeResponseBody::Values(attrs(json!({"a": 1})));
    assert_eq!(
        body.resolve(&["a".into(), "b".into()]),
        Ok(AttributeResult::Found(attrs(json!({"a": 1}))))
    );
}

#[test]
fn a_malformed_attribute_response_is_refused_in_words() {
    let topic = "v1/gateway/attributes/response";
    assert!(err(topic, r#"{"device":"P"}"#).ends_with("\"id\" is missing"));
    assert!(err(topic, r#"{"id":1}"#).ends_with("\"device\" is missing"));
    assert!(err(topic, r#"{"id":-1,"device":"P"}"#).contains("\"id\" must be a whole number"));
    assert!(err(topic, r#"{"id":"1","device":"P"}"#).contains("got a string"));
    assert!(err(topic, r#"{"id":1,"device":"P","value":1,"values":{}}"#).contains("both"));
    assert!(err(topic, r#"{"id":1,"device":"P","values":[1]}"#)
        .contains("\"values\" must be an object, got an array"));
    assert!(err(topic, r#"{"id":1,"device":""}"#).contains("\"device\" is empty"));
    assert!(err(topic, r#"{"id":99999999999,"device":"P"}"#).contains("too large"));
}

#[test]
fn an_rpc_request_matches_the_contract_example_with_id_0() {
    let d = ok(
        "v1/gateway/rpc",
        r#"{"device": "Pump 7", "data": {"id": 0, "method": "setSpeed", "params": {"rpm": 1200}}}"#,
    );
    assert_eq!(
        d,
        Downlink::RpcRequest {
            device: "Pump 7".into(),
            id: 0,
            method: "setSpeed".into(),
            params: json!({"rpm": 1200}),
        }
    );
}

#[test]
fn rpc_params_may_be_any_json_null_or_absent() {
    for (params, want) in [
        (r#","params":null"#, Value::Null),
        ("", Value::Null),
        (r#","params":5"#, json!(5)),
        (r#","params":"on""#, json!("on")),
        (r#","params":[1,2]"#, json!([1, 2])),
    ] {
        let payload = format!(r#"{{"device":"D","data":{{"id":3,"method":"m"{params}}}}}"#);
        let Downlink::RpcRequest { params: got, .. } = ok("v1/gateway/rpc", &payload) else {
            panic!("{payload}")
        };
        assert_eq!(got, want, "{payload}");
    }
}

#[test]
fn an_rpc_request_without_a_method_says_data_method_is_missing() {
    let t = err("v1/gateway/rpc", r#"{"device":"P","data":{"params":{}}}"#);
    assert_eq!(t, r#"v1/gateway/rpc: "data.method" is missing"#);
    let t = err("v1/gateway/rpc", r#"{"device":"P","data":{"method":"m"}}"#);
    assert_eq!(t, r#"v1/gateway/rpc: "data.id" is missing"#);
    let t = err(
        "v1/gateway/rpc",
        r#"{"device":"P","data":{"method":7,"id":1}}"#,
    );
    assert_eq!(
        t,
        r#"v1/gateway/rpc: "data.method" must be a string, got a number"#
    );
    let t = err("v1/gateway/rpc", r#"{"data":{"method":"m","id":1}}"#);
    assert_eq!(t, r#"v1/gateway/rpc: "device" is missing"#);
    let t = err("v1/gateway/rpc", r#"{"device":"P"}"#);
    assert_eq!(t, r#"v1/gateway/rpc: "data" is missing"#);
}

#[test]
fn our_rpc_reply_coming_back_on_the_rpc_topic_is_an_echo() {
    let d = ok(
        "v1/gateway/rpc",
        r#"{"device": "Pump 7", "id": 0, "data": {"ok": true, "rpm": 1200}}"#,
    );
    assert!(is_echo(&d), "{d:?}");
}

#[test]
fn disconnect_notices_explain_their_reason_in_words() {
    for (code, words) in [
        (150, "message rate too high"),
        (128, "backend error"),
        (129, "malformed: published at QoS 0"),
    ] {
        let d = ok(
            "v1/gateway/disconnect",
            &format!(r#"{{"device":"Pump 7","reason":{code}}}"#),
        );
        assert_eq!(
            d,
            Downlink::DisconnectNotice {
                device: "Pump 7".into(),
                reason: code,
                explanation: words.into(),
            }
        );
    }
    assert_eq!(explain_disconnect_reason(7), "unknown reason code 7");
    let t = err("v1/gateway/disconnect", r#"{"device":"P","reason":"x"}"#);
    assert!(t.contains("\"reason\" must be a whole number"), "{t}");
}

#[test]
fn our_disconnect_coming_back_is_an_echo() {
    let d = ok("v1/gateway/disconnect", r#"{"device":"Pump 7"}"#);
    assert!(is_echo(&d));
}

#[test]
fn anything_on_a_topic_only_we_publish_to_is_our_echo() {
    for topic in [
        "v1/gateway/connect",
        "v1/gateway/telemetry",
        "v1/gateway/attributes/request",
        "v1/gateway/claim",
        "v1/devices/me/telemetry",
        "v1/devices/me/attributes/request/3",
        "v1/devices/me/claim",
    ] {
        for payload in ["{}", "not json", r#"{"device":"x"}"#] {
            assert_eq!(
                ok(topic, payload),
                Downlink::Echo {
                    topic: topic.into()
                }
            );
        }
    }
}

#[test]
fn own_shared_attribute_updates_and_deletions_decode() {
    assert_eq!(
        ok("v1/devices/me/attributes", r#"{"interval": 5}"#),
        Downlink::OwnSharedAttributes(AttributeUpdate::Updated(attrs(json!({"interval": 5}))))
    );
    assert_eq!(
        ok("v1/devices/me/attributes", r#"{"deleted": ["interval"]}"#),
        Downlink::OwnSharedAttributes(AttributeUpdate::Deleted(vec!["interval".into()]))
    );
    let t = err("v1/devices/me/attributes", "[1]");
    assert!(t.contains("must be a JSON object, got an array"), "{t}");
    let t = err("v1/devices/me/attributes", "{}");
    assert!(t.contains("no attributes"), "{t}");
}

#[test]
fn an_own_attribute_response_has_client_and_shared_sections() {
    assert_eq!(
        ok(
            "v1/devices/me/attributes/response/4",
            r#"{"client":{"fw":"1"},"shared":{"interval":5}}"#
        ),
        Downlink::OwnAttributeResponse {
            id: 4,
            client: attrs(json!({"fw":"1"})),
            shared: attrs(json!({"interval":5})),
        }
    );
    assert_eq!(
        ok(
            "v1/devices/me/attributes/response/4",
            r#"{"shared":{"interval":5}}"#
        ),
        Downlink::OwnAttributeResponse {
            id: 4,
            client: attrs(json!({})),
            shared: attrs(json!({"interval":5})),
        }
    );
    let t = err("v1/devices/me/attributes/response/4", r#"{"other":{}}"#);
    assert!(t.contains("unexpected field \"other\""), "{t}");
    let t = err("v1/devices/me/attributes/response/4", r#"{"client":[]}"#);
    assert!(t.contains("\"client\" must be an object"), "{t}");
}

#[test]
fn a_server_rpc_to_the_gateway_itself_decodes_with_the_topic_id() {
    assert_eq!(
        ok(
            "v1/devices/me/rpc/request/0",
            r#"{"method":"reboot","params":{"delay":1}}"#
        ),
        Downlink::OwnRpcRequest {
            id: 0,
            method: "reboot".into(),
            params: json!({"delay":1}),
        }
    );
    assert_eq!(
        ok("v1/devices/me/rpc/request/2", r#"{"method":"ping"}"#),
        Downlink::OwnRpcRequest {
            id: 2,
            method: "ping".into(),
            params: Value::Null,
        }
    );
    let t = err("v1/devices/me/rpc/request/2", r#"{"params":1}"#);
    assert!(t.ends_with("\"method\" is missing"), "{t}");
}

#[test]
fn device_rename_and_deletion_notices_decode() {
    assert_eq!(
        ok(
            "v1/devices/me/rpc/request/8",
            r#"{"method":"gateway_device_renamed","params":{"Old name":"New name"}}"#
        ),
        Downlink::DeviceRenamed {
            rpc_id: 8,
            old: "Old name".into(),
            new: "New name".into(),
        }
    );
    assert_eq!(
        ok(
            "v1/devices/me/rpc/request/9",
            r#"{"method":"gateway_device_deleted","params":"Old name"}"#
        ),
        Downlink::DeviceDeleted {
            rpc_id: 9,
            device: "Old name".into(),
        }
    );
}

#[test]
fn malformed_rename_and_deletion_notices_are_refused() {
    let topic = "v1/devices/me/rpc/request/8";
    for bad in [
        r#"{"method":"gateway_device_renamed","params":"x"}"#,
        r#"{"method":"gateway_device_renamed","params":{}}"#,
        r#"{"method":"gateway_device_renamed","params":{"a":"b","c":"d"}}"#,
        r#"{"method":"gateway_device_renamed","params":{"a":1}}"#,
        r#"{"method":"gateway_device_deleted","params":{"a":"b"}}"#,
        r#"{"method":"gateway_device_deleted"}"#,
    ] {
        let t = err(topic, bad);
        assert!(t.contains("gateway_device_"), "{t}");
    }
}

#[test]
fn a_client_side_rpc_answer_is_any_json_including_the_session_limits() {
    let limits = r#"{"maxPayloadSize":65536,"maxInflightMessages":100,
 "rateLimits":{"messages":"10:1","telemetryMessages":null,"telemetryDataPoints":null},
 "gatewayRateLimits":{"messages":null,"telemetryMessages":null,"telemetryDataPoints":null}}"#;
    let Downlink::OwnRpcResponse { id, body } = ok("v1/devices/me/rpc/response/1", limits) else {
        panic!()
    };
    assert_eq!(id, 1);
    assert_eq!(body["maxPayloadSize"], json!(65536));
    assert_eq!(
        ok("v1/devices/me/rpc/response/2", r#"{"error":"timeout"}"#),
        Downlink::OwnRpcResponse {
            id: 2,
            body: json!({"error":"timeout"})
        }
    );
    assert_eq!(
        ok("v1/devices/me/rpc/response/3", "17"),
        Downlink::OwnRpcResponse {
            id: 3,
            body: json!(17)
        }
    );
    let t = err("v1/devices/me/rpc/response/3", "{oops");
    assert!(t.contains("not valid JSON"), "{t}");
    let t = err("v1/devices/me/rpc/response/99999999999", "1");
    assert!(t.contains("no call of ours"), "{t}");
}

#[test]
fn unknown_topics_and_bad_topic_ids_are_refused_with_the_topic() {
    let t = err("v1/gateway/unknown", "{}");
    assert!(t.contains("not a topic"), "{t}");
    let t = err("v1/devices/me/rpc/request/x", r#"{"method":"m"}"#);
    assert!(t.contains("request id"), "{t}");
}

#[test]
fn non_objects_and_invalid_json_are_refused_on_every_server_topic() {
    for topic in [
        "v1/gateway/attributes",
        "v1/gateway/attributes/response",
        "v1/gateway/rpc",
        "v1/gateway/disconnect",
        "v1/devices/me/attributes",
        "v1/devices/me/attributes/response/1",
        "v1/devices/me/rpc/request/1",
    ] {
        for payload in ["", "nope", "[1]", "\"s\"", "3", "null", "{\"a\":"] {
            let t = err(topic, payload);
            assert!(
                t.contains("JSON object") || t.contains("not valid JSON"),
                "{topic} {payload}: {t}"
            );
        }
    }
}

#[test]
fn device_names_with_quotes_markup_and_unicode_decode_unchanged() {
    for name in ["say \"hi\"", "<img src=x onerror=alert(1)>", "水泵 🚰"] {
        let payload = json!({"device": name, "data": {"id": 1, "method": name}}).to_string();
        let d = ok("v1/gateway/rpc", &payload);
        assert_eq!(
            d,
            Downlink::RpcRequest {
                device: name.into(),
                id: 1,
                method: name.into(),
                params: Value::Null
            }
        );
    }
}

/// A small deterministic generator, so the garbage is the same every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn garbage_on_any_topic_never_panics_and_errors_name_the_topic() {
    let topics = [
        "v1/gateway/attributes",
        "v1/gateway/attributes/response",
        "v1/gateway/rpc",
        "v1/gateway/disconnect",
        "v1/gateway/connect",
        "v1/devices/me/attributes",
        "v1/devices/me/attributes/response/1",
        "v1/devices/me/rpc/request/1",
        "v1/devices/me/rpc/response/1",
        "v1/devices/me/rpc/request/",
        "",
        "\u{0}",
    ];
    let seeds = [
        r#"{"device":"P","data":{"id":0,"method":"m","params":null}}"#,
        r#"{"device":"P","data":{"deleted":["a"]}}"#,
        r#"{"id":1,"device":"P","values":{"a":1}}"#,
        r#"{"method":"gateway_device_renamed","params":{"a":"b"}}"#,
        r#"{"client":{"a":1},"shared":{}}"#,
    ];
    let mut rng = Lcg(7);
    let mut echoes = EchoTracker::default();
    for round in 0..4000 {
        let topic = topics[(rng.next() as usize) % topics.len()];
        let payload: Vec<u8> = if round % 2 == 0 {
            let len = (rng.next() % 40) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            let mut p = seeds[(rng.next() as usize) % seeds.len()]
                .as_bytes()
                .to_vec();
            for _ in 0..(rng.next() % 4) {
                let i = (rng.next() as usize) % p.len();
                p[i] = b"{}[]\":,0a-1 n"[(rng.next() as usize) % 13];
            }
            p
        };
        if let Err(e) = decode(Millis(round), topic, &payload, Some(&mut echoes)) {
            assert_eq!(e.topic, topic);
            assert!(!e.reason.is_empty());
        }
    }
}
