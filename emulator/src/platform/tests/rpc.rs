//! Server-side RPC (contract §3.7, REST §4) and rename/delete notices (REST §5).

use super::*;
use crate::platform::{RpcCall, RpcReply, RpcStatus};
use serde_json::json;

fn call(method: &str) -> RpcCall {
    RpcCall {
        method: method.into(),
        params: json!({"pin": 7}),
        ..RpcCall::default()
    }
}

#[test]
fn rpc_ids_start_at_0_per_device_and_go_to_the_gateway_session() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V5);
    publish(&mut p, s, "v1/gateway/connect", r#"{"device":"A"}"#, T0);
    publish(&mut p, s, "v1/gateway/connect", r#"{"device":"B"}"#, T0);
    let (a, b) = (id_of(&p, "A"), id_of(&p, "B"));
    p.send_rpc(a, call("m"), T0).unwrap();
    p.send_rpc(a, call("m"), T0).unwrap();
    p.send_rpc(b, call("m"), T0).unwrap();
    let ids: Vec<(String, i64)> = pushes(&mut p)
        .into_iter()
        .map(|(_, topic, body)| {
            assert_eq!(topic, "v1/gateway/rpc");
            (
                body["device"].as_str().unwrap().to_string(),
                body["data"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids, vec![("A".into(), 0), ("A".into(), 1), ("B".into(), 0)]);
}

#[test]
fn a_reply_completes_a_two_way_call_and_a_late_one_is_stale() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V5);
    publish(&mut p, s, "v1/gateway/connect", r#"{"device":"A"}"#, T0);
    let rpc = p.send_rpc(id_of(&p, "A"), call("m"), T0).unwrap();
    assert_eq!(p.rpc(rpc).unwrap().status, RpcStatus::Sent);
    let reply = r#"{"device":"A","id":0,"data":{"ok":true}}"#;
    assert_eq!(publish(&mut p, s, "v1/gateway/rpc", reply, T0 + 1), ok());
    let r = p.rpc(rpc).unwrap();
    assert_eq!(r.status, RpcStatus::Successful);
    assert_eq!(r.reply, Some(RpcReply::Json(json!({"ok": true}))));
    assert_eq!(publish(&mut p, s, "v1/gateway/rpc", reply, T0 + 2), ok());
    assert!(p.errors().last().unwrap().problem.contains("stale"));
}

#[test]
fn a_request_for_an_offline_device_is_held_until_it_connects() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V5);
    publish(&mut p, s, "v1/gateway/connect", r#"{"device":"A"}"#, T0);
    publish(&mut p, s, "v1/gateway/disconnect", r#"{"device":"A"}"#, T0);
    p.take_effects();
    let rpc = p.send_rpc(id_of(&p, "A"), call("m"), T0).unwrap();
    assert_eq!(p.rpc(rpc).unwrap().status, RpcStatus::Queued);
    assert!(pushes(&mut p).is_empty());
    publish(
        &mut p,
        s,
        "v1/gateway/connect",
        r#"{"device":"A"}"#,
        T0 + 100,
    );
    let out = pushes(&mut p);
    assert_eq!(out[0].1, "v1/gateway/rpc");
    assert_eq!(p.rpc(rpc).unwrap().status, RpcStatus::Sent);
}

#[test]
fn unanswered_requests_time_out_and_undelivered_ones_expire() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V5);
    publish(&mut p, s, "v1/gateway/connect", r#"{"device":"A"}"#, T0);
    let sent = p.send_rpc(id_of(&p, "A"), call("m"), T0).unwrap();
    let held = p
        .send_rpc(id_of(&p, "Test Device A1"), call("m"), T0)
        .unwrap();
    // The minimum timeout is 5 s even when 1 s is asked for.
    let short = p
        .send_rpc(
            id_of(&p, "A"),
            RpcCall {
                timeout_ms: Some(1000),
                ..call("m")
            },
            T0,
        )
        .unwrap();
    assert_eq!(p.rpc(short).unwrap().expiration_time, T0 + 5000);
    p.tick(T0 + 9_999);
    assert_eq!(p.rpc(sent).unwrap().status, RpcStatus::Sent);
    p.tick(T0 + 10_000);
    assert_eq!(p.rpc(sent).unwrap().status, RpcStatus::Timeout);
    assert_eq!(p.rpc(held).unwrap().status, RpcStatus::Expired);
}

#[test]
fn a_one_way_call_is_successful_once_pushed() {
    let mut p = platform();
    let s = connect(&mut p, "A1_TEST_TOKEN", MqttVersion::V311);
    p.subscribe(s, &[("v1/devices/me/rpc/request/+".into(), 1)], T0);
    let rpc = p
        .send_rpc(
            id_of(&p, "Test Device A1"),
            RpcCall {
                oneway: true,
                persistent: true,
                ..call("setGpio")
            },
            T0,
        )
        .unwrap();
    assert_eq!(p.rpc(rpc).unwrap().status, RpcStatus::Successful);
    assert_eq!(
        pushes(&mut p),
        vec![(
            s,
            "v1/devices/me/rpc/request/0".into(),
            json!({"method":"setGpio","params":{"pin":7}})
        )]
    );
    let view = p.rpc(rpc).unwrap().to_json(p.tenant_id());
    assert_eq!(view["status"], "SUCCESSFUL");
    assert_eq!(view["request"]["body"]["params"], "{\"pin\":7}");
    assert_eq!(view["request"]["oneway"], true);
}

#[test]
fn a_device_level_reply_that_is_not_json_is_kept_as_text() {
    let mut p = platform();
    let s = connect(&mut p, "A1_TEST_TOKEN", MqttVersion::V5);
    let rpc = p
        .send_rpc(id_of(&p, "Test Device A1"), call("m"), T0)
        .unwrap();
    assert_eq!(
        publish(&mut p, s, "v1/devices/me/rpc/response/0", "plain", T0),
        ok()
    );
    assert_eq!(
        p.rpc(rpc).unwrap().reply,
        Some(RpcReply::NotJson("plain".into()))
    );
}

#[test]
fn a_rename_sends_gateway_device_renamed_to_the_last_connected_gateway_once_it_subscribes() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V5);
    publish(&mut p, s, "v1/gateway/connect", r#"{"device":"Old"}"#, T0);
    p.close_session(s, T0, "gone");
    p.take_effects();
    let id = id_of(&p, "Old");
    let mut body = p.device_json(p.device(id).unwrap());
    body["name"] = json!("New");
    let saved = p.save_device(&body, None, T0 + 1).unwrap();
    assert_eq!(saved["version"], 2);
    assert!(pushes(&mut p).is_empty(), "gateway offline: held");
    let gw = id_of(&p, "Gateway GW_TOKEN");
    let notice = p.rpcs_of(gw)[0].uuid;
    assert_eq!(p.rpc(notice).unwrap().status, RpcStatus::Queued);
    let s2 = connect(&mut p, GW, MqttVersion::V5);
    assert!(pushes(&mut p).is_empty(), "sent when it subscribes to RPC");
    p.subscribe(s2, &[("v1/devices/me/rpc/request/+".into(), 1)], T0 + 2);
    assert_eq!(
        pushes(&mut p),
        vec![(
            s2,
            "v1/devices/me/rpc/request/0".into(),
            json!({"method":"gateway_device_renamed","params":{"Old":"New"}})
        )]
    );
    assert_eq!(p.rpc(notice).unwrap().status, RpcStatus::Successful);
    assert!(p.rpc(notice).unwrap().persistent);
}

#[test]
fn a_delete_sends_gateway_device_deleted_at_once_to_a_connected_gateway() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V311);
    publish(&mut p, s, "v1/gateway/connect", r#"{"device":"Gone"}"#, T0);
    let id = id_of(&p, "Gone");
    let pending = p.send_rpc(id, call("m"), T0).unwrap();
    p.take_effects();
    p.delete_device(id, T0 + 1).unwrap();
    assert!(p.device_by_name("Gone").is_none());
    assert_eq!(p.rpc(pending).unwrap().status, RpcStatus::Failed);
    assert_eq!(
        pushes(&mut p),
        vec![(
            s,
            "v1/devices/me/rpc/request/0".into(),
            json!({"method":"gateway_device_deleted","params":"Gone"})
        )]
    );
}

#[test]
fn a_rename_without_last_connected_gateway_sends_nothing() {
    let mut p = platform();
    let id = id_of(&p, "Test Device A1");
    p.save_device(
        &json!({"id": {"entityType":"DEVICE","id": id.to_string()}, "name": "Renamed"}),
        None,
        T0,
    )
    .unwrap();
    assert!(p.device_by_name("Renamed").is_some());
    assert!(p.rpcs_of(id_of(&p, "Gateway GW_TOKEN")).is_empty());
}

#[test]
fn a_stale_version_is_refused_with_409() {
    let mut p = platform();
    let id = id_of(&p, "Test Device A1");
    let body = json!({"id": {"id": id.to_string()}, "name": "X", "version": 7});
    let err = p.save_device(&body, None, T0).unwrap_err();
    assert_eq!((err.status, err.error_code), (409, Some(35)));
}
