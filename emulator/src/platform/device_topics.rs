//! Handlers for a device's own topics, `v1/devices/me/...` and the short
//! `v2/...` forms (contract §7): a plain device's, or a gateway's own.

use super::gateway_topics::claim_from;
use super::limits::Cost;
use super::session::{Ctx, Problem};
use super::telemetry::{parse_device_body, typed};
use super::{gson_string, topics, Attribute, Platform, RpcReply};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

impl Platform {
    /// The `getSessionLimits` answer (§6) from the current limits; `null`
    /// = unlimited. `gatewayRateLimits` only for a gateway.
    pub fn session_limits(&self, gateway: bool) -> Value {
        let mut answer = json!({
            "maxPayloadSize": self.limits.max_payload_size,
            "maxInflightMessages": self.limits.max_inflight_messages,
            "rateLimits": self.limits.device_rate_limits.to_json(),
        });
        if gateway {
            answer["gatewayRateLimits"] = self.limits.gateway_rate_limits.to_json();
        }
        answer
    }

    /// Dispatches a publish on any topic outside `v1/gateway/`.
    pub(super) fn device_publish(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let t = cx.topic;
        match t {
            topics::ME_TELEMETRY | "v2/t" | "v2/t/j" => return self.on_me_telemetry(cx),
            topics::ME_ATTRIBUTES | "v2/a" | "v2/a/j" => return self.on_me_attributes(cx),
            topics::ME_CLAIM => return self.on_me_claim(cx),
            _ => {}
        }
        if let Some(id) = t.strip_prefix(topics::ME_ATTRIBUTES_REQUEST) {
            self.on_me_attributes_request(cx, id, topics::ME_ATTRIBUTES_RESPONSE)
        } else if let Some(id) = t.strip_prefix("v2/a/req/") {
            self.on_me_attributes_request(cx, id, "v2/a/res/")
        } else if let Some(id) = t.strip_prefix(topics::ME_RPC_REQUEST) {
            self.on_me_rpc_request(cx, id, topics::ME_RPC_RESPONSE, true)
        } else if let Some(id) = t.strip_prefix("v2/r/req/") {
            self.on_me_rpc_request(cx, id, "v2/r/res/", false)
        } else if let Some(id) = t
            .strip_prefix(topics::ME_RPC_RESPONSE)
            .or_else(|| t.strip_prefix("v2/r/res/"))
        {
            self.on_me_rpc_response(cx, id)
        } else {
            Err(Problem::UnknownTopic)
        }
    }

    /// `v1/devices/me/telemetry`: `{"k":v}`, `{"ts","values"}` or an array of those.
    fn on_me_telemetry(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let body = device_json(cx.payload)?;
        let entries = parse_device_body(&body).map_err(Problem::DeviceInvalid)?;
        let points: usize = entries.iter().map(|e| e.values.len()).sum();
        self.charge(
            cx,
            false,
            Cost::Telemetry {
                messages: 1,
                points: points as u64,
            },
        )?;
        let device = self.devices.get_mut(&cx.device).expect("session device");
        for entry in entries {
            let ts = entry.ts.unwrap_or(cx.now as i64);
            for (key, v) in entry.values {
                device.add_point(&key, ts, v);
            }
        }
        let name = device.name.clone();
        self.log.push(format!(
            "telemetry of {name:?}: {points} data point(s) stored"
        ));
        Ok(())
    }

    /// `v1/devices/me/attributes`: the device's client attributes `{"k":v}`.
    fn on_me_attributes(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let body = device_json(cx.payload)?;
        let Value::Object(obj) = body else {
            return Err(Problem::DeviceInvalid(
                "attributes must be a JSON object".into(),
            ));
        };
        let values = typed(&obj);
        self.charge(
            cx,
            false,
            Cost::Telemetry {
                messages: 1,
                points: values.len() as u64,
            },
        )?;
        let n = values.len();
        let device = self.devices.get_mut(&cx.device).expect("session device");
        for (key, v) in values {
            device.client_attributes.insert(
                key,
                Attribute {
                    value: v,
                    last_update_ts: cx.now,
                },
            );
        }
        let name = device.name.clone();
        self.log
            .push(format!("client attributes of {name:?}: {n} stored"));
        Ok(())
    }

