//! Gateway → server messages, encoded to a topic and JSON bytes. Every one of
//! them is published at [`UPLINK_QOS`] (QoS 1: ThingsBoard mishandles QoS 0 on
//! gateway topics and has no QoS 2).

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use mqttbytes::QoS;
use serde_json::{json, Map, Value};

use super::data::{AttributeScope, Attributes, ClaimRequest, TelemetryEntry};
use super::error::CodecError;
use super::topics;

/// The QoS of every uplink publish.
pub const UPLINK_QOS: QoS = QoS::AtLeastOnce;

/// The largest attribute request id: ThingsBoard reads it as a 32-bit signed int.
pub const MAX_REQUEST_ID: u32 = i32::MAX as u32;

/// One message from the gateway to the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Uplink {
    /// `v1/gateway/connect`: `{"device", "type"?}`.
    Connect {
        /// Device name.
        device: String,
        /// Device profile name; `None` leaves it to the server (`"default"`).
        device_type: Option<String>,
    },
    /// `v1/gateway/disconnect`: `{"device"}`.
    Disconnect {
        /// Device name.
        device: String,
    },
    /// `v1/gateway/telemetry`: `{"Dev": [entry, ..], ..}`. Repeated device
    /// names are merged into one array; devices keep the order in which
    /// they first appear.
    Telemetry(Vec<(String, Vec<TelemetryEntry>)>),
    /// `v1/gateway/attributes`: client attributes, `{"Dev": {k: v}, ..}`.
    /// Repeated device names are merged (a later value wins); devices keep
    /// the order in which they first appear.
    Attributes(Vec<(String, Attributes)>),
    /// `v1/gateway/attributes/request`: `{"id", "device", "client": bool,
    /// "key"}` for one key, `"keys": [..]` for several.
    AttributeRequest {
        /// Request id, at most [`MAX_REQUEST_ID`]; the server echoes it.
        id: u32,
        /// Device name.
        device: String,
        /// Which scope to read.
        scope: AttributeScope,
        /// The keys; never empty (an empty list makes the server return
        /// every attribute of both scopes, unmarked).
        keys: Vec<String>,
    },
    /// `v1/gateway/rpc`: `{"device", "id", "data"}`.
    RpcReply {
        /// Device name.
        device: String,
        /// The id of the request answered.
        id: u64,
        /// The answer, as a JSON value (not pre-serialised text).
        data: Value,
    },
    /// `v1/gateway/claim`: `{"Dev": {"secretKey"?, "durationMs"?}, ..}`.
    Claim(Vec<(String, ClaimRequest)>),
    /// `v1/devices/me/telemetry`: one entry as an object, several as an array.
    OwnTelemetry(Vec<TelemetryEntry>),
    /// `v1/devices/me/attributes`: `{k: v}`.
    OwnAttributes(Attributes),
    /// `v1/devices/me/attributes/request/<id>`: `{"clientKeys": "a,b",
    /// "sharedKeys": "c"}`; an empty list leaves its field out, both empty
    /// asks for every attribute.
    OwnAttributeRequest {
        /// Request id (in the topic).
        id: u32,
        /// Client-scope keys; none may contain a comma.
        client_keys: Vec<String>,
        /// Shared-scope keys; none may contain a comma.
        shared_keys: Vec<String>,
    },
    /// `v1/devices/me/rpc/response/<id>`: the answer to a server RPC.
    OwnRpcReply {
        /// The id of the request answered.
        id: u64,
        /// The answer, any JSON value.
        data: Value,
    },
    /// `v1/devices/me/rpc/request/<id>`: a client-side RPC, `{"method", "params"}`.
    OwnRpcCall {
        /// Call id (in the topic); the answer comes on `…/rpc/response/<id>`.
        id: u32,
        /// Method name.
        method: String,
        /// Parameters, any JSON value.
        params: Value,
    },
    /// `v1/devices/me/claim`: `{"secretKey"?, "durationMs"?}`.
    OwnClaim(ClaimRequest),
}

/// An encoded uplink: publish `payload` on `topic` at [`UPLINK_QOS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Topic to publish on.
    pub topic: String,
    /// JSON bytes.
    pub payload: Bytes,
}

/// The method name of ThingsBoard's built-in limits query.
pub const GET_SESSION_LIMITS: &str = "getSessionLimits";

impl Uplink {
    /// The built-in `getSessionLimits` client-side RPC, with call id `id`.
    pub fn get_session_limits(id: u32) -> Uplink {
        Uplink::OwnRpcCall {
            id,
            method: GET_SESSION_LIMITS.to_string(),
            params: json!({}),
        }
    }

