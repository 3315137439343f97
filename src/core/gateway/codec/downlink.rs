//! Server → gateway messages, decoded strictly from a topic and its bytes.
//! Anything the contract does not describe is a [`CodecError`] naming the
//! topic and the problem; our own publishes coming back through a broker are
//! [`Downlink::Echo`].

use serde_json::{Map, Value};

use super::data::Attributes;
use super::echo::EchoTracker;
use super::error::CodecError;
use super::fields::{self, Fields};
use super::topics::Topic;
use crate::core::time::Millis;

/// The RPC method the server uses to announce a device rename.
pub const DEVICE_RENAMED_METHOD: &str = "gateway_device_renamed";
/// The RPC method the server uses to announce a device deletion.
pub const DEVICE_DELETED_METHOD: &str = "gateway_device_deleted";

/// A shared-attribute change: updates and deletions come in separate messages.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeUpdate {
    /// New values, `{k: v}`.
    Updated(Attributes),
    /// Keys deleted, from `{"deleted": [..]}`.
    Deleted(Vec<String>),
}

/// The body of an attribute response, as sent. It names neither the scope
/// nor, for a lone `value`, the key: read it against the request with
/// [`AttributeResponseBody::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeResponseBody {
    /// `"value"`: the one requested key was found.
    Value(Value),
    /// `"values"`: several keys were requested; these were found.
    Values(Attributes),
    /// Neither: none of the requested keys exists.
    Nothing,
}

/// An attribute response read against its request.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeResult {
    /// The keys found, with their values.
    Found(Attributes),
    /// None of the requested keys exists.
    NotFound,
}

impl AttributeResponseBody {
    /// Read this body against the `keys` the request asked for: a lone
    /// `value` belongs to the single requested key.
    pub fn resolve(&self, keys: &[String]) -> Result<AttributeResult, String> {
        match self {
            AttributeResponseBody::Nothing => Ok(AttributeResult::NotFound),
            AttributeResponseBody::Values(map) => Ok(AttributeResult::Found(map.clone())),
            AttributeResponseBody::Value(v) => match keys {
                [key] => {
                    let mut map = Attributes::new();
                    map.insert(key.clone(), v.clone());
                    Ok(AttributeResult::Found(map))
                }
                _ => Err(format!(
                    "a lone \"value\" answers a request for {} keys, so it cannot be \
                     matched to a key",
                    keys.len()
                )),
            },
        }
    }
}

/// One message from the server, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Downlink {
    /// `v1/gateway/attributes`: `{"device", "data": {..}}` or
    /// `{"device", "data": {"deleted": [..]}}`.
    SharedAttributes {
        /// Device name.
        device: String,
        /// What changed.
        update: AttributeUpdate,
    },
    /// `v1/gateway/attributes/response`: `{"id", "device", "value"?|"values"?}`.
    AttributeResponse {
        /// The id of the request answered.
        id: u32,
        /// Device name.
        device: String,
        /// The body, to be read against the request.
        body: AttributeResponseBody,
    },
    /// `v1/gateway/rpc`: `{"device", "data": {"id", "method", "params"}}`.
    RpcRequest {
        /// Device name.
        device: String,
        /// Per-device request id; 0 is an id like any other.
        id: u64,
        /// Method name.
        method: String,
        /// Parameters: any JSON value, `null` when absent.
        params: Value,
    },
    /// `v1/gateway/disconnect`: `{"device", "reason"}` (MQTT 5 servers only).
    DisconnectNotice {
        /// Device name.
        device: String,
        /// Reason code (150, 128 or 129).
        reason: u32,
        /// The reason in words, from [`explain_disconnect_reason`].
        explanation: String,
    },
    /// `v1/devices/me/attributes`: the gateway's own shared attributes changed.
    OwnSharedAttributes(AttributeUpdate),
    /// `v1/devices/me/attributes/response/<id>`: `{"client": {..}, "shared": {..}}`,
    /// empty sections left out.
    OwnAttributeResponse {
        /// The id of the request answered.
        id: u32,
        /// Client-scope attributes found.
        client: Attributes,
        /// Shared-scope attributes found.
        shared: Attributes,
    },
    /// `v1/devices/me/rpc/request/<id>`: a server RPC to the gateway itself.
    OwnRpcRequest {
        /// Request id (from the topic).
        id: u64,
        /// Method name.
        method: String,
        /// Parameters: any JSON value, `null` when absent.
        params: Value,
    },
    /// `gateway_device_renamed` `{"Old": "New"}` on `v1/devices/me/rpc/request/<id>`.
    DeviceRenamed {
        /// The RPC's id (one-way: no reply is expected).
        rpc_id: u64,
        /// The old name.
        old: String,
        /// The new name.
        new: String,
    },
    /// `gateway_device_deleted` `"Old"` on `v1/devices/me/rpc/request/<id>`.
    DeviceDeleted {
        /// The RPC's id (one-way: no reply is expected).
        rpc_id: u64,
        /// The deleted device's name.
        device: String,
    },
    /// `v1/devices/me/rpc/response/<id>`: the answer to our client-side call `id`.
    OwnRpcResponse {
        /// The call id.
        id: u32,
        /// The answer, any JSON value.
        body: Value,
    },
    /// One of our own publishes, sent back by a broker. Not a server message.
    Echo {
        /// The topic it came back on.
        topic: String,
    },
}

