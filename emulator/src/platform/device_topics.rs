//! Handlers for the gateway's own device-level topics, `v1/devices/me/...`
//! (contract §7).

use super::gateway_topics::claim_from;
use super::telemetry::{parse_device_body, typed};
use super::{gson_string, topics, Attribute, Outcome, Outgoing, Platform, RpcReply, Target};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The `getSessionLimits` answer (§6) for a CE tenant with the default
/// profile: no rate limits (`null` = unlimited).
pub fn session_limits() -> Value {
    let unlimited =
        json!({"messages": null, "telemetryMessages": null, "telemetryDataPoints": null});
    json!({
        "maxPayloadSize": 65536,
        "maxInflightMessages": 100,
        "rateLimits": unlimited,
        "gatewayRateLimits": unlimited,
    })
}

impl Platform {
    /// `v1/devices/me/telemetry`: `{"k":v}`, `{"ts","values"}` or an array of those.
    pub(super) fn on_me_telemetry(&mut self, topic: &str, payload: &[u8], now: u64) {
        let Some(body) = self.device_json(topic, payload, now) else {
            return;
        };
        match parse_device_body(&body) {
            Err(problem) => self.reject(now, topic, payload, problem, Outcome::DeviceLevelInvalid),
            Ok(entries) => {
                let mut points = 0;
                for entry in entries {
                    let ts = entry.ts.unwrap_or(now as i64);
                    for (key, v) in entry.values {
                        self.gateway.add_point(&key, ts, v);
                        points += 1;
                    }
                }
                self.gateway.last_activity_time = Some(now);
                self.log
                    .push(format!("gateway telemetry: {points} data point(s) stored"));
            }
        }
    }

    /// `v1/devices/me/attributes`: the gateway's client attributes `{"k":v}`.
    pub(super) fn on_me_attributes(&mut self, topic: &str, payload: &[u8], now: u64) {
        let Some(body) = self.device_json(topic, payload, now) else {
            return;
        };
        let Value::Object(obj) = body else {
            return self.reject(
                now,
                topic,
                payload,
                "attributes must be a JSON object".into(),
                Outcome::DeviceLevelInvalid,
            );
        };
        let values = typed(&obj);
        let n = values.len();
        for (key, v) in values {
            self.gateway.client_attributes.insert(
                key,
                Attribute {
                    value: v,
                    last_update_ts: now,
                },
            );
        }
        self.gateway.last_activity_time = Some(now);
        self.log
            .push(format!("gateway client attributes: {n} stored"));
    }

