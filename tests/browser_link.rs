//! Browser tests of the shell: the real WebSocket link, run by
//! `wasm-pack test --headless --chrome` against the mosquitto that
//! `scripts/test` starts (its websockets URL comes in BG_TEST_WS_URL at build time).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use browser_gateway::core::mqtt::{ConnectOptions, Credentials, Event, Protocol, QoS, Session};
use browser_gateway::shell::clock::now;
use browser_gateway::shell::link::{Link, LinkConfig, LinkStatus};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const WS_URL: &str = match option_env!("BG_TEST_WS_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:9001",
};

/// A link plus every event its session produced, collected as they arrive.
fn link_with_events(client_id: &str) -> (Link<Session>, Rc<RefCell<Vec<Event>>>) {
    link_speaking(client_id, Protocol::V5)
}

/// The same, speaking `protocol`.
fn link_speaking(client_id: &str, protocol: Protocol) -> (Link<Session>, Rc<RefCell<Vec<Event>>>) {
    let mut options = ConnectOptions::new(client_id, Credentials::Anonymous);
    options.protocol = protocol;
    let link = Link::new(Session::new(options));
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    let drain = link.clone();
    link.set_on_change(move || {
        drain.drain(|s| {
            while let Some(e) = s.poll_event() {
                sink.borrow_mut().push(e);
            }
        })
    });
    (link, events)
}

/// Wait until `cond` holds, checking every 10 ms, failing after `ms`.
async fn wait_for(what: &str, ms: u32, mut cond: impl FnMut() -> bool) {
    let deadline = now().after_ms(ms as u64);
    while !cond() {
        assert!(
            now() < deadline,
            "timed out after {ms} ms waiting for {what}"
        );
        gloo::timers::future::TimeoutFuture::new(10).await;
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e9) as u64)
}

/// A link speaking MQTT 3.1.1 to the broker, connected and subscribed (the
/// subscription granted) to a new topic under `topic_prefix`, which it
/// returns with the link and its events.
async fn subscribed_v311(
    client_prefix: &str,
    topic_prefix: &str,
) -> (Link<Session>, Rc<RefCell<Vec<Event>>>, String) {
    let (link, events) = link_speaking(&unique(client_prefix), Protocol::V311);
    link.connect(LinkConfig::new(WS_URL));
    wait_for("CONNACK", 5_000, || link.status() == LinkStatus::Connected).await;
    let topic = unique(topic_prefix);
    let sub = link
        .with(|s| s.subscribe(now(), &[(topic.as_str(), QoS::AtLeastOnce)]))
        .expect("subscribe while connected");
    wait_for("SUBACK", 5_000, || {
        events
            .borrow()
            .iter()
            .any(|e| matches!(e, Event::Subscribed { id, results } if *id == sub && results[0].granted.is_some()))
    })
    .await;
    (link, events, topic)
}

#[wasm_bindgen_test]
async fn connects_subscribes_publishes_qos1_and_gets_its_puback() {
    // MQTT 3.1.1 against a plain broker: our own publish comes back.
    let (link, events, topic) = subscribed_v311("bg-browser", "bg-test/echo").await;

    let id = link
        .with(|s| s.publish(now(), &topic, "ping".into(), QoS::AtLeastOnce))
        .expect("publish");
    wait_for("PUBACK", 5_000, || {
        events.borrow().iter().any(|e| *e == Event::Acked(id))
    })
    .await;
    // mosquitto echoes our own publish back to our subscription.
    wait_for("the echo", 5_000, || {
        events.borrow().iter().any(
            |e| matches!(e, Event::Message { topic: t, payload, .. } if *t == topic && &payload[..] == b"ping"),
        )
    })
    .await;
    link.disconnect();
    assert_eq!(link.status(), LinkStatus::Closed { error: None });
}

/// Whether `events` hold a message on `topic` with `payload`.
fn got(events: &RefCell<Vec<Event>>, topic: &str, payload: &[u8]) -> bool {
    events.borrow().iter().any(
        |e| matches!(e, Event::Message { topic: t, payload: p, .. } if t == topic && &p[..] == payload),
    )
}

#[wasm_bindgen_test]
async fn under_mqtt_5_our_own_publishes_never_come_back_but_another_clients_do() {
    let (link, events) = link_with_events(&unique("bg-nolocal"));
    let (other, _) = link_with_events(&unique("bg-other"));
    link.connect(LinkConfig::new(WS_URL));
    other.connect(LinkConfig::new(WS_URL));
    wait_for("both CONNACKs", 5_000, || {
        link.status() == LinkStatus::Connected && other.status() == LinkStatus::Connected
    })
    .await;
    let topic = unique("bg-test/nolocal");
    let sub = link
        .with(|s| s.subscribe(now(), &[(topic.as_str(), QoS::AtLeastOnce)]))
        .expect("subscribe");
    wait_for("SUBACK", 5_000, || {
        events
            .borrow()
            .iter()
            .any(|e| matches!(e, Event::Subscribed { id, .. } if *id == sub))
    })
    .await;
    let ours = link
        .with(|s| s.publish(now(), &topic, "ours".into(), QoS::AtLeastOnce))
        .expect("publish");
    wait_for("our PUBACK", 5_000, || {
        events.borrow().iter().any(|e| *e == Event::Acked(ours))
    })
    .await;
    // The broker delivers in order: once the other client's message is
    // here, ours would have been too, had No Local not kept it away.
    other
        .with(|s| s.publish(now(), &topic, "theirs".into(), QoS::AtLeastOnce))
        .expect("publish");
    wait_for("the other client's message", 5_000, || {
        got(&events, &topic, b"theirs")
    })
    .await;
    assert!(
        !got(&events, &topic, b"ours"),
        "No Local: our own publish stayed away"
    );
    link.disconnect();
    other.disconnect();
}

