use serde_json::json;

use super::harness::Harness;
use crate::core::gateway::model::{ModelError, RpcStatus};
use crate::core::gateway::{GatewayError, GatewayEvent};

fn rpc(h: &mut Harness, device: &str, id: u64, method: &str) {
    let body = json!({"device": device, "data": {"id": id, "method": method, "params": {"x": 1}}});
    h.push("v1/gateway/rpc", &body.to_string());
}

#[test]
fn an_rpc_request_reaches_the_application_with_everything_to_answer_it() {
    let mut h = Harness::connected();
    h.take_events();
    rpc(&mut h, "Pump 7", 5, "setSpeed");
    assert_eq!(
        h.gateway_events(),
        vec![GatewayEvent::RpcRequest {
            device: "Pump 7".into(),
            id: 5,
            method: "setSpeed".into(),
            params: json!({"x": 1}),
        }]
    );
}

#[test]
fn two_devices_with_the_same_rpc_id_stay_apart() {
    let mut h = Harness::connected();
    rpc(&mut h, "A", 0, "m");
    rpc(&mut h, "B", 0, "m");
    h.take_published();
    h.gw.reply_rpc(h.now, "B", 0, json!({"from": "B"})).unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/rpc"),
        vec![json!({"device": "B", "id": 0, "data": {"from": "B"}})]
    );
    let inbox = h.gw.model().rpc_inbox();
    assert_eq!(inbox.get(Some("A"), 0).unwrap().status, RpcStatus::Pending);
    assert!(matches!(
        inbox.get(Some("B"), 0).unwrap().status,
        RpcStatus::Replied { .. }
    ));
    h.gw.reply_rpc(h.now, "A", 0, json!("a")).unwrap();
    assert_eq!(
        h.take_published_on("v1/gateway/rpc"),
        vec![json!({"device": "A", "id": 0, "data": "a"})]
    );
}

#[test]
fn rpc_id_0_works_and_the_reply_data_stays_a_json_object() {
    let mut h = Harness::connected();
    rpc(&mut h, "Pump 7", 0, "setSpeed");
    h.take_published();
    h.gw.reply_rpc(h.now, "Pump 7", 0, json!({"ok": true, "rpm": 1200}))
        .unwrap();
    let sent = h.take_published_on("v1/gateway/rpc");
    assert_eq!(
        sent,
        vec![json!({"device": "Pump 7", "id": 0, "data": {"ok": true, "rpm": 1200}})]
    );
}

#[test]
fn replying_twice_or_to_an_unknown_rpc_is_refused() {
    let mut h = Harness::connected();
    rpc(&mut h, "A", 1, "m");
    h.gw.reply_rpc(h.now, "A", 1, json!(1)).unwrap();
    assert_eq!(
        h.gw.reply_rpc(h.now, "A", 1, json!(1)),
        Err(GatewayError::Model(ModelError::RpcAlreadyReplied {
            device: Some("A".into()),
            id: 1
        }))
    );
    assert!(matches!(
        h.gw.reply_rpc(h.now, "A", 2, json!(1)),
        Err(GatewayError::Model(ModelError::UnknownRpc { .. }))
    ));
}

#[test]
fn an_rpc_expires_after_10_seconds() {
    let mut h = Harness::connected();
    rpc(&mut h, "A", 3, "slow");
    let arrived = h.now;
    h.take_events();
    h.advance(9_999);
    assert!(!h
        .gateway_events()
        .iter()
        .any(|e| matches!(e, GatewayEvent::RpcExpired { .. })));
    h.advance(1);
    let expired: Vec<GatewayEvent> = h
        .gateway_events()
        .into_iter()
        .filter(|e| matches!(e, GatewayEvent::RpcExpired { .. }))
        .collect();
    assert_eq!(
        expired,
        vec![GatewayEvent::RpcExpired {
            device: "A".into(),
            id: 3,
            method: "slow".into()
        }]
    );
    assert_eq!(
        h.gw.model().rpc_inbox().get(Some("A"), 3).unwrap().status,
        RpcStatus::Expired {
            at: arrived.after_ms(10_000)
        }
    );
    // A late answer may still go out: the caller may wait longer than the default.
    assert!(h.gw.reply_rpc(h.now, "A", 3, json!(null)).is_ok());
}

#[test]
fn an_rpc_for_a_known_device_counts_and_refreshes_its_activity() {
    let mut h = Harness::connected();
    h.gw.connect_device(h.now, "A", None).unwrap();
    h.now = h.now.after_ms(500);
    rpc(&mut h, "A", 1, "m");
    let device = h.gw.model().devices().get("A").unwrap();
    assert_eq!(device.rpc_received, 1);
    assert_eq!(device.last_activity, h.now);
}

#[test]
fn rpcs_with_large_params_keep_the_inboxes_within_their_bytes_and_say_what_was_dropped() {
    use crate::core::gateway::model::RPC_INBOX_BYTES;
    let mut h = Harness::connected();
    h.take_events();
    let blob = "x".repeat(64 * 1024);
    let mut device_drops = Vec::new();
    let mut own_drops = Vec::new();
    for id in 0..300u64 {
        let body = json!({"device": "Pump 7", "data": {"id": id, "method": "m", "params": {"blob": blob}}});
        h.push("v1/gateway/rpc", &body.to_string());
        let own = json!({"method": "m", "params": {"blob": blob}});
        h.push(&format!("v1/devices/me/rpc/request/{id}"), &own.to_string());
        for event in h.gateway_events() {
            if let GatewayEvent::RpcInboxDropped { own, count, total } = event {
                if own {
                    own_drops.push((count, total));
                } else {
                    device_drops.push((count, total));
                }
            }
        }
    }
    let model = h.gw.model();
    for (inbox, drops) in [
        (model.rpc_inbox(), &device_drops),
        (model.own().rpc(), &own_drops),
    ] {
        assert!(inbox.bytes() <= RPC_INBOX_BYTES, "{} bytes", inbox.bytes());
        assert!(inbox.len() < 64, "{} requests of 64 KiB kept", inbox.len());
        assert_eq!(inbox.dropped(), 300 - inbox.len() as u64);
        let counted: u64 = drops.iter().map(|(count, _)| count).sum();
        assert_eq!(counted, inbox.dropped(), "every drop is told");
        assert_eq!(drops.last().map(|(_, total)| *total), Some(inbox.dropped()));
    }
}
