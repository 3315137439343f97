//! `v1/gateway/...` topics, contract §3 and §4.

use super::{platform, send, single, T0};
use crate::platform::{
    Outcome, Platform, RpcCall, RpcStatus, Scope, Target, TbValue, TsQuery, MAX_PACKET_SIZE,
};
use serde_json::{json, Value};

fn dev(name: &str) -> Target {
    Target::Device(name.into())
}

fn errors_with(p: &Platform, outcome: Outcome) -> usize {
    p.errors()
        .iter()
        .filter(|e| e.thingsboard == outcome.describe())
        .count()
}

fn connected(p: &Platform, name: &str) -> bool {
    p.device(&dev(name)).map(|d| d.connected).unwrap_or(false)
}

fn rpc(method: &str, params: Value) -> RpcCall {
    RpcCall {
        method: method.into(),
        params,
        oneway: false,
        timeout_ms: None,
    }
}

// ---- §3.1 connect ----

#[test]
fn connect_creates_with_default_type_and_registers() {
    let mut p = platform();
    assert!(send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0).is_empty());
    let d = p.device(&dev("Pump 7")).unwrap();
    assert_eq!(d.device_type, "default");
    assert!(d.connected);
    assert_eq!(d.last_activity_time, Some(T0));
    assert!(p.errors().is_empty());
}

#[test]
fn connect_with_type_and_null_type() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/connect",
        r#"{"device": "Pump 7", "type": "Water pump"}"#,
        T0,
    );
    send(
        &mut p,
        "v1/gateway/connect",
        r#"{"device": "Pump 8", "type": null}"#,
        T0,
    );
    assert_eq!(p.device(&dev("Pump 7")).unwrap().device_type, "Water pump");
    assert_eq!(p.device(&dev("Pump 8")).unwrap().device_type, "default");
}

#[test]
fn existing_device_keeps_its_type() {
    let mut p = platform();
    // Telemetry before connect creates it as "default" (§5, #14299).
    send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"Pump 7": [{"a": 1}]}"#,
        T0,
    );
    send(
        &mut p,
        "v1/gateway/disconnect",
        r#"{"device": "Pump 7"}"#,
        T0 + 1,
    );
    send(
        &mut p,
        "v1/gateway/connect",
        r#"{"device": "Pump 7", "type": "Water pump"}"#,
        T0 + 2,
    );
    let d = p.device(&dev("Pump 7")).unwrap();
    assert_eq!(d.device_type, "default");
    assert!(d.connected);
}

#[test]
fn repeated_connect_does_not_refresh_activity() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0);
    send(
        &mut p,
        "v1/gateway/connect",
        r#"{"device": "Pump 7"}"#,
        T0 + 5000,
    );
    assert_eq!(
        p.device(&dev("Pump 7")).unwrap().last_activity_time,
        Some(T0)
    );
}

#[test]
fn connect_without_device_is_rejected_and_closes_the_session() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0);
    for bad in [
        r#"{"type": "x"}"#,
        r#"{"device": ""}"#,
        r#"{"device": {"a":1}}"#,
    ] {
        send(&mut p, "v1/gateway/connect", bad, T0);
    }
    assert_eq!(errors_with(&p, Outcome::Rejected), 3);
    assert!(p.errors().iter().all(|e| e.connection_closed));
    assert!(
        !connected(&p, "Pump 7"),
        "ThingsBoard closes the connection"
    );
    assert_eq!(p.devices().len(), 1);
}

// ---- §3.2 disconnect ----

#[test]
fn disconnect_deregisters_and_ignores_unknown() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0);
    send(
        &mut p,
        "v1/gateway/disconnect",
        r#"{"device": "Pump 7"}"#,
        T0 + 1,
    );
    assert!(!connected(&p, "Pump 7"));
    assert_eq!(
        p.device(&dev("Pump 7")).unwrap().last_disconnect_time,
        Some(T0 + 1)
    );
    send(
        &mut p,
        "v1/gateway/disconnect",
        r#"{"device": "Nobody"}"#,
        T0 + 2,
    );
    send(
        &mut p,
        "v1/gateway/disconnect",
        r#"{"device": "Pump 7"}"#,
        T0 + 3,
    );
    assert!(
        p.device(&dev("Nobody")).is_err(),
        "no implicit creation on disconnect"
    );
    assert!(p.errors().is_empty());
}

