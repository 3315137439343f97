//! The emulated platform: state and rules, with no I/O.
//!
//! [`Platform::handle`] takes one MQTT message the gateway published and
//! returns what ThingsBoard would publish back ([`Outgoing`]); the command
//! methods (in `commands.rs`) are what the HTTP API calls. Time is always
//! passed in (`now`, epoch milliseconds), so everything here is
//! deterministic and unit-tested natively.

mod commands;
mod device;
mod device_topics;
mod gateway_topics;
mod journal;
mod rpc;
pub mod session;
mod telemetry;
mod values;

#[cfg(test)]
mod tests;

pub use commands::{AttributeView, CommandError, RpcCall, TsQuery};
pub use device::{Attribute, Device, DeviceSummary, Scope, TsPoint};
pub use journal::{ErrorRecord, Outcome};
pub use rpc::{RpcRecord, RpcReply, RpcStatus, RpcView, Target};
pub use values::TbValue;

use journal::Journal;
use rpc::RpcBook;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Topics the platform receives on (subscribe to exactly these).
pub const SUBSCRIPTIONS: &[&str] = &[
    topics::GW_CONNECT,
    topics::GW_DISCONNECT,
    topics::GW_TELEMETRY,
    topics::GW_ATTRIBUTES,
    topics::GW_ATTRIBUTES_REQUEST,
    topics::GW_RPC,
    topics::GW_CLAIM,
    topics::ME_TELEMETRY,
    topics::ME_ATTRIBUTES,
    topics::ME_CLAIM,
    "v1/devices/me/attributes/request/+",
    "v1/devices/me/rpc/request/+",
    "v1/devices/me/rpc/response/+",
];

/// Topic names of the contract (§2, §7).
pub mod topics {
    /// Sub-device registration (gw→srv).
    pub const GW_CONNECT: &str = "v1/gateway/connect";
    /// Sub-device deregistration (gw→srv), and notices (srv→gw).
    pub const GW_DISCONNECT: &str = "v1/gateway/disconnect";
    /// Sub-device telemetry (gw→srv).
    pub const GW_TELEMETRY: &str = "v1/gateway/telemetry";
    /// Client attributes (gw→srv) and shared-attribute pushes (srv→gw).
    pub const GW_ATTRIBUTES: &str = "v1/gateway/attributes";
    /// Attribute requests (gw→srv).
    pub const GW_ATTRIBUTES_REQUEST: &str = "v1/gateway/attributes/request";
    /// Attribute responses (srv→gw).
    pub const GW_ATTRIBUTES_RESPONSE: &str = "v1/gateway/attributes/response";
    /// RPC requests (srv→gw) and replies (gw→srv).
    pub const GW_RPC: &str = "v1/gateway/rpc";
    /// Claims (gw→srv).
    pub const GW_CLAIM: &str = "v1/gateway/claim";
    /// The gateway's own telemetry.
    pub const ME_TELEMETRY: &str = "v1/devices/me/telemetry";
    /// The gateway's own client attributes (up) and shared updates (down).
    pub const ME_ATTRIBUTES: &str = "v1/devices/me/attributes";
    /// The gateway's own claim.
    pub const ME_CLAIM: &str = "v1/devices/me/claim";
    /// Prefix of the gateway's attribute requests (`<prefix><id>`).
    pub const ME_ATTRIBUTES_REQUEST: &str = "v1/devices/me/attributes/request/";
    /// Prefix of the answers to them.
    pub const ME_ATTRIBUTES_RESPONSE: &str = "v1/devices/me/attributes/response/";
    /// Prefix of RPC requests to/from the gateway itself.
    pub const ME_RPC_REQUEST: &str = "v1/devices/me/rpc/request/";
    /// Prefix of RPC replies to/from the gateway itself.
    pub const ME_RPC_RESPONSE: &str = "v1/devices/me/rpc/response/";
}

/// ThingsBoard's `NETTY_MAX_PAYLOAD_SIZE`: larger packets close the connection.
pub const MAX_PACKET_SIZE: usize = 65_536;

/// Default `security.claim.duration` (24 h), used when `durationMs` is absent or 0.
pub const DEFAULT_CLAIM_DURATION_MS: i64 = 86_400_000;

/// Claims kept; older ones are dropped first.
pub const CLAIMS_CAP: usize = 1000;

