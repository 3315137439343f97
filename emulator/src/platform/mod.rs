//! The emulated ThingsBoard tenant: devices, credentials, sessions and the
//! rules of ThingsBoard's MQTT transport, with no I/O.
//!
//! The MQTT transport calls the session API (`session.rs`: open, subscribe,
//! publish, ping, close, tick) and routes the [`session::Effect`]s left
//! behind; the REST API calls the commands (`commands.rs`). Time is always
//! passed in (`now`, epoch milliseconds), so everything here is
//! deterministic and unit-tested natively.

mod commands;
mod device;
mod device_topics;
mod gateway_topics;
mod journal;
pub mod limits;
mod rpc;
pub mod session;
pub mod snapshot;
mod telemetry;
mod values;

#[cfg(test)]
mod tests;

pub use commands::{AttributeView, CommandError, RpcCall, SessionView, TsQuery};
pub use device::{Attribute, Credentials, Device, DeviceSummary, Scope, TsPoint};
pub use journal::ErrorRecord;
pub use limits::{Limits, RateLimitSpecs};
pub use rpc::{RpcRecord, RpcReply, RpcStatus};
pub use snapshot::Snapshot;
pub use values::TbValue;

use journal::Journal;
use limits::Buckets;
use rpc::RpcBook;
use serde::Serialize;
use serde_json::{json, Value};
use session::{Close, Effect, MqttVersion, SessionId};
use std::collections::BTreeMap;
use uuid::Uuid;

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
    /// A device's own telemetry.
    pub const ME_TELEMETRY: &str = "v1/devices/me/telemetry";
    /// A device's own client attributes (up) and shared updates (down).
    pub const ME_ATTRIBUTES: &str = "v1/devices/me/attributes";
    /// A device's own claim.
    pub const ME_CLAIM: &str = "v1/devices/me/claim";
    /// Prefix of a device's attribute requests (`<prefix><id>`).
    pub const ME_ATTRIBUTES_REQUEST: &str = "v1/devices/me/attributes/request/";
    /// Prefix of the answers to them.
    pub const ME_ATTRIBUTES_RESPONSE: &str = "v1/devices/me/attributes/response/";
    /// Prefix of RPC requests to/from a device.
    pub const ME_RPC_REQUEST: &str = "v1/devices/me/rpc/request/";
    /// Prefix of RPC replies to/from a device.
    pub const ME_RPC_RESPONSE: &str = "v1/devices/me/rpc/response/";

    /// Whether MQTT topic filter `filter` (`+` one level, `#` the rest)
    /// matches `topic`.
    pub fn matches(filter: &str, topic: &str) -> bool {
        let mut levels = topic.split('/');
        for f in filter.split('/') {
            match (f, levels.next()) {
                ("#", _) => return true,
                ("+", Some(_)) => {}
                (f, Some(t)) if f == t => {}
                _ => return false,
            }
        }
        levels.next().is_none()
    }
}

/// Default `security.claim.duration` (24 h), used when `durationMs` is absent or 0.
pub const DEFAULT_CLAIM_DURATION_MS: i64 = 86_400_000;

/// Claims kept; older ones are dropped first.
pub const CLAIMS_CAP: usize = 1000;

/// ThingsBoard's `NULL_UUID`, the customer id of unassigned entities.
pub const NULL_UUID: Uuid = Uuid::from_u128(0x13814000_1dd2_11b2_8080_808080808080);

/// Expiry of the `gateway_device_renamed`/`gateway_device_deleted` notices (1 day).
pub const NOTICE_EXPIRY_MS: u64 = 86_400_000;

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Access tokens of the gateway devices to create ("Gateway TOKEN").
    pub gateway_tokens: Vec<String>,
    /// An unknown token at CONNECT creates a gateway device for it.
    pub accept_any_token: bool,
    /// RPC timeout when the REST call gives none
    /// (`server.rest.server_side_rpc.default_timeout`, 10 000 ms).
    pub rpc_default_timeout_ms: u64,
    /// Smallest RPC timeout honoured (ThingsBoard: 5 000 ms).
    pub rpc_min_timeout_ms: u64,
    /// The limits at start (changeable with [`Platform::set_limits`]).
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gateway_tokens: Vec::new(),
            accept_any_token: false,
            rpc_default_timeout_ms: 10_000,
            rpc_min_timeout_ms: 5_000,
            limits: Limits::default(),
        }
    }
}

/// A user of the REST API.
#[derive(Debug, Clone)]
pub struct User {
    /// User id.
    pub id: Uuid,
    /// E-mail, the login name.
    pub email: String,
    /// Password (demo data).
    pub password: String,
    /// `SYS_ADMIN` or `TENANT_ADMIN`.
    pub authority: &'static str,
    /// Creation time, epoch ms.
    pub created_time: u64,
}