#[test]
fn disconnect_notice_shape() {
    let mut p = platform();
    let (topic, v) = single(&p.disconnect_notice("Pump 7", 150));
    assert_eq!(topic, "v1/gateway/disconnect");
    assert_eq!(v, json!({"device": "Pump 7", "reason": 150}));
}

// ---- §3.3 telemetry ----

#[test]
fn telemetry_contract_example() {
    let mut p = platform();
    let msg = r#"{
      "Pump 7": [
        {"ts": 1767225600000, "values": {"flow": 12.5, "running": true}},
        {"ts": 1767225601000, "values": {"flow": 12.7}}
      ],
      "Pump 8": [
        {"pressure": 3.1, "mode": "auto"}
      ]
    }"#;
    assert!(send(&mut p, "v1/gateway/telemetry", msg, T0 + 10).is_empty());
    assert!(p.errors().is_empty());
    let pump7 = p.device(&dev("Pump 7")).unwrap();
    assert_eq!(pump7.telemetry_count, 3);
    assert_eq!(pump7.timeseries["flow"].len(), 2);
    let latest = pump7.latest("flow").unwrap();
    assert_eq!(
        (latest.ts, &latest.value),
        (1767225601000, &TbValue::Double(12.7))
    );
    // Implicit creation with "default", registered in the session.
    let pump8 = p.device(&dev("Pump 8")).unwrap();
    assert_eq!(pump8.device_type, "default");
    assert!(pump8.connected);
    assert_eq!(pump8.latest("pressure").unwrap().ts, (T0 + 10) as i64);
    assert_eq!(
        pump8.latest("mode").unwrap().value,
        TbValue::Str("auto".into())
    );
    // REST shape: strings by default, typed with useStrictDataTypes.
    let rest = p.timeseries(&dev("Pump 7"), &TsQuery::default()).unwrap();
    assert_eq!(
        rest,
        json!({"flow": [{"ts": 1767225601000i64, "value": "12.7"}],
               "running": [{"ts": 1767225600000i64, "value": "true"}]})
    );
    let strict = TsQuery {
        keys: Some(vec!["flow".into()]),
        strict: true,
        ..TsQuery::default()
    };
    assert_eq!(
        p.timeseries(&dev("Pump 7"), &strict).unwrap(),
        json!({"flow": [{"ts": 1767225601000i64, "value": 12.7}]})
    );
}

#[test]
fn telemetry_ts_as_numeric_string_and_typing() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"A": [{"ts": "1767225600000", "values": {"id": "00123", "n": null, "big": 18446744073709551615}}]}"#,
        T0,
    );
    let a = p.device(&dev("A")).unwrap();
    assert_eq!(a.latest("id").unwrap().ts, 1767225600000);
    assert_eq!(a.latest("id").unwrap().value, TbValue::Long(123));
    assert!(a.latest("n").is_none(), "null is skipped");
    assert_eq!(
        a.latest("big").unwrap().value,
        TbValue::Str("18446744073709551615".into())
    );
}

#[test]
fn telemetry_traps_stored_literally() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"A": [{"values": {"t": 1}}, {"ts": 123, "temp": 1}]}"#,
        T0,
    );
    let a = p.device(&dev("A")).unwrap();
    assert_eq!(
        a.latest("values").unwrap().value,
        TbValue::Json(json!({"t": 1}))
    );
    assert_eq!(a.latest("values").unwrap().ts, T0 as i64);
    assert_eq!(a.latest("ts").unwrap().value, TbValue::Long(123));
    assert_eq!(a.latest("temp").unwrap().ts, T0 as i64);
    assert!(p.errors().is_empty());
}

#[test]
fn telemetry_non_array_entries_are_skipped() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"A": [{"x": 1}], "B": {"x": 2}, "C": 5}"#,
        T0,
    );
    assert_eq!(p.device(&dev("A")).unwrap().telemetry_count, 1);
    assert!(
        p.device(&dev("B")).is_err(),
        "skipped entries create nothing"
    );
    assert_eq!(errors_with(&p, Outcome::Skipped), 2);
    assert!(connected(&p, "A"), "skips do not close the connection");
}

