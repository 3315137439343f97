use serde_json::json;

use super::harness::{subscribed, Harness};
use crate::core::gateway::GatewayEvent;

/// A gateway behind a bridged broker that sends back every publish on the
/// topics it bridges both ways.
fn bridged() -> Harness {
    let mut h = Harness::new();
    h.echo_topics = [
        "v1/gateway/connect",
        "v1/gateway/disconnect",
        "v1/gateway/telemetry",
        "v1/gateway/attributes",
        "v1/gateway/attributes/request",
        "v1/gateway/rpc",
        "v1/gateway/claim",
        "v1/devices/me/attributes",
        "v1/devices/me/rpc/request/+",
        "v1/devices/me/rpc/response/+",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    h.gw.set_bridged(true);
    h.open();
    h
}

fn server_events(events: Vec<GatewayEvent>) -> Vec<GatewayEvent> {
    events
        .into_iter()
        .filter(|e| {
            !matches!(
                e,
                GatewayEvent::Session(_)
                    | GatewayEvent::Settled(_)
                    | GatewayEvent::EchoIgnored { .. }
                    | GatewayEvent::DeviceRegistered { .. }
                    | GatewayEvent::SessionLimits(_)
            )
        })
        .collect()
}

#[test]
fn echoes_of_our_own_publishes_are_not_taken_for_server_messages() {
    let mut h = bridged();
    // The getSessionLimits call came back on rpc/request/1: not a server RPC.
    let events = h.take_events();
    assert!(server_events(events.clone()).is_empty(), "{events:?}");
    assert!(events.contains(&GatewayEvent::EchoIgnored {
        topic: "v1/devices/me/rpc/request/1".into()
    }));

    h.gw.connect_device(h.now, "A", None).unwrap();
    let attrs = json!({"fw": "1"}).as_object().unwrap().clone();
    h.gw.send_attributes(h.now, &[("A", attrs.clone())])
        .unwrap();
    h.gw.send_own_attributes(h.now, &attrs).unwrap();
    h.gw.request_attributes(
        h.now,
        "A",
        crate::core::gateway::codec::AttributeScope::Client,
        &["k"],
    )
    .unwrap();
    h.gw.claim(h.now, "A", None, None).unwrap();
    h.push(
        "v1/gateway/rpc",
        r#"{"device":"A","data":{"id":0,"method":"m"}}"#,
    );
    h.gw.reply_rpc(h.now, "A", 0, json!({"ok": true})).unwrap();
    h.push("v1/devices/me/rpc/request/7", r#"{"method":"reboot"}"#);
    h.gw.reply_own_rpc(h.now, 7, json!({"ok": true})).unwrap();
    h.gw.call_own_rpc(h.now, "getCurrentTime", json!({}))
        .unwrap();
    h.gw.disconnect_device(h.now, "A").unwrap();

    let events = h.take_events();
    let server = server_events(events.clone());
    assert_eq!(
        server,
        vec![
            GatewayEvent::RpcRequest {
                device: "A".into(),
                id: 0,
                method: "m".into(),
                params: json!(null)
            },
            GatewayEvent::OwnRpcRequest {
                id: 7,
                method: "reboot".into(),
                params: json!(null)
            },
        ],
        "{events:?}"
    );
    let echoes = events
        .iter()
        .filter(|e| matches!(e, GatewayEvent::EchoIgnored { .. }))
        .count();
    assert_eq!(echoes, 9, "{events:?}");
    assert_eq!(h.gw.model().echoes_ignored(), 10);
    // The attribute request and the client call still wait for their real
    // answers (getSessionLimits was answered by the server).
    assert_eq!(h.gw.model().requests().len(), 2);
}

#[test]
fn the_server_answer_to_our_call_is_not_an_echo() {
    let mut h = bridged();
    let id =
        h.gw.call_own_rpc(h.now, "getCurrentTime", json!({}))
            .unwrap();
    h.take_events();
    h.push(
        &format!("v1/devices/me/rpc/response/{id}"),
        r#"{"time":1767225600000}"#,
    );
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::OwnRpcResponse {
            id,
            method: Some("getCurrentTime".into()),
            response: json!({"time": 1767225600000u64})
        }]
    );
}

#[test]
fn a_server_update_identical_to_an_old_upload_is_not_an_echo() {
    let mut h = bridged();
    let attrs = json!({"mode": "auto"}).as_object().unwrap().clone();
    h.gw.send_own_attributes(h.now, &attrs).unwrap();
    h.take_events();
    // The echo was consumed; the same bytes from the server are an update.
    h.push("v1/devices/me/attributes", r#"{"mode":"auto"}"#);
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::OwnSharedAttributes {
            updated: attrs,
            deleted: vec![]
        }]
    );
}

#[test]
fn when_the_bridge_comes_back_up_every_device_is_registered_again() {
    let mut h = bridged();
    assert!(
        subscribed(&h.sent)
            .iter()
            .flatten()
            .any(|(f, _)| f == "tb-bridge/state"),
        "a bridged gateway watches the bridge's notification topic"
    );
    h.gw.connect_device(h.now, "A", Some("pump")).unwrap();
    h.gw.connect_device(h.now, "B", None).unwrap();
    h.push("tb-bridge/state", "1");
    h.take_published();
    h.push("tb-bridge/state", "0");
    assert!(h.take_published_on("v1/gateway/connect").is_empty());
    h.push("tb-bridge/state", "1");
    let mut again = h.take_published_on("v1/gateway/connect");
    again.sort_by_key(|v| v["device"].to_string());
    assert_eq!(
        again,
        [
            json!({"device": "A", "type": "pump"}),
            json!({"device": "B"})
        ]
    );
    let events = h.gateway_events();
    assert!(
        events.contains(&GatewayEvent::BridgeState { up: true }),
        "{events:?}"
    );
}

#[test]
fn a_direct_connection_does_not_watch_a_bridge() {
    let mut h = Harness::connected();
    assert!(!subscribed(&h.sent)
        .iter()
        .flatten()
        .any(|(f, _)| f == "tb-bridge/state"));
    h.take_published();
}
