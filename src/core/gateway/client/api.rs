//! What the application asks of the gateway. Every call takes the time,
//! encodes one message (refusing what breaks the contract), publishes it at
//! QoS 1 and updates the model. A refused call sends nothing.

use bytes::Bytes;
use serde_json::Value;

use super::{Gateway, GatewayError};
use crate::core::gateway::codec::{
    AttributeScope, Attributes, ClaimRequest, Encoded, TelemetryEntry, Uplink, UPLINK_QOS,
};
use crate::core::gateway::model::{ModelError, RequestKind, Traffic};
use crate::core::mqtt::PublishId;
use crate::core::time::Millis;

/// `keys` as owned strings, repeats removed, order kept.
fn unique_keys<S: AsRef<str>>(keys: &[S]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(keys.len());
    for key in keys {
        let key = key.as_ref();
        if !out.iter().any(|k| k == key) {
            out.push(key.to_string());
        }
    }
    out
}

impl Gateway {
    /// Encode and publish `uplink` at QoS 1; remember it for echo detection.
    fn publish_uplink(
        &mut self,
        now: Millis,
        uplink: &Uplink,
    ) -> Result<(PublishId, Bytes), GatewayError> {
        self.now = now;
        let Encoded { topic, payload } = uplink.encode()?;
        let id = self
            .session
            .publish(now, &topic, payload.clone(), UPLINK_QOS)?;
        self.echoes.record(now, &topic, &payload);
        self.pump();
        Ok((id, payload))
    }

    /// Register a device and publish its `connect` (with `device_type` as its
    /// profile, used by the server only when it creates the device).
    /// Renames are followed; a deleted device is refused. While the session
    /// is not connected the device is only registered, and its `connect`
    /// goes out with the next CONNACK (once). Returns the publish id of the
    /// `connect` sent now, if any; its PUBACK brings
    /// [`GatewayEvent::DeviceRegistered`](super::GatewayEvent::DeviceRegistered).
    pub fn connect_device(
        &mut self,
        now: Millis,
        name: &str,
        device_type: Option<&str>,
    ) -> Result<Option<PublishId>, GatewayError> {
        self.now = now;
        let resolved = self.model.devices().resolve(name)?;
        let device_type = device_type.map(str::to_string).or_else(|| {
            self.model
                .devices()
                .get(&resolved)
                .and_then(|d| d.device_type.clone())
        });
        // Validate before registering anything.
        Uplink::Connect {
            device: resolved.clone(),
            device_type: device_type.clone(),
        }
        .encode()?;
        self.model
            .devices_mut()
            .register(now, &resolved, device_type.as_deref())?;
        if !self.is_connected() {
            return Ok(None);
        }
        let id = self.send_connect(now, &resolved, device_type)?;
        self.pump();
        Ok(Some(id))
    }

    /// Publish `disconnect` for a registered device and keep it in the model
    /// as disconnected (not registered again on reconnect). Offline, only the
    /// model changes: the server already forgot the device.
    pub fn disconnect_device(
        &mut self,
        now: Millis,
        name: &str,
    ) -> Result<Option<PublishId>, GatewayError> {
        self.now = now;
        let resolved = self.model.devices().resolve(name)?;
        let was_connected = match self.model.devices().get(&resolved) {
            Some(d) => d.state.wants_connection(),
            None => {
                return Err(ModelError::UnknownDevice { device: resolved }.into());
            }
        };
        let sent = if was_connected && self.is_connected() {
            let uplink = Uplink::Disconnect {
                device: resolved.clone(),
            };
            Some(self.publish_uplink(now, &uplink)?.0)
        } else {
            None
        };
        self.model.devices_mut().mark_disconnected(now, &resolved)?;
        Ok(sent)
    }

    /// Publish `disconnect` (if the device is connected) and forget the
    /// device: its state, counters, shared attributes and renames to or
    /// from it. A deleted or renamed device is simply forgotten.
    pub fn remove_device(
        &mut self,
        now: Millis,
        name: &str,
    ) -> Result<Option<PublishId>, GatewayError> {
        self.now = now;
        let Some(device) = self.model.devices().get(name) else {
            return Err(ModelError::UnknownDevice {
                device: name.to_string(),
            }
            .into());
        };
        let sent = if device.state.wants_connection() && self.is_connected() {
            let uplink = Uplink::Disconnect {
                device: name.to_string(),
            };
            Some(self.publish_uplink(now, &uplink)?.0)
        } else {
            None
        };
        self.model.devices_mut().remove(name);
        self.model.forget_shared_attributes(name);
        Ok(sent)
    }