#[test]
fn telemetry_with_nothing_valid_is_rejected() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "A"}"#, T0);
    send(&mut p, "v1/gateway/telemetry", r#"{"B": {"x": 2}}"#, T0);
    send(&mut p, "v1/gateway/telemetry", r#"{}"#, T0);
    assert_eq!(errors_with(&p, Outcome::Rejected), 2);
    assert!(!connected(&p, "A"));
    assert!(p.device(&dev("B")).is_err());
}

#[test]
fn telemetry_metadata_is_reserved() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"A": [{"ts": 5, "values": {"a": 1},
                   "metadata": {"connector": "Modbus", "receivedTs": 1, "publishedTs": 2}}],
            "B": [{"metadata": "x", "b": 1}]}"#,
        T0,
    );
    let a = p.device(&dev("A")).unwrap();
    assert_eq!(a.timeseries.keys().collect::<Vec<_>>(), ["a"]);
    // B's element fails to parse: its data is lost, the device still exists.
    let b = p.device(&dev("B")).unwrap();
    assert_eq!(b.telemetry_count, 0);
    assert_eq!(errors_with(&p, Outcome::ConversionFailed), 1);
    assert!(
        connected(&p, "A"),
        "MQTT 5: PUBACK 153, the connection stays open"
    );
}

#[test]
fn bad_timestamps_fail_conversion_for_that_device_only() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"A": [{"ts": "later", "values": {"a": 1}}], "B": [{"b": 1}], "C": [7]}"#,
        T0,
    );
    assert_eq!(p.device(&dev("A")).unwrap().telemetry_count, 0);
    assert_eq!(p.device(&dev("B")).unwrap().telemetry_count, 1);
    assert_eq!(p.device(&dev("C")).unwrap().telemetry_count, 0);
    assert_eq!(errors_with(&p, Outcome::ConversionFailed), 2);
}

#[test]
fn not_json_and_not_object() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "A"}"#, T0);
    send(&mut p, "v1/gateway/telemetry", "{not json", T0);
    assert_eq!(errors_with(&p, Outcome::NotJson), 1);
    assert!(connected(&p, "A"), "MQTT 5: PUBACK 153, stays open");
    p.handle("v1/gateway/attributes", &[0xff, 0xfe], T0);
    assert_eq!(errors_with(&p, Outcome::NotJson), 2);
    for topic in [
        "v1/gateway/telemetry",
        "v1/gateway/attributes",
        "v1/gateway/connect",
        "v1/gateway/rpc",
        "v1/gateway/claim",
        "v1/gateway/attributes/request",
    ] {
        send(&mut p, topic, r#"["A"]"#, T0);
        send(&mut p, topic, r#""A""#, T0);
    }
    assert_eq!(errors_with(&p, Outcome::Rejected), 12);
    assert!(!connected(&p, "A"));
}

#[test]
fn too_large_packets_are_rejected() {
    let mut p = platform();
    let big = format!(r#"{{"A": [{{"s": "{}"}}]}}"#, "x".repeat(MAX_PACKET_SIZE));
    send(&mut p, "v1/gateway/telemetry", &big, T0);
    assert_eq!(errors_with(&p, Outcome::TooLarge), 1);
    assert!(p.device(&dev("A")).is_err());
}

// ---- §3.4 attributes up, §3.5 shared pushes ----

#[test]
fn client_attributes_contract_example() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/attributes",
        r#"{"Pump 7": {"firmware": "1.4.2", "serial": "P7-0042"}, "Pump 8": {"firmware": "1.4.1"}}"#,
        T0,
    );
    let attrs = p
        .attributes(&dev("Pump 7"), Some(Scope::Client), None)
        .unwrap();
    assert_eq!(
        serde_json::to_value(&attrs).unwrap(),
        json!([{"key": "firmware", "value": "1.4.2", "lastUpdateTs": T0},
               {"key": "serial", "value": "P7-0042", "lastUpdateTs": T0}])
    );
    assert!(connected(&p, "Pump 8"));
    assert!(p
        .attributes(&dev("Pump 7"), Some(Scope::Shared), None)
        .unwrap()
        .is_empty());
}

