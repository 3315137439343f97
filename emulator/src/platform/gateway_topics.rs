//! Handlers for the `v1/gateway/...` topics (contract §3).

use super::telemetry::{parse_element, typed};
use super::{
    gson_int, gson_string, json_kind, topics, Attribute, Claim, Outcome, Outgoing, Platform,
    RpcReply, RpcStatus, Target, TbValue, CLAIMS_CAP, DEFAULT_CLAIM_DURATION_MS,
};
use serde_json::{json, Map, Value};

impl Platform {
    /// §3.1 `{"device":"Pump 7","type":"Water pump"}`.
    pub(super) fn on_connect(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(obj) = self.gateway_object(topic, payload, now) else {
            return;
        };
        let Some(name) = self.required_device(topic, payload, now, &obj) else {
            return;
        };
        let device_type = match obj.get("type") {
            None | Some(Value::Null) => "default".to_string(),
            Some(v) => gson_string(v).unwrap_or_else(|| v.to_string()),
        };
        if let Some(d) = self.devices.get(&name) {
            if d.connected {
                self.log.push(format!(
                    "connect {name:?}: already registered (acknowledged, activity not refreshed)"
                ));
                return;
            }
            if d.device_type != device_type {
                self.log.push(format!(
                    "connect {name:?}: existing device keeps its type {:?} (ignoring {device_type:?})",
                    d.device_type
                ));
            }
        }
        self.register(&name, Some(&device_type), now, out);
        if let Some(d) = self.devices.get_mut(&name) {
            d.last_activity_time = Some(now);
        }
    }

    /// §3.2 `{"device":"Pump 7"}`: unknown or unconnected names are ignored.
    pub(super) fn on_disconnect(&mut self, topic: &str, payload: &[u8], now: u64) {
        let Some(obj) = self.gateway_object(topic, payload, now) else {
            return;
        };
        let Some(name) = self.required_device(topic, payload, now, &obj) else {
            return;
        };
        match self.devices.get_mut(&name) {
            Some(d) if d.connected => {
                d.connected = false;
                d.last_disconnect_time = Some(now);
                self.log.push(format!("device {name:?} disconnected"));
            }
            Some(_) => self
                .log
                .push(format!("disconnect {name:?}: not connected, ignored")),
            None => self
                .log
                .push(format!("disconnect {name:?}: unknown device, ignored")),
        }
    }

    /// §3.3 `{"Pump 7":[{"ts":..,"values":{..}}, {..flat..}], ..}`.
    pub(super) fn on_telemetry(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(entries) = self.device_entries(topic, payload, now, "telemetry", Value::is_array)
        else {
            return;
        };
        let mut points = 0;
        for (name, value) in entries {
            self.register_and_touch(&name, now, out);
            let items = value.as_array().expect("filtered to arrays");
            let parsed: Result<Vec<_>, String> =
                items.iter().map(|i| parse_element(i, true)).collect();
            match parsed {
                Err(problem) => self.reject(
                    now,
                    topic,
                    payload,
                    format!("telemetry for {name:?}: {problem}"),
                    Outcome::ConversionFailed,
                ),
                Ok(parsed) => {
                    let device = self.devices.get_mut(&name).expect("registered");
                    for (entry, _metadata) in parsed {
                        let ts = entry.ts.unwrap_or(now as i64);
                        for (key, v) in entry.values {
                            device.add_point(&key, ts, v);
                            points += 1;
                        }
                    }
                }
            }
        }
        self.log
            .push(format!("telemetry: {points} data point(s) stored"));
    }

    /// §3.4 `{"Pump 7":{"firmware":"1.4.2"}, ..}`: client-scope attributes.
    pub(super) fn on_attributes(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(entries) =
            self.device_entries(topic, payload, now, "attributes", Value::is_object)
        else {
            return;
        };
        for (name, value) in entries {
            self.register_and_touch(&name, now, out);
            let values = typed(value.as_object().expect("filtered to objects"));
            let device = self.devices.get_mut(&name).expect("registered");
            let n = values.len();
            for (key, v) in values {
                device.client_attributes.insert(
                    key,
                    Attribute {
                        value: v,
                        last_update_ts: now,
                    },
                );
            }
            self.log
                .push(format!("client attributes of {name:?}: {n} stored"));
        }
    }

