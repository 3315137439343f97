//! What the REST API asks of the tenant: devices and credentials,
//! telemetry and attributes, server-side RPC, and the emulator's own views.

use super::device::{Credentials, Device, Scope};
use super::rpc::{RpcRecord, RpcStatus};
use super::session::{version_name, SessionId};
use super::telemetry::{parse_device_body, typed};
use super::{topics, Attach, Attribute, Claim, ErrorRecord, Platform, NOTICE_EXPIRY_MS, NULL_UUID};
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// A refused command, with ThingsBoard's HTTP status and error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// HTTP status code.
    pub status: u16,
    /// ThingsBoard's `errorCode` for the JSON shape (A); `None` for the
    /// plain-text shape (B) of the telemetry and RPC routes.
    pub error_code: Option<u32>,
    /// The message.
    pub message: String,
}

impl CommandError {
    /// Shape A: `{"status","message","errorCode","timestamp"}`.
    pub fn a(status: u16, error_code: u32, message: impl Into<String>) -> CommandError {
        CommandError {
            status,
            error_code: Some(error_code),
            message: message.into(),
        }
    }

    /// Shape B: a plain-text body.
    pub fn b(status: u16, message: impl Into<String>) -> CommandError {
        CommandError {
            status,
            error_code: None,
            message: message.into(),
        }
    }

    /// 400/31 in shape A.
    pub fn bad_request(message: impl Into<String>) -> CommandError {
        CommandError::a(400, 31, message)
    }

    /// 404/32 `Device with id [<uuid>] is not found` (shape A).
    pub fn device_not_found(id: Uuid) -> CommandError {
        CommandError::a(404, 32, format!("Device with id [{id}] is not found"))
    }
}

/// How to read time series: the latest value per key, or a time range.
#[derive(Debug, Clone, Default)]
pub struct TsQuery {
    /// Only these keys (all when `None`).
    pub keys: Option<Vec<String>>,
    /// Range start, inclusive (range mode needs both ends).
    pub start_ts: Option<i64>,
    /// Range end, inclusive.
    pub end_ts: Option<i64>,
    /// Points per key in range mode (default 100).
    pub limit: Option<usize>,
    /// Range mode order: ascending when true, descending (default) otherwise.
    pub ascending: bool,
    /// Typed values instead of strings (`useStrictDataTypes=true`).
    pub strict: bool,
    /// Aggregation (`NONE`, `MIN`, `MAX`, `AVG`, `SUM`, `COUNT`).
    pub agg: Option<String>,
    /// Aggregation interval, ms (0: the whole range).
    pub interval: Option<i64>,
}

/// One attribute in the REST answer `[{"lastUpdateTs","key","value"}]`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeView {
    /// Last write, epoch ms.
    pub last_update_ts: u64,
    /// Attribute key.
    pub key: String,
    /// Typed value.
    pub value: Value,
}

/// A server-side RPC request as the REST API receives it.
#[derive(Debug, Clone, Default)]
pub struct RpcCall {
    /// Method name.
    pub method: String,
    /// Parameters (`null` when absent).
    pub params: Value,
    /// One-way call.
    pub oneway: bool,
    /// Timeout in ms; `None` means the configured default.
    pub timeout_ms: Option<u64>,
    /// Absolute expiry, epoch ms (wins over `timeout_ms`).
    pub expiration_time: Option<u64>,
    /// Persistent call.
    pub persistent: bool,
    /// `retries`, kept as given.
    pub retries: Option<Value>,
    /// `additionalInfo`, kept as given.
    pub additional_info: Option<Value>,
}

/// One open session, as `GET /emulator/sessions` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// Session number.
    pub session: u64,
    /// The device's UUID.
    pub device_id: Uuid,
    /// The device's name.
    pub device_name: String,
    /// Whether the device is a gateway.
    pub gateway: bool,
    /// `"3.1"`, `"3.1.1"` or `"5"`.
    pub version: &'static str,
    /// Remote address.
    pub peer: String,
    /// Opening time, epoch ms.
    pub connected_at: u64,
    /// Names of the registered sub-devices.
    pub sub_devices: Vec<String>,
}