/// Behaviour settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Name of the gateway device itself.
    pub gateway_name: String,
    /// RPC timeout when the REST call gives none
    /// (`server.rest.server_side_rpc.default_timeout`, 10 000 ms).
    pub rpc_default_timeout_ms: u64,
    /// Smallest RPC timeout honoured (ThingsBoard: 5 000 ms).
    pub rpc_min_timeout_ms: u64,
    /// A sub-device with no message for this long is silently removed from
    /// the gateway session (`transport.sessions.inactivity_timeout`,
    /// 600 000 ms); 0 disables the expiry.
    pub session_inactivity_ms: u64,
    /// Access tokens of the gateway devices created at start (`--gateway`),
    /// each named `"Gateway TOKEN"`.
    pub gateways: Vec<String>,
    /// An unknown access token at CONNECT creates a gateway device
    /// `"Gateway TOKEN"` for it (`--accept-any-token`).
    pub accept_any_token: bool,
    /// Largest MQTT packet accepted (`--max-payload-size`, 65 536).
    pub max_payload_size: usize,
    /// Most unacknowledged QoS 1 publishes per connection (`--max-inflight`, 100).
    pub max_inflight_messages: usize,
    /// Limits on all sub-device traffic of one gateway, summed
    /// (`--gateway-rate-limits`).
    pub gateway_rate_limits: RateLimits,
    /// Limits on a device's own traffic: the gateway's `v1/devices/me/*`, or
    /// a plain device (`--device-rate-limits`).
    pub device_rate_limits: RateLimits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gateway_name: "gateway".into(),
            rpc_default_timeout_ms: 10_000,
            rpc_min_timeout_ms: 5_000,
            session_inactivity_ms: 600_000,
            gateways: Vec::new(),
            accept_any_token: false,
            max_payload_size: MAX_PACKET_SIZE,
            max_inflight_messages: 100,
            gateway_rate_limits: RateLimits::default(),
            device_rate_limits: RateLimits::default(),
        }
    }
}

/// ThingsBoard's rate-limit strings for one kind of traffic, each
/// `count:seconds[,count:seconds...]` (all windows apply at once) or `None`
/// for unlimited, as `getSessionLimits` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimits {
    /// Every message (`transport*MsgRateLimit`).
    pub messages: Option<String>,
    /// Telemetry and attribute posts (`transport*TelemetryMsgRateLimit`).
    pub telemetry_messages: Option<String>,
    /// Data points in them (`transport*TelemetryDataPointsRateLimit`).
    pub telemetry_data_points: Option<String>,
}

/// A message the platform publishes (always QoS 1, never retained).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Topic.
    pub topic: String,
    /// Payload, JSON text.
    pub payload: String,
}

impl Outgoing {
    fn json(topic: impl Into<String>, value: &Value) -> Outgoing {
        Outgoing {
            topic: topic.into(),
            payload: value.to_string(),
        }
    }
}

/// A claim the gateway made for a device (or itself).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// Claimed device.
    pub device: String,
    /// Secret key (`""` when absent).
    pub secret_key: String,
    /// Effective duration (absent or 0 means the 24 h default).
    pub duration_ms: i64,
    /// Receive time, epoch ms.
    pub time: u64,
    /// `"gateway"` (v1/gateway/claim) or `"device"` (v1/devices/me/claim).
    pub via: &'static str,
}

/// The whole emulated platform: one gateway device and its sub-devices.
#[derive(Debug)]
pub struct Platform {
    config: Config,
    devices: BTreeMap<String, Device>,
    gateway: Device,
    rpcs: RpcBook,
    claims: Vec<Claim>,
    journal: Journal,
    client_rpc_replies: BTreeMap<String, Value>,
    broker_connected: bool,
    log: Vec<String>,
    interim_next_session: u64,
    interim_session: Option<session::SessionId>,
    interim_effects: Vec<session::Effect>,
    /// Messages from REST commands, for the interim session routing.
    pub(crate) interim_outgoing: Vec<Outgoing>,
}

