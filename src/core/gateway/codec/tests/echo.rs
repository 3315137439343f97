use bytes::Bytes;

use crate::core::gateway::codec::{decode, Downlink, EchoTracker, Uplink};
use crate::core::time::Millis;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[test]
fn only_device_level_topics_we_subscribe_to_can_echo() {
    assert!(EchoTracker::can_echo("v1/devices/me/attributes"));
    assert!(EchoTracker::can_echo("v1/devices/me/rpc/request/1"));
    assert!(EchoTracker::can_echo("v1/devices/me/rpc/response/1"));
    assert!(!EchoTracker::can_echo("v1/devices/me/telemetry"));
    assert!(!EchoTracker::can_echo("v1/gateway/attributes"));
    let mut t = EchoTracker::default();
    t.record(Millis(0), "v1/devices/me/telemetry", &b("{}"));
    assert!(t.is_empty());
}

#[test]
fn our_own_attribute_upload_comes_back_as_an_echo_once() {
    let mut t = EchoTracker::default();
    let e = Uplink::OwnAttributes(super::attrs(serde_json::json!({"a": 1})))
        .encode()
        .unwrap();
    t.record(Millis(0), &e.topic, &e.payload);
    let d = decode(Millis(5), &e.topic, &e.payload, Some(&mut t)).unwrap();
    assert!(matches!(d, Downlink::Echo { .. }));
    // The same bytes again are the server's.
    let d = decode(Millis(6), &e.topic, &e.payload, Some(&mut t)).unwrap();
    assert!(matches!(d, Downlink::OwnSharedAttributes(_)), "{d:?}");
}

#[test]
fn a_remembered_publish_is_forgotten_after_the_window() {
    let mut t = EchoTracker::new(8, 1000);
    t.record(Millis(0), "v1/devices/me/attributes", &b(r#"{"a":1}"#));
    assert!(!t.take(Millis(1001), "v1/devices/me/attributes", br#"{"a":1}"#));
    assert!(t.is_empty());
}

#[test]
fn the_ring_of_recent_publishes_is_bounded() {
    let mut t = EchoTracker::new(2, 60_000);
    for i in 0..5 {
        t.record(
            Millis(i),
            "v1/devices/me/attributes",
            &b(&format!("{{\"a\":{i}}}")),
        );
    }
    assert_eq!(t.len(), 2);
    assert!(!t.take(Millis(5), "v1/devices/me/attributes", br#"{"a":0}"#));
    assert!(t.take(Millis(5), "v1/devices/me/attributes", br#"{"a":4}"#));
}

#[test]
fn an_outstanding_client_call_is_recognised_even_after_the_ring_forgot_it() {
    let mut t = EchoTracker::new(1, 10);
    let e = Uplink::get_session_limits(3).encode().unwrap();
    t.record(Millis(0), &e.topic, &e.payload);
    t.record_call(3, &e.payload);
    t.record(Millis(1), "v1/devices/me/attributes", &b("{}"));
    let d = decode(Millis(100_000), &e.topic, &e.payload, Some(&mut t)).unwrap();
    assert!(matches!(d, Downlink::Echo { .. }));
    // A server RPC that happens to share the id is not an echo.
    let d = decode(
        Millis(100_001),
        &e.topic,
        br#"{"method":"reboot"}"#,
        Some(&mut t),
    )
    .unwrap();
    assert!(matches!(d, Downlink::OwnRpcRequest { id: 3, .. }), "{d:?}");
    t.forget_call(3);
    assert!(t.is_empty());
}

#[test]
fn our_reply_echo_is_told_from_the_answer_to_our_call_with_the_same_id() {
    let mut t = EchoTracker::default();
    let reply = Uplink::OwnRpcReply {
        id: 1,
        data: serde_json::json!({"ok": true}),
    }
    .encode()
    .unwrap();
    t.record(Millis(0), &reply.topic, &reply.payload);
    let d = decode(Millis(1), &reply.topic, br#"{"time":5}"#, Some(&mut t)).unwrap();
    assert!(matches!(d, Downlink::OwnRpcResponse { id: 1, .. }), "{d:?}");
    let d = decode(Millis(2), &reply.topic, &reply.payload, Some(&mut t)).unwrap();
    assert!(matches!(d, Downlink::Echo { .. }), "{d:?}");
}