impl Platform {
    /// ThingsBoard's Device JSON.
    pub fn device_json(&self, d: &Device) -> Value {
        json!({
            "id": {"entityType": "DEVICE", "id": d.id},
            "createdTime": d.created_time,
            "additionalInfo": Value::Object(d.additional_info.clone()),
            "tenantId": {"entityType": "TENANT", "id": self.tenant_id},
            "customerId": {"entityType": "CUSTOMER", "id": NULL_UUID},
            "name": d.name,
            "type": d.device_type,
            "label": d.label,
            "deviceProfileId": {"entityType": "DEVICE_PROFILE", "id": profile_id(&d.device_type)},
            "deviceData": {"configuration": {"type": "DEFAULT"}, "transportConfiguration": {"type": "DEFAULT"}},
            "firmwareId": null,
            "softwareId": null,
            "externalId": null,
            "version": d.version,
        })
    }

    /// ThingsBoard's DeviceCredentials JSON.
    pub fn credentials_json(&self, d: &Device) -> Value {
        json!({
            "id": {"id": d.credentials_uuid},
            "createdTime": d.created_time,
            "deviceId": {"entityType": "DEVICE", "id": d.id},
            "credentialsType": d.credentials.type_name(),
            "credentialsId": d.credentials.credentials_id(),
            "credentialsValue": d.credentials.credentials_value(),
            "version": d.credentials_version,
        })
    }

    /// A device by id, or 404/32.
    pub fn require_device(&self, id: Uuid) -> Result<&Device, CommandError> {
        self.devices
            .get(&id)
            .ok_or_else(|| CommandError::device_not_found(id))
    }