impl Platform {
    /// A platform with no sub-devices; the gateway device exists from `now`.
    pub fn new(config: Config, now: u64) -> Platform {
        let gateway = Device::new(&config.gateway_name, "default", now);
        Platform {
            config,
            devices: BTreeMap::new(),
            gateway,
            rpcs: RpcBook::default(),
            claims: Vec::new(),
            journal: Journal::default(),
            client_rpc_replies: BTreeMap::new(),
            broker_connected: false,
            log: Vec::new(),
            interim_next_session: 0,
            interim_session: None,
            interim_effects: Vec::new(),
            interim_outgoing: Vec::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Log lines produced since the last call, oldest first.
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    /// Handles one message the gateway published on `topic`.
    pub fn handle(&mut self, topic: &str, payload: &[u8], now: u64) -> Vec<Outgoing> {
        let mut out = Vec::new();
        if topic.len() + payload.len() > MAX_PACKET_SIZE {
            self.reject(
                now,
                topic,
                payload,
                format!("{} bytes of payload", payload.len()),
                Outcome::TooLarge,
            );
            return out;
        }
        match topic {
            topics::GW_CONNECT => self.on_connect(topic, payload, now, &mut out),
            topics::GW_DISCONNECT => self.on_disconnect(topic, payload, now),
            topics::GW_TELEMETRY => self.on_telemetry(topic, payload, now, &mut out),
            topics::GW_ATTRIBUTES => self.on_attributes(topic, payload, now, &mut out),
            topics::GW_ATTRIBUTES_REQUEST => {
                self.on_attributes_request(topic, payload, now, &mut out)
            }
            topics::GW_RPC => self.on_rpc_reply(topic, payload, now, &mut out),
            topics::GW_CLAIM => self.on_claim(topic, payload, now, &mut out),
            topics::ME_TELEMETRY => self.on_me_telemetry(topic, payload, now),
            topics::ME_ATTRIBUTES => self.on_me_attributes(topic, payload, now),
            topics::ME_CLAIM => self.on_me_claim(topic, payload, now),
            _ => {
                if let Some(id) = topic.strip_prefix(topics::ME_ATTRIBUTES_REQUEST) {
                    self.on_me_attributes_request(topic, id, payload, now, &mut out)
                } else if let Some(id) = topic.strip_prefix(topics::ME_RPC_REQUEST) {
                    self.on_me_rpc_request(topic, id, payload, now, &mut out)
                } else if let Some(id) = topic.strip_prefix(topics::ME_RPC_RESPONSE) {
                    self.on_me_rpc_response(topic, id, payload, now)
                } else {
                    self.log
                        .push(format!("ignored a message on unexpected topic {topic:?}"));
                }
            }
        }
        out
    }

    /// Periodic housekeeping: expires RPC requests and idle sub-device
    /// sessions. Returns whether anything changed.
    pub fn tick(&mut self, now: u64) -> bool {
        let mut changed = self.expire_rpcs(now);
        if self.config.session_inactivity_ms > 0 {
            let limit = self.config.session_inactivity_ms;
            let idle: Vec<String> = self
                .devices
                .values()
                .filter(|d| {
                    d.connected
                        && now.saturating_sub(d.last_activity_time.unwrap_or(d.created_time))
                            >= limit
                })
                .map(|d| d.name.clone())
                .collect();
            for name in idle {
                if let Some(d) = self.devices.get_mut(&name) {
                    d.connected = false;
                    d.last_disconnect_time = Some(now);
                }
                self.log.push(format!(
                    "session of {name:?} expired after {limit} ms without traffic \
                     (silently deregistered, as ThingsBoard does)"
                ));
                changed = true;
            }
        }
        changed
    }

    /// Deregisters every sub-device, as ThingsBoard does when the gateway's
    /// connection closes. Returns how many were registered.
    pub fn close_gateway_session(&mut self, now: u64, why: &str) -> usize {
        let mut n = 0;
        for d in self.devices.values_mut().filter(|d| d.connected) {
            d.connected = false;
            d.last_disconnect_time = Some(now);
            n += 1;
        }
        self.log.push(format!(
            "gateway session closed ({why}): {n} sub-device(s) deregistered"
        ));
        n
    }

    /// Tells the platform whether the emulator is connected to the broker
    /// (shown as the gateway device's `connected`).
    pub fn set_broker_connected(&mut self, connected: bool, now: u64) {
        self.broker_connected = connected;
        if connected {
            self.gateway.last_connect_time = Some(now);
        } else {
            self.gateway.last_disconnect_time = Some(now);
        }
        self.gateway.connected = connected;
    }

    // ---- helpers shared by the topic handlers ----

    /// Records a rejected, skipped or dropped message; closes the gateway
    /// session when ThingsBoard would close the connection.
    fn reject(&mut self, now: u64, topic: &str, payload: &[u8], problem: String, outcome: Outcome) {
        let record = self.journal.record(now, topic, payload, problem, outcome);
        let line = format!(
            "error #{} on {}: {} => {}",
            record.seq, record.topic, record.problem, record.thingsboard
        );
        self.log.push(line);
        if outcome.closes_connection() {
            self.close_gateway_session(now, "ThingsBoard would close the connection");
        }
    }

    /// Parses a gateway-topic body that must be a JSON object. Records the
    /// error and returns `None` otherwise.
    fn gateway_object(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: u64,
    ) -> Option<Map<String, Value>> {
        match serde_json::from_slice::<Value>(payload) {
            Err(e) => {
                self.reject(
                    now,
                    topic,
                    payload,
                    format!("not valid JSON: {e}"),
                    Outcome::NotJson,
                );
                None
            }
            Ok(Value::Object(obj)) => Some(obj),
            Ok(other) => {
                self.reject(
                    now,
                    topic,
                    payload,
                    format!("valid JSON but not an object ({})", json_kind(&other)),
                    Outcome::Rejected,
                );
                None
            }
        }
    }

    /// Makes sure a sub-device exists (creating it with `device_type`, or
    /// `"default"`), registers it in the gateway session and flushes RPC
    /// requests held for it. Does not touch the activity time.
    fn register(
        &mut self,
        name: &str,
        device_type: Option<&str>,
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        if !self.devices.contains_key(name) {
            let device_type = device_type.unwrap_or("default");
            self.devices
                .insert(name.to_string(), Device::new(name, device_type, now));
            self.log
                .push(format!("device {name:?} created (type {device_type:?})"));
        }
        let device = self.devices.get_mut(name).expect("just ensured");
        if device.connected {
            return;
        }
        device.connected = true;
        device.last_connect_time = Some(now);
        self.log
            .push(format!("device {name:?} registered in the gateway session"));
        self.flush_held_rpcs(name, now, out);
    }

    /// Registers (see [`Self::register`]) and records activity.
    fn register_and_touch(&mut self, name: &str, now: u64, out: &mut Vec<Outgoing>) {
        self.register(name, None, now, out);
        if let Some(d) = self.devices.get_mut(name) {
            d.last_activity_time = Some(now);
        }
    }

    /// Publishes the requests held for `name` that have not expired.
    fn flush_held_rpcs(&mut self, name: &str, now: u64, out: &mut Vec<Outgoing>) {
        let target = Target::Device(name.to_string());
        let mut flushed = Vec::new();
        for r in self.rpcs.iter_mut() {
            if r.target == target && r.status == RpcStatus::Queued && r.expiration_time > now {
                r.status = RpcStatus::Sent;
                r.sent_time = Some(now);
                out.push(rpc_request_message(name, r));
                flushed.push(format!(
                    "held RPC #{} {:?} (id {}) sent to {name:?}",
                    r.seq, r.method, r.rpc_id
                ));
            }
        }
        self.log.extend(flushed);
    }

    /// Moves expired requests to `TIMEOUT`/`EXPIRED`. Returns whether any changed.
    fn expire_rpcs(&mut self, now: u64) -> bool {
        let mut lines = Vec::new();
        for r in self.rpcs.iter_mut() {
            if !r.is_pending() || r.expiration_time > now {
                continue;
            }
            r.status = if r.status == RpcStatus::Queued {
                RpcStatus::Expired
            } else {
                RpcStatus::Timeout
            };
            lines.push(format!(
                "RPC #{} {:?} (id {}) to {}: {:?}",
                r.seq,
                r.method,
                r.rpc_id,
                target_label(&r.target),
                r.status
            ));
        }
        let changed = !lines.is_empty();
        self.log.extend(lines);
        changed
    }
}

/// The `v1/gateway/rpc` or `v1/devices/me/rpc/request/<id>` message for a request.
fn rpc_request_message(device: &str, r: &RpcRecord) -> Outgoing {
    match &r.target {
        Target::Device(_) => Outgoing::json(
            topics::GW_RPC,
            &json!({"device": device, "data": {"id": r.rpc_id, "method": r.method, "params": r.params}}),
        ),
        Target::Gateway => Outgoing::json(
            format!("{}{}", topics::ME_RPC_REQUEST, r.rpc_id),
            &json!({"method": r.method, "params": r.params}),
        ),
    }
}

fn target_label(t: &Target) -> String {
    match t {
        Target::Device(name) => format!("{name:?}"),
        Target::Gateway => "the gateway".into(),
    }
}

/// "object", "array", … for messages.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Gson's `getAsString` on a primitive: strings as is, numbers and booleans
/// as text; `None` for null, objects and arrays.
fn gson_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Gson's `getAsInt`: a number (truncated) or a numeric string.
fn gson_int(v: &Value) -> Option<i32> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(|i| i as i32),
        Value::String(s) => s.parse::<i32>().ok(),
        _ => None,
    }
}
