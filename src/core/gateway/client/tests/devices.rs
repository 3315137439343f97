use serde_json::json;

use super::harness::Harness;
use crate::core::gateway::codec::{AttributeScope, TelemetryEntry};
use crate::core::gateway::model::{DeviceState, ModelError};
use crate::core::gateway::{GatewayError, GatewayEvent};

fn flat(v: serde_json::Value) -> TelemetryEntry {
    TelemetryEntry::flat(v.as_object().unwrap().clone())
}

fn renamed(h: &mut Harness, old: &str, new: &str) {
    let body = json!({"method": "gateway_device_renamed", "params": {old: new}});
    h.push("v1/devices/me/rpc/request/40", &body.to_string());
}

#[test]
fn telemetry_for_many_devices_goes_in_one_message_and_is_counted() {
    let mut h = Harness::connected();
    h.take_published();
    h.gw.send_telemetry(
        h.now,
        &[
            (
                "Pump 7",
                vec![TelemetryEntry::timed(
                    5,
                    json!({"flow": 1}).as_object().unwrap().clone(),
                )],
            ),
            ("Pump 8", vec![flat(json!({"pressure": 3.1}))]),
        ],
    )
    .unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/telemetry"),
        vec![json!({"Pump 7": [{"ts": 5, "values": {"flow": 1}}], "Pump 8": [{"pressure": 3.1}]})]
    );
    let d = h.gw.model().devices().get("Pump 8").unwrap();
    assert_eq!(d.telemetry_sent, 1);
    assert_eq!(d.state, DeviceState::Connected);
}

#[test]
fn a_flat_metadata_key_is_refused_and_nothing_is_sent() {
    let mut h = Harness::connected();
    h.take_published();
    let err =
        h.gw.send_telemetry(h.now, &[("P", vec![flat(json!({"metadata": 1}))])])
            .unwrap_err();
    assert!(matches!(err, GatewayError::Codec(ref e) if e.topic == "v1/gateway/telemetry"));
    assert!(err.to_string().contains("metadata"));
    assert!(h.take_published().is_empty());
    assert!(h.gw.model().devices().get("P").is_none());
}

#[test]
fn client_attributes_for_many_devices_go_in_one_message() {
    let mut h = Harness::connected();
    h.take_published();
    let a = json!({"fw": "1"}).as_object().unwrap().clone();
    h.gw.send_attributes(h.now, &[("A", a.clone()), ("B", a)])
        .unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/attributes"),
        vec![json!({"A": {"fw": "1"}, "B": {"fw": "1"}})]
    );
    assert_eq!(h.gw.model().devices().get("B").unwrap().attributes_sent, 1);
}

#[test]
fn after_a_rename_the_next_publish_uses_the_new_name() {
    let mut h = Harness::connected();
    h.gw.connect_device(h.now, "Old", Some("t")).unwrap();
    h.take_published();
    h.take_events();
    renamed(&mut h, "Old", "New");
    assert!(h.gateway_events().contains(&GatewayEvent::DeviceRenamed {
        old: "Old".into(),
        new: "New".into()
    }));
    // The new name is registered at once, with the old type.
    assert_eq!(
        h.take_published_on("v1/gateway/connect"),
        vec![json!({"device": "New", "type": "t"})]
    );
    h.gw.send_telemetry(h.now, &[("Old", vec![flat(json!({"x": 1}))])])
        .unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/telemetry"),
        vec![json!({"New": [{"x": 1}]})]
    );
    h.gw.request_attributes(h.now, "Old", AttributeScope::Client, &["k"])
        .unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/attributes/request")[0]["device"],
        json!("New")
    );
    assert_eq!(
        h.gw.model().devices().get("Old").unwrap().state,
        DeviceState::Renamed { to: "New".into() }
    );
    // After a reconnect only the new name is registered.
    h.drop_link();
    h.open();
    assert_eq!(
        h.take_published_on("v1/gateway/connect"),
        vec![json!({"device": "New", "type": "t"})]
    );
}

#[test]
fn a_deleted_device_refuses_publishes() {
    let mut h = Harness::connected();
    h.gw.connect_device(h.now, "Gone", None).unwrap();
    h.take_events();
    h.push(
        "v1/devices/me/rpc/request/41",
        r#"{"method":"gateway_device_deleted","params":"Gone"}"#,
    );
    assert!(h.gateway_events().contains(&GatewayEvent::DeviceDeleted {
        device: "Gone".into()
    }));
    h.take_published();
    let refused = GatewayError::Model(ModelError::DeviceDeleted {
        device: "Gone".into(),
    });
    assert_eq!(
        h.gw.send_telemetry(h.now, &[("Gone", vec![flat(json!({"x": 1}))])]),
        Err(refused.clone())
    );
    assert_eq!(
        h.gw.connect_device(h.now, "Gone", None),
        Err(refused.clone())
    );
    assert_eq!(
        h.gw.request_attributes(h.now, "Gone", AttributeScope::Shared, &["k"]),
        Err(refused.clone())
    );
    assert_eq!(h.gw.claim(h.now, "Gone", None, None), Err(refused));
    assert!(h.take_published().is_empty());
    // Not registered again after a reconnect.
    h.drop_link();
    h.open();
    assert!(h.take_published_on("v1/gateway/connect").is_empty());
    // Removing it lets the user create it again.
    h.gw.remove_device(h.now, "Gone").unwrap();
    assert!(h.gw.connect_device(h.now, "Gone", None).is_ok());
}

#[test]
fn a_claim_sends_the_secret_and_duration() {
    let mut h = Harness::connected();
    h.take_published();
    h.gw.claim(h.now, "Pump 7", Some("abc123".into()), Some(60_000))
        .unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/claim"),
        vec![json!({"Pump 7": {"secretKey": "abc123", "durationMs": 60000}})]
    );
}

#[test]
fn device_names_with_quotes_markup_and_unicode_go_through_unchanged() {
    let mut h = Harness::connected();
    let names = ["say \"hi\"", "<img src=x onerror=alert(1)>", "水泵 🚰 n°7"];
    for name in names {
        h.gw.connect_device(h.now, name, None).unwrap();
    }
    let mut sent: Vec<String> = h
        .take_published_on("v1/gateway/connect")
        .into_iter()
        .map(|v| v["device"].as_str().unwrap().to_string())
        .collect();
    sent.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(sent, want);
    let name = names[1];
    let body = json!({"device": name, "data": {"id": 0, "method": "m"}});
    h.push("v1/gateway/rpc", &body.to_string());
    h.gw.reply_rpc(h.now, name, 0, json!({"echo": name}))
        .unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/rpc"),
        vec![json!({"device": name, "id": 0, "data": {"echo": name}})]
    );
}

#[test]
fn a_disconnect_notice_is_explained_in_words() {
    let mut h = Harness::connected();
    h.take_events();
    h.push("v1/gateway/disconnect", r#"{"device":"P","reason":129}"#);
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::DisconnectNotice {
            device: "P".into(),
            reason: 129,
            explanation: "malformed: published at QoS 0".into()
        }]
    );
}