#[wasm_bindgen_test]
async fn receives_what_mosquitto_pub_published() {
    // scripts/test publishes this retained message with mosquitto_pub before the run.
    let (link, events) = link_with_events(&unique("bg-browser"));
    link.connect(LinkConfig::new(WS_URL));
    wait_for("CONNACK", 5_000, || link.status() == LinkStatus::Connected).await;
    link.with(|s| s.subscribe(now(), &[("bg-test/retained", QoS::AtLeastOnce)]))
        .expect("subscribe");
    wait_for("the retained message from mosquitto_pub", 5_000, || {
        events.borrow().iter().any(|e| {
            matches!(e, Event::Message { topic, payload, retain: true, .. }
                if topic == "bg-test/retained" && &payload[..] == b"hello from mosquitto_pub")
        })
    })
    .await;
    link.disconnect();
}

#[wasm_bindgen_test]
async fn a_url_that_is_not_a_websocket_url_is_refused_with_a_clear_message() {
    let (link, _events) = link_with_events("bg-bad-url");
    link.connect(LinkConfig::new("http://127.0.0.1:9001"));
    match link.status() {
        LinkStatus::Closed { error: Some(e) } => {
            assert!(e.contains("must start with ws:// or wss://"), "{e}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn an_unreachable_broker_schedules_a_reconnect_that_can_be_cancelled() {
    let (link, _events) = link_with_events("bg-unreachable");
    // Port 9 (discard) on loopback: nothing listens there.
    link.connect(LinkConfig::new("ws://127.0.0.1:9/"));
    wait_for("a reconnect to be scheduled", 5_000, || {
        matches!(link.status(), LinkStatus::Reconnecting { .. })
    })
    .await;
    match link.status() {
        LinkStatus::Reconnecting { at, attempt, error } => {
            assert_eq!(attempt, 1);
            let delay = at.since(now());
            assert!((700..=1_000).contains(&delay), "first delay {delay} ms");
            assert!(error.contains("could not reach"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    link.cancel_reconnect();
    assert!(matches!(
        link.status(),
        LinkStatus::Closed { error: Some(_) }
    ));
}

#[wasm_bindgen_test]
async fn packets_queued_in_one_turn_of_the_event_loop_go_out_as_one_websocket_message() {
    let (link, events) = link_with_events(&unique("bg-batch"));
    link.connect(LinkConfig::new(WS_URL));
    wait_for("CONNACK", 5_000, || link.status() == LinkStatus::Connected).await;
    let topic = unique("bg-test/batch");
    // As many as the broker takes in flight at once (MQTT 5's Receive
    // Maximum; mosquitto says 20), up to 40.
    let n = link.read(|s| s.inflight_window()).min(40);
    assert!(n >= 10, "a window of {n}");
    let (frames_out_before, _) = link.frames();
    let ids: Vec<_> = (0..n)
        .map(|i| {
            link.with(|s| s.publish(now(), &topic, format!("m{i}").into(), QoS::AtLeastOnce))
                .expect("publish")
        })
        .collect();
    wait_for("every PUBACK", 5_000, || {
        let events = events.borrow();
        ids.iter().all(|id| events.contains(&Event::Acked(*id)))
    })
    .await;
    let (frames_out_after, _) = link.frames();
    assert_eq!(
        frames_out_after - frames_out_before,
        1,
        "{n} publishes made in one turn share one WebSocket message"
    );
    link.disconnect();
}

#[wasm_bindgen_test]
async fn acknowledging_incoming_messages_keeps_no_js_value_per_message() {
    // Each QoS 1 PUBLISH that comes in is acknowledged from a zero-delay
    // timer (so the PUBACKs of a burst share a WebSocket message). Over a
    // long session that timer must not keep anything per message: its
    // closure is a JS function the wasm holds until it is dropped, and one
    // kept per message grows the page's memory without end.
    let (link, events, topic) = subscribed_v311("bg-held", "bg-test/held").await;
    let held_before = wasm_bindgen::externref_heap_live_count();
    // One at a time, so each comes back in a task of its own and is
    // acknowledged from a timer of its own. MQTT 3.1.1: our own publishes
    // come back to us.
    const MESSAGES: u32 = 200;
    for i in 0..MESSAGES {
        let payload = format!("m{i}");
        link.with(|s| s.publish(now(), &topic, payload.clone().into(), QoS::AtLeastOnce))
            .expect("publish");
        wait_for("our message back", 5_000, || {
            got(&events, &topic, payload.as_bytes())
        })
        .await;
    }
    // The last acknowledgement's timer runs after the message came in.
    let mut held = 0;
    let settled = wait_until(2_000, || {
        held = wasm_bindgen::externref_heap_live_count();
        held <= held_before + 5
    })
    .await;
    assert!(
        settled,
        "the wasm held {held_before} JS values before {MESSAGES} messages and {held} after"
    );
    link.disconnect();
}

/// Whether `cond` came to hold within `ms` (checked every 10 ms).
async fn wait_until(ms: u32, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = now().after_ms(ms as u64);
    while !cond() {
        if now() >= deadline {
            return false;
        }
        gloo::timers::future::TimeoutFuture::new(10).await;
    }
    true
}