    /// The topic this message goes to.
    pub fn topic(&self) -> String {
        match self {
            Uplink::Connect { .. } => topics::GATEWAY_CONNECT.to_string(),
            Uplink::Disconnect { .. } => topics::GATEWAY_DISCONNECT.to_string(),
            Uplink::Telemetry(_) => topics::GATEWAY_TELEMETRY.to_string(),
            Uplink::Attributes(_) => topics::GATEWAY_ATTRIBUTES.to_string(),
            Uplink::AttributeRequest { .. } => topics::GATEWAY_ATTRIBUTES_REQUEST.to_string(),
            Uplink::RpcReply { .. } => topics::GATEWAY_RPC.to_string(),
            Uplink::Claim(_) => topics::GATEWAY_CLAIM.to_string(),
            Uplink::OwnTelemetry(_) => topics::OWN_TELEMETRY.to_string(),
            Uplink::OwnAttributes(_) => topics::OWN_ATTRIBUTES.to_string(),
            Uplink::OwnAttributeRequest { id, .. } => topics::own_attributes_request(*id),
            Uplink::OwnRpcReply { id, .. } => topics::own_rpc_response(*id),
            Uplink::OwnRpcCall { id, .. } => topics::own_rpc_request(*id),
            Uplink::OwnClaim(_) => topics::OWN_CLAIM.to_string(),
        }
    }

    /// The JSON body, or why this message must not be sent.
    pub fn to_json(&self) -> Result<Value, String> {
        match self {
            Uplink::Connect {
                device,
                device_type,
            } => {
                check_device(device)?;
                let mut body = Map::new();
                body.insert("device".into(), json!(device));
                if let Some(t) = device_type {
                    if t.is_empty() {
                        return Err(
                            "the device type is empty; leave it out to get \"default\"".into()
                        );
                    }
                    body.insert("type".into(), json!(t));
                }
                Ok(Value::Object(body))
            }
            Uplink::Disconnect { device } => {
                check_device(device)?;
                Ok(json!({ "device": device }))
            }
            Uplink::Telemetry(devices) => gateway_telemetry(devices),
            Uplink::Attributes(devices) => gateway_attributes(devices),
            Uplink::AttributeRequest {
                id,
                device,
                scope,
                keys,
            } => attribute_request(*id, device, *scope, keys),
            Uplink::RpcReply { device, id, data } => {
                check_device(device)?;
                Ok(json!({ "device": device, "id": id, "data": data }))
            }
            Uplink::Claim(devices) => {
                if devices.is_empty() {
                    return Err("there is no device to claim".into());
                }
                let mut body = Map::new();
                for (device, claim) in devices {
                    check_device(device)?;
                    body.insert(device.clone(), claim_json(claim));
                }
                Ok(Value::Object(body))
            }
            Uplink::OwnTelemetry(entries) => {
                if entries.is_empty() {
                    return Err("there is no telemetry to send".into());
                }
                let mut out = Vec::with_capacity(entries.len());
                for (i, e) in entries.iter().enumerate() {
                    out.push(entry_json(e, &format!("entry {i}"), false)?);
                }
                if out.len() == 1 {
                    Ok(out.remove(0))
                } else {
                    Ok(Value::Array(out))
                }
            }
            Uplink::OwnAttributes(attrs) => {
                if attrs.is_empty() {
                    return Err("there are no attributes to send".into());
                }
                Ok(Value::Object(attrs.clone()))
            }
            Uplink::OwnAttributeRequest {
                client_keys,
                shared_keys,
                ..
            } => {
                let mut body = Map::new();
                if !client_keys.is_empty() {
                    body.insert("clientKeys".into(), json!(joined_keys(client_keys)?));
                }
                if !shared_keys.is_empty() {
                    body.insert("sharedKeys".into(), json!(joined_keys(shared_keys)?));
                }
                Ok(Value::Object(body))
            }
            Uplink::OwnRpcReply { data, .. } => Ok(data.clone()),
            Uplink::OwnRpcCall { method, params, .. } => {
                if method.is_empty() {
                    return Err("the RPC method name is empty".into());
                }
                Ok(json!({ "method": method, "params": params }))
            }
            Uplink::OwnClaim(claim) => Ok(claim_json(claim)),
        }
    }

    /// Encode to a topic and JSON bytes, or say (with the topic) why this
    /// message must not be sent.
    pub fn encode(&self) -> Result<Encoded, CodecError> {
        let topic = self.topic();
        let body = self
            .to_json()
            .map_err(|reason| CodecError::new(topic.clone(), reason))?;
        let payload = serde_json::to_vec(&body)
            .map_err(|e| CodecError::new(topic.clone(), format!("cannot encode JSON: {e}")))?;
        Ok(Encoded {
            topic,
            payload: Bytes::from(payload),
        })
    }
}