    /// `v1/devices/me/attributes/request/<id>` with
    /// `{"clientKeys":"a,b","sharedKeys":"c"}`, answered on
    /// `v1/devices/me/attributes/response/<id>` with `{"client":{..},"shared":{..}}`.
    pub(super) fn on_me_attributes_request(
        &mut self,
        topic: &str,
        id: &str,
        payload: &[u8],
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(body) = self.device_request_json(topic, id, payload, now) else {
            return;
        };
        let Value::Object(obj) = body else {
            return self.reject(
                now,
                topic,
                payload,
                "attribute request must be a JSON object".into(),
                Outcome::DeviceLevelInvalid,
            );
        };
        let key_set = |field: &str| -> Result<Vec<String>, String> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(v) => gson_string(v)
                    .map(|s| java_split(&s))
                    .ok_or_else(|| format!("\"{field}\" must be a comma-separated string")),
            }
        };
        let (client_keys, shared_keys) = match (key_set("clientKeys"), key_set("sharedKeys")) {
            (Ok(c), Ok(s)) => (c, s),
            (Err(problem), _) | (_, Err(problem)) => {
                return self.reject(now, topic, payload, problem, Outcome::DeviceLevelInvalid)
            }
        };
        let all = client_keys.is_empty() && shared_keys.is_empty();
        let section =
            |attrs: &BTreeMap<String, Attribute>, keys: &[String]| -> Map<String, Value> {
                attrs
                    .iter()
                    .filter(|(k, _)| all || keys.contains(k))
                    .map(|(k, a)| (k.clone(), a.value.to_json()))
                    .collect()
            };
        let client = section(&self.gateway.client_attributes, &client_keys);
        let shared = section(&self.gateway.shared_attributes, &shared_keys);
        let mut response = Map::new();
        if !client.is_empty() {
            response.insert("client".into(), Value::Object(client));
        }
        if !shared.is_empty() {
            response.insert("shared".into(), Value::Object(shared));
        }
        self.gateway.last_activity_time = Some(now);
        self.log.push(format!(
            "gateway attribute request {id}: answered {}",
            Value::Object(response.clone())
        ));
        out.push(Outgoing::json(
            format!("{}{id}", topics::ME_ATTRIBUTES_RESPONSE),
            &Value::Object(response),
        ));
    }

    /// `v1/devices/me/rpc/request/<n>`: a client-side RPC from the gateway.
    /// `getSessionLimits` is built in; a method registered with
    /// [`Platform::set_client_rpc_reply`] gets its canned reply; any other
    /// method is answered at once with
    /// `{"error":"no rule chain handles method <m>"}` (real ThingsBoard without
    /// a rule chain for it sends `{"error":"timeout"}` after 60 s instead).
    pub(super) fn on_me_rpc_request(
        &mut self,
        topic: &str,
        id: &str,
        payload: &[u8],
        now: u64,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(body) = self.device_request_json(topic, id, payload, now) else {
            return;
        };
        let Some(method) = body.get("method").and_then(gson_string) else {
            return self.reject(
                now,
                topic,
                payload,
                "client-side RPC without \"method\"".into(),
                Outcome::DeviceLevelInvalid,
            );
        };
        self.gateway.last_activity_time = Some(now);
        let reply = if method == "getSessionLimits" {
            session_limits()
        } else if let Some(canned) = self.client_rpc_replies.get(&method) {
            canned.clone()
        } else {
            json!({"error": format!("no rule chain handles method {method}")})
        };
        self.log.push(format!(
            "gateway client-side RPC {id} {method:?}: answered {reply}"
        ));
        out.push(Outgoing::json(
            format!("{}{id}", topics::ME_RPC_RESPONSE),
            &reply,
        ));
    }

    /// `v1/devices/me/rpc/response/<id>`: the gateway's reply to a
    /// server-side RPC sent to itself. Any body; non-JSON means HTTP 406.
    pub(super) fn on_me_rpc_response(&mut self, topic: &str, id: &str, payload: &[u8], now: u64) {
        let Ok(id_num) = id.parse::<i32>() else {
            return self.reject(
                now,
                topic,
                payload,
                format!("response id {id:?} is not an integer"),
                Outcome::DeviceLevelInvalid,
            );
        };
        self.gateway.last_activity_time = Some(now);
        let reply = match serde_json::from_slice::<Value>(payload) {
            Ok(v) => RpcReply::Json(v),
            Err(_) => RpcReply::NotJson(String::from_utf8_lossy(payload).into_owned()),
        };
        self.match_reply(Target::Gateway, id_num, reply, topic, payload, now);
    }

    /// `v1/devices/me/claim`: `{"secretKey","durationMs"}`, empty body allowed.
    pub(super) fn on_me_claim(&mut self, topic: &str, payload: &[u8], now: u64) {
        let obj = if payload.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            let Some(body) = self.device_json(topic, payload, now) else {
                return;
            };
            match body {
                Value::Object(obj) => obj,
                _ => {
                    return self.reject(
                        now,
                        topic,
                        payload,
                        "claim must be a JSON object or empty".into(),
                        Outcome::DeviceLevelInvalid,
                    )
                }
            }
        };
        let name = self.gateway.name.clone();
        let claim = claim_from(&name, &obj, now, "device");
        self.gateway.last_activity_time = Some(now);
        self.log.push(format!(
            "claim for the gateway (duration {} ms)",
            claim.duration_ms
        ));
        self.push_claim(claim);
    }

    /// Checks a request topic's `<id>` is an integer and parses the body as
    /// JSON, recording what is wrong otherwise.
    fn device_request_json(
        &mut self,
        topic: &str,
        id: &str,
        payload: &[u8],
        now: u64,
    ) -> Option<Value> {
        if id.parse::<i32>().is_err() {
            self.reject(
                now,
                topic,
                payload,
                format!("request id {id:?} is not an integer"),
                Outcome::DeviceLevelInvalid,
            );
            return None;
        }
        self.device_json(topic, payload, now)
    }

    /// Parses a device-level body as JSON, recording the error otherwise.
    fn device_json(&mut self, topic: &str, payload: &[u8], now: u64) -> Option<Value> {
        match serde_json::from_slice::<Value>(payload) {
            Ok(v) => Some(v),
            Err(e) => {
                self.reject(
                    now,
                    topic,
                    payload,
                    format!("not valid JSON: {e}"),
                    Outcome::DeviceLevelInvalid,
                );
                None
            }
        }
    }
}

/// Java's `String.split(",")`: trailing empty strings are removed, and a
/// string without a comma is returned whole (so `""` gives `[""]`).
fn java_split(s: &str) -> Vec<String> {
    let mut parts: Vec<String> = s.split(',').map(str::to_string).collect();
    if parts.len() > 1 {
        while parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
    }
    parts
}
