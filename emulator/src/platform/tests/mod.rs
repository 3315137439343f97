//! Unit tests of the tenant model: credentials and sessions, subscription
//! grants, publish verdicts, rate limits, expiry and RPC, as the contract
//! describes ThingsBoard.

mod rpc;
mod sessions;
mod verdicts;

use super::session::{Ack, Close, ConnectRequest, Effect, MqttVersion, SessionId, Verdict};
use super::{Config, Platform};
use serde_json::Value;
use uuid::Uuid;

/// Start time of every test platform.
const T0: u64 = 1_767_225_600_000;

/// The token of the gateway every test platform starts with.
const GW: &str = "GW_TOKEN";

fn platform() -> Platform {
    Platform::new(
        Config {
            gateway_tokens: vec![GW.into()],
            ..Config::default()
        },
        T0,
    )
}

fn request(token: &str, version: MqttVersion) -> ConnectRequest {
    ConnectRequest {
        client_id: "client".into(),
        username: Some(token.into()),
        password: None,
        version,
        keep_alive: 60,
        peer: "127.0.0.1:5000".into(),
    }
}

/// Connects with an access token; panics on refusal.
fn connect(p: &mut Platform, token: &str, version: MqttVersion) -> SessionId {
    p.open_session(request(token, version), T0)
        .expect("connect accepted")
        .session
}

/// A QoS 1 publish with packet id 7.
fn publish(p: &mut Platform, s: SessionId, topic: &str, payload: &str, now: u64) -> Verdict {
    p.publish(s, topic, payload.as_bytes(), 1, 7, now)
}

fn ok() -> Verdict {
    Verdict {
        ack: Some(Ack { pkid: 7, reason: 0 }),
        close: None,
    }
}

fn acked(reason: u8) -> Option<Ack> {
    Some(Ack { pkid: 7, reason })
}

fn closed() -> Option<Close> {
    Some(Close {
        disconnect_reason: None,
    })
}

/// The pushes left since the last drain, as (session, topic, JSON).
fn pushes(p: &mut Platform) -> Vec<(SessionId, String, Value)> {
    p.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Push {
                session,
                topic,
                payload,
                ..
            } => Some((
                session,
                topic,
                serde_json::from_slice(&payload).expect("pushes are JSON"),
            )),
            Effect::Close { .. } => None,
        })
        .collect()
}

fn id_of(p: &Platform, name: &str) -> Uuid {
    p.device_by_name(name).expect("device exists").id
}
