use serde_json::json;

use super::harness::Harness;
use crate::core::gateway::codec::TelemetryEntry;
use crate::core::gateway::model::RpcStatus;
use crate::core::gateway::GatewayEvent;

#[test]
fn own_telemetry_and_attributes_go_to_the_device_topics() {
    let mut h = Harness::connected();
    h.take_published();
    let values = json!({"cpu": 3}).as_object().unwrap().clone();
    h.gw.send_own_telemetry(h.now, &[TelemetryEntry::flat(values.clone())])
        .unwrap();
    h.gw.send_own_attributes(h.now, &values).unwrap();
    h.gw.claim_own(h.now, Some("s".into()), None).unwrap();
    assert_eq!(
        h.take_published(),
        vec![
            ("v1/devices/me/telemetry".to_string(), json!({"cpu": 3})),
            ("v1/devices/me/attributes".to_string(), json!({"cpu": 3})),
            ("v1/devices/me/claim".to_string(), json!({"secretKey": "s"})),
        ]
    );
}

#[test]
fn an_own_attribute_request_is_answered_by_client_and_shared_sections() {
    let mut h = Harness::connected();
    h.take_published();
    let id =
        h.gw.request_own_attributes(h.now, &["fw", "serial"], &["interval"])
            .unwrap();
    assert_eq!(
        h.take_published_on(&format!("v1/devices/me/attributes/request/{id}")),
        vec![json!({"clientKeys": "fw,serial", "sharedKeys": "interval"})]
    );
    h.take_events();
    h.push(
        &format!("v1/devices/me/attributes/response/{id}"),
        r#"{"client":{"fw":"1"},"shared":{"interval":5}}"#,
    );
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::OwnAttributeResponse {
            id,
            client: json!({"fw":"1"}).as_object().unwrap().clone(),
            shared: json!({"interval":5}).as_object().unwrap().clone(),
        }]
    );
    assert_eq!(
        h.gw.model().own().shared().get("interval").unwrap().value,
        json!(5)
    );
}

#[test]
fn an_own_attribute_request_times_out_after_20_seconds() {
    let mut h = Harness::connected();
    let id =
        h.gw.request_own_attributes::<&str>(h.now, &[], &[])
            .unwrap();
    h.take_events();
    h.advance(20_000);
    assert!(h
        .gateway_events()
        .contains(&GatewayEvent::OwnAttributeRequestTimedOut { id }));
}

#[test]
fn own_shared_attribute_updates_and_deletions_are_kept() {
    let mut h = Harness::connected();
    h.take_events();
    h.push("v1/devices/me/attributes", r#"{"interval": 5}"#);
    h.push("v1/devices/me/attributes", r#"{"deleted": ["interval"]}"#);
    assert_eq!(h.gateway_events().len(), 2);
    let shared = h.gw.model().own().shared();
    assert!(shared.get("interval").is_none());
    assert!(shared.deleted().contains_key("interval"));
}

#[test]
fn a_server_rpc_to_the_gateway_is_answered_on_its_response_topic() {
    let mut h = Harness::connected();
    h.take_events();
    h.push(
        "v1/devices/me/rpc/request/0",
        r#"{"method":"reboot","params":{"in":1}}"#,
    );
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::OwnRpcRequest {
            id: 0,
            method: "reboot".into(),
            params: json!({"in": 1})
        }]
    );
    h.take_published();
    h.gw.reply_own_rpc(h.now, 0, json!("ok")).unwrap();
    assert_eq!(
        h.take_published_on("v1/devices/me/rpc/response/0"),
        vec![json!("ok")]
    );
    assert!(matches!(
        h.gw.model().own().rpc().get(None, 0).unwrap().status,
        RpcStatus::Replied { .. }
    ));
    assert!(h.gw.reply_own_rpc(h.now, 0, json!("again")).is_err());
}

#[test]
fn an_unanswered_server_rpc_to_the_gateway_expires_after_10_seconds() {
    let mut h = Harness::connected();
    h.push("v1/devices/me/rpc/request/3", r#"{"method":"slow"}"#);
    h.take_events();
    h.advance(10_000);
    assert!(h.gateway_events().contains(&GatewayEvent::OwnRpcExpired {
        id: 3,
        method: "slow".into()
    }));
}

#[test]
fn a_client_side_call_gets_its_answer_with_its_method() {
    let mut h = Harness::connected();
    h.take_published();
    let id =
        h.gw.call_own_rpc(h.now, "getCurrentTime", json!(null))
            .unwrap();
    assert_eq!(
        h.take_published_on(&format!("v1/devices/me/rpc/request/{id}")),
        vec![json!({"method": "getCurrentTime", "params": null})]
    );
    h.take_events();
    h.push(
        &format!("v1/devices/me/rpc/response/{id}"),
        r#"{"error":"timeout"}"#,
    );
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::OwnRpcResponse {
            id,
            method: Some("getCurrentTime".into()),
            response: json!({"error": "timeout"})
        }]
    );
}

#[test]
fn an_unanswered_client_side_call_times_out() {
    let mut h = Harness::connected();
    let id = h.gw.call_own_rpc(h.now, "noAnswer", json!({})).unwrap();
    h.take_events();
    h.advance(65_000);
    assert!(h
        .gateway_events()
        .contains(&GatewayEvent::OwnRpcCallTimedOut {
            id,
            method: "noAnswer".into()
        }));
}