/// A disconnect notice's reason code in words.
pub fn explain_disconnect_reason(code: u32) -> String {
    match code {
        150 => "message rate too high".to_string(),
        128 => "backend error".to_string(),
        129 => "malformed: published at QoS 0".to_string(),
        other => format!("unknown reason code {other}"),
    }
}

/// Decode one incoming message. With `echoes` (a bridged broker sends our
/// own publishes back), our own publishes are recognised: by shape on the
/// gateway topics, and by the tracker on device-level topics (matched ones
/// are forgotten; `now` ages them). Without it (a relay, or ThingsBoard
/// itself: nothing comes back), every message is read as the server's, and
/// one on a topic only the gateway publishes to is an error.
pub fn decode(
    now: Millis,
    topic: &str,
    payload: &[u8],
    mut echoes: Option<&mut EchoTracker>,
) -> Result<Downlink, CodecError> {
    let fail = |reason: String| CodecError::new(topic, reason);
    let parsed = Topic::parse(topic).map_err(fail)?;
    let filtering = echoes.is_some();
    let echo = || {
        if filtering {
            Ok(Downlink::Echo {
                topic: topic.to_string(),
            })
        } else {
            Err(fail(
                "the server never publishes on this topic (only the gateway does): is this a \
                 broker sending our own publishes back? Then tick \"bridged broker\" in the \
                 profile"
                    .to_string(),
            ))
        }
    };
    let mut tracked = |now: Millis| {
        echoes
            .as_deref_mut()
            .is_some_and(|tracker| tracker.take(now, topic, payload))
    };
    match parsed {
        // Topics only the gateway publishes to: whatever comes back is ours.
        Topic::GatewayConnect
        | Topic::GatewayTelemetry
        | Topic::GatewayAttributesRequest
        | Topic::GatewayClaim
        | Topic::OwnTelemetry
        | Topic::OwnAttributesRequest(_)
        | Topic::OwnClaim => echo(),
        Topic::GatewayDisconnect => {
            let map = fields::parse_object(payload).map_err(fail)?;
            if filtering && !map.contains_key("reason") {
                return echo();
            }
            disconnect_notice(&map).map_err(fail)
        }
        Topic::GatewayAttributes => {
            let map = fields::parse_object(payload).map_err(fail)?;
            let is_server = matches!(map.get("device"), Some(Value::String(_)));
            if filtering && !is_server && !map.is_empty() && map.values().all(Value::is_object) {
                return echo();
            }
            shared_attributes(&map).map_err(fail)
        }
        Topic::GatewayAttributesResponse => {
            let map = fields::parse_object(payload).map_err(fail)?;
            attribute_response(&map).map_err(fail)
        }
        Topic::GatewayRpc => {
            let map = fields::parse_object(payload).map_err(fail)?;
            if filtering && map.contains_key("id") {
                return echo();
            }
            rpc_request(&map).map_err(fail)
        }
        Topic::OwnAttributes => {
            if tracked(now) {
                return echo();
            }
            let map = fields::parse_object(payload).map_err(fail)?;
            attribute_update(&map, "")
                .map(Downlink::OwnSharedAttributes)
                .map_err(fail)
        }
        Topic::OwnAttributesResponse(id) => {
            let map = fields::parse_object(payload).map_err(fail)?;
            own_attribute_response(id, &map).map_err(fail)
        }
        Topic::OwnRpcRequest(id) => {
            if tracked(now) {
                return echo();
            }
            let map = fields::parse_object(payload).map_err(fail)?;
            own_rpc_request(id, &map).map_err(fail)
        }
        Topic::OwnRpcResponse(id) => {
            if tracked(now) {
                return echo();
            }
            let body = fields::parse(payload).map_err(fail)?;
            let id = u32::try_from(id).map_err(|_| fail(format!("no call of ours has id {id}")))?;
            Ok(Downlink::OwnRpcResponse { id, body })
        }
    }
}

fn disconnect_notice(map: &Map<String, Value>) -> Result<Downlink, String> {
    let f = Fields::new(map, "");
    let device = f.non_empty_string("device")?.to_string();
    let reason = f.u64("reason")?;
    let reason = u32::try_from(reason).map_err(|_| format!("\"reason\" {reason} is too large"))?;
    Ok(Downlink::DisconnectNotice {
        device,
        reason,
        explanation: explain_disconnect_reason(reason),
    })
}