    /// Resolve every name of a batch (renames followed, deleted refused).
    fn resolve_all<S: AsRef<str>, T: Clone>(
        &self,
        batch: &[(S, T)],
    ) -> Result<Vec<(String, T)>, GatewayError> {
        batch
            .iter()
            .map(|(name, item)| {
                let resolved = self.model.devices().resolve(name.as_ref())?;
                Ok((resolved, item.clone()))
            })
            .collect()
    }

    /// Publish telemetry for many devices in one message on
    /// `v1/gateway/telemetry`. Unknown devices are registered, as the server
    /// registers them.
    pub fn send_telemetry<S: AsRef<str>>(
        &mut self,
        now: Millis,
        batch: &[(S, Vec<TelemetryEntry>)],
    ) -> Result<PublishId, GatewayError> {
        let resolved = self.resolve_all(batch)?;
        let uplink = Uplink::Telemetry(resolved);
        let (id, _) = self.publish_uplink(now, &uplink)?;
        if let Uplink::Telemetry(devices) = &uplink {
            self.record_publish(now, devices.iter().map(|(d, _)| d), Traffic::Telemetry);
        }
        Ok(id)
    }

    /// Publish client attributes for many devices in one message on
    /// `v1/gateway/attributes`.
    pub fn send_attributes<S: AsRef<str>>(
        &mut self,
        now: Millis,
        batch: &[(S, Attributes)],
    ) -> Result<PublishId, GatewayError> {
        let resolved = self.resolve_all(batch)?;
        let uplink = Uplink::Attributes(resolved);
        let (id, _) = self.publish_uplink(now, &uplink)?;
        if let Uplink::Attributes(devices) = &uplink {
            self.record_publish(now, devices.iter().map(|(d, _)| d), Traffic::Attributes);
        }
        Ok(id)
    }

    /// Ask for a device's attributes of one scope. Returns the request id;
    /// the answer comes as
    /// [`GatewayEvent::AttributeResponse`](super::GatewayEvent::AttributeResponse),
    /// or [`GatewayEvent::AttributeRequestTimedOut`](super::GatewayEvent::AttributeRequestTimedOut).
    /// At least one key is needed; repeats are removed.
    pub fn request_attributes<S: AsRef<str>>(
        &mut self,
        now: Millis,
        device: &str,
        scope: AttributeScope,
        keys: &[S],
    ) -> Result<u32, GatewayError> {
        let device = self.model.devices().resolve(device)?;
        let keys = unique_keys(keys);
        let id = self.model.requests_mut().start(
            now,
            RequestKind::Attributes {
                device: device.clone(),
                scope,
                keys: keys.clone(),
            },
        );
        let uplink = Uplink::AttributeRequest {
            id,
            device: device.clone(),
            scope,
            keys,
        };
        if let Err(e) = self.publish_uplink(now, &uplink) {
            self.model.requests_mut().take(id);
            return Err(e);
        }
        self.record_publish(now, [&device], Traffic::Other);
        Ok(id)
    }

    /// Answer the RPC request `id` of `device` with `data` (a JSON value, sent
    /// as is). The request must be in the inbox and not yet answered; an
    /// expired one may still be answered.
    pub fn reply_rpc(
        &mut self,
        now: Millis,
        device: &str,
        id: u64,
        data: Value,
    ) -> Result<PublishId, GatewayError> {
        let resolved = self.model.devices().resolve(device)?;
        let inbox_name = if self.model.rpc_inbox().get(Some(device), id).is_some() {
            device.to_string()
        } else {
            resolved.clone()
        };
        self.model.rpc_inbox().check_reply(Some(&inbox_name), id)?;
        let uplink = Uplink::RpcReply {
            device: resolved.clone(),
            id,
            data,
        };
        let (publish, _) = self.publish_uplink(now, &uplink)?;
        self.model
            .rpc_inbox_mut()
            .mark_replied(now, Some(&inbox_name), id)?;
        self.record_publish(now, [&resolved], Traffic::Other);
        Ok(publish)
    }

