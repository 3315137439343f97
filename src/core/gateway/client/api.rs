//! What the application asks of the gateway. Every call takes the time,
//! encodes its message (refusing what breaks the contract), publishes it at
//! QoS 1 and updates the model. Multi-device messages over the maximum
//! packet size are split into several. While the session is not connected,
//! publishes wait in the gateway's offline queue (see [`Gateway::offline_len`]).
//! A refused call sends (and queues) nothing.

use bytes::Bytes;
use serde_json::Value;

use super::split::{self, Cut};
use super::{Gateway, GatewayError, Held};
use crate::core::gateway::codec::{
    gateway_telemetry_parts, topics, AttributeScope, Attributes, ClaimRequest, CodecError, Encoded,
    Part, TelemetryBatch, TelemetryEntry, Uplink, UPLINK_QOS,
};
use crate::core::gateway::limits::Class;
use crate::core::gateway::model::{ModelError, RequestKind, Traffic};
use crate::core::mqtt::PublishId;
use crate::core::time::Millis;

/// The client attribute a keep-alive asks for (whatever the answer, it is
/// not shown).
pub const KEEPALIVE_KEY: &str = "keepalive";

/// One message of a [`Gateway::send_telemetry_counted`] batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentTelemetry {
    /// Its publish id (its acknowledgement carries the same).
    pub id: PublishId,
    /// The telemetry entries it carries, over all its devices.
    pub entries: u64,
    /// The data points it carries (key/value pairs over all entries).
    pub points: u64,
}

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
    /// Encode and publish `uplink` at QoS 1 (or hold it while offline).
    fn publish_uplink(
        &mut self,
        now: Millis,
        uplink: &Uplink,
    ) -> Result<(PublishId, Bytes), GatewayError> {
        self.now = now;
        let Encoded { topic, payload } = uplink.encode()?;
        self.session
            .check_publish(&topic, payload.len(), UPLINK_QOS)?;
        let id = self.submit(now, &topic, payload.clone())?;
        self.pump();
        Ok((id, payload))
    }

    /// Whether a publish now waits in the outbox: the session is not
    /// connected, the session limits are not known yet, or older messages
    /// still wait there (order is kept).
    pub(super) fn goes_offline(&self) -> bool {
        !self.is_connected() || self.limits_wait.is_some() || !self.offline.is_empty()
    }

    /// What a message on `topic` takes from the rate limits (its data
    /// points are counted only where a limit needs them).
    pub(super) fn class_of(&self, topic: &str, payload: &[u8]) -> Class {
        let scope = Class::scope_of(topic);
        Class::counted(topic, payload, self.pacer.counts(scope))
    }

    /// Publish one checked message at QoS 1 and remember it for echo
    /// detection, or hold it in the outbox with a reserved id (offline,
    /// waiting for the limits, or for room in a rate limit).
    pub(super) fn submit(
        &mut self,
        now: Millis,
        topic: &str,
        payload: Bytes,
    ) -> Result<PublishId, GatewayError> {
        let mut class = None;
        if !self.goes_offline() {
            let c = self.class_of(topic, &payload);
            if self.pacer.ready_at(now, c) <= now {
                let id = self
                    .session
                    .publish(now, topic, payload.clone(), UPLINK_QOS)?;
                self.pacer.take(now, c);
                if self.bridged {
                    self.echoes.record(now, topic, &payload);
                }
                self.journal.put(id, topic, &payload);
                return Ok(id);
            }
            class = Some(c);
        }
        let id = self.session.reserve_publish_id();
        self.journal.put(id, topic, &payload);
        self.hold(Held::new(id, topic.to_string(), payload, class));
        Ok(id)
    }

    /// Publish a multi-device message (`{"Dev": part, ..}`) in as many
    /// messages as the maximum packet size needs, in order, and record each
    /// one for its devices. All or nothing: every message is checked before
    /// the first is sent.
    fn publish_batch(
        &mut self,
        now: Millis,
        uplink: &Uplink,
        cut: Cut,
        traffic: Traffic,
    ) -> Result<Vec<PublishId>, GatewayError> {
        self.now = now;
        let topic = uplink.topic();
        let body = match uplink.to_json() {
            Ok(Value::Object(body)) => body,
            Ok(_) => {
                let reason = "a gateway message must be a JSON object";
                return Err(CodecError::new(topic, reason).into());
            }
            Err(reason) => return Err(CodecError::new(topic, reason).into()),
        };
        let parts = split::parts_of(&body, cut);
        let sent = self.publish_parts(now, &topic, &parts, cut, traffic)?;
        Ok(sent.into_iter().map(|s| s.id).collect())
    }

    /// Publish telemetry for many (resolved) devices on
    /// `v1/gateway/telemetry`, as [`Gateway::publish_batch`] does, each
    /// entry written once, straight from the batch (no JSON value is
    /// built), and each message counted as it is cut.
    fn publish_telemetry<S: AsRef<str>>(
        &mut self,
        now: Millis,
        batch: &[(S, Vec<TelemetryEntry>)],
    ) -> Result<Vec<SentTelemetry>, GatewayError> {
        self.now = now;
        let resolved = batch
            .iter()
            .map(|(name, entries)| {
                let resolved = self.model.devices().resolve(name.as_ref())?;
                Ok((resolved, entries.as_slice()))
            })
            .collect::<Result<Vec<_>, GatewayError>>()?;
        let topic = topics::GATEWAY_TELEMETRY;
        let parts = gateway_telemetry_parts(&resolved)
            .map_err(|reason| GatewayError::from(CodecError::new(topic, reason)))?;
        self.publish_parts(now, topic, &parts, Cut::Elements, Traffic::Telemetry)
    }

    /// Publish the device `parts` of a multi-device message on `topic`,
    /// split into as many messages as the session limits need; each one
    /// with what it carries.
    fn publish_parts(
        &mut self,
        now: Millis,
        topic: &str,
        parts: &[Part<'_>],
        cut: Cut,
        traffic: Traffic,
    ) -> Result<Vec<SentTelemetry>, GatewayError> {
        let scope = Class::scope_of(topic);
        let budget = split::Budget {
            bytes: self.session.max_payload_len(topic, UPLINK_QOS),
            points: self.pacer.max_points(scope),
            entries: self.pacer.max_entries(scope, cut != Cut::Never),
        };
        let pieces = split::split(parts, budget).map_err(|too_big| GatewayError::TooLarge {
            device: too_big.device,
            part: cut.item(),
            size: self
                .session
                .publish_size(topic, too_big.payload_len, UPLINK_QOS),
            max: self.session.options().max_packet_size,
            topic: topic.to_string(),
        })?;
        for piece in &pieces {
            self.session
                .check_publish(topic, piece.payload.len(), UPLINK_QOS)?;
        }
        let mut sent = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let id = self.submit(now, topic, piece.payload)?;
            sent.push(SentTelemetry {
                id,
                entries: piece.entries,
                points: piece.points,
            });
            self.record_publish(now, &piece.devices, traffic);
        }
        self.pump();
        Ok(sent)
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

    /// Publish telemetry for many devices on `v1/gateway/telemetry`.
    /// Unknown devices are registered, as the server registers them.
    ///
    /// The batch goes in one message if it fits the session's
    /// `max_packet_size` (fixed header, topic and packet id included).
    /// Otherwise it is split by device into several messages, each as full
    /// as it can be, devices in the order they first appear (a repeated
    /// device is merged, as in one message); a device whose entries alone are
    /// too big is split between its entries, in order, over consecutive
    /// messages. Returns the publish ids, one per message, in sending order.
    ///
    /// If one entry alone is too big for a message, the call fails with
    /// [`GatewayError::TooLarge`] naming the device and the size, and
    /// nothing of the batch is sent.
    pub fn send_telemetry<S: AsRef<str>>(
        &mut self,
        now: Millis,
        batch: &[(S, Vec<TelemetryEntry>)],
    ) -> Result<Vec<PublishId>, GatewayError> {
        let sent = self.publish_telemetry(now, batch)?;
        Ok(sent.into_iter().map(|s| s.id).collect())
    }

    /// [`Gateway::send_telemetry`], telling for each message what it
    /// carries: its publish id, its telemetry entries and its data points
    /// (as ThingsBoard counts them), so a caller that measures (the load
    /// test) can credit each acknowledgement with exactly what it covers.
    pub fn send_telemetry_counted<S: AsRef<str>>(
        &mut self,
        now: Millis,
        batch: &[(S, Vec<TelemetryEntry>)],
    ) -> Result<Vec<SentTelemetry>, GatewayError> {
        self.publish_telemetry(now, batch)
    }

    /// [`Gateway::send_telemetry_counted`] for a batch already written as
    /// JSON ([`TelemetryBatch`]): the same messages, split and counted the
    /// same way, without a map of values per entry. Unknown devices are
    /// registered; renames are followed: two devices of the batch that are
    /// one have their entries merged device by device (the later device's
    /// after the earlier's, each in order), where a map batch would merge
    /// them in batch order.
    pub fn send_telemetry_batch(
        &mut self,
        now: Millis,
        batch: &TelemetryBatch,
    ) -> Result<Vec<SentTelemetry>, GatewayError> {
        self.now = now;
        let names = batch
            .devices()
            .map(|(name, _)| self.model.devices().resolve(name))
            .collect::<Result<Vec<_>, _>>()?;
        let topic = topics::GATEWAY_TELEMETRY;
        let parts = batch
            .parts(&names)
            .map_err(|reason| GatewayError::from(CodecError::new(topic, reason)))?;
        self.publish_parts(now, topic, &parts, Cut::Elements, Traffic::Telemetry)
    }

    /// Publish client attributes for many devices on
    /// `v1/gateway/attributes`.
    ///
    /// Split as [`Gateway::send_telemetry`] is: by device into messages
    /// within `max_packet_size`, and a device whose attributes alone are too
    /// big between its keys. Returns the publish ids, one per message, in
    /// sending order. If one attribute alone is too big, the call fails
    /// with [`GatewayError::TooLarge`] and nothing is sent.
    pub fn send_attributes<S: AsRef<str>>(
        &mut self,
        now: Millis,
        batch: &[(S, Attributes)],
    ) -> Result<Vec<PublishId>, GatewayError> {
        let resolved = self.resolve_all(batch)?;
        let uplink = Uplink::Attributes(resolved);
        self.publish_batch(now, &uplink, Cut::Members, Traffic::Attributes)
    }

    /// Keep the server's session of each quiet device alive: an attribute
    /// request naming it (a message for a device is activity for it; a
    /// repeated `connect` is not, contract §11 item 3). Its answer is not
    /// shown.
    pub(super) fn keep_registered(&mut self, now: Millis) {
        let config = self.model.config();
        if !config.keep_registered || !self.is_connected() || config.session_inactivity_ms == 0 {
            return;
        }
        let inactivity = config.session_inactivity_ms;
        for device in self.model.devices().due_for_keepalive(now, inactivity) {
            let id = self.model.requests_mut().start(
                now,
                RequestKind::KeepAlive {
                    device: device.clone(),
                },
            );
            let uplink = Uplink::AttributeRequest {
                id,
                device: device.clone(),
                scope: AttributeScope::Client,
                keys: vec![KEEPALIVE_KEY.to_string()],
            };
            // Not kept across a reload: the next page sends its own.
            let durable = self.journal.pause();
            let sent = self.publish_uplink(now, &uplink);
            self.journal.resume(durable);
            match sent {
                // Counted as sent now, so it is not sent again while it
                // waits for room in a rate limit.
                Ok(_) => self.record_publish(now, [&device], Traffic::Other),
                Err(e) => {
                    self.model.requests_mut().take(id);
                    self.failed(format!("keep device {device:?} registered"), e);
                }
            }
        }
    }

    /// When the next keep-alive is due, if the gateway sends them.
    pub(super) fn next_keepalive(&self) -> Option<Millis> {
        let config = self.model.config();
        if !config.keep_registered || !self.is_connected() || config.session_inactivity_ms == 0 {
            return None;
        }
        self.model
            .devices()
            .next_keepalive(config.session_inactivity_ms)
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
    /// means the server's default) with one message on `v1/gateway/claim`.
    /// A claim names one device and cannot be split: if it is over
    /// `max_packet_size` (a huge name or key), the call fails with
    /// [`GatewayError::TooLarge`] naming the device, and nothing is sent.
    pub fn claim(
        &mut self,
        now: Millis,
        device: &str,
        secret_key: Option<String>,
        duration_ms: Option<u64>,
    ) -> Result<PublishId, GatewayError> {
        let device = self.model.devices().resolve(device)?;
        let uplink = Uplink::Claim(vec![(
            device,
            ClaimRequest {
                secret_key,
                duration_ms,
            },
        )]);
        let ids = self.publish_batch(now, &uplink, Cut::Never, Traffic::Other)?;
        // One device that cannot be cut: exactly one message.
        ids.into_iter()
            .next()
            .ok_or_else(|| CodecError::new(uplink.topic(), "there is no device to claim").into())
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
