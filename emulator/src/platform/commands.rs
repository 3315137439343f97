//! What the HTTP control API asks of the platform (ThingsBoard's REST side):
//! reads, shared attributes, server-side RPC, rename and delete.

use super::device::{Device, Scope};
use super::rpc::{RpcRecord, RpcStatus};
use super::telemetry::typed;
use super::{
    rpc_request_message, topics, Attribute, Claim, DeviceSummary, ErrorRecord, Outgoing, Platform,
    RpcView, Target,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// A refused command, with the HTTP status ThingsBoard's REST API would use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// HTTP status code.
    pub status: u16,
    /// Human-readable reason.
    pub message: String,
}

impl CommandError {
    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> CommandError {
        CommandError {
            status: 400,
            message: message.into(),
        }
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> CommandError {
        CommandError {
            status: 404,
            message: message.into(),
        }
    }
}

/// How to read timeseries: the latest value per key, or a time range.
#[derive(Debug, Clone, Default)]
pub struct TsQuery {
    /// Only these keys (all when `None`).
    pub keys: Option<Vec<String>>,
    /// Range start, inclusive (range mode needs both ends).
    pub start_ts: Option<i64>,
    /// Range end, exclusive.
    pub end_ts: Option<i64>,
    /// Points per key in range mode (default 100).
    pub limit: Option<usize>,
    /// Range mode order: ascending when true, descending (default) otherwise.
    pub ascending: bool,
    /// Typed values instead of strings (`useStrictDataTypes=true`).
    pub strict: bool,
}

/// One attribute in the REST answer `[{"key","value","lastUpdateTs"}]`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeView {
    /// Attribute key.
    pub key: String,
    /// Typed value.
    pub value: Value,
    /// Last write, epoch ms.
    pub last_update_ts: u64,
}

/// A server-side RPC request as the REST API receives it.
#[derive(Debug, Clone)]
pub struct RpcCall {
    /// Method name.
    pub method: String,
    /// Parameters (`null` when absent).
    pub params: Value,
    /// One-way call.
    pub oneway: bool,
    /// Timeout in ms; `None` means the configured default.
    pub timeout_ms: Option<u64>,
}

impl Platform {
    /// Every sub-device, by name.
    pub fn devices(&self) -> Vec<DeviceSummary> {
        self.devices.values().map(Device::summary).collect()
    }

    /// One device's summary (the gateway for [`Target::Gateway`]).
    pub fn device_summary(&self, target: &Target) -> Result<DeviceSummary, CommandError> {
        self.device(target).map(Device::summary)
    }

    /// A device by target.
    pub fn device(&self, target: &Target) -> Result<&Device, CommandError> {
        match target {
            Target::Gateway => Ok(&self.gateway),
            Target::Device(name) => self
                .devices
                .get(name)
                .ok_or_else(|| CommandError::not_found(format!("Device {name:?} not found"))),
        }
    }

    fn device_mut(&mut self, target: &Target) -> Result<&mut Device, CommandError> {
        match target {
            Target::Gateway => Ok(&mut self.gateway),
            Target::Device(name) => self
                .devices
                .get_mut(name)
                .ok_or_else(|| CommandError::not_found(format!("Device {name:?} not found"))),
        }
    }

    /// Creates a sub-device ahead of the gateway (as a user would in the UI).
    pub fn create_device(
        &mut self,
        name: &str,
        device_type: Option<&str>,
        now: u64,
    ) -> Result<DeviceSummary, CommandError> {
        if name.is_empty() {
            return Err(CommandError::bad_request(
                "Device name should be specified!",
            ));
        }
        if self.devices.contains_key(name) {
            return Err(CommandError::bad_request(
                "Device with such name already exists!",
            ));
        }
        let device = Device::new(name, device_type.unwrap_or("default"), now);
        let summary = device.summary();
        self.devices.insert(name.to_string(), device);
        self.log.push(format!("device {name:?} created over HTTP"));
        Ok(summary)
    }