fn check_device(device: &str) -> Result<(), String> {
    if device.is_empty() {
        return Err("the device name is empty".into());
    }
    Ok(())
}

/// Why one telemetry element must not be sent, if it must not; `what`
/// names it in the reason. `gateway` applies the gateway topic's reserved
/// `metadata` key.
fn check_entry(
    entry: &TelemetryEntry,
    what: impl FnOnce() -> String,
    gateway: bool,
) -> Result<(), String> {
    match entry {
        TelemetryEntry::Timed { values, .. } => {
            if values.is_empty() {
                return Err(format!("{} has no values", what()));
            }
        }
        TelemetryEntry::Flat(values) => {
            if values.is_empty() {
                return Err(format!("{} has no values", what()));
            }
            if gateway && values.contains_key("metadata") {
                return Err(format!(
                    "{} has a flat key named \"metadata\", which the server reserves \
                     for latency metrics; send it in a timed entry's values instead",
                    what()
                ));
            }
            if let Some(key) = ["ts", "values"]
                .into_iter()
                .find(|k| values.contains_key(*k))
            {
                return Err(format!(
                    "{} has a flat key named \"{key}\", which the server reads as part of \
                     a timed entry (or stores literally); use a timed entry, with the key \
                     inside its values",
                    what()
                ));
            }
        }
    }
    Ok(())
}

/// One telemetry element as JSON. `gateway` applies the gateway topic's
/// reserved `metadata` key.
fn entry_json(entry: &TelemetryEntry, what: &str, gateway: bool) -> Result<Value, String> {
    check_entry(entry, || what.to_string(), gateway)?;
    match entry {
        TelemetryEntry::Timed { ts, values } => Ok(json!({ "ts": ts, "values": values })),
        TelemetryEntry::Flat(values) => Ok(Value::Object(values.clone())),
    }
}

/// Write one checked telemetry element as JSON to `out`: the same bytes
/// `serde_json` writes for [`entry_json`]'s value, without building it.
fn write_entry(out: &mut Vec<u8>, entry: &TelemetryEntry) {
    // Writing numbers, strings and `Value`s to a `Vec` cannot fail.
    match entry {
        TelemetryEntry::Timed { ts, values } => {
            out.extend_from_slice(b"{\"ts\":");
            let _ = serde_json::to_writer(&mut *out, ts);
            out.extend_from_slice(b",\"values\":");
            let _ = serde_json::to_writer(&mut *out, values);
            out.push(b'}');
        }
        TelemetryEntry::Flat(values) => {
            let _ = serde_json::to_writer(&mut *out, values);
        }
    }
}

/// One device's part of a multi-device message (`{"Dev": part, ..}`),
/// serialized once, with where it may be cut and what it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<'a> {
    /// The device's name (its key in the message).
    pub device: &'a str,
    /// The part as JSON, exactly as `serde_json` writes it.
    pub json: Cow<'a, [u8]>,
    /// The items the part may be cut between (an array's elements or an
    /// object's members; empty if it may not be cut), in order.
    pub items: Vec<Item>,
    /// Whether the part is a JSON array (its elements are telemetry
    /// entries).
    pub array: bool,
    /// The entries it carries: an array's elements, else 1.
    pub entries: u64,
    /// The data points it carries (telemetry values, attribute keys).
    pub points: u64,
}

/// One item of a [`Part`]: it ends at byte `end` of the part's JSON (not
/// included) and starts one byte after the end of the item before it (the
/// `,`), the first one byte in (the `[` or `{`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Where it ends in the part's JSON.
    pub end: usize,
    /// The data points it carries.
    pub points: u64,
}

/// The body of [`Uplink::Telemetry`] as device parts, without building its
/// JSON value: devices in the order they first appear (a repeated device's
/// entries merged, in order), each entry written once and counted (its
/// data points are its values). The parts' JSON is exactly what
/// `serde_json` writes for the parts of [`Uplink::to_json`]'s object, and
/// the same batches are refused, with the same reasons.
pub fn gateway_telemetry_parts<'a, S, E>(devices: &'a [(S, E)]) -> Result<Vec<Part<'a>>, String>
where
    S: AsRef<str>,
    E: AsRef<[TelemetryEntry]>,
{
    if devices.is_empty() {
        return Err("there is no telemetry to send".into());
    }
    let mut parts: Vec<Part<'a>> = Vec::new();
    let mut index: HashMap<&'a str, usize> = HashMap::new();
    for (device, entries) in devices {
        let (device, entries) = (device.as_ref(), entries.as_ref());
        check_device(device)?;
        if entries.is_empty() {
            return Err(format!("device {device:?} has no telemetry entries"));
        }
        let at = *index.entry(device).or_insert_with(|| {
            parts.push(Part {
                device,
                json: Cow::Owned(vec![b'[']),
                items: Vec::new(),
                array: true,
                entries: 0,
                points: 0,
            });
            parts.len() - 1
        });
        let part = &mut parts[at];
        let json = part.json.to_mut();
        for (i, e) in entries.iter().enumerate() {
            check_entry(e, || format!("entry {i} of {device:?}"), true)?;
            if !part.items.is_empty() {
                json.push(b',');
            }
            write_entry(json, e);
            // A timed entry's points are its values; a flat one's, its
            // keys (none is `metadata`, refused above).
            let points = e.values().len() as u64;
            part.items.push(Item {
                end: json.len(),
                points,
            });
            part.entries += 1;
            part.points += points;
        }
    }
    for part in &mut parts {
        part.json.to_mut().push(b']');
    }
    Ok(parts)
}