/// A claim a device made (through a gateway or for itself).
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

/// Where a device can be reached now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// Its own MQTT session.
    Direct(SessionId),
    /// Registered as a sub-device in this gateway session.
    Gateway(SessionId),
}

/// One open MQTT session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session.
    pub id: SessionId,
    /// The device whose credentials opened it.
    pub device: Uuid,
    /// Protocol level.
    pub version: MqttVersion,
    /// Remote address, for logs.
    pub peer: String,
    /// When it was opened, epoch ms.
    pub connected_at: u64,
    /// Last packet, epoch ms.
    pub last_activity: u64,
    /// Granted subscriptions: filter → QoS.
    pub subscriptions: BTreeMap<String, u8>,
    /// Registered sub-devices → their last activity, epoch ms.
    pub sub_devices: BTreeMap<Uuid, u64>,
    gateway_buckets: Buckets,
    device_buckets: Buckets,
}

/// The whole emulated tenant.
#[derive(Debug)]
pub struct Platform {
    config: Config,
    limits: Limits,
    tenant_id: Uuid,
    users: Vec<User>,
    devices: BTreeMap<Uuid, Device>,
    names: BTreeMap<String, Uuid>,
    attach: BTreeMap<Uuid, Attach>,
    sessions: BTreeMap<SessionId, Session>,
    next_session: u64,
    rpcs: RpcBook,
    claims: Vec<Claim>,
    journal: Journal,
    client_rpc_replies: BTreeMap<String, Value>,
    log: Vec<String>,
    /// Tokens that name gateway devices made for them ("Gateway TOKEN"):
    /// masked wherever a log line names such a device.
    token_names: Vec<String>,
    effects: Vec<Effect>,
    /// The HS512 key REST login tokens are signed with.
    jwt_key: Vec<u8>,
    /// Shutting down: no new session is opened.
    closing: bool,
}

impl Platform {
    /// A tenant with no users and no devices.
    fn blank(config: Config, tenant_id: Uuid, jwt_key: Vec<u8>) -> Platform {
        Platform {
            limits: config.limits.clone(),
            config,
            tenant_id,
            users: Vec::new(),
            devices: BTreeMap::new(),
            names: BTreeMap::new(),
            attach: BTreeMap::new(),
            sessions: BTreeMap::new(),
            next_session: 0,
            rpcs: RpcBook::default(),
            claims: Vec::new(),
            journal: Journal::default(),
            client_rpc_replies: BTreeMap::new(),
            log: Vec::new(),
            token_names: Vec::new(),
            effects: Vec::new(),
            jwt_key,
            closing: false,
        }
    }

    /// A tenant with ThingsBoard's demo data (users `tenant@thingsboard.org`
    /// and `sysadmin@thingsboard.org`, device `Test Device A1` with token
    /// `A1_TEST_TOKEN`) and one gateway device per configured token.
    pub fn new(config: Config, now: u64) -> Platform {
        // 64 random bytes.
        let jwt_key = (0..4).flat_map(|_| Uuid::new_v4().into_bytes()).collect();
        let mut p = Platform::blank(config, Uuid::new_v4(), jwt_key);
        p.users = vec![
            User {
                id: Uuid::new_v4(),
                email: "tenant@thingsboard.org".into(),
                password: "tenant".into(),
                authority: "TENANT_ADMIN",
                created_time: now,
            },
            User {
                id: Uuid::new_v4(),
                email: "sysadmin@thingsboard.org".into(),
                password: "sysadmin".into(),
                authority: "SYS_ADMIN",
                created_time: now,
            },
        ];
        p.insert_device(Device::new(
            "Test Device A1",
            "default",
            Credentials::AccessToken("A1_TEST_TOKEN".into()),
            now,
        ));
        for token in p.config.gateway_tokens.clone() {
            if p.token_owner(&token).is_none() {
                p.create_gateway_for_token(&token, now);
            }
        }
        p
    }

    /// The settings fixed at start.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The tenant's id.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// The REST users.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The key REST login tokens are signed with (HS512): random for a new
    /// tenant, kept in a state file.
    pub fn jwt_signing_key(&self) -> &[u8] {
        &self.jwt_key
    }

