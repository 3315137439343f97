//! The gateway's own device-level API, contract §6 and §7.

use super::{platform, send, single, T0};
use crate::platform::{Outcome, Platform, RpcCall, RpcReply, RpcStatus, Scope, Target, TbValue};
use serde_json::{json, Value};

const GW: Target = Target::Gateway;

fn errors_with(p: &Platform, outcome: Outcome) -> usize {
    p.errors()
        .iter()
        .filter(|e| e.thingsboard == outcome.describe())
        .count()
}

#[test]
fn own_telemetry_in_every_form() {
    let mut p = platform();
    send(&mut p, "v1/devices/me/telemetry", r#"{"cpu": 12}"#, T0);
    send(
        &mut p,
        "v1/devices/me/telemetry",
        r#"[{"mem": 1}, {"mem": 2}]"#,
        T0 + 1,
    );
    send(
        &mut p,
        "v1/devices/me/telemetry",
        r#"{"ts": 1767225600000, "values": {"up": true}}"#,
        T0 + 2,
    );
    send(
        &mut p,
        "v1/devices/me/telemetry",
        r#"[{"ts": 5, "values": {"up": false}}, {"ts": "6", "values": {"up": true}}]"#,
        T0 + 3,
    );
    let gw = p.device(&GW).unwrap();
    assert_eq!(gw.telemetry_count, 6);
    assert_eq!(gw.latest("cpu").unwrap().value, TbValue::Long(12));
    assert_eq!(gw.latest("up").unwrap().ts, 1767225600000);
    assert_eq!(gw.last_activity_time, Some(T0 + 3));
    assert!(
        p.devices().is_empty(),
        "stored under the gateway, not a sub-device"
    );
    assert!(p.errors().is_empty());
}

#[test]
fn own_telemetry_malformed() {
    let mut p = platform();
    send(&mut p, "v1/devices/me/telemetry", "nope", T0);
    send(&mut p, "v1/devices/me/telemetry", "5", T0);
    send(&mut p, "v1/devices/me/telemetry", r#"[{"a": 1}, 2]"#, T0);
    assert_eq!(errors_with(&p, Outcome::DeviceLevelInvalid), 3);
    assert_eq!(p.device(&GW).unwrap().telemetry_count, 0);
}

#[test]
fn own_client_attributes() {
    let mut p = platform();
    send(
        &mut p,
        "v1/devices/me/attributes",
        r#"{"version": "0.1.0", "tabs": 2}"#,
        T0,
    );
    let a = p.attributes(&GW, Some(Scope::Client), None).unwrap();
    assert_eq!(
        serde_json::to_value(a).unwrap(),
        json!([{"key": "tabs", "value": 2, "lastUpdateTs": T0},
               {"key": "version", "value": "0.1.0", "lastUpdateTs": T0}])
    );
    send(&mut p, "v1/devices/me/attributes", "[1]", T0);
    assert_eq!(errors_with(&p, Outcome::DeviceLevelInvalid), 1);
}

fn gateway_with_attributes() -> Platform {
    let mut p = platform();
    send(
        &mut p,
        "v1/devices/me/attributes",
        r#"{"a": 1, "b": "x"}"#,
        T0,
    );
    p.save_shared(&GW, &json!({"c": true, "d": {"n": 1}}), T0)
        .unwrap();
    p
}

fn attr_request(p: &mut Platform, id: &str, body: &str) -> (String, Value) {
    let out = send(
        p,
        &format!("v1/devices/me/attributes/request/{id}"),
        body,
        T0,
    );
    single(&out)
}

#[test]
fn own_attribute_requests() {
    let mut p = gateway_with_attributes();
    assert_eq!(
        attr_request(&mut p, "1", r#"{"clientKeys": "a,b", "sharedKeys": "c"}"#),
        (
            "v1/devices/me/attributes/response/1".into(),
            json!({"client": {"a": 1, "b": "x"}, "shared": {"c": true}})
        )
    );
    // {} means all.
    assert_eq!(
        attr_request(&mut p, "2", "{}").1,
        json!({"client": {"a": 1, "b": "x"}, "shared": {"c": true, "d": {"n": 1}}})
    );
    // Empty sections are left out.
    assert_eq!(
        attr_request(&mut p, "3", r#"{"sharedKeys": "d"}"#).1,
        json!({"shared": {"d": {"n": 1}}})
    );
    assert_eq!(
        attr_request(&mut p, "4", r#"{"clientKeys": "zzz"}"#).1,
        json!({})
    );
    assert!(p.errors().is_empty());
}

#[test]
fn own_attribute_requests_malformed() {
    let mut p = gateway_with_attributes();
    for (topic, body) in [
        ("v1/devices/me/attributes/request/x", "{}"),
        ("v1/devices/me/attributes/request/1", ""),
        ("v1/devices/me/attributes/request/1", "[]"),
        (
            "v1/devices/me/attributes/request/1",
            r#"{"clientKeys": ["a"]}"#,
        ),
    ] {
        assert!(send(&mut p, topic, body, T0).is_empty(), "{topic} {body}");
    }
    assert_eq!(errors_with(&p, Outcome::DeviceLevelInvalid), 4);
}

#[test]
fn get_session_limits_is_built_in() {
    let mut p = platform();
    let out = send(
        &mut p,
        "v1/devices/me/rpc/request/7",
        r#"{"method": "getSessionLimits", "params": {}}"#,
        T0,
    );
    let unlimited =
        json!({"messages": null, "telemetryMessages": null, "telemetryDataPoints": null});
    assert_eq!(
        single(&out),
        (
            "v1/devices/me/rpc/response/7".into(),
            json!({"maxPayloadSize": 65536, "maxInflightMessages": 100,
                   "rateLimits": unlimited, "gatewayRateLimits": unlimited})
        )
    );
}

#[test]
fn other_client_side_rpcs() {
    let mut p = platform();
    let out = send(
        &mut p,
        "v1/devices/me/rpc/request/8",
        r#"{"method": "getCurrentTime", "params": {}}"#,
        T0,
    );
    assert_eq!(
        single(&out).1,
        json!({"error": "no rule chain handles method getCurrentTime"})
    );
    p.set_client_rpc_reply("getCurrentTime", Some(json!({"time": 5})));
    let out = send(
        &mut p,
        "v1/devices/me/rpc/request/9",
        r#"{"method": "getCurrentTime"}"#,
        T0,
    );
    assert_eq!(
        single(&out),
        ("v1/devices/me/rpc/response/9".into(), json!({"time": 5}))
    );
    for (topic, body) in [
        ("v1/devices/me/rpc/request/x", r#"{"method": "a"}"#),
        ("v1/devices/me/rpc/request/1", r#"{"params": 1}"#),
        ("v1/devices/me/rpc/request/1", "not json"),
    ] {
        assert!(send(&mut p, topic, body, T0).is_empty());
    }
    assert_eq!(errors_with(&p, Outcome::DeviceLevelInvalid), 3);
}

#[test]
fn server_rpc_to_the_gateway_itself() {
    let mut p = platform();
    let call = RpcCall {
        method: "restart".into(),
        params: json!({"delay": 1}),
        oneway: false,
        timeout_ms: None,
    };
    let (seq, out) = p.send_rpc(&GW, call.clone(), T0).unwrap();
    assert_eq!(
        single(&out),
        (
            "v1/devices/me/rpc/request/0".into(),
            json!({"method": "restart", "params": {"delay": 1}})
        )
    );
    send(
        &mut p,
        "v1/devices/me/rpc/response/0",
        r#"{"ok": true}"#,
        T0 + 1,
    );
    let r = p.rpc(seq).unwrap();
    assert_eq!(r.status, RpcStatus::Successful);
    assert_eq!(r.reply, Some(RpcReply::Json(json!({"ok": true}))));
    // Non-JSON reply: accepted, but the REST caller gets 406.
    let (seq, out) = p.send_rpc(&GW, call, T0).unwrap();
    assert_eq!(out[0].topic, "v1/devices/me/rpc/request/1");
    send(&mut p, "v1/devices/me/rpc/response/1", "done", T0 + 1);
    assert_eq!(
        p.rpc(seq).unwrap().reply,
        Some(RpcReply::NotJson("done".into()))
    );
    assert_eq!(errors_with(&p, Outcome::NotAcceptable), 1);
    // Unknown id: stale.
    send(&mut p, "v1/devices/me/rpc/response/99", "{}", T0 + 1);
    assert_eq!(errors_with(&p, Outcome::Stale), 1);
}

#[test]
fn shared_attributes_for_the_gateway_itself() {
    let mut p = platform();
    let out = p.save_shared(&GW, &json!({"interval": 30}), T0).unwrap();
    assert_eq!(
        single(&out),
        ("v1/devices/me/attributes".into(), json!({"interval": 30}))
    );
    let out = p
        .delete_attributes(&GW, Scope::Shared, &["interval".into()])
        .unwrap();
    assert_eq!(
        single(&out),
        (
            "v1/devices/me/attributes".into(),
            json!({"deleted": ["interval"]})
        )
    );
}

#[test]
fn own_claims() {
    let mut p = platform();
    send(&mut p, "v1/devices/me/claim", "", T0);
    send(
        &mut p,
        "v1/devices/me/claim",
        r#"{"secretKey": "k", "durationMs": 5}"#,
        T0,
    );
    send(&mut p, "v1/devices/me/claim", "[1]", T0);
    let claims = serde_json::to_value(p.claims()).unwrap();
    assert_eq!(
        claims,
        json!([
            {"device": "gateway", "secretKey": "", "durationMs": 86400000, "time": T0, "via": "device"},
            {"device": "gateway", "secretKey": "k", "durationMs": 5, "time": T0, "via": "device"}
        ])
    );
    assert_eq!(errors_with(&p, Outcome::DeviceLevelInvalid), 1);
}