#[test]
fn attribute_entries_must_be_objects() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/attributes",
        r#"{"A": {"x": 1}, "B": [1]}"#,
        T0,
    );
    assert_eq!(errors_with(&p, Outcome::Skipped), 1);
    send(&mut p, "v1/gateway/attributes", r#"{"B": 3}"#, T0);
    assert_eq!(errors_with(&p, Outcome::Rejected), 1);
    assert!(p.device(&dev("B")).is_err());
}

#[test]
fn shared_updates_and_deletions_are_pushed_one_device_per_message() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0);
    let out = p
        .save_shared(
            &dev("Pump 7"),
            &json!({"setpoint": 42, "schedule": {"on": "06:00"}}),
            T0,
        )
        .unwrap();
    assert_eq!(
        single(&out),
        (
            "v1/gateway/attributes".into(),
            json!({"device": "Pump 7", "data": {"setpoint": 42, "schedule": {"on": "06:00"}}})
        )
    );
    let out = p
        .delete_attributes(&dev("Pump 7"), Scope::Shared, &["schedule".into()])
        .unwrap();
    assert_eq!(
        single(&out),
        (
            "v1/gateway/attributes".into(),
            json!({"device": "Pump 7", "data": {"deleted": ["schedule"]}})
        )
    );
    let left = p
        .attributes(&dev("Pump 7"), Some(Scope::Shared), None)
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].key, "setpoint");
}

#[test]
fn shared_updates_are_not_queued_for_unconnected_devices() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0);
    send(
        &mut p,
        "v1/gateway/disconnect",
        r#"{"device": "Pump 7"}"#,
        T0,
    );
    let out = p
        .save_shared(&dev("Pump 7"), &json!({"setpoint": "42"}), T0)
        .unwrap();
    assert!(out.is_empty());
    // Stored, with the numeric string cast.
    let a = p
        .attributes(&dev("Pump 7"), Some(Scope::Shared), None)
        .unwrap();
    assert_eq!(a[0].value, json!(42));
    assert!(send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0).is_empty());
}

// ---- §3.6 attribute requests ----

fn pump_with_attributes() -> Platform {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0);
    send(
        &mut p,
        "v1/gateway/attributes",
        r#"{"Pump 7": {"firmware": "1.4.2", "serial": "P7-0042"}}"#,
        T0,
    );
    p.save_shared(&dev("Pump 7"), &json!({"setpoint": 42}), T0)
        .unwrap();
    p
}

fn request(p: &mut Platform, payload: &str) -> Option<Value> {
    let out = send(p, "v1/gateway/attributes/request", payload, T0);
    if out.is_empty() {
        return None;
    }
    let (topic, v) = single(&out);
    assert_eq!(topic, "v1/gateway/attributes/response");
    Some(v)
}

#[test]
fn attribute_request_response_shapes() {
    let mut p = pump_with_attributes();
    assert_eq!(
        request(
            &mut p,
            r#"{"id": 17, "device": "Pump 7", "client": false, "key": "setpoint"}"#
        ),
        Some(json!({"id": 17, "device": "Pump 7", "value": 42}))
    );
    assert_eq!(
        request(
            &mut p,
            r#"{"id": 18, "device": "Pump 7", "client": true, "keys": ["firmware", "serial"]}"#
        ),
        Some(
            json!({"id": 18, "device": "Pump 7", "values": {"firmware": "1.4.2", "serial": "P7-0042"}})
        )
    );
    // Several requested, one found: still "values".
    assert_eq!(
        request(
            &mut p,
            r#"{"id": 20, "device": "Pump 7", "client": true, "keys": ["firmware", "nope"]}"#
        ),
        Some(json!({"id": 20, "device": "Pump 7", "values": {"firmware": "1.4.2"}}))
    );
    // One element in "keys": "value".
    assert_eq!(
        request(
            &mut p,
            r#"{"id": 21, "device": "Pump 7", "client": true, "keys": ["serial"]}"#
        ),
        Some(json!({"id": 21, "device": "Pump 7", "value": "P7-0042"}))
    );
    // None found: neither value nor values.
    assert_eq!(
        request(
            &mut p,
            r#"{"id": 19, "device": "Pump 7", "client": false, "keys": ["a", "b"]}"#
        ),
        Some(json!({"id": 19, "device": "Pump 7"}))
    );
    // Exactly one scope: a client key asked in the shared scope is not found.
    assert_eq!(
        request(
            &mut p,
            r#"{"id": 22, "device": "Pump 7", "client": false, "key": "firmware"}"#
        ),
        Some(json!({"id": 22, "device": "Pump 7"}))
    );
    // id as a numeric string is echoed as a number.
    assert_eq!(
        request(
            &mut p,
            r#"{"id": "23", "device": "Pump 7", "client": false, "key": "setpoint"}"#
        ),
        Some(json!({"id": 23, "device": "Pump 7", "value": 42}))
    );
    assert!(p.errors().is_empty());
}

