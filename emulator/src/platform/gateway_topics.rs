//! Handlers for the `v1/gateway/...` topics (contract §3).

use super::limits::Cost;
use super::session::{Ctx, Problem};
use super::telemetry::{parse_element, typed, TsEntry};
use super::{
    gson_int, gson_string, json_kind, topics, Attach, Attribute, Claim, Platform, RpcReply,
    RpcStatus, TbValue, CLAIMS_CAP, DEFAULT_CLAIM_DURATION_MS,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

impl Platform {
    /// Dispatches a publish on a `v1/gateway/...` topic from a gateway session.
    pub(super) fn gateway_publish(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        match cx.topic {
            topics::GW_CONNECT => self.on_connect(cx),
            topics::GW_DISCONNECT => self.on_disconnect(cx),
            topics::GW_TELEMETRY => self.on_telemetry(cx),
            topics::GW_ATTRIBUTES => self.on_attributes(cx),
            topics::GW_ATTRIBUTES_REQUEST => self.on_attributes_request(cx),
            topics::GW_RPC => self.on_rpc_reply(cx),
            topics::GW_CLAIM => self.on_claim(cx),
            _ => Err(Problem::UnknownTopic),
        }
    }

    /// §3.1 `{"device":"Pump 7","type":"Water pump"}`.
    fn on_connect(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let obj = gateway_object(cx.payload)?;
        let name = required_device(&obj)?;
        self.charge(cx, true, Cost::Other(1))?;
        cx.named.push(name.clone());
        let device_type = match obj.get("type") {
            None | Some(Value::Null) => "default".to_string(),
            Some(v) => gson_string(v).unwrap_or_else(|| v.to_string()),
        };
        if let Some(id) = self.names.get(&name).copied() {
            if self.attach.get(&id) == Some(&Attach::Gateway(cx.session)) {
                self.log.push(format!(
                    "connect {name:?}: already registered (acknowledged, activity not refreshed)"
                ));
                return Ok(());
            }
            let existing = &self.devices[&id].device_type;
            if *existing != device_type {
                self.log.push(format!(
                    "connect {name:?}: existing device keeps its type {existing:?} (ignoring {device_type:?})"
                ));
            }
        }
        self.register_sub(cx.session, &name, Some(&device_type), cx.now);
        self.touch_sub(cx.session, &name, cx.now);
        Ok(())
    }

    /// §3.2 `{"device":"Pump 7"}`: unknown or unconnected names are ignored.
    fn on_disconnect(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let obj = gateway_object(cx.payload)?;
        let name = required_device(&obj)?;
        self.charge(cx, true, Cost::Other(1))?;
        cx.named.push(name.clone());
        let registered = self
            .names
            .get(&name)
            .copied()
            .filter(|id| self.attach.get(id) == Some(&Attach::Gateway(cx.session)));
        match registered {
            Some(id) => {
                self.attach.remove(&id);
                if let Some(s) = self.sessions.get_mut(&cx.session) {
                    s.sub_devices.remove(&id);
                }
                if let Some(d) = self.devices.get_mut(&id) {
                    d.last_disconnect_time = Some(cx.now);
                }
                self.log.push(format!("device {name:?} disconnected"));
            }
            None => self.log.push(format!(
                "disconnect {name:?}: not registered in this session, ignored"
            )),
        }
        Ok(())
    }

    /// §3.3 `{"Pump 7":[{"ts":..,"values":{..}}, {..flat..}], ..}`.
    fn on_telemetry(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let entries = self.device_entries(cx, "telemetry", Value::is_array)?;
        let mut parsed: Vec<(String, Result<Vec<TsEntry>, String>)> = Vec::new();
        for (name, value) in entries {
            let items = value.as_array().expect("filtered to arrays");
            let result: Result<Vec<TsEntry>, String> = items
                .iter()
                .map(|i| parse_element(i, true).map(|(e, _)| e))
                .collect();
            parsed.push((name, result));
        }
        let ok: Vec<&Vec<TsEntry>> = parsed.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
        let points: usize = ok
            .iter()
            .flat_map(|entries| entries.iter())
            .map(|e| e.values.len())
            .sum();
        self.charge(
            cx,
            true,
            Cost::Telemetry {
                messages: ok.len() as u64,
                points: points as u64,
            },
        )?;
        let mut failure = None;
        for (name, result) in parsed {
            cx.named.push(name.clone());
            let id = self.touch_sub(cx.session, &name, cx.now);
            match result {
                Err(problem) => failure = Some(format!("telemetry for {name:?}: {problem}")),
                Ok(entries) => {
                    let device = self.devices.get_mut(&id).expect("registered");
                    for entry in entries {
                        let ts = entry.ts.unwrap_or(cx.now as i64);
                        for (key, v) in entry.values {
                            device.add_point(&key, ts, v);
                        }
                    }
                }
            }
        }
        self.log
            .push(format!("telemetry: {points} data point(s) stored"));
        match failure {
            Some(f) => Err(Problem::Conversion(f)),
            None => Ok(()),
        }
    }

    /// §3.4 `{"Pump 7":{"firmware":"1.4.2"}, ..}`: client-scope attributes.
    fn on_attributes(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let entries = self.device_entries(cx, "attributes", Value::is_object)?;
        let typed_entries: Vec<(String, Vec<(String, TbValue)>)> = entries
            .iter()
            .map(|(name, v)| (name.clone(), typed(v.as_object().expect("objects"))))
            .collect();
        let points: usize = typed_entries.iter().map(|(_, v)| v.len()).sum();
        self.charge(
            cx,
            true,
            Cost::Telemetry {
                messages: typed_entries.len() as u64,
                points: points as u64,
            },
        )?;
        for (name, values) in typed_entries {
            cx.named.push(name.clone());
            let id = self.touch_sub(cx.session, &name, cx.now);
            let device = self.devices.get_mut(&id).expect("registered");
            let n = values.len();
            for (key, v) in values {
                device.client_attributes.insert(
                    key,
                    Attribute {
                        value: v,
                        last_update_ts: cx.now,
                    },
                );
            }
            self.log
                .push(format!("client attributes of {name:?}: {n} stored"));
        }
        Ok(())
    }

    /// §3.6 `{"id":17,"device":"Pump 7","client":false,"key":"setpoint"}`,
    /// answered on `v1/gateway/attributes/response`.
    fn on_attributes_request(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let obj = gateway_object(cx.payload)?;
        let invalid = |s: &str| Err(Problem::Invalid(s.to_string()));
        if obj.get("client").is_some_and(Value::is_array) {
            return invalid(
                "the documented {\"client\":[..],\"shared\":[..]} form is not supported by any \
                 server version (contract §12); use \"client\": bool with \"key\" or \"keys\"",
            );
        }
        let Some(id) = obj.get("id").and_then(gson_int) else {
            return invalid("missing or non-integer \"id\"");
        };
        let Some(name) = obj
            .get("device")
            .and_then(gson_string)
            .filter(|s| !s.is_empty())
        else {
            return invalid("missing or empty \"device\"");
        };
        let client = match obj.get("client") {
            Some(Value::Bool(b)) => *b,
            Some(v) if gson_string(v).is_some() => {
                // Gson's getAsBoolean on a primitive: Boolean.parseBoolean.
                gson_string(v).is_some_and(|s| s.eq_ignore_ascii_case("true"))
            }
            _ => return invalid("missing \"client\" (a required boolean)"),
        };
        let keys: Vec<String> = match (obj.get("key"), obj.get("keys")) {
            (Some(k), _) if !k.is_null() => match gson_string(k) {
                Some(k) => vec![k],
                None => return invalid("\"key\" is not a string"),
            },
            (_, Some(Value::Array(ks))) => {
                match ks.iter().map(gson_string).collect::<Option<Vec<_>>>() {
                    Some(ks) => ks,
                    None => return invalid("\"keys\" holds a non-string"),
                }
            }
            (_, Some(other)) if !other.is_null() => return invalid("\"keys\" is not an array"),
            _ => return invalid("neither \"key\" nor \"keys\""),
        };
        self.charge(cx, true, Cost::Other(1))?;
        cx.named.push(name.clone());
        let device_id = self.touch_sub(cx.session, &name, cx.now);
        let device = &self.devices[&device_id];
        let pick = |attrs: &BTreeMap<String, Attribute>| -> Vec<(String, TbValue)> {
            keys.iter()
                .filter_map(|k| attrs.get(k).map(|a| (k.clone(), a.value.clone())))
                .collect()
        };
        let all = |attrs: &BTreeMap<String, Attribute>| -> Vec<(String, TbValue)> {
            attrs
                .iter()
                .map(|(k, a)| (k.clone(), a.value.clone()))
                .collect()
        };
        let (client_list, shared_list) = if keys.is_empty() {
            (
                all(&device.client_attributes),
                all(&device.shared_attributes),
            )
        } else if client {
            (pick(&device.client_attributes), Vec::new())
        } else {
            (Vec::new(), pick(&device.shared_attributes))
        };
        let multiple = keys.len() > 1;
        let mut response = Map::new();
        response.insert("id".into(), json!(id));
        response.insert("device".into(), json!(name));
        add_values(&mut response, &client_list, multiple);
        add_values(&mut response, &shared_list, multiple);
        let found = client_list.len() + shared_list.len();
        self.log.push(format!(
            "attribute request {id} for {name:?} ({} scope, {} key(s)): {found} found",
            if client { "client" } else { "shared" },
            keys.len()
        ));
        self.push(
            cx.session,
            topics::GW_ATTRIBUTES_RESPONSE,
            &Value::Object(response),
        );
        Ok(())
    }

    /// §3.7 reply `{"device":"Pump 7","id":0,"data":{..}}`.
    fn on_rpc_reply(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let obj = gateway_object(cx.payload)?;
        let Some(name) = obj
            .get("device")
            .and_then(gson_string)
            .filter(|s| !s.is_empty())
        else {
            return Err(Problem::Invalid("RPC reply without \"device\"".into()));
        };
        let Some(id) = obj.get("id").and_then(gson_int) else {
            return Err(Problem::Invalid(
                "RPC reply without an integer \"id\"".into(),
            ));
        };
        let Some(data) = obj.get("data") else {
            return Err(Problem::Invalid("RPC reply without \"data\"".into()));
        };
        self.charge(cx, true, Cost::Other(1))?;
        cx.named.push(name.clone());
        let device = self.touch_sub(cx.session, &name, cx.now);
        self.match_reply(cx, device, id, RpcReply::Json(data.clone()));
        Ok(())
    }

    /// §3.8 `{"Pump 7":{"secretKey":"abc123","durationMs":60000},"Pump 8":{}}`.
    fn on_claim(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let entries = self.device_entries(cx, "claim", Value::is_object)?;
        self.charge(cx, true, Cost::Other(entries.len() as u64))?;
        for (name, value) in entries {
            cx.named.push(name.clone());
            self.touch_sub(cx.session, &name, cx.now);
            let claim = claim_from(
                &name,
                value.as_object().expect("objects"),
                cx.now,
                "gateway",
            );
            self.log.push(format!(
                "claim for {name:?} (duration {} ms)",
                claim.duration_ms
            ));
            self.push_claim(claim);
        }
        Ok(())
    }

    // ---- shared helpers ----

    /// The `{device name: value}` entries of a gateway message whose value
    /// passes `valid`; others are skipped with a warning. An error when the
    /// body is not a JSON object or no entry is left.
    fn device_entries(
        &mut self,
        cx: &Ctx,
        what: &str,
        valid: fn(&Value) -> bool,
    ) -> Result<Vec<(String, Value)>, Problem> {
        let obj = gateway_object(cx.payload)?;
        let expected = if what == "telemetry" {
            "array"
        } else {
            "object"
        };
        let mut entries = Vec::new();
        for (name, value) in &obj {
            if name.is_empty() {
                return Err(Problem::Invalid(format!("{what} for an empty device name")));
            }
            if valid(value) {
                entries.push((name.clone(), value.clone()));
            } else {
                self.journal(
                    cx.now,
                    Some(cx.session),
                    cx.topic,
                    cx.payload,
                    format!(
                        "{what} for {name:?} is a JSON {} where an {expected} is required",
                        json_kind(value)
                    ),
                    "entry skipped with a warning; the rest is processed".into(),
                    false,
                );
            }
        }
        if entries.is_empty() {
            return Err(Problem::Invalid(format!(
                "{what} message is empty (no valid device entry)"
            )));
        }
        Ok(entries)
    }

    /// Matches an RPC reply to the request waiting for it, or records it stale.
    pub(super) fn match_reply(&mut self, cx: &Ctx, device: Uuid, id: i32, reply: RpcReply) {
        let waiting = self.rpcs.iter_mut().rev().find(|r| {
            r.device == device
                && r.rpc_id == id
                && matches!(r.status, RpcStatus::Sent | RpcStatus::Delivered)
                && !r.oneway
        });
        if let Some(r) = waiting {
            let not_json = matches!(reply, RpcReply::NotJson(_));
            r.status = RpcStatus::Successful;
            r.reply = Some(reply);
            let line = format!("RPC {:?} (id {id}, {}) answered", r.method, r.uuid);
            self.log.push(line);
            if not_json {
                self.journal(
                    cx.now,
                    Some(cx.session),
                    cx.topic,
                    cx.payload,
                    format!("reply to RPC id {id} is not valid JSON"),
                    "the REST caller gets HTTP 406".into(),
                    false,
                );
            }
            return;
        }
        let why = match self.rpcs.find_mut(device, id) {
            Some(r) => {
                r.stale_replies += 1;
                format!("request {} is {}", r.uuid, r.status.name())
            }
            None => "no request with that id was sent".to_string(),
        };
        let name = self.device_name(device);
        self.journal(
            cx.now,
            Some(cx.session),
            cx.topic,
            cx.payload,
            format!("stale RPC reply from {name:?} for id {id}: {why}"),
            "dropped as stale".into(),
            false,
        );
    }

    pub(super) fn push_claim(&mut self, claim: Claim) {
        if self.claims.len() == CLAIMS_CAP {
            self.claims.remove(0);
        }
        self.claims.push(claim);
    }
}

/// Parses a gateway-topic body that must be a JSON object.
fn gateway_object(payload: &[u8]) -> Result<Map<String, Value>, Problem> {
    match serde_json::from_slice::<Value>(payload) {
        Err(e) => Err(Problem::NotJson(format!("not valid JSON: {e}"))),
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(other) => Err(Problem::Invalid(format!(
            "valid JSON but not an object ({})",
            json_kind(&other)
        ))),
    }
}

/// A required, non-empty `device` field.
fn required_device(obj: &Map<String, Value>) -> Result<String, Problem> {
    match obj.get("device").and_then(gson_string) {
        Some(name) if !name.is_empty() => Ok(name),
        _ => Err(Problem::Invalid("missing or empty \"device\"".into())),
    }
}

/// ThingsBoard's `addValues`: one attribute and a single-key request is
/// written as `value`, anything else merges into `values`.
fn add_values(response: &mut Map<String, Value>, list: &[(String, TbValue)], multiple: bool) {
    if list.is_empty() {
        return;
    }
    if !multiple && list.len() == 1 {
        response.insert("value".into(), list[0].1.to_json());
        return;
    }
    let values = response
        .entry("values")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(values) = values {
        for (k, v) in list {
            values.insert(k.clone(), v.to_json());
        }
    }
}

/// A claim from `{"secretKey"?, "durationMs"?}`.
pub(super) fn claim_from(
    device: &str,
    obj: &Map<String, Value>,
    now: u64,
    via: &'static str,
) -> Claim {
    let secret_key = obj
        .get("secretKey")
        .and_then(gson_string)
        .unwrap_or_default();
    let duration_ms = obj
        .get("durationMs")
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .filter(|d| *d != 0)
        .unwrap_or(DEFAULT_CLAIM_DURATION_MS);
    Claim {
        device: device.to_string(),
        secret_key,
        duration_ms,
        time: now,
        via,
    }
}