    /// Shutting down: ends every session (MQTT 5: DISCONNECT `reason`,
    /// 139 "server shutting down") and opens none from now on, so that
    /// nothing more reaches the tenant over MQTT. Returns how many sessions
    /// were ended.
    pub fn close_all_sessions(&mut self, reason: Option<u8>, now: u64) -> usize {
        self.closing = true;
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        for id in &ids {
            self.end_session(
                *id,
                Some(Close {
                    disconnect_reason: reason,
                }),
                now,
                "the platform is shutting down",
            );
        }
        ids.len()
    }

    /// Whether [`Platform::close_all_sessions`] was called.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Log lines produced since the last call, oldest first.
    pub fn take_log(&mut self) -> Vec<String> {
        let mut lines = std::mem::take(&mut self.log);
        // A gateway made for a token is named after it: no token reaches
        // the log in clear, not even inside a device name.
        for line in &mut lines {
            for token in &self.token_names {
                if line.contains(token.as_str()) {
                    *line = line.replace(token.as_str(), &mask(token));
                }
            }
        }
        lines
    }

    /// The current limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces the limits; every session's rate-limit buckets restart full.
    pub fn set_limits(&mut self, limits: Limits, now: u64) {
        for s in self.sessions.values_mut() {
            s.gateway_buckets = Buckets::new(&limits.gateway_rate_limits, now);
            s.device_buckets = Buckets::new(&limits.device_rate_limits, now);
        }
        self.log.push(format!(
            "limits set: {}",
            serde_json::to_string(&limits).unwrap_or_default()
        ));
        self.limits = limits;
    }

    // ---- devices ----

    fn insert_device(&mut self, device: Device) -> Uuid {
        let id = device.id;
        self.names.insert(device.name.clone(), id);
        self.devices.insert(id, device);
        id
    }

    /// A device by id.
    pub fn device(&self, id: Uuid) -> Option<&Device> {
        self.devices.get(&id)
    }

    /// A device by name.
    pub fn device_by_name(&self, name: &str) -> Option<&Device> {
        self.names.get(name).and_then(|id| self.devices.get(id))
    }