    /// `POST /api/device`: creates (no `id`) or replaces (with `id`) a device.
    /// A name change sends `gateway_device_renamed` to the device's
    /// `lastConnectedGateway` (as the body now holds it).
    pub fn save_device(
        &mut self,
        body: &Value,
        access_token: Option<&str>,
        now: u64,
    ) -> Result<Value, CommandError> {
        let Value::Object(obj) = body else {
            return Err(CommandError::bad_request("Invalid request body"));
        };
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("");
        if name.is_empty() {
            return Err(CommandError::bad_request(
                "Device name should be specified!",
            ));
        }
        let device_type = obj
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .unwrap_or("default")
            .to_string();
        let label = obj.get("label").and_then(Value::as_str).map(str::to_string);
        let additional_info = match obj.get("additionalInfo") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let id = match obj.get("id") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let text = v.get("id").and_then(Value::as_str).unwrap_or("");
                Some(Uuid::parse_str(text).map_err(|_| {
                    CommandError::bad_request(format!("Invalid UUID string: {text}"))
                })?)
            }
        };
        let name_owner = self.names.get(name).copied();
        let Some(id) = id else {
            if name_owner.is_some() {
                return Err(CommandError::bad_request(
                    "Device with such name already exists!",
                ));
            }
            let token = match access_token.filter(|t| !t.is_empty()) {
                Some(t) if self.token_owner(t).is_some() => {
                    return Err(CommandError::bad_request(
                        "Device credentials are already assigned to another device!",
                    ))
                }
                Some(t) => t.to_string(),
                None => Self::random_token(),
            };
            let mut d = Device::new(name, &device_type, Credentials::AccessToken(token), now);
            d.label = label;
            d.additional_info = additional_info;
            self.log.push(format!("device {name:?} created over REST"));
            let id = self.insert_device(d);
            return Ok(self.device_json(&self.devices[&id]));
        };
        let current = self.require_device(id)?;
        if let Some(v) = obj.get("version").and_then(Value::as_u64) {
            if v != current.version {
                return Err(CommandError::a(
                    409,
                    35,
                    "Device was already changed by someone else",
                ));
            }
        }
        if name_owner.is_some_and(|owner| owner != id) {
            return Err(CommandError::bad_request(
                "Device with such name already exists!",
            ));
        }
        let old_name = current.name.clone();
        let d = self.devices.get_mut(&id).expect("checked");
        d.name = name.to_string();
        d.device_type = device_type;
        d.label = label;
        d.additional_info = additional_info;
        d.version += 1;
        let gateway = d.last_connected_gateway();
        if old_name != name {
            self.names.remove(&old_name);
            self.names.insert(name.to_string(), id);
            self.log
                .push(format!("device {old_name:?} renamed to {name:?}"));
            if let Some(gw) = gateway {
                let mut params = Map::new();
                params.insert(old_name, Value::String(name.to_string()));
                self.notify_gateway(gw, "gateway_device_renamed", Value::Object(params), now);
            }
        }
        Ok(self.device_json(&self.devices[&id]))
    }

    /// `DELETE /api/device/{id}`: pending RPCs fail, its session closes, and
    /// its `lastConnectedGateway` gets `gateway_device_deleted`.
    pub fn delete_device(&mut self, id: Uuid, now: u64) -> Result<(), CommandError> {
        self.require_device(id)?;
        match self.attach.get(&id).copied() {
            Some(Attach::Direct(s)) => self.end_session(
                s,
                Some(super::session::Close {
                    disconnect_reason: None,
                }),
                now,
                "device deleted",
            ),
            Some(Attach::Gateway(s)) => {
                if let Some(s) = self.sessions.get_mut(&s) {
                    s.sub_devices.remove(&id);
                }
                self.attach.remove(&id);
            }
            None => {}
        }
        let d = self.devices.remove(&id).expect("checked");
        self.names.remove(&d.name);
        for r in self.rpcs.iter_mut() {
            if r.device == id && r.is_pending() {
                r.status = RpcStatus::Failed;
            }
        }
        self.log.push(format!("device {:?} deleted", d.name));
        if let Some(gw) = d.last_connected_gateway() {
            self.notify_gateway(gw, "gateway_device_deleted", json!(d.name), now);
        }
        Ok(())
    }

    /// `POST /api/device/credentials`: replaces a device's credentials
    /// (`ACCESS_TOKEN` with `credentialsId`, or `MQTT_BASIC` with
    /// `credentialsValue` `{"clientId","userName","password"}` as text). The
    /// device's open session is closed.
    pub fn save_credentials(&mut self, body: &Value, now: u64) -> Result<Value, CommandError> {
        let bad = |m: &str| CommandError::bad_request(m);
        let device_text = body
            .pointer("/deviceId/id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("Device credentials should be assigned to device!"))?;
        let id = Uuid::parse_str(device_text)
            .map_err(|_| bad(&format!("Invalid UUID string: {device_text}")))?;
        let device = self.require_device(id)?;
        if let Some(given) = body.pointer("/id/id").and_then(Value::as_str) {
            if given != device.credentials_uuid.to_string() {
                return Err(bad("Unable to update non-existent device credentials!"));
            }
        }
        let credentials = match body.get("credentialsType").and_then(Value::as_str) {
            Some("ACCESS_TOKEN") => {
                let token = body
                    .get("credentialsId")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| bad("Device credentials id should be specified!"))?;
                if self.token_owner(token).is_some_and(|owner| owner != id) {
                    return Err(bad(
                        "Device credentials are already assigned to another device!",
                    ));
                }
                Credentials::AccessToken(token.to_string())
            }
            Some("MQTT_BASIC") => {
                let value = match body.get("credentialsValue") {
                    Some(Value::String(s)) => serde_json::from_str::<Value>(s).map_err(|_| {
                        bad("Invalid credentials body for simple mqtt credentials!")
                    })?,
                    Some(v @ Value::Object(_)) => v.clone(),
                    _ => return Err(bad("Device credentials value should be specified!")),
                };
                let field = |k: &str| {
                    value
                        .get(k)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                };
                let (client_id, user_name, password) =
                    (field("clientId"), field("userName"), field("password"));
                if client_id.is_none() && user_name.is_none() {
                    return Err(bad("Both mqtt client id and user name are empty!"));
                }
                if user_name.is_none() && password.is_some() {
                    return Err(bad("Password cannot be specified for empty user name!"));
                }
                Credentials::MqttBasic {
                    client_id,
                    user_name,
                    password,
                }
            }
            Some(other) => {
                return Err(bad(&format!(
                    "Credentials type {other} is not supported by the emulator"
                )))
            }
            None => return Err(bad("Device credentials type should be specified!")),
        };
        if let Some(Attach::Direct(s)) = self.attach.get(&id).copied() {
            self.end_session(
                s,
                Some(super::session::Close {
                    disconnect_reason: None,
                }),
                now,
                "credentials changed",
            );
        }
        let d = self.devices.get_mut(&id).expect("checked");
        d.credentials = credentials;
        d.credentials_version += 1;
        let name = d.name.clone();
        self.log.push(format!("credentials of {name:?} changed"));
        Ok(self.credentials_json(&self.devices[&id]))
    }

    /// Time series as `GET .../values/timeseries` returns them:
    /// `{"key":[{"ts":..,"value":..}]}`.
    pub fn timeseries(&self, id: Uuid, q: &TsQuery, now: u64) -> Result<Value, CommandError> {
        let device = self
            .devices
            .get(&id)
            .ok_or_else(|| CommandError::b(404, "Device with requested id wasn't found!"))?;
        let render = |ts: i64, value: Option<Value>| json!({"ts": ts, "value": value});
        let text = |p: &super::TsPoint| {
            if q.strict {
                p.value.to_json()
            } else {
                Value::String(p.value.to_tb_string())
            }
        };
        let keys: Vec<String> = match &q.keys {
            Some(k) => k.clone(),
            None => device.timeseries.keys().cloned().collect(),
        };
        let mut result = Map::new();
        for key in keys {
            let points = device.timeseries.get(&key);
            let list: Vec<Value> = match (q.start_ts, q.end_ts) {
                (Some(start), Some(end)) => {
                    let mut in_range: Vec<&super::TsPoint> = points
                        .map(|ps| ps.iter().filter(|p| p.ts >= start && p.ts <= end).collect())
                        .unwrap_or_default();
                    in_range.sort_by_key(|p| p.ts);
                    let agg = q.agg.as_deref().unwrap_or("NONE");
                    if agg != "NONE" {
                        aggregate(
                            &in_range,
                            agg,
                            start,
                            end,
                            q.interval.unwrap_or(0),
                            q.strict,
                        )
                        .into_iter()
                        .map(|(ts, v)| render(ts, Some(v)))
                        .collect()
                    } else {
                        if !q.ascending {
                            in_range.reverse();
                        }
                        in_range
                            .into_iter()
                            .take(q.limit.unwrap_or(100))
                            .map(|p| render(p.ts, Some(text(p))))
                            .collect()
                    }
                }
                _ => match device.latest(&key) {
                    Some(p) => vec![render(p.ts, Some(text(p)))],
                    None if q.keys.is_some() => vec![render(now as i64, None)],
                    None => Vec::new(),
                },
            };
            if !list.is_empty() {
                result.insert(key, Value::Array(list));
            }
        }
        Ok(Value::Object(result))
    }

    /// `POST .../timeseries/{scope}`: `{"k":v}`, `{"ts","values"}` or an array.
    pub fn save_timeseries(
        &mut self,
        id: Uuid,
        body: &Value,
        now: u64,
    ) -> Result<(), CommandError> {
        if !self.devices.contains_key(&id) {
            return Err(CommandError::b(
                404,
                "Device with requested id wasn't found!",
            ));
        }
        let entries = parse_device_body(body).map_err(|e| CommandError::b(400, e))?;
        if entries.iter().all(|e| e.values.is_empty()) {
            return Err(CommandError::b(
                400,
                "No time series data found in request body!",
            ));
        }
        let d = self.devices.get_mut(&id).expect("checked");
        for e in entries {
            let ts = e.ts.unwrap_or(now as i64);
            for (k, v) in e.values {
                d.add_point(&k, ts, v);
            }
        }
        Ok(())
    }

    /// `DELETE .../timeseries/delete?keys=`: removes the keys' points in
    /// `[start, end]` (all of them with `delete_all`).
    pub fn delete_timeseries(
        &mut self,
        id: Uuid,
        keys: &[String],
        delete_all: bool,
        start: i64,
        end: i64,
    ) -> Result<(), CommandError> {
        let d = self
            .devices
            .get_mut(&id)
            .ok_or_else(|| CommandError::b(404, "Device with requested id wasn't found!"))?;
        for k in keys {
            if delete_all {
                d.timeseries.remove(k);
            } else if let Some(ps) = d.timeseries.get_mut(k) {
                ps.retain(|p| p.ts < start || p.ts > end);
                if ps.is_empty() {
                    d.timeseries.remove(k);
                }
            }
        }
        Ok(())
    }

    /// Attributes as `GET .../values/attributes[/SCOPE]` returns them; all
    /// scopes (client, shared, server) when `scope` is `None`.
    pub fn attributes(
        &self,
        id: Uuid,
        scope: Option<Scope>,
        keys: Option<&[String]>,
    ) -> Result<Vec<AttributeView>, CommandError> {
        let device = self
            .devices
            .get(&id)
            .ok_or_else(|| CommandError::b(404, "Device with requested id wasn't found!"))?;
        let scopes = match scope {
            Some(s) => vec![s],
            None => vec![Scope::Client, Scope::Shared, Scope::Server],
        };
        let mut result = Vec::new();
        for s in scopes {
            for (key, a) in device.attributes(s) {
                if keys.is_none_or(|keys| keys.contains(key)) {
                    result.push(AttributeView {
                        key: key.clone(),
                        value: a.value.to_json(),
                        last_update_ts: a.last_update_ts,
                    });
                }
            }
        }
        Ok(result)
    }

    /// Saves server or shared attributes from a JSON object; shared ones are
    /// pushed to where the device is reachable (not queued for offline devices).
    pub fn save_attributes(
        &mut self,
        id: Uuid,
        scope: Scope,
        body: &Value,
        now: u64,
    ) -> Result<(), CommandError> {
        if scope == Scope::Client {
            return Err(CommandError::b(400, "Invalid scope: CLIENT_SCOPE"));
        }
        let Value::Object(obj) = body else {
            return Err(CommandError::b(400, "Invalid JSON"));
        };
        let device = self
            .devices
            .get_mut(&id)
            .ok_or_else(|| CommandError::b(404, "Device with requested id wasn't found!"))?;
        let values = typed(obj);
        let mut data = Map::new();
        for (key, v) in values {
            data.insert(key.clone(), v.to_json());
            device.attributes_mut(scope).insert(
                key,
                Attribute {
                    value: v,
                    last_update_ts: now,
                },
            );
        }
        if scope == Scope::Shared && !data.is_empty() {
            self.push_shared(id, Value::Object(data));
        }
        Ok(())
    }

    /// Deletes attributes of one scope; a shared deletion is pushed as
    /// `{"deleted":[..]}`.
    pub fn delete_attributes(
        &mut self,
        id: Uuid,
        scope: Scope,
        keys: &[String],
    ) -> Result<(), CommandError> {
        if keys.is_empty() {
            return Err(CommandError::b(400, "Empty keys: []"));
        }
        let device = self
            .devices
            .get_mut(&id)
            .ok_or_else(|| CommandError::b(404, "Device with requested id wasn't found!"))?;
        let map = device.attributes_mut(scope);
        for k in keys {
            map.remove(k);
        }
        if scope == Scope::Shared {
            self.push_shared(id, json!({"deleted": keys}));
        }
        Ok(())
    }

    /// Pushes a shared-attribute change to the session where the device is
    /// reachable: its own (`v1/devices/me/attributes`) or its gateway's
    /// (`v1/gateway/attributes` `{"device","data"}`).
    fn push_shared(&mut self, id: Uuid, data: Value) {
        let name = self.device_name(id);
        match self.attach.get(&id).copied() {
            Some(Attach::Direct(s)) => {
                let topic = if self.device_prefix(s, topics::ME_ATTRIBUTES, "v2/a") == "v2/a" {
                    "v2/a"
                } else {
                    topics::ME_ATTRIBUTES
                };
                self.log.push(format!(
                    "shared attributes of {name:?} pushed to session {}: {data}",
                    s.0
                ));
                self.push(s, topic, &data);
            }
            Some(Attach::Gateway(s)) => {
                self.log.push(format!(
                    "shared attributes of {name:?} pushed to gateway session {}: {data}",
                    s.0
                ));
                self.push(
                    s,
                    topics::GW_ATTRIBUTES,
                    &json!({"device": name, "data": data}),
                );
            }
            None => self.log.push(format!(
                "shared attributes of {name:?} stored, not pushed: not connected"
            )),
        }
    }

    /// Makes a server-side RPC request: pushed at once if the device is
    /// reachable, otherwise held until it is or the request expires.
    pub fn send_rpc(&mut self, id: Uuid, call: RpcCall, now: u64) -> Result<Uuid, CommandError> {
        let timeout = call
            .timeout_ms
            .unwrap_or(self.config.rpc_default_timeout_ms);
        let expiration_time = call
            .expiration_time
            .unwrap_or(now + timeout.max(self.config.rpc_min_timeout_ms));
        let device = self
            .devices
            .get_mut(&id)
            .ok_or_else(|| CommandError::b(404, "Device with requested id wasn't found!"))?;
        let rpc_id = device.take_rpc_id();
        let record = RpcRecord {
            uuid: Uuid::new_v4(),
            device: id,
            rpc_id,
            method: call.method,
            params: call.params,
            oneway: call.oneway,
            persistent: call.persistent,
            retries: call.retries,
            additional_info: call.additional_info,
            status: RpcStatus::Queued,
            created_time: now,
            expiration_time,
            sent_time: None,
            reply: None,
            stale_replies: 0,
        };
        let uuid = record.uuid;
        let line = format!(
            "RPC {:?} (id {rpc_id}, {}{}) for {:?}",
            record.method,
            if record.oneway { "one-way" } else { "two-way" },
            if record.persistent {
                ", persistent"
            } else {
                ""
            },
            device.name
        );
        self.rpcs.add(record);
        if !self.deliver_rpc(uuid, now) {
            self.log
                .push(format!("{line}: held until the device is reachable"));
        }
        Ok(uuid)
    }

    /// A request by id.
    pub fn rpc(&self, uuid: Uuid) -> Option<&RpcRecord> {
        self.rpcs.get(uuid)
    }

    /// A device's requests, oldest first.
    pub fn rpcs_of(&self, device: Uuid) -> Vec<&RpcRecord> {
        self.rpcs.iter().filter(|r| r.device == device).collect()
    }

    /// Deletes a persistent request.
    pub fn delete_rpc(&mut self, uuid: Uuid) -> bool {
        self.rpcs.remove(uuid).is_some()
    }

    /// Expires requests whose deadline has passed (the REST side calls this
    /// at its deadline so the answer does not wait for the next tick).
    pub fn expire(&mut self, now: u64) -> bool {
        self.expire_rpcs(now)
    }

    /// A persistent one-way notice RPC to a gateway device, on its own
    /// topic; held until the gateway is connected (1 day).
    fn notify_gateway(&mut self, gateway: Uuid, method: &str, params: Value, now: u64) {
        if !self.devices.contains_key(&gateway) {
            return;
        }
        let call = RpcCall {
            method: method.to_string(),
            params,
            oneway: true,
            expiration_time: Some(now + NOTICE_EXPIRY_MS),
            persistent: true,
            retries: Some(json!(3)),
            ..RpcCall::default()
        };
        let _ = self.send_rpc(gateway, call, now);
    }

    /// Sends ThingsBoard's MQTT 5 notice `{"device":..,"reason":..}` on
    /// `v1/gateway/disconnect` to the gateway session where the device is
    /// registered (§3.2). The notice does not deregister the device.
    pub fn disconnect_notice(&mut self, id: Uuid, reason: u8) -> Result<(), CommandError> {
        let name = self.require_device(id)?.name.clone();
        let Some(Attach::Gateway(session)) = self.attach.get(&id).copied() else {
            return Err(CommandError::a(
                409,
                35,
                format!("Device {name:?} is not registered in a gateway session"),
            ));
        };
        self.log
            .push(format!("disconnect notice for {name:?}, reason {reason}"));
        self.push(
            session,
            topics::GW_DISCONNECT,
            &json!({"device": name, "reason": reason}),
        );
        Ok(())
    }

    /// The open sessions.
    pub fn session_views(&self) -> Vec<SessionView> {
        self.sessions
            .values()
            .map(|s| {
                let d = self.devices.get(&s.device);
                SessionView {
                    session: s.id.0,
                    device_id: s.device,
                    device_name: self.device_name(s.device),
                    gateway: d.is_some_and(Device::is_gateway),
                    version: version_name(s.version),
                    peer: s.peer.clone(),
                    connected_at: s.connected_at,
                    sub_devices: s
                        .sub_devices
                        .keys()
                        .map(|id| self.device_name(*id))
                        .collect(),
                }
            })
            .collect()
    }

    /// Whether a session is open.
    pub fn has_session(&self, session: SessionId) -> bool {
        self.sessions.contains_key(&session)
    }

    /// Claims received, oldest first.
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// Rejected, skipped or dropped messages and closes, oldest first.
    pub fn errors(&self) -> Vec<ErrorRecord> {
        self.journal.records().cloned().collect()
    }

    /// Forgets the error log.
    pub fn clear_errors(&mut self) {
        self.journal.clear();
    }
}