#[test]
fn attribute_request_with_empty_keys_merges_everything() {
    let mut p = pump_with_attributes();
    // Client holds 2 (→ "values"), shared holds 1 (→ "value").
    assert_eq!(
        request(
            &mut p,
            r#"{"id": 1, "device": "Pump 7", "client": true, "keys": []}"#
        ),
        Some(json!({"id": 1, "device": "Pump 7",
                    "values": {"firmware": "1.4.2", "serial": "P7-0042"}, "value": 42}))
    );
    assert_eq!(errors_with(&p, Outcome::Discouraged), 1);
    assert!(connected(&p, "Pump 7"), "answered, not closed");
    // Both scopes with one attribute: the shared "value" overwrites the client one.
    let mut p = platform();
    send(&mut p, "v1/gateway/attributes", r#"{"A": {"c": 1}}"#, T0);
    p.save_shared(&dev("A"), &json!({"s": 2}), T0).unwrap();
    assert_eq!(
        request(
            &mut p,
            r#"{"id": 2, "device": "A", "client": false, "keys": []}"#
        ),
        Some(json!({"id": 2, "device": "A", "value": 2}))
    );
}

#[test]
fn malformed_attribute_requests_get_no_answer() {
    let mut p = pump_with_attributes();
    for bad in [
        r#"{"device": "Pump 7", "client": false, "key": "setpoint"}"#,
        r#"{"id": 1, "client": false, "key": "setpoint"}"#,
        r#"{"id": 1, "device": "Pump 7", "key": "setpoint"}"#,
        r#"{"id": 1, "device": "Pump 7", "client": false}"#,
        r#"{"id": "x", "device": "Pump 7", "client": false, "key": "a"}"#,
        r#"{"id": 1, "device": "Device A", "client": ["k1", "k2"], "shared": ["k3"]}"#,
        r#"{"id": 1, "device": "Device A", "shared": ["k3"]}"#,
        r#"{"id": 1, "device": "Pump 7", "client": true, "keys": "firmware"}"#,
    ] {
        assert_eq!(request(&mut p, bad), None, "{bad}");
    }
    assert_eq!(errors_with(&p, Outcome::Rejected), 8);
    assert!(p.errors().iter().any(|e| e.problem.contains("§12")));
    assert!(p.device(&dev("Device A")).is_err());
}

#[test]
fn attribute_request_creates_unknown_devices() {
    let mut p = platform();
    assert_eq!(
        request(
            &mut p,
            r#"{"id": 3, "device": "New", "client": true, "key": "a"}"#
        ),
        Some(json!({"id": 3, "device": "New"}))
    );
    assert!(connected(&p, "New"));
}

// ---- §3.7 RPC ----

#[test]
fn rpc_requests_use_per_device_ids_from_zero() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0);
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 8"}"#, T0);
    let (seq, out) = p
        .send_rpc(&dev("Pump 7"), rpc("setSpeed", json!({"rpm": 1200})), T0)
        .unwrap();
    assert_eq!(
        single(&out),
        (
            "v1/gateway/rpc".into(),
            json!({"device": "Pump 7", "data": {"id": 0, "method": "setSpeed", "params": {"rpm": 1200}}})
        )
    );
    let (_, out) = p.send_rpc(&dev("Pump 7"), rpc("m", json!(5)), T0).unwrap();
    assert_eq!(
        single(&out).1["data"],
        json!({"id": 1, "method": "m", "params": 5})
    );
    let (_, out) = p
        .send_rpc(&dev("Pump 8"), rpc("m", Value::Null), T0)
        .unwrap();
    assert_eq!(
        single(&out).1["data"],
        json!({"id": 0, "method": "m", "params": null})
    );

    let reply = r#"{"device": "Pump 7", "id": 0, "data": {"ok": true, "rpm": 1200}}"#;
    assert!(send(&mut p, "v1/gateway/rpc", reply, T0 + 5).is_empty());
    let r = p.rpc(seq).unwrap();
    assert_eq!(r.status, RpcStatus::Successful);
    assert_eq!(
        r.reply,
        Some(crate::platform::RpcReply::Json(
            json!({"ok": true, "rpm": 1200})
        ))
    );
    assert!(p.errors().is_empty());
    // A duplicate (another tab) is stale.
    send(&mut p, "v1/gateway/rpc", reply, T0 + 6);
    assert_eq!(errors_with(&p, Outcome::Stale), 1);
    assert_eq!(p.rpc(seq).unwrap().stale_replies, 1);
    // Same id, other device: still pending there.
    send(
        &mut p,
        "v1/gateway/rpc",
        r#"{"device": "Pump 8", "id": 0, "data": "done"}"#,
        T0 + 7,
    );
    assert_eq!(errors_with(&p, Outcome::Stale), 1);
}

