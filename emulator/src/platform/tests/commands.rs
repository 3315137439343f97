//! The HTTP side's commands: REST reads, rename, delete.

use super::{platform, send, single, T0};
use crate::platform::{RpcCall, RpcStatus, Scope, Target, TsQuery};
use serde_json::{json, Value};

fn dev(name: &str) -> Target {
    Target::Device(name.into())
}

#[test]
fn rename_notifies_the_gateway_and_old_names_recreate() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/connect",
        r#"{"device": "Old name"}"#,
        T0,
    );
    // The gateway's own RPC id sequence is shared with server RPCs to it.
    let call = RpcCall {
        method: "ping".into(),
        params: Value::Null,
        oneway: true,
        timeout_ms: None,
    };
    p.send_rpc(&Target::Gateway, call, T0).unwrap();
    let (summary, out) = p.rename_device("Old name", "New name", T0).unwrap();
    assert_eq!(summary.name, "New name");
    assert!(summary.connected);
    assert_eq!(
        single(&out),
        (
            "v1/devices/me/rpc/request/1".into(),
            json!({"method": "gateway_device_renamed", "params": {"Old name": "New name"}})
        )
    );
    assert!(p.device(&dev("Old name")).is_err());
    // Publishing under the old name creates a new device.
    send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"Old name": [{"a": 1}]}"#,
        T0,
    );
    assert_eq!(p.devices().len(), 2);
    assert_eq!(
        p.rename_device("Old name", "New name", T0)
            .unwrap_err()
            .status,
        400
    );
    assert_eq!(p.rename_device("Nobody", "X", T0).unwrap_err().status, 404);
    let history = p.rpc_history();
    assert_eq!(history[1].method, "gateway_device_renamed");
    assert_eq!(history[1].target, "gateway");
}

#[test]
fn delete_notifies_the_gateway_and_fails_pending_rpcs() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0);
    let call = RpcCall {
        method: "m".into(),
        params: Value::Null,
        oneway: false,
        timeout_ms: None,
    };
    let (seq, _) = p.send_rpc(&dev("Pump 7"), call, T0).unwrap();
    let out = p.delete_device("Pump 7", T0).unwrap();
    assert_eq!(
        single(&out),
        (
            "v1/devices/me/rpc/request/0".into(),
            json!({"method": "gateway_device_deleted", "params": "Pump 7"})
        )
    );
    assert_eq!(p.rpc(seq).unwrap().status, RpcStatus::Deleted);
    assert_eq!(p.delete_device("Pump 7", T0).unwrap_err().status, 404);
}

#[test]
fn timeseries_range_queries() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"A": [{"ts": 1, "values": {"t": 1}}, {"ts": 3, "values": {"t": 3}},
                  {"ts": 2, "values": {"t": 2.5, "u": "x"}}]}"#,
        T0,
    );
    let q = TsQuery {
        keys: Some(vec!["t".into()]),
        start_ts: Some(1),
        end_ts: Some(3),
        ..TsQuery::default()
    };
    assert_eq!(
        p.timeseries(&dev("A"), &q).unwrap(),
        json!({"t": [{"ts": 2, "value": "2.5"}, {"ts": 1, "value": "1"}]})
    );
    let q = TsQuery {
        start_ts: Some(0),
        end_ts: Some(10),
        ascending: true,
        limit: Some(2),
        strict: true,
        ..TsQuery::default()
    };
    assert_eq!(
        p.timeseries(&dev("A"), &q).unwrap(),
        json!({"t": [{"ts": 1, "value": 1}, {"ts": 2, "value": 2.5}], "u": [{"ts": 2, "value": "x"}]})
    );
    // Latest by timestamp, not by arrival.
    assert_eq!(
        p.timeseries(&dev("A"), &TsQuery::default()).unwrap()["t"],
        json!([{"ts": 3, "value": "3"}])
    );
    assert_eq!(p.timeseries_keys(&dev("A")).unwrap(), ["t", "u"]);
    assert_eq!(
        p.timeseries(&dev("B"), &TsQuery::default())
            .unwrap_err()
            .status,
        404
    );
}

#[test]
fn attribute_reads_by_scope_and_key() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/attributes",
        r#"{"A": {"c1": 1, "c2": 2}}"#,
        T0,
    );
    p.save_shared(&dev("A"), &json!({"s1": "on"}), T0 + 1)
        .unwrap();
    let all = p.attributes(&dev("A"), None, None).unwrap();
    assert_eq!(
        all.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        ["c1", "c2", "s1"]
    );
    let some = p
        .attributes(&dev("A"), None, Some(&["c2".into(), "s1".into()]))
        .unwrap();
    assert_eq!(some.len(), 2);
    assert!(p
        .attributes(&dev("A"), Some(Scope::Server), None)
        .unwrap()
        .is_empty());
    assert_eq!(p.devices()[0].attribute_count, 3);
    assert_eq!(
        p.save_shared(&dev("A"), &json!([1]), T0)
            .unwrap_err()
            .status,
        400
    );
    assert_eq!(
        p.save_shared(&dev("A"), &json!({}), T0).unwrap_err().status,
        400
    );
    assert_eq!(
        p.delete_attributes(&dev("A"), Scope::Shared, &[])
            .unwrap_err()
            .status,
        400
    );
    // Client-scope deletion is not pushed.
    assert!(p
        .delete_attributes(&dev("A"), Scope::Client, &["c1".into()])
        .unwrap()
        .is_empty());
}

#[test]
fn device_summary_and_creation() {
    let mut p = platform();
    let s = p.create_device("Pre made", Some("Sensor"), T0).unwrap();
    assert_eq!((s.device_type.as_str(), s.connected), ("Sensor", false));
    assert_eq!(
        p.create_device("Pre made", None, T0).unwrap_err().status,
        400
    );
    send(
        &mut p,
        "v1/gateway/connect",
        r#"{"device": "Pre made", "type": "Other"}"#,
        T0 + 1,
    );
    let v = serde_json::to_value(p.device_summary(&dev("Pre made")).unwrap()).unwrap();
    assert_eq!(
        v,
        json!({"name": "Pre made", "type": "Sensor", "connected": true, "createdTime": T0,
               "lastActivityTime": T0 + 1, "lastConnectTime": T0 + 1, "lastDisconnectTime": null,
               "telemetryCount": 0, "attributeCount": 0})
    );
    assert_eq!(p.device_summary(&Target::Gateway).unwrap().name, "gateway");
}