    /// Every device, by name.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.names.values().filter_map(|id| self.devices.get(id))
    }

    /// Where a device can be reached now.
    pub fn attachment(&self, id: Uuid) -> Option<Attach> {
        self.attach.get(&id).copied()
    }

    fn token_owner(&self, token: &str) -> Option<Uuid> {
        self.devices
            .values()
            .find(|d| matches!(&d.credentials, Credentials::AccessToken(t) if t == token))
            .map(|d| d.id)
    }

    fn unique_name(&self, base: &str) -> String {
        if !self.names.contains_key(base) {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base} ({n})"))
            .find(|n| !self.names.contains_key(n))
            .expect("some name is free")
    }

    fn create_gateway_for_token(&mut self, token: &str, now: u64) -> Uuid {
        let name = self.unique_name(&format!("Gateway {token}"));
        if !token.is_empty() {
            self.token_names.push(token.to_string());
        }
        let mut d = Device::new(
            &name,
            "default",
            Credentials::AccessToken(token.to_string()),
            now,
        );
        d.additional_info.insert("gateway".into(), json!(true));
        d.additional_info
            .insert("overwriteActivityTime".into(), json!(false));
        self.log.push(format!(
            "gateway device {name:?} created for token {}",
            mask(token)
        ));
        self.insert_device(d)
    }

    /// A random 20-character access token, as ThingsBoard generates.
    pub(crate) fn random_token() -> String {
        let a = Uuid::new_v4().simple().to_string();
        let b = Uuid::new_v4().simple().to_string();
        format!("{a}{b}").chars().take(20).collect::<String>()
    }

    // ---- effects ----

    fn push(&mut self, session: SessionId, topic: impl Into<String>, payload: &Value) {
        let topic = topic.into();
        let qos = self
            .sessions
            .get(&session)
            .and_then(|s| {
                s.subscriptions
                    .iter()
                    .find(|(filter, _)| topics::matches(filter, &topic))
                    .map(|(_, qos)| *qos)
            })
            .unwrap_or(1);
        self.effects.push(Effect::Push {
            session,
            topic,
            payload: payload.to_string().into_bytes(),
            qos,
        });
    }

    /// Ends a session now: closes the connection (an [`Effect::Close`] when
    /// `close` is given) and deregisters its sub-devices. Idempotent.
    fn end_session(&mut self, session: SessionId, close: Option<Close>, now: u64, why: &str) {
        let Some(s) = self.sessions.remove(&session) else {
            return;
        };
        if let Some(close) = close {
            self.effects.push(Effect::Close {
                session,
                close,
                why: why.to_string(),
            });
        }
        let n = s.sub_devices.len();
        for id in s.sub_devices.keys() {
            if self.attach.get(id) == Some(&Attach::Gateway(session)) {
                self.attach.remove(id);
                if let Some(d) = self.devices.get_mut(id) {
                    d.last_disconnect_time = Some(now);
                }
            }
        }
        if self.attach.get(&s.device) == Some(&Attach::Direct(session)) {
            self.attach.remove(&s.device);
        }
        if let Some(d) = self.devices.get_mut(&s.device) {
            d.last_disconnect_time = Some(now);
        }
        let name = self.device_name(s.device);
        self.log.push(format!(
            "session {} of {name:?} closed ({why}){}",
            session.0,
            if n > 0 {
                format!(": {n} sub-device(s) deregistered")
            } else {
                String::new()
            }
        ));
    }

    fn device_name(&self, id: Uuid) -> String {
        self.devices
            .get(&id)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// Records something rejected or closed in the error journal and the log.
    #[allow(clippy::too_many_arguments)]
    fn journal(
        &mut self,
        now: u64,
        session: Option<SessionId>,
        topic: &str,
        payload: &[u8],
        problem: String,
        action: String,
        closed: bool,
    ) {
        let device = session
            .and_then(|s| self.sessions.get(&s))
            .map(|s| self.device_name(s.device));
        let record = self.journal.record(
            ErrorRecord {
                seq: 0,
                time: now,
                session: session.map(|s| s.0),
                device,
                topic: topic.to_string(),
                payload: String::new(),
                problem,
                action,
                connection_closed: closed,
            },
            payload,
        );
        let line = format!(
            "error #{} on {:?}: {} => {}",
            record.seq, record.topic, record.problem, record.action
        );
        self.log.push(line);
    }

    // ---- sub-device registration ----

    /// Makes sure a device named `name` exists (created with `device_type`,
    /// or `"default"`, and the gateway as `lastConnectedGateway`) and is
    /// registered in gateway session `session`; a newer registration moves
    /// it from any other session. Does not touch the activity time.
    fn register_sub(
        &mut self,
        session: SessionId,
        name: &str,
        device_type: Option<&str>,
        now: u64,
    ) -> Uuid {
        let Some(gateway) = self.sessions.get(&session).map(|s| s.device) else {
            return Uuid::nil();
        };
        let id = match self.names.get(name) {
            Some(id) => *id,
            None => {
                let device_type = device_type.unwrap_or("default");
                let d = Device::new(
                    name,
                    device_type,
                    Credentials::AccessToken(Self::random_token()),
                    now,
                );
                self.log
                    .push(format!("device {name:?} created (type {device_type:?})"));
                self.insert_device(d)
            }
        };
        if self.sessions[&session].sub_devices.contains_key(&id) {
            return id;
        }
        match self.attach.get(&id).copied() {
            Some(Attach::Direct(other)) => self.end_session(
                other,
                Some(Close {
                    disconnect_reason: Some(142),
                }),
                now,
                "session taken over: the device was registered by a gateway",
            ),
            Some(Attach::Gateway(other)) if other != session => {
                if let Some(s) = self.sessions.get_mut(&other) {
                    s.sub_devices.remove(&id);
                }
                self.log.push(format!(
                    "device {name:?} moved from gateway session {} to {}",
                    other.0, session.0
                ));
            }
            _ => {}
        }
        self.attach.insert(id, Attach::Gateway(session));
        if let Some(s) = self.sessions.get_mut(&session) {
            s.sub_devices.insert(id, now);
        }
        if let Some(d) = self.devices.get_mut(&id) {
            d.last_connect_time = Some(now);
            d.additional_info
                .insert("lastConnectedGateway".into(), json!(gateway.to_string()));
        }
        self.log.push(format!(
            "device {name:?} registered in gateway session {}",
            session.0
        ));
        self.flush_rpcs(id, now);
        id
    }

    /// Registers (see [`Self::register_sub`]) and records activity.
    fn touch_sub(&mut self, session: SessionId, name: &str, now: u64) -> Uuid {
        let id = self.register_sub(session, name, None, now);
        if let Some(s) = self.sessions.get_mut(&session) {
            if let Some(t) = s.sub_devices.get_mut(&id) {
                *t = now;
            }
        }
        if let Some(d) = self.devices.get_mut(&id) {
            d.last_activity_time = Some(now);
        }
        id
    }

    /// Records activity for a session's own device, and with
    /// `overwriteActivityTime` for all its sub-devices.
    fn session_activity(&mut self, session: SessionId, now: u64) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        s.last_activity = now;
        let device = s.device;
        let overwrite = self
            .devices
            .get(&device)
            .is_some_and(|d| d.info_flag("overwriteActivityTime"));
        if let Some(d) = self.devices.get_mut(&device) {
            d.last_activity_time = Some(now);
        }
        if overwrite {
            let s = self.sessions.get_mut(&session).expect("checked");
            for (id, t) in s.sub_devices.iter_mut() {
                *t = now;
                if let Some(d) = self.devices.get_mut(id) {
                    d.last_activity_time = Some(now);
                }
            }
        }
    }

    // ---- RPC delivery ----

    /// Pushes the request `uuid` to where its device is reachable, if anywhere.
    fn deliver_rpc(&mut self, uuid: Uuid, now: u64) -> bool {
        let Some(r) = self.rpcs.get(uuid) else {
            return false;
        };
        let Some(attach) = self.attach.get(&r.device).copied() else {
            return false;
        };
        let name = self.device_name(r.device);
        let (session, topic, body) = match attach {
            Attach::Direct(s) => {
                let prefix = self.device_prefix(s, topics::ME_RPC_REQUEST, "v2/r/req/");
                (
                    s,
                    format!("{prefix}{}", r.rpc_id),
                    json!({"method": r.method, "params": r.params}),
                )
            }
            Attach::Gateway(s) => (
                s,
                topics::GW_RPC.to_string(),
                json!({"device": name, "data": {"id": r.rpc_id, "method": r.method, "params": r.params}}),
            ),
        };
        let line = format!(
            "RPC {:?} (id {}) pushed to {name:?} on session {}",
            r.method, r.rpc_id, session.0
        );
        self.push(session, topic, &body);
        self.log.push(line);
        if let Some(r) = self.rpcs.iter_mut().find(|r| r.uuid == uuid) {
            r.sent_time = Some(now);
            r.status = if r.oneway {
                RpcStatus::Successful
            } else {
                RpcStatus::Sent
            };
        }
        true
    }

    /// Pushes every queued, unexpired request of a device that just became
    /// reachable.
    fn flush_rpcs(&mut self, device: Uuid, now: u64) {
        let queued: Vec<Uuid> = self
            .rpcs
            .iter()
            .filter(|r| {
                r.device == device && r.status == RpcStatus::Queued && r.expiration_time > now
            })
            .map(|r| r.uuid)
            .collect();
        for uuid in queued {
            self.deliver_rpc(uuid, now);
        }
    }

    /// The v1 topic prefix, or its short v2 form when the session subscribed
    /// only to the short one.
    fn device_prefix(
        &self,
        session: SessionId,
        v1: &'static str,
        v2: &'static str,
    ) -> &'static str {
        let Some(s) = self.sessions.get(&session) else {
            return v1;
        };
        let has = |p: &str| s.subscriptions.keys().any(|f| f.starts_with(p));
        if !has(v1) && has(v2) {
            v2
        } else {
            v1
        }
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
                "RPC {:?} (id {}, {}): {}",
                r.method,
                r.rpc_id,
                r.uuid,
                r.status.name()
            ));
        }
        let changed = !lines.is_empty();
        self.log.extend(lines);
        changed
    }

    /// Periodic housekeeping: expires RPC requests, idle sub-device
    /// registrations and idle sessions. Returns whether anything changed.
    pub fn tick(&mut self, now: u64) -> bool {
        let mut changed = self.expire_rpcs(now);
        let limit = self.limits.session_inactivity_ms;
        if limit == 0 {
            return changed;
        }
        let mut expired = Vec::new();
        let mut idle_sessions = Vec::new();
        for s in self.sessions.values() {
            for (id, t) in &s.sub_devices {
                if now.saturating_sub(*t) >= limit {
                    expired.push((s.id, *id));
                }
            }
            if now.saturating_sub(s.last_activity) >= limit {
                idle_sessions.push(s.id);
            }
        }
        for (session, id) in expired {
            if let Some(s) = self.sessions.get_mut(&session) {
                s.sub_devices.remove(&id);
            }
            if self.attach.get(&id) == Some(&Attach::Gateway(session)) {
                self.attach.remove(&id);
            }
            if let Some(d) = self.devices.get_mut(&id) {
                d.last_disconnect_time = Some(now);
            }
            let name = self.device_name(id);
            self.log.push(format!(
                "sub-device session of {name:?} expired after {limit} ms without traffic \
                 (silently deregistered, as ThingsBoard does)"
            ));
            changed = true;
        }
        for session in idle_sessions {
            self.end_session(
                session,
                Some(Close {
                    disconnect_reason: None,
                }),
                now,
                "inactivity timeout",
            );
            changed = true;
        }
        changed
    }
}

/// Masks a secret for logs: the first 2 characters, then `***`.
pub fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(2).collect();
    format!("{head}***")
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