    /// Claim a device (`secret_key` absent means `""`; `duration_ms` absent
    /// means the server's default).
    pub fn claim(
        &mut self,
        now: Millis,
        device: &str,
        secret_key: Option<String>,
        duration_ms: Option<u64>,
    ) -> Result<PublishId, GatewayError> {
        let device = self.model.devices().resolve(device)?;
        let uplink = Uplink::Claim(vec![(
            device.clone(),
            ClaimRequest {
                secret_key,
                duration_ms,
            },
        )]);
        let (id, _) = self.publish_uplink(now, &uplink)?;
        self.record_publish(now, [&device], Traffic::Other);
        Ok(id)
    }

    /// Publish the gateway's own telemetry on `v1/devices/me/telemetry`.
    pub fn send_own_telemetry(
        &mut self,
        now: Millis,
        entries: &[TelemetryEntry],
    ) -> Result<PublishId, GatewayError> {
        let uplink = Uplink::OwnTelemetry(entries.to_vec());
        Ok(self.publish_uplink(now, &uplink)?.0)
    }

    /// Publish the gateway's own client attributes on `v1/devices/me/attributes`.
    pub fn send_own_attributes(
        &mut self,
        now: Millis,
        attributes: &Attributes,
    ) -> Result<PublishId, GatewayError> {
        let uplink = Uplink::OwnAttributes(attributes.clone());
        Ok(self.publish_uplink(now, &uplink)?.0)
    }

    /// Ask for the gateway's own attributes (both lists empty asks for all).
    /// Returns the request id; the answer comes as
    /// [`GatewayEvent::OwnAttributeResponse`](super::GatewayEvent::OwnAttributeResponse).
    pub fn request_own_attributes<S: AsRef<str>>(
        &mut self,
        now: Millis,
        client_keys: &[S],
        shared_keys: &[S],
    ) -> Result<u32, GatewayError> {
        let client_keys = unique_keys(client_keys);
        let shared_keys = unique_keys(shared_keys);
        let id = self.model.requests_mut().start(
            now,
            RequestKind::OwnAttributes {
                client_keys: client_keys.clone(),
                shared_keys: shared_keys.clone(),
            },
        );
        let uplink = Uplink::OwnAttributeRequest {
            id,
            client_keys,
            shared_keys,
        };
        if let Err(e) = self.publish_uplink(now, &uplink) {
            self.model.requests_mut().take(id);
            return Err(e);
        }
        Ok(id)
    }

    /// Answer the server's RPC request `id` to the gateway itself.
    pub fn reply_own_rpc(
        &mut self,
        now: Millis,
        id: u64,
        data: Value,
    ) -> Result<PublishId, GatewayError> {
        self.model.own().rpc().check_reply(None, id)?;
        let uplink = Uplink::OwnRpcReply { id, data };
        let (publish, _) = self.publish_uplink(now, &uplink)?;
        self.model.own_mut().rpc_mut().mark_replied(now, None, id)?;
        Ok(publish)
    }

    /// Make a client-side RPC call. Returns the call id; the answer comes as
    /// [`GatewayEvent::OwnRpcResponse`](super::GatewayEvent::OwnRpcResponse),
    /// or [`GatewayEvent::OwnRpcCallTimedOut`](super::GatewayEvent::OwnRpcCallTimedOut).
    pub fn call_own_rpc(
        &mut self,
        now: Millis,
        method: &str,
        params: Value,
    ) -> Result<u32, GatewayError> {
        self.start_call(now, method, params)
    }

    /// Start a client-side call: pending request, publish, echo tracking.
    pub(super) fn start_call(
        &mut self,
        now: Millis,
        method: &str,
        params: Value,
    ) -> Result<u32, GatewayError> {
        let id = self.model.requests_mut().start(
            now,
            RequestKind::OwnRpcCall {
                method: method.to_string(),
            },
        );
        let uplink = Uplink::OwnRpcCall {
            id,
            method: method.to_string(),
            params,
        };
        match self.publish_uplink(now, &uplink) {
            Ok((_, payload)) => {
                self.echoes.record_call(id, &payload);
                Ok(id)
            }
            Err(e) => {
                self.model.requests_mut().take(id);
                Err(e)
            }
        }
    }

    /// Claim the gateway itself on `v1/devices/me/claim`.
    pub fn claim_own(
        &mut self,
        now: Millis,
        secret_key: Option<String>,
        duration_ms: Option<u64>,
    ) -> Result<PublishId, GatewayError> {
        let uplink = Uplink::OwnClaim(ClaimRequest {
            secret_key,
            duration_ms,
        });
        Ok(self.publish_uplink(now, &uplink)?.0)
    }
}