    /// Telemetry as `GET .../values/timeseries` returns it:
    /// `{"key":[{"ts":..,"value":..}]}`.
    pub fn timeseries(&self, target: &Target, q: &TsQuery) -> Result<Value, CommandError> {
        let device = self.device(target)?;
        let wanted = |k: &String| q.keys.as_ref().is_none_or(|keys| keys.contains(k));
        let render = |p: &super::TsPoint| {
            let value = if q.strict {
                p.value.to_json()
            } else {
                Value::String(p.value.to_tb_string())
            };
            json!({"ts": p.ts, "value": value})
        };
        let mut result = Map::new();
        for (key, points) in device.timeseries.iter().filter(|(k, _)| wanted(k)) {
            let list: Vec<Value> = match (q.start_ts, q.end_ts) {
                (Some(start), Some(end)) => {
                    let mut in_range: Vec<&super::TsPoint> = points
                        .iter()
                        .filter(|p| p.ts >= start && p.ts < end)
                        .collect();
                    in_range.sort_by_key(|p| p.ts);
                    if !q.ascending {
                        in_range.reverse();
                    }
                    in_range
                        .into_iter()
                        .take(q.limit.unwrap_or(100))
                        .map(render)
                        .collect()
                }
                _ => device.latest(key).map(render).into_iter().collect(),
            };
            if !list.is_empty() {
                result.insert(key.clone(), Value::Array(list));
            }
        }
        Ok(Value::Object(result))
    }

    /// Telemetry key names (`GET .../keys/timeseries`).
    pub fn timeseries_keys(&self, target: &Target) -> Result<Vec<String>, CommandError> {
        Ok(self.device(target)?.timeseries.keys().cloned().collect())
    }