    /// §3.6 `{"id":17,"device":"Pump 7","client":false,"key":"setpoint"}`,
    /// answered on `v1/gateway/attributes/response`.
    pub(super) fn on_attributes_request(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(obj) = self.gateway_object(topic, payload, now) else {
            return;
        };
        let reject = |me: &mut Self, problem: &str| {
            me.reject(now, topic, payload, problem.to_string(), Outcome::Rejected)
        };
        if obj.get("client").is_some_and(Value::is_array) {
            return reject(
                self,
                "the documented {\"client\":[..],\"shared\":[..]} form is not supported by any \
                 server version (contract §12); use \"client\": bool with \"key\" or \"keys\"",
            );
        }
        let Some(id) = obj.get("id").and_then(gson_int) else {
            return reject(self, "missing or non-integer \"id\"");
        };
        let Some(name) = obj
            .get("device")
            .and_then(gson_string)
            .filter(|s| !s.is_empty())
        else {
            return reject(self, "missing or empty \"device\"");
        };
        let client = match obj.get("client") {
            Some(Value::Bool(b)) => *b,
            Some(v) if gson_string(v).is_some() => {
                // Gson's getAsBoolean on a primitive: Boolean.parseBoolean.
                gson_string(v).is_some_and(|s| s.eq_ignore_ascii_case("true"))
            }
            _ => return reject(self, "missing \"client\" (a required boolean)"),
        };
        let keys: Vec<String> = match (obj.get("key"), obj.get("keys")) {
            (Some(k), _) if !k.is_null() => match gson_string(k) {
                Some(k) => vec![k],
                None => return reject(self, "\"key\" is not a string"),
            },
            (_, Some(Value::Array(ks))) => {
                match ks.iter().map(gson_string).collect::<Option<Vec<_>>>() {
                    Some(ks) => ks,
                    None => return reject(self, "\"keys\" holds a non-string"),
                }
            }
            (_, Some(other)) if !other.is_null() => {
                return reject(self, "\"keys\" is not an array")
            }
            _ if obj.contains_key("shared") => {
                return reject(
                    self,
                    "neither \"key\" nor \"keys\" (\"shared\" is not read by any server \
                     version, contract §12)",
                )
            }
            _ => return reject(self, "neither \"key\" nor \"keys\""),
        };
        self.register_and_touch(&name, now, out);
        let device = self.devices.get(&name).expect("registered");
        let pick =
            |attrs: &std::collections::BTreeMap<String, Attribute>| -> Vec<(String, TbValue)> {
                keys.iter()
                    .filter_map(|k| attrs.get(k).map(|a| (k.clone(), a.value.clone())))
                    .collect()
            };
        let all =
            |attrs: &std::collections::BTreeMap<String, Attribute>| -> Vec<(String, TbValue)> {
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
        if keys.is_empty() {
            self.reject(
                now,
                topic,
                payload,
                "\"keys\": [] returns all client and shared attributes merged, with no \
                 scope marker (a scope holding one attribute is written as \"value\")"
                    .into(),
                Outcome::Discouraged,
            );
        }
        self.log.push(format!(
            "attribute request {id} for {name:?} ({} scope, {} key(s)): {found} found",
            if client { "client" } else { "shared" },
            keys.len()
        ));
        out.push(Outgoing::json(
            topics::GW_ATTRIBUTES_RESPONSE,
            &Value::Object(response),
        ));
    }

    /// §3.7 reply `{"device":"Pump 7","id":0,"data":{..}}`.
    pub(super) fn on_rpc_reply(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(obj) = self.gateway_object(topic, payload, now) else {
            return;
        };
        let Some(name) = obj
            .get("device")
            .and_then(gson_string)
            .filter(|s| !s.is_empty())
        else {
            return self.reject(
                now,
                topic,
                payload,
                "RPC reply without \"device\"".into(),
                Outcome::Rejected,
            );
        };
        let Some(id) = obj.get("id").and_then(gson_int) else {
            return self.reject(
                now,
                topic,
                payload,
                "RPC reply without an integer \"id\"".into(),
                Outcome::Rejected,
            );
        };
        let Some(data) = obj.get("data") else {
            return self.reject(
                now,
                topic,
                payload,
                "RPC reply without \"data\"".into(),
                Outcome::Rejected,
            );
        };
        self.register_and_touch(&name, now, out);
        self.match_reply(
            Target::Device(name),
            id,
            RpcReply::Json(data.clone()),
            topic,
            payload,
            now,
        );
    }

    /// §3.8 `{"Pump 7":{"secretKey":"abc123","durationMs":60000},"Pump 8":{}}`.
    pub(super) fn on_claim(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(entries) = self.device_entries(topic, payload, now, "claim", Value::is_object)
        else {
            return;
        };
        for (name, value) in entries {
            self.register_and_touch(&name, now, out);
            let claim = claim_from(&name, value.as_object().expect("objects"), now, "gateway");
            self.log.push(format!(
                "claim for {name:?} (duration {} ms)",
                claim.duration_ms
            ));
            self.push_claim(claim);
        }
    }

    // ---- shared helpers ----

    /// A required, non-empty `device` field.
    fn required_device(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: u64,
        obj: &Map<String, Value>,
    ) -> Option<String> {
        match obj.get("device").and_then(gson_string) {
            Some(name) if !name.is_empty() => Some(name),
            _ => {
                self.reject(
                    now,
                    topic,
                    payload,
                    "missing or empty \"device\"".into(),
                    Outcome::Rejected,
                );
                None
            }
        }
    }

    /// The `{device name: value}` entries of a gateway message whose value
    /// passes `valid`; others are skipped with a warning. `None` (recorded)
    /// when the body is not a JSON object or no entry is left.
    fn device_entries(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: u64,
        what: &str,
        valid: fn(&Value) -> bool,
    ) -> Option<Vec<(String, Value)>> {
        let obj = self.gateway_object(topic, payload, now)?;
        let expected = if what == "telemetry" {
            "array"
        } else {
            "object"
        };
        let mut entries = Vec::new();
        for (name, value) in &obj {
            if name.is_empty() {
                self.reject(
                    now,
                    topic,
                    payload,
                    format!("{what} for an empty device name"),
                    Outcome::Rejected,
                );
                return None;
            }
            if valid(value) {
                entries.push((name.clone(), value.clone()));
            } else {
                self.reject(
                    now,
                    topic,
                    payload,
                    format!(
                        "{what} for {name:?} is a JSON {} where an {expected} is required",
                        json_kind(value)
                    ),
                    Outcome::Skipped,
                );
            }
        }
        if entries.is_empty() {
            self.reject(
                now,
                topic,
                payload,
                format!("{what} message is empty (no valid device entry)"),
                Outcome::Rejected,
            );
            return None;
        }
        Some(entries)
    }

    /// Matches an RPC reply to the request waiting for it, or records it stale.
    pub(super) fn match_reply(
        &mut self,
        target: Target,
        id: i32,
        reply: RpcReply,
        topic: &str,
        payload: &[u8],
        now: u64,
    ) {
        let waiting = self.rpcs.iter_mut().rev().find(|r| {
            r.target == target && r.rpc_id == id && r.status == RpcStatus::Sent && !r.oneway
        });
        if let Some(r) = waiting {
            let not_json = matches!(reply, RpcReply::NotJson(_));
            r.status = RpcStatus::Successful;
            r.reply = Some(reply);
            r.reply_time = Some(now);
            let line = format!(
                "RPC #{} {:?} (id {id}) answered by {}",
                r.seq,
                r.method,
                super::target_label(&target)
            );
            self.log.push(line);
            if not_json {
                self.reject(
                    now,
                    topic,
                    payload,
                    format!("reply to RPC id {id} is not valid JSON"),
                    Outcome::NotAcceptable,
                );
            }
            return;
        }
        let why = match self.rpcs.find_mut(&target, id) {
            Some(r) => {
                r.stale_replies += 1;
                format!("request #{} is {:?}", r.seq, r.status)
            }
            None => "no request with that id was sent".to_string(),
        };
        self.reject(
            now,
            topic,
            payload,
            format!(
                "stale RPC reply from {} for id {id}: {why}",
                super::target_label(&target)
            ),
            Outcome::Stale,
        );
    }

    pub(super) fn push_claim(&mut self, claim: Claim) {
        if self.claims.len() == CLAIMS_CAP {
            self.claims.remove(0);
        }
        self.claims.push(claim);
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