    /// `v1/devices/me/attributes/request/<id>` with
    /// `{"clientKeys":"a,b","sharedKeys":"c"}`, answered on
    /// `…/attributes/response/<id>` with `{"client":{..},"shared":{..}}`.
    fn on_me_attributes_request(
        &mut self,
        cx: &mut Ctx,
        id: &str,
        response_prefix: &str,
    ) -> Result<(), Problem> {
        let body = device_request_json(id, cx.payload)?;
        let Value::Object(obj) = body else {
            return Err(Problem::DeviceInvalid(
                "attribute request must be a JSON object".into(),
            ));
        };
        let key_set = |field: &str| -> Result<Vec<String>, Problem> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(v) => gson_string(v).map(|s| java_split(&s)).ok_or_else(|| {
                    Problem::DeviceInvalid(format!("\"{field}\" must be a comma-separated string"))
                }),
            }
        };
        let client_keys = key_set("clientKeys")?;
        let shared_keys = key_set("sharedKeys")?;
        self.charge(cx, false, Cost::Other(1))?;
        let all = client_keys.is_empty() && shared_keys.is_empty();
        let section =
            |attrs: &BTreeMap<String, Attribute>, keys: &[String]| -> Map<String, Value> {
                attrs
                    .iter()
                    .filter(|(k, _)| all || keys.contains(k))
                    .map(|(k, a)| (k.clone(), a.value.to_json()))
                    .collect()
            };
        let device = &self.devices[&cx.device];
        let client = section(&device.client_attributes, &client_keys);
        let shared = section(&device.shared_attributes, &shared_keys);
        let mut response = Map::new();
        if !client.is_empty() {
            response.insert("client".into(), Value::Object(client));
        }
        if !shared.is_empty() {
            response.insert("shared".into(), Value::Object(shared));
        }
        let response = Value::Object(response);
        self.log.push(format!(
            "attribute request {id} of {:?}: answered {response}",
            device.name
        ));
        self.push(cx.session, format!("{response_prefix}{id}"), &response);
        Ok(())
    }

    /// `v1/devices/me/rpc/request/<n>`: a client-side RPC. `getSessionLimits`
    /// is built in (v1 topic only); a method registered with
    /// [`Platform::set_client_rpc_reply`] gets its canned reply; any other
    /// method is answered at once with
    /// `{"error":"no rule chain handles method <m>"}` (real ThingsBoard
    /// without a rule chain for it sends `{"error":"timeout"}` after 60 s).
    fn on_me_rpc_request(
        &mut self,
        cx: &mut Ctx,
        id: &str,
        response_prefix: &str,
        intercept_limits: bool,
    ) -> Result<(), Problem> {
        let body = device_request_json(id, cx.payload)?;
        let Some(method) = body.get("method").and_then(gson_string) else {
            return Err(Problem::DeviceInvalid(
                "client-side RPC without \"method\"".into(),
            ));
        };
        self.charge(cx, false, Cost::Other(1))?;
        let device = &self.devices[&cx.device];
        let reply = if method == "getSessionLimits" && intercept_limits {
            self.session_limits(device.is_gateway())
        } else if let Some(canned) = self.client_rpc_replies.get(&method) {
            canned.clone()
        } else {
            json!({"error": format!("no rule chain handles method {method}")})
        };
        self.log.push(format!(
            "client-side RPC {id} {method:?} of {:?}: answered {reply}",
            device.name
        ));
        self.push(cx.session, format!("{response_prefix}{id}"), &reply);
        Ok(())
    }

    /// `v1/devices/me/rpc/response/<id>`: the reply to a server-side RPC.
    /// Any body; non-JSON means HTTP 406 for the REST caller.
    fn on_me_rpc_response(&mut self, cx: &mut Ctx, id: &str) -> Result<(), Problem> {
        let Ok(id_num) = id.parse::<i32>() else {
            return Err(Problem::DeviceInvalid(format!(
                "response id {id:?} is not an integer"
            )));
        };
        self.charge(cx, false, Cost::Other(1))?;
        let reply = match serde_json::from_slice::<Value>(cx.payload) {
            Ok(v) => RpcReply::Json(v),
            Err(_) => RpcReply::NotJson(String::from_utf8_lossy(cx.payload).into_owned()),
        };
        self.match_reply(cx, cx.device, id_num, reply);
        Ok(())
    }

    /// `v1/devices/me/claim`: `{"secretKey","durationMs"}`, empty body allowed.
    fn on_me_claim(&mut self, cx: &mut Ctx) -> Result<(), Problem> {
        let obj = if cx.payload.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match device_json(cx.payload)? {
                Value::Object(obj) => obj,
                _ => {
                    return Err(Problem::DeviceInvalid(
                        "claim must be a JSON object or empty".into(),
                    ))
                }
            }
        };
        self.charge(cx, false, Cost::Other(1))?;
        let name = self.device_name(cx.device);
        let claim = claim_from(&name, &obj, cx.now, "device");
        self.log.push(format!(
            "claim for {name:?} (duration {} ms)",
            claim.duration_ms
        ));
        self.push_claim(claim);
        Ok(())
    }

    /// Answers the client-side RPC `method` with `reply` from now on (a
    /// stand-in for a rule chain); `None` removes it.
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

/// Checks a request topic's `<id>` is an integer and parses the body.
fn device_request_json(id: &str, payload: &[u8]) -> Result<Value, Problem> {
    if id.parse::<i32>().is_err() {
        return Err(Problem::DeviceInvalid(format!(
            "request id {id:?} is not an integer"
        )));
    }
    device_json(payload)
}

/// Parses a device-level body as JSON.
fn device_json(payload: &[u8]) -> Result<Value, Problem> {
    serde_json::from_slice::<Value>(payload)
        .map_err(|e| Problem::DeviceInvalid(format!("not valid JSON: {e}")))
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