/// A stable profile id per profile name (the emulator keeps no profiles).
fn profile_id(name: &str) -> Uuid {
    let mut bytes = [0u8; 16];
    for (i, b) in name.bytes().enumerate() {
        bytes[i % 16] = bytes[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// ThingsBoard's aggregation over `[start, end]` in `interval` buckets
/// (the whole range when 0); each bucket is stamped with its middle.
fn aggregate(
    points: &[&super::TsPoint],
    agg: &str,
    start: i64,
    end: i64,
    interval: i64,
    strict: bool,
) -> Vec<(i64, Value)> {
    let interval = if interval <= 0 {
        end - start + 1
    } else {
        interval
    };
    let mut out = Vec::new();
    let mut bucket_start = start;
    while bucket_start <= end && interval > 0 {
        let bucket_end = (bucket_start + interval).min(end + 1);
        let nums: Vec<f64> = points
            .iter()
            .filter(|p| p.ts >= bucket_start && p.ts < bucket_end)
            .filter_map(|p| p.value.to_json().as_f64())
            .collect();
        if !nums.is_empty() {
            let v = match agg {
                "MIN" => nums.iter().cloned().fold(f64::INFINITY, f64::min),
                "MAX" => nums.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                "SUM" => nums.iter().sum(),
                "COUNT" => nums.len() as f64,
                _ => nums.iter().sum::<f64>() / nums.len() as f64,
            };
            let value = if agg == "COUNT" {
                json!(nums.len())
            } else {
                json!(v)
            };
            let value = if strict {
                value
            } else {
                Value::String(match agg {
                    "COUNT" => nums.len().to_string(),
                    _ => super::values::java_double_string(v),
                })
            };
            out.push((bucket_start + (bucket_end - bucket_start) / 2, value));
        }
        bucket_start = bucket_end;
    }
    out.reverse();
    out
}
