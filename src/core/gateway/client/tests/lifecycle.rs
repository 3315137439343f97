use mqttbytes::QoS;
use serde_json::json;

use super::harness::{all_qos1, subscribed, Harness};
use crate::core::gateway::codec::topics::SUBSCRIPTIONS;
use crate::core::gateway::codec::TelemetryEntry;
use crate::core::gateway::model::DeviceState;
use crate::core::gateway::GatewayEvent;
use crate::core::mqtt::Event;

fn connects(h: &mut Harness) -> Vec<serde_json::Value> {
    h.take_published_on("v1/gateway/connect")
}

#[test]
fn every_connack_subscribes_to_the_seven_filters_at_qos_1_in_one_subscribe() {
    let mut h = Harness::connected();
    let subs = subscribed(&h.sent);
    let want: Vec<(String, QoS)> = SUBSCRIPTIONS
        .iter()
        .map(|f| (f.to_string(), QoS::AtLeastOnce))
        .collect();
    assert_eq!(subs, vec![want]);
    let events = h.take_events();
    assert!(events
        .iter()
        .any(|e| matches!(e, GatewayEvent::Session(Event::Subscribed { .. }))));
    assert!(!events
        .iter()
        .any(|e| matches!(e, GatewayEvent::SubscriptionRefused { .. })));
}

#[test]
fn every_connack_asks_for_the_session_limits_and_the_answer_is_kept() {
    let mut h = Harness::new();
    h.limits = None;
    h.open();
    let calls = h.take_published_on("v1/devices/me/rpc/request/1");
    assert_eq!(
        calls,
        vec![json!({"method": "getSessionLimits", "params": {}})]
    );
    h.take_events();
    let limits = json!({"maxPayloadSize": 65536, "maxInflightMessages": 100,
        "rateLimits": {"messages": "10:1", "telemetryMessages": null, "telemetryDataPoints": null},
        "gatewayRateLimits": {"messages": null, "telemetryMessages": null, "telemetryDataPoints": null}});
    h.push("v1/devices/me/rpc/response/1", &limits.to_string());
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::SessionLimits(limits.clone())]
    );
    assert_eq!(h.gw.model().own().session_limits().unwrap().value, limits);
    assert_eq!(h.gw.model().own().session_limits_call(), None);
}

#[test]
fn a_reconnect_resubscribes_and_reregisters_every_device() {
    let mut h = Harness::connected();
    h.gw.connect_device(h.now, "Pump 7", Some("Water pump"))
        .unwrap();
    h.gw.connect_device(h.now, "Pump 8", None).unwrap();
    assert_eq!(connects(&mut h).len(), 2);
    h.take_events();
    h.drop_link();
    assert_eq!(
        h.gw.model().devices().get("Pump 7").unwrap().state,
        DeviceState::Connecting
    );
    h.now = h.now.after_ms(5_000);
    h.open();
    assert_eq!(subscribed(&h.sent).len(), 1);
    assert!(all_qos1(&h.sent));
    let mut sent = connects(&mut h);
    sent.sort_by_key(|v| v["device"].to_string());
    assert_eq!(
        sent,
        vec![
            json!({"device": "Pump 7", "type": "Water pump"}),
            json!({"device": "Pump 8"})
        ]
    );
    let registered: Vec<GatewayEvent> = h
        .gateway_events()
        .into_iter()
        .filter(|e| matches!(e, GatewayEvent::DeviceRegistered { .. }))
        .collect();
    assert_eq!(registered.len(), 2);
    assert_eq!(
        h.gw.model().devices().get("Pump 8").unwrap().state,
        DeviceState::Connected
    );
}

#[test]
fn a_device_connected_while_offline_is_registered_once_on_the_next_connack() {
    let mut h = Harness::new();
    assert_eq!(h.gw.connect_device(h.now, "Offline", None), Ok(None));
    assert_eq!(
        h.gw.model().devices().get("Offline").unwrap().state,
        DeviceState::Connecting
    );
    h.open();
    assert_eq!(connects(&mut h), vec![json!({"device": "Offline"})]);
    assert!(h
        .gateway_events()
        .contains(&GatewayEvent::DeviceRegistered {
            device: "Offline".into()
        }));
}

#[test]
fn a_device_is_connected_once_its_connect_is_acknowledged() {
    let mut h = Harness::connected();
    h.ack_publishes = false;
    let id = h.gw.connect_device(h.now, "A", None).unwrap();
    assert!(id.is_some());
    h.take_events();
    assert_eq!(
        h.gw.model().devices().get("A").unwrap().state,
        DeviceState::Connecting
    );
    let pkid = h
        .sent
        .iter()
        .rev()
        .find_map(|p| match p {
            mqttbytes::v4::Packet::Publish(p) if p.topic == "v1/gateway/connect" => Some(p.pkid),
            _ => None,
        })
        .unwrap();
    let mut buf = bytes::BytesMut::new();
    mqttbytes::v4::PubAck::new(pkid).write(&mut buf).unwrap();
    h.feed(&buf);
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::DeviceRegistered { device: "A".into() }]
    );
    assert_eq!(
        h.gw.model().devices().get("A").unwrap().state,
        DeviceState::Connected
    );
}

#[test]
fn a_refused_subscription_surfaces_naming_the_filter() {
    let mut h = Harness::new();
    h.refuse = vec!["v1/gateway/attributes/response".into()];
    h.open();
    let refused: Vec<GatewayEvent> = h
        .gateway_events()
        .into_iter()
        .filter(|e| matches!(e, GatewayEvent::SubscriptionRefused { .. }))
        .collect();
    assert_eq!(
        refused,
        vec![GatewayEvent::SubscriptionRefused {
            filter: "v1/gateway/attributes/response".into()
        }]
    );
}