fn shared_attributes(map: &Map<String, Value>) -> Result<Downlink, String> {
    let f = Fields::new(map, "");
    let device = f.non_empty_string("device")?.to_string();
    let data = f.object("data")?;
    if let Some(extra) = map.keys().find(|k| *k != "device" && *k != "data") {
        return Err(format!(
            "a shared-attribute update has exactly \"device\" and \"data\", but this one also \
             has \"{extra}\""
        ));
    }
    let update = attribute_update(data, "data")?;
    Ok(Downlink::SharedAttributes { device, update })
}

/// `{k: v}` or `{"deleted": [..]}`; `path` names the object in errors.
fn attribute_update(map: &Map<String, Value>, path: &str) -> Result<AttributeUpdate, String> {
    let f = Fields::new(map, path);
    if map.len() == 1 {
        if let Some(deleted @ Value::Array(_)) = map.get("deleted") {
            return Ok(AttributeUpdate::Deleted(fields::strings(
                &f.name("deleted"),
                deleted,
            )?));
        }
    }
    if map.is_empty() {
        return Err(if path.is_empty() {
            "the update holds no attributes".to_string()
        } else {
            format!("\"{path}\" holds no attributes")
        });
    }
    Ok(AttributeUpdate::Updated(map.clone()))
}

fn attribute_response(map: &Map<String, Value>) -> Result<Downlink, String> {
    let f = Fields::new(map, "");
    let id = f.u64("id")?;
    let id = u32::try_from(id).map_err(|_| format!("\"id\" {id} is too large"))?;
    let device = f.non_empty_string("device")?.to_string();
    let body = match (f.optional("value"), f.optional("values")) {
        (Some(_), Some(_)) => {
            return Err("\"value\" and \"values\" are both present; expected one or neither".into())
        }
        (Some(v), None) => AttributeResponseBody::Value(v.clone()),
        (None, Some(_)) => AttributeResponseBody::Values(f.object("values")?.clone()),
        (None, None) => AttributeResponseBody::Nothing,
    };
    Ok(Downlink::AttributeResponse { id, device, body })
}

fn rpc_request(map: &Map<String, Value>) -> Result<Downlink, String> {
    let f = Fields::new(map, "");
    let device = f.non_empty_string("device")?.to_string();
    let data = Fields::new(f.object("data")?, "data");
    let method = data.string("method")?.to_string();
    let id = data.u64("id")?;
    let params = data.optional("params").cloned().unwrap_or(Value::Null);
    Ok(Downlink::RpcRequest {
        device,
        id,
        method,
        params,
    })
}

fn own_attribute_response(id: u32, map: &Map<String, Value>) -> Result<Downlink, String> {
    let f = Fields::new(map, "");
    if let Some(extra) = map.keys().find(|k| *k != "client" && *k != "shared") {
        return Err(format!(
            "unexpected field \"{extra}\"; an attribute response has \"client\" and/or \"shared\""
        ));
    }
    let section = |name: &str| -> Result<Attributes, String> {
        match f.optional(name) {
            None => Ok(Attributes::new()),
            Some(_) => Ok(f.object(name)?.clone()),
        }
    };
    Ok(Downlink::OwnAttributeResponse {
        id,
        client: section("client")?,
        shared: section("shared")?,
    })
}

fn own_rpc_request(id: u64, map: &Map<String, Value>) -> Result<Downlink, String> {
    let f = Fields::new(map, "");
    let method = f.string("method")?.to_string();
    let params = f.optional("params").cloned().unwrap_or(Value::Null);
    match method.as_str() {
        DEVICE_RENAMED_METHOD => {
            let Value::Object(names) = &params else {
                return Err(format!(
                    "\"params\" of {DEVICE_RENAMED_METHOD} must be an object {{\"old name\": \
                     \"new name\"}}, got {}",
                    fields::kind(&params)
                ));
            };
            let mut entries = names.iter();
            match (entries.next(), entries.next()) {
                (Some((old, Value::String(new))), None) if !old.is_empty() && !new.is_empty() => {
                    Ok(Downlink::DeviceRenamed {
                        rpc_id: id,
                        old: old.clone(),
                        new: new.clone(),
                    })
                }
                _ => Err(format!(
                    "\"params\" of {DEVICE_RENAMED_METHOD} must hold exactly one non-empty \
                     \"old name\": \"new name\" pair"
                )),
            }
        }
        DEVICE_DELETED_METHOD => match &params {
            Value::String(device) if !device.is_empty() => Ok(Downlink::DeviceDeleted {
                rpc_id: id,
                device: device.clone(),
            }),
            other => Err(format!(
                "\"params\" of {DEVICE_DELETED_METHOD} must be the device name as a non-empty \
                 string, got {}",
                fields::kind(other)
            )),
        },
        _ => Ok(Downlink::OwnRpcRequest { id, method, params }),
    }
}