    /// Attributes as `GET .../values/attributes[/SCOPE]` returns them; all
    /// scopes (client, then shared) when `scope` is `None`.
    pub fn attributes(
        &self,
        target: &Target,
        scope: Option<Scope>,
        keys: Option<&[String]>,
    ) -> Result<Vec<AttributeView>, CommandError> {
        let device = self.device(target)?;
        let scopes = match scope {
            Some(s) => vec![s],
            None => vec![Scope::Client, Scope::Shared, Scope::Server],
        };
        let mut result = Vec::new();
        for s in scopes {
            let Some(attrs) = device.attributes(s) else {
                continue;
            };
            for (key, a) in attrs {
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

    /// Saves shared attributes from a JSON object and pushes them to the
    /// gateway if the device is registered in its session (ThingsBoard does
    /// not queue attribute updates for offline devices).
    pub fn save_shared(
        &mut self,
        target: &Target,
        body: &Value,
        now: u64,
    ) -> Result<Vec<Outgoing>, CommandError> {
        let Value::Object(obj) = body else {
            return Err(CommandError::bad_request(
                "Request body must be a JSON object",
            ));
        };
        let values = typed(obj);
        if values.is_empty() {
            return Err(CommandError::bad_request("No attributes to save"));
        }
        let device = self.device_mut(target)?;
        let mut data = Map::new();
        for (key, v) in values {
            data.insert(key.clone(), v.to_json());
            device.shared_attributes.insert(
                key,
                Attribute {
                    value: v,
                    last_update_ts: now,
                },
            );
        }
        let connected = device.connected;
        let name = device.name.clone();
        let data = Value::Object(data);
        Ok(self.push_shared(target, &name, connected, data, "update"))
    }

    /// Deletes attributes of one scope; for the shared scope, pushes the
    /// deletion (`{"deleted":[..]}`) if the device is registered.
    pub fn delete_attributes(
        &mut self,
        target: &Target,
        scope: Scope,
        keys: &[String],
    ) -> Result<Vec<Outgoing>, CommandError> {
        if keys.is_empty() {
            return Err(CommandError::bad_request("Parameter 'keys' is required"));
        }
        let device = self.device_mut(target)?;
        let map = match scope {
            Scope::Client => &mut device.client_attributes,
            Scope::Shared => &mut device.shared_attributes,
            Scope::Server => return Ok(Vec::new()),
        };
        for k in keys {
            map.remove(k);
        }
        if scope != Scope::Shared {
            return Ok(Vec::new());
        }
        let connected = device.connected;
        let name = device.name.clone();
        Ok(self.push_shared(
            target,
            &name,
            connected,
            json!({"deleted": keys}),
            "deletion",
        ))
    }

    fn push_shared(
        &mut self,
        target: &Target,
        name: &str,
        connected: bool,
        data: Value,
        what: &str,
    ) -> Vec<Outgoing> {
        match target {
            Target::Gateway => {
                self.log.push(format!(
                    "shared attribute {what} pushed to the gateway: {data}"
                ));
                vec![Outgoing::json(topics::ME_ATTRIBUTES, &data)]
            }
            Target::Device(_) if connected => {
                self.log.push(format!(
                    "shared attribute {what} pushed for {name:?}: {data}"
                ));
                vec![Outgoing::json(
                    topics::GW_ATTRIBUTES,
                    &json!({"device": name, "data": data}),
                )]
            }
            Target::Device(_) => {
                self.log.push(format!(
                    "shared attribute {what} for {name:?} stored, not pushed: not connected"
                ));
                Vec::new()
            }
        }
    }

    /// Makes a server-side RPC request. It is published at once if the
    /// device is registered in the gateway session (always, for the gateway
    /// itself), otherwise held until the device connects or the request
    /// expires. Returns the request's handle.
    pub fn send_rpc(
        &mut self,
        target: &Target,
        call: RpcCall,
        now: u64,
    ) -> Result<(u64, Vec<Outgoing>), CommandError> {
        if call.method.is_empty() {
            return Err(CommandError::bad_request("Method should be specified!"));
        }
        let timeout = call
            .timeout_ms
            .unwrap_or(self.config.rpc_default_timeout_ms)
            .max(self.config.rpc_min_timeout_ms);
        let device = self.device_mut(target)?;
        let rpc_id = device.take_rpc_id();
        let deliverable = matches!(target, Target::Gateway) || device.connected;
        let name = device.name.clone();
        let record = RpcRecord {
            seq: 0,
            target: target.clone(),
            rpc_id,
            method: call.method,
            params: call.params,
            oneway: call.oneway,
            status: if deliverable {
                RpcStatus::Sent
            } else {
                RpcStatus::Queued
            },
            created_time: now,
            expiration_time: now + timeout,
            sent_time: deliverable.then_some(now),
            reply: None,
            reply_time: None,
            stale_replies: 0,
        };
        let out = if deliverable {
            vec![rpc_request_message(&name, &record)]
        } else {
            Vec::new()
        };
        let line = format!(
            "RPC {:?} (id {rpc_id}, {}) to {}: {}",
            record.method,
            if record.oneway { "one-way" } else { "two-way" },
            super::target_label(target),
            if deliverable {
                "sent"
            } else {
                "held until the device connects"
            }
        );
        let seq = self.rpcs.add(record);
        self.log.push(format!("#{seq} {line}"));
        Ok((seq, out))
    }

    /// A request by handle.
    pub fn rpc(&self, seq: u64) -> Option<&RpcRecord> {
        self.rpcs.get(seq)
    }

    /// Expires a request whose deadline has passed (the HTTP side calls this
    /// at its deadline so the answer does not wait for the next tick).
    pub fn expire(&mut self, now: u64) -> bool {
        self.expire_rpcs(now)
    }

    /// The RPC history, oldest first.
    pub fn rpc_history(&self) -> Vec<RpcView> {
        self.rpcs
            .iter()
            .map(|r| r.view(&self.config.gateway_name))
            .collect()
    }

    /// Renames a sub-device and tells the gateway with the one-way RPC
    /// `{"method":"gateway_device_renamed","params":{"Old":"New"}}`.
    pub fn rename_device(
        &mut self,
        old: &str,
        new: &str,
        now: u64,
    ) -> Result<(DeviceSummary, Vec<Outgoing>), CommandError> {
        if new.is_empty() {
            return Err(CommandError::bad_request(
                "Device name should be specified!",
            ));
        }
        if !self.devices.contains_key(old) {
            return Err(CommandError::not_found(format!("Device {old:?} not found")));
        }
        if old == new {
            let summary = self.devices[old].summary();
            return Ok((summary, Vec::new()));
        }
        if self.devices.contains_key(new) {
            return Err(CommandError::bad_request(
                "Device with such name already exists!",
            ));
        }
        let mut device = self.devices.remove(old).expect("checked");
        device.name = new.to_string();
        let summary = device.summary();
        self.devices.insert(new.to_string(), device);
        let old_target = Target::Device(old.to_string());
        for r in self.rpcs.iter_mut().filter(|r| r.target == old_target) {
            r.target = Target::Device(new.to_string());
        }
        self.log.push(format!("device {old:?} renamed to {new:?}"));
        let mut params = Map::new();
        params.insert(old.to_string(), Value::String(new.to_string()));
        let out = self.notify_gateway("gateway_device_renamed", Value::Object(params), now);
        Ok((summary, out))
    }

    /// Deletes a sub-device (pending RPCs become `DELETED`) and tells the
    /// gateway with `{"method":"gateway_device_deleted","params":"Name"}`.
    pub fn delete_device(&mut self, name: &str, now: u64) -> Result<Vec<Outgoing>, CommandError> {
        if self.devices.remove(name).is_none() {
            return Err(CommandError::not_found(format!(
                "Device {name:?} not found"
            )));
        }
        let target = Target::Device(name.to_string());
        for r in self.rpcs.iter_mut() {
            if r.target == target && r.is_pending() {
                r.status = RpcStatus::Deleted;
            }
        }
        self.log.push(format!("device {name:?} deleted"));
        Ok(self.notify_gateway("gateway_device_deleted", json!(name), now))
    }

    /// A one-way notification RPC to the gateway device (its own id sequence).
    fn notify_gateway(&mut self, method: &str, params: Value, now: u64) -> Vec<Outgoing> {
        let call = RpcCall {
            method: method.to_string(),
            params,
            oneway: true,
            // Persisted, expires after a day (contract §7).
            timeout_ms: Some(86_400_000),
        };
        self.send_rpc(&Target::Gateway, call, now)
            .map(|(_, out)| out)
            .unwrap_or_default()
    }

    /// Sends ThingsBoard's MQTT 5 disconnect notice
    /// `{"device":..,"reason":..}` on `v1/gateway/disconnect` (§3.2). The
    /// notice does not deregister the device.
    pub fn disconnect_notice(&mut self, device: &str, reason: u8) -> Vec<Outgoing> {
        self.log
            .push(format!("disconnect notice for {device:?}, reason {reason}"));
        vec![Outgoing::json(
            topics::GW_DISCONNECT,
            &json!({"device": device, "reason": reason}),
        )]
    }

    /// Claims received, oldest first.
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// Rejected, skipped or dropped messages, oldest first.
    pub fn errors(&self) -> Vec<ErrorRecord> {
        self.journal.records().cloned().collect()
    }

    /// Forgets the error log.
    pub fn clear_errors(&mut self) {
        self.journal.clear();
    }

    /// Answers the gateway's client-side RPC `method` with `reply` from now
    /// on (a stand-in for a rule chain); `None` removes it.
    pub fn set_client_rpc_reply(&mut self, method: &str, reply: Option<Value>) {
        match reply {
            Some(r) => {
                self.client_rpc_replies.insert(method.to_string(), r);
            }
            None => {
                self.client_rpc_replies.remove(method);
            }
        }
    }
}