#[test]
fn rpc_held_until_the_device_connects() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "Pump 7"}"#, T0);
    send(
        &mut p,
        "v1/gateway/disconnect",
        r#"{"device": "Pump 7"}"#,
        T0,
    );
    let (seq, out) = p
        .send_rpc(&dev("Pump 7"), rpc("setSpeed", json!(1)), T0)
        .unwrap();
    assert!(out.is_empty());
    assert_eq!(p.rpc(seq).unwrap().status, RpcStatus::Queued);
    // Any first message registers the device and flushes held requests.
    let out = send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"Pump 7": [{"a": 1}]}"#,
        T0 + 100,
    );
    assert_eq!(
        single(&out).1,
        json!({"device": "Pump 7", "data": {"id": 0, "method": "setSpeed", "params": 1}})
    );
    let r = p.rpc(seq).unwrap();
    assert_eq!((r.status, r.sent_time), (RpcStatus::Sent, Some(T0 + 100)));
}

#[test]
fn rpc_expiry_timeout_and_late_replies() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "A"}"#, T0);
    let (sent, _) = p.send_rpc(&dev("A"), rpc("m", json!({})), T0).unwrap();
    let unknown = p.send_rpc(&dev("B-unknown"), rpc("m", json!({})), T0);
    assert_eq!(unknown.unwrap_err().status, 404);
    p.create_device("B", None, T0).unwrap();
    let (held, _) = p.send_rpc(&dev("B"), rpc("m", json!({})), T0).unwrap();
    // Default 10 s timeout.
    assert!(!p.tick(T0 + 9_999));
    assert!(p.tick(T0 + 10_000));
    assert_eq!(p.rpc(sent).unwrap().status, RpcStatus::Timeout);
    assert_eq!(p.rpc(held).unwrap().status, RpcStatus::Expired);
    // An expired request is not flushed on a later connect.
    assert!(send(
        &mut p,
        "v1/gateway/connect",
        r#"{"device": "B"}"#,
        T0 + 20_000
    )
    .is_empty());
    send(
        &mut p,
        "v1/gateway/rpc",
        r#"{"device": "A", "id": 0, "data": 1}"#,
        T0 + 20_000,
    );
    assert_eq!(errors_with(&p, Outcome::Stale), 1);
    assert_eq!(p.rpc(sent).unwrap().status, RpcStatus::Timeout);
}

