//! Requests kept in the durable outbox by an earlier page: attribute
//! requests (a device's and the gateway's own) and the gateway's client-side
//! RPC calls. Read back from their topic and payload, they wait again for
//! their answers, under the id they were sent with (renumbered if this page
//! already uses it).

use bytes::Bytes;
use serde_json::Value;

use crate::core::gateway::codec::{topics, AttributeScope};
use crate::core::gateway::model::RequestKind;

/// The id and what it asked, if `topic` and `payload` are a request this
/// page can wait for the answer of.
pub(super) fn request_of(topic: &str, payload: &[u8]) -> Option<(u32, RequestKind)> {
    let body: Value = serde_json::from_slice(payload).ok()?;
    if topic == topics::GATEWAY_ATTRIBUTES_REQUEST {
        let id = u32::try_from(body.get("id")?.as_u64()?).ok()?;
        let device = body.get("device")?.as_str()?.to_string();
        let scope = match body.get("client")?.as_bool()? {
            true => AttributeScope::Client,
            false => AttributeScope::Shared,
        };
        let keys: Vec<String> = match (body.get("key"), body.get("keys")) {
            (Some(Value::String(key)), None) => vec![key.clone()],
            (None, Some(Value::Array(keys))) => keys
                .iter()
                .map(|k| k.as_str().map(str::to_string))
                .collect::<Option<_>>()?,
            _ => return None,
        };
        return Some((
            id,
            RequestKind::Attributes {
                device,
                scope,
                keys,
            },
        ));
    }
    if let Some(id) = topic.strip_prefix(topics::OWN_ATTRIBUTES_REQUEST_PREFIX) {
        let keys = |name: &str| -> Vec<String> {
            body.get(name)
                .and_then(Value::as_str)
                .map(|k| k.split(',').map(str::to_string).collect())
                .unwrap_or_default()
        };
        let kind = RequestKind::OwnAttributes {
            client_keys: keys("clientKeys"),
            shared_keys: keys("sharedKeys"),
        };
        return Some((id.parse().ok()?, kind));
    }
    if let Some(id) = topic.strip_prefix(topics::OWN_RPC_REQUEST_PREFIX) {
        let method = body.get("method")?.as_str()?.to_string();
        return Some((id.parse().ok()?, RequestKind::OwnRpcCall { method }));
    }
    None
}

/// The same request under the id `id` instead.
pub(super) fn renumbered(topic: &str, payload: &Bytes, id: u32) -> (String, Bytes) {
    if topic == topics::GATEWAY_ATTRIBUTES_REQUEST {
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(payload) else {
            return (topic.to_string(), payload.clone());
        };
        body.insert("id".into(), Value::from(id));
        let payload = serde_json::to_vec(&body).unwrap_or_default();
        return (topic.to_string(), Bytes::from(payload));
    }
    let topic = if topic.starts_with(topics::OWN_ATTRIBUTES_REQUEST_PREFIX) {
        topics::own_attributes_request(id)
    } else {
        topics::own_rpc_request(id)
    };
    (topic, payload.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_of_request_is_read_back() {
        let read = |topic: &str, body: Value| request_of(topic, body.to_string().as_bytes());
        assert_eq!(
            read(
                "v1/gateway/attributes/request",
                json!({"id": 7, "device": "A", "client": false, "key": "mode"})
            ),
            Some((
                7,
                RequestKind::Attributes {
                    device: "A".into(),
                    scope: AttributeScope::Shared,
                    keys: vec!["mode".into()]
                }
            ))
        );
        assert_eq!(
            read(
                "v1/gateway/attributes/request",
                json!({"id": 8, "device": "A", "client": true, "keys": ["a", "b"]})
            )
            .map(|(id, _)| id),
            Some(8)
        );
        assert_eq!(
            read(
                "v1/devices/me/attributes/request/9",
                json!({"clientKeys": "a,b"})
            ),
            Some((
                9,
                RequestKind::OwnAttributes {
                    client_keys: vec!["a".into(), "b".into()],
                    shared_keys: vec![]
                }
            ))
        );
        assert_eq!(
            read(
                "v1/devices/me/rpc/request/10",
                json!({"method": "getTime", "params": {}})
            ),
            Some((
                10,
                RequestKind::OwnRpcCall {
                    method: "getTime".into()
                }
            ))
        );
        assert_eq!(read("v1/gateway/telemetry", json!({"A": []})), None);
        assert_eq!(
            request_of("v1/devices/me/rpc/request/x", b"{\"method\":\"m\"}"),
            None
        );
        assert_eq!(request_of("v1/gateway/attributes/request", b"{"), None);
    }

    #[test]
    fn a_request_renumbered_keeps_what_it_asks() {
        let body = Bytes::from(r#"{"id":7,"device":"A","client":true,"key":"k"}"#);
        let (topic, payload) = renumbered("v1/gateway/attributes/request", &body, 12);
        let (id, kind) = request_of(&topic, &payload).unwrap();
        assert_eq!((id, kind), (12, request_of(&topic, &body).unwrap().1));
        let call = Bytes::from(r#"{"method":"m","params":1}"#);
        assert_eq!(
            renumbered("v1/devices/me/rpc/request/3", &call, 4),
            ("v1/devices/me/rpc/request/4".to_string(), call.clone())
        );
        assert_eq!(
            renumbered("v1/devices/me/attributes/request/3", &call, 5).0,
            "v1/devices/me/attributes/request/5"
        );
    }
}