#[test]
fn a_user_disconnected_device_is_not_registered_again_on_reconnect() {
    let mut h = Harness::connected();
    h.gw.connect_device(h.now, "A", None).unwrap();
    h.gw.connect_device(h.now, "B", None).unwrap();
    h.take_published();
    assert!(h.gw.disconnect_device(h.now, "B").unwrap().is_some());
    assert_eq!(
        h.take_published_on("v1/gateway/disconnect"),
        vec![json!({"device": "B"})]
    );
    h.drop_link();
    h.open();
    assert_eq!(connects(&mut h), vec![json!({"device": "A"})]);
    assert_eq!(
        h.gw.model().devices().get("B").unwrap().state,
        DeviceState::Disconnected
    );
}

#[test]
fn disconnecting_an_unknown_device_is_refused_and_sends_nothing() {
    let mut h = Harness::connected();
    h.take_published();
    let err = h.gw.disconnect_device(h.now, "ghost").unwrap_err();
    assert!(
        err.to_string().contains("no device named \"ghost\""),
        "{err}"
    );
    assert!(h.take_published().is_empty());
}

#[test]
fn removing_a_device_sends_disconnect_and_forgets_it() {
    let mut h = Harness::connected();
    h.gw.connect_device(h.now, "A", None).unwrap();
    h.take_published();
    assert!(h.gw.remove_device(h.now, "A").unwrap().is_some());
    assert_eq!(
        h.take_published_on("v1/gateway/disconnect"),
        vec![json!({"device": "A"})]
    );
    assert!(h.gw.model().devices().get("A").is_none());
    h.drop_link();
    h.open();
    assert!(connects(&mut h).is_empty());
}

#[test]
fn poll_timeout_is_the_earliest_of_the_session_and_the_model() {
    let mut h = Harness::connected();
    let session = h.gw.session().poll_timeout();
    h.gw.request_attributes(
        h.now,
        "A",
        crate::core::gateway::codec::AttributeScope::Shared,
        &["k"],
    )
    .unwrap();
    let model = h.gw.model().next_deadline();
    assert!(model.is_some());
    let want = [session, model].into_iter().flatten().min();
    assert_eq!(h.gw.poll_timeout(), want);
}

#[test]
fn a_requested_disconnect_closes_the_session_and_keeps_the_devices() {
    let mut h = Harness::connected();
    h.gw.connect_device(h.now, "A", None).unwrap();
    h.gw.disconnect(h.now);
    assert!(!h.gw.is_connected());
    assert!(h
        .take_events()
        .contains(&GatewayEvent::Session(Event::Closed { error: None })));
    assert_eq!(
        h.gw.model().devices().get("A").unwrap().state,
        DeviceState::Connecting
    );
}

/// A connected gateway whose devices' server sessions expire after
/// `inactivity_ms`, with keep-alives on or off.
fn expiring(inactivity_ms: u64, keep_registered: bool) -> Harness {
    use crate::core::gateway::model::ModelConfig;
    use crate::core::gateway::Gateway;
    use crate::core::mqtt::{ConnectOptions, Credentials, Protocol};
    let mut h = Harness::new();
    let mut options = ConnectOptions::new("gw", Credentials::AccessToken("token".into()));
    options.protocol = Protocol::V311;
    h.gw = Gateway::with_config(
        options,
        ModelConfig {
            session_inactivity_ms: inactivity_ms,
            keep_registered,
            ..ModelConfig::default()
        },
    );
    h.open();
    h
}

#[test]
fn a_quiet_device_gets_a_keepalive_before_the_server_would_drop_its_session() {
    let mut h = expiring(10_000, true);
    h.gw.set_durable(true);
    h.gw.connect_device(h.now, "Quiet", None).unwrap();
    h.gw.connect_device(h.now, "Busy", None).unwrap();
    h.take_published();
    h.take_events();
    h.gw.take_journal();
    let mut keepalives = Vec::new();
    for _ in 0..30 {
        h.gw.send_telemetry(
            h.now,
            &[(
                "Busy",
                vec![TelemetryEntry::flat(
                    json!({"x": 1}).as_object().unwrap().clone(),
                )],
            )],
        )
        .unwrap();
        h.advance(1_000);
        for body in h.take_published_on("v1/gateway/attributes/request") {
            keepalives.push((h.now, body));
        }
    }
    // Every 5 s (half the 10 s expiry), for the quiet device only.
    assert!(
        keepalives
            .iter()
            .all(|(_, b)| b["device"] == "Quiet" && b["client"] == true && b["key"] == "keepalive"),
        "{keepalives:?}"
    );
    assert!(
        (5..=7).contains(&keepalives.len()),
        "{} keep-alives in 30 s",
        keepalives.len()
    );
    assert!(keepalives.windows(2).all(|w| w[1].0.since(w[0].0) < 10_000));
    // Not kept across a reload: the next page sends its own.
    assert!(!h.gw.take_journal().iter().any(|op| matches!(
        op,
        crate::core::gateway::client::JournalOp::Put { topic, .. } if topic == "v1/gateway/attributes/request"
    )));
    // Their answers are not shown (the latest still waits for its answer;
    // older ones timed out silently).
    let id = keepalives.last().unwrap().1["id"].as_u64().unwrap();
    h.push(
        "v1/gateway/attributes/response",
        &json!({"id": id, "device": "Quiet"}).to_string(),
    );
    assert!(h.gateway_events().is_empty());
}

#[test]
fn no_keepalive_when_the_server_keeps_sub_devices_active_itself() {
    let mut h = expiring(10_000, false);
    h.gw.connect_device(h.now, "Quiet", None).unwrap();
    h.take_published();
    h.advance(60_000);
    assert!(h
        .take_published_on("v1/gateway/attributes/request")
        .is_empty());
}
