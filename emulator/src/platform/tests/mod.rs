//! Unit tests of the platform against the contract's examples (both
//! directions) and its malformed cases.

mod commands;
mod device_level;
mod gateway;

use super::{Config, Outgoing, Platform};
use serde_json::Value;

/// Start time of every test platform.
const T0: u64 = 1_767_225_600_000;

fn platform() -> Platform {
    Platform::new(Config::default(), T0)
}

/// Publishes `payload` (JSON text or anything else) as the gateway.
fn send(p: &mut Platform, topic: &str, payload: &str, now: u64) -> Vec<Outgoing> {
    p.handle(topic, payload.as_bytes(), now)
}

fn body(o: &Outgoing) -> Value {
    serde_json::from_str(&o.payload).expect("outgoing payloads are JSON")
}

/// The single message published, as (topic, JSON).
fn single(out: &[Outgoing]) -> (String, Value) {
    assert_eq!(out.len(), 1, "expected exactly one message, got {out:?}");
    (out[0].topic.clone(), body(&out[0]))
}