/// Per-device parts merged by name, in the order names first appear.
struct InOrder<T> {
    parts: Vec<(String, T)>,
    index: HashMap<String, usize>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            parts: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: Default> InOrder<T> {
    /// The part of `device`, new and empty the first time.
    fn entry(&mut self, device: &str) -> &mut T {
        let i = match self.index.get(device) {
            Some(&i) => i,
            None => {
                self.index.insert(device.to_string(), self.parts.len());
                self.parts.push((device.to_string(), T::default()));
                self.parts.len() - 1
            }
        };
        &mut self.parts[i].1
    }

    /// A JSON object of the parts, in order (serde_json keeps insertion order).
    fn into_object(self, to_json: impl Fn(T) -> Value) -> Value {
        Value::Object(
            self.parts
                .into_iter()
                .map(|(device, part)| (device, to_json(part)))
                .collect(),
        )
    }
}

fn gateway_telemetry(devices: &[(String, Vec<TelemetryEntry>)]) -> Result<Value, String> {
    if devices.is_empty() {
        return Err("there is no telemetry to send".into());
    }
    // Devices in the order they first appear (serde_json keeps insertion
    // order), so a batch split into several messages stays in order.
    let mut merged: InOrder<Vec<Value>> = InOrder::default();
    for (device, entries) in devices {
        check_device(device)?;
        if entries.is_empty() {
            return Err(format!("device {device:?} has no telemetry entries"));
        }
        let items = merged.entry(device);
        for (i, e) in entries.iter().enumerate() {
            items.push(entry_json(e, &format!("entry {i} of {device:?}"), true)?);
        }
    }
    Ok(merged.into_object(Value::Array))
}

fn gateway_attributes(devices: &[(String, Attributes)]) -> Result<Value, String> {
    if devices.is_empty() {
        return Err("there are no attributes to send".into());
    }
    // Devices in the order they first appear, as for telemetry.
    let mut merged: InOrder<Attributes> = InOrder::default();
    for (device, attrs) in devices {
        check_device(device)?;
        if attrs.is_empty() {
            return Err(format!("device {device:?} has no attributes"));
        }
        let map = merged.entry(device);
        for (k, v) in attrs {
            map.insert(k.clone(), v.clone());
        }
    }
    Ok(merged.into_object(Value::Object))
}

fn attribute_request(
    id: u32,
    device: &str,
    scope: AttributeScope,
    keys: &[String],
) -> Result<Value, String> {
    check_device(device)?;
    if id > MAX_REQUEST_ID {
        return Err(format!(
            "request id {id} is over {MAX_REQUEST_ID}, the server's largest"
        ));
    }
    if keys.iter().any(|k| k.is_empty()) {
        return Err("an attribute key is empty".into());
    }
    let client = scope == AttributeScope::Client;
    match keys {
        [] => Err(
            "no attribute keys given; an empty \"keys\" list would return every attribute \
             of both scopes, unmarked"
                .into(),
        ),
        [key] => Ok(json!({ "id": id, "device": device, "client": client, "key": key })),
        _ => Ok(json!({ "id": id, "device": device, "client": client, "keys": keys })),
    }
}

fn joined_keys(keys: &[String]) -> Result<String, String> {
    for k in keys {
        if k.is_empty() {
            return Err("an attribute key is empty".into());
        }
        if k.contains(',') {
            return Err(format!(
                "attribute key {k:?} holds a comma, which the device API uses to separate keys"
            ));
        }
    }
    Ok(keys.join(","))
}

fn claim_json(claim: &ClaimRequest) -> Value {
    let mut body = Map::new();
    if let Some(secret) = &claim.secret_key {
        body.insert("secretKey".into(), json!(secret));
    }
    if let Some(ms) = claim.duration_ms {
        body.insert("durationMs".into(), json!(ms));
    }
    Value::Object(body)
}