#[test]
fn rpc_timeout_has_a_minimum() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "A"}"#, T0);
    let call = RpcCall {
        timeout_ms: Some(100),
        ..rpc("m", Value::Null)
    };
    let (seq, _) = p.send_rpc(&dev("A"), call, T0).unwrap();
    assert_eq!(p.rpc(seq).unwrap().expiration_time, T0 + 5_000);
}

#[test]
fn malformed_rpc_replies() {
    let mut p = platform();
    for bad in [
        r#"{"id": 0, "data": {}}"#,
        r#"{"device": "A", "data": {}}"#,
        r#"{"device": "A", "id": 0}"#,
    ] {
        send(&mut p, "v1/gateway/rpc", bad, T0);
    }
    assert_eq!(errors_with(&p, Outcome::Rejected), 3);
    // A reply for a device never asked anything: created, then stale.
    send(
        &mut p,
        "v1/gateway/rpc",
        r#"{"device": "A", "id": 4, "data": null}"#,
        T0,
    );
    assert_eq!(errors_with(&p, Outcome::Stale), 1);
    assert!(connected(&p, "A"));
}

#[test]
fn oneway_rpcs_are_not_waited_for() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "A"}"#, T0);
    let call = RpcCall {
        oneway: true,
        ..rpc("blink", Value::Null)
    };
    let (seq, out) = p.send_rpc(&dev("A"), call, T0).unwrap();
    assert_eq!(out.len(), 1);
    p.tick(T0 + 60_000);
    assert_eq!(p.rpc(seq).unwrap().status, RpcStatus::Sent);
}

// ---- §3.8 claim ----

#[test]
fn claims_contract_example() {
    let mut p = platform();
    send(
        &mut p,
        "v1/gateway/claim",
        r#"{"Pump 7": {"secretKey": "abc123", "durationMs": 60000}, "Pump 8": {}}"#,
        T0,
    );
    let claims = serde_json::to_value(p.claims()).unwrap();
    assert_eq!(
        claims,
        json!([
            {"device": "Pump 7", "secretKey": "abc123", "durationMs": 60000, "time": T0, "via": "gateway"},
            {"device": "Pump 8", "secretKey": "", "durationMs": 86400000, "time": T0, "via": "gateway"}
        ])
    );
    send(&mut p, "v1/gateway/claim", r#"{"Pump 9": "x"}"#, T0);
    assert_eq!(errors_with(&p, Outcome::Skipped), 1);
    assert_eq!(errors_with(&p, Outcome::Rejected), 1);
}

// ---- session bookkeeping ----

#[test]
fn idle_sub_device_sessions_expire_silently() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "A"}"#, T0);
    send(&mut p, "v1/gateway/connect", r#"{"device": "B"}"#, T0);
    send(
        &mut p,
        "v1/gateway/telemetry",
        r#"{"B": [{"x": 1}]}"#,
        T0 + 300_000,
    );
    // A repeated connect does not refresh activity.
    send(
        &mut p,
        "v1/gateway/connect",
        r#"{"device": "A"}"#,
        T0 + 300_000,
    );
    assert!(p.tick(T0 + 600_000));
    assert!(!connected(&p, "A"));
    assert!(connected(&p, "B"));
    // Held RPC, then the next message re-registers and flushes it.
    let (_, out) = p
        .send_rpc(&dev("A"), rpc("m", Value::Null), T0 + 600_001)
        .unwrap();
    assert!(out.is_empty());
    let out = send(
        &mut p,
        "v1/gateway/connect",
        r#"{"device": "A"}"#,
        T0 + 600_002,
    );
    assert_eq!(out.len(), 1);
}

#[test]
fn closing_the_gateway_session_deregisters_everyone() {
    let mut p = platform();
    send(&mut p, "v1/gateway/connect", r#"{"device": "A"}"#, T0);
    send(&mut p, "v1/gateway/connect", r#"{"device": "B"}"#, T0);
    assert_eq!(p.close_gateway_session(T0, "test"), 2);
    assert!(p.devices().iter().all(|d| !d.connected));
}

#[test]
fn unexpected_topics_are_ignored() {
    let mut p = platform();
    assert!(send(&mut p, "v1/gateway/attributes/response", "{}", T0).is_empty());
    assert!(p.errors().is_empty());
    assert!(!p.take_log().is_empty());
}
