//! Acting on what the session reports: CONNACKs, acknowledgements, closes
//! and incoming messages (decoded and applied to the model), and timeouts.

use mqttbytes::QoS;
use serde_json::Value;

use super::coalesce;
use super::split;
use super::{Gateway, GatewayError, GatewayEvent, Held};
use crate::core::gateway::codec::{
    decode, topics, AttributeResult, AttributeScope, AttributeUpdate, Attributes, CodecError,
    Downlink, Uplink, UPLINK_QOS,
};
use crate::core::gateway::limits::{Class, Pacer, Scope, SessionLimits, HEADROOM, LIMITS_WAIT_MS};
use crate::core::gateway::model::{RequestKind, Traffic};
use crate::core::mqtt::Event;
use crate::core::time::Millis;

fn split(update: &AttributeUpdate) -> (Attributes, Vec<String>) {
    match update {
        AttributeUpdate::Updated(map) => (map.clone(), Vec::new()),
        AttributeUpdate::Deleted(keys) => (Attributes::new(), keys.clone()),
    }
}

impl Gateway {
    pub(super) fn on_session_event(&mut self, event: Event) {
        let now = self.now;
        match event {
            Event::Message { topic, payload, .. } => self.on_message(now, &topic, &payload),
            Event::Connected { .. } => {
                self.events.push_back(GatewayEvent::Session(event));
                self.on_connected(now);
            }
            Event::Acked(id) => {
                self.journal.delete(id);
                // The message is told as such; the calls it carried (its
                // own, and folded telemetry) each under its own id, once
                // all of the call's data is done.
                let settled = self.ledger.settle(id, &event);
                self.events.push_back(GatewayEvent::Session(event));
                self.events
                    .extend(settled.into_iter().map(GatewayEvent::Settled));
                if let Some(device) = self.connects.remove(&id) {
                    if self.model.devices_mut().mark_connected(&device) {
                        self.events
                            .push_back(GatewayEvent::DeviceRegistered { device });
                    }
                }
            }
            Event::AckTimedOut { id, .. } | Event::Rejected { id, .. } => {
                self.journal.delete(id);
                self.connects.remove(&id);
                let settled = self.ledger.settle(id, &event);
                self.events.push_back(GatewayEvent::Session(event));
                self.events
                    .extend(settled.into_iter().map(GatewayEvent::Settled));
            }
            Event::Subscribed { ref results, .. } => {
                let refused: Vec<String> = results
                    .iter()
                    .filter(|r| r.granted.is_none())
                    .map(|r| r.filter.clone())
                    .collect();
                self.events.push_back(GatewayEvent::Session(event));
                for filter in refused {
                    self.events
                        .push_back(GatewayEvent::SubscriptionRefused { filter });
                }
            }
            Event::Closed { .. } => {
                self.model.devices_mut().session_lost();
                self.events.push_back(GatewayEvent::Session(event));
            }
            other => self.events.push_back(GatewayEvent::Session(other)),
        }
    }

    pub(super) fn failed(&mut self, action: String, error: GatewayError) {
        self.events
            .push_back(GatewayEvent::Failed { action, error });
    }

    /// After every CONNACK: subscribe, ask for the session limits, register
    /// every device again (the server forgot them with the last
    /// connection), then send what waits in the outbox. The `connect`s and
    /// the outbox wait for the limits' answer (at most
    /// [`LIMITS_WAIT_MS`]) and then go out within them.
    fn on_connected(&mut self, now: Millis) {
        // Set the outbox aside so the gateway's own messages below go ahead
        // of it.
        let held = std::mem::take(&mut self.offline);
        let bridge_state = self.bridged.then_some(topics::BRIDGE_STATE);
        let filters: Vec<(&str, QoS)> = topics::SUBSCRIPTIONS
            .iter()
            .copied()
            .chain(bridge_state)
            .map(|f| (f, QoS::AtLeastOnce))
            .collect();
        self.bridge_up = None;
        if let Err(e) = self.session.subscribe(now, &filters) {
            self.failed("subscribe".into(), e.into());
        }
        if let Some(old) = self.model.own().session_limits_call() {
            self.model.requests_mut().take(old);
            self.echoes.forget_call(old);
        }
        // The one message that goes out unpaced: without its answer the
        // limits are not known.
        self.limits_wait = None;
        let pacer = std::mem::take(&mut self.pacer);
        // Not kept across a reload: the next page asks again.
        let durable = self.journal.pause();
        let asked = self.start_call(now, "getSessionLimits", serde_json::json!({}));
        self.journal.resume(durable);
        match asked {
            Ok(id) => {
                self.model.own_mut().set_session_limits_call(Some(id));
                self.limits_wait = Some(now.after_ms(LIMITS_WAIT_MS));
            }
            Err(e) => self.failed("ask for the session limits".into(), e),
        }
        self.pacer = pacer;
        for (device, device_type) in self.model.devices().to_register() {
            if let Err(e) = self.send_connect(now, &device, device_type) {
                self.failed(format!("register device {device:?} again"), e);
            }
        }
        // The outbox now holds the `connect`s; what waited before goes
        // after them.
        self.offline.append(held);
        self.flush_offline(now);
    }

    /// Hand the outbox to the session, in order, while it stays connected,
    /// the session limits are known and the rate limits have room. Each
    /// message keeps the publish id its API call returned.
    pub(super) fn flush_offline(&mut self, now: Millis) {
        while self.is_connected() && self.limits_wait.is_none() {
            self.coalesce_front();
            let Some(front) = self.offline.front_mut() else {
                break;
            };
            let class = match front.class {
                Some(class) => class,
                None => {
                    let (topic, payload) = (front.topic.clone(), front.payload.clone());
                    let class = self.class_of(&topic, &payload);
                    if let Some(front) = self.offline.front_mut() {
                        front.class = Some(class);
                    }
                    class
                }
            };
            if self.pacer.ready_at(now, class) > now {
                break;
            }
            let Some(Held {
                id, topic, payload, ..
            }) = self.offline.pop_front()
            else {
                break;
            };
            self.pacer.take(now, class);
            match self
                .session
                .publish_reserved(now, id, &topic, payload.clone(), UPLINK_QOS)
            {
                Ok(()) => {
                    if self.bridged {
                        self.echoes.record(now, &topic, &payload);
                    }
                }
                Err(e) => self.failed(
                    format!("send a message held in the outbox on {topic}"),
                    e.into(),
                ),
            }
        }
    }

    /// While a gateway telemetry message is at the front of the outbox,
    /// fold into it the telemetry messages waiting behind it, as many as one
    /// message may hold (`coalesce.rs`): waiting telemetry goes out in as
    /// few messages as the limits allow. It keeps its publish id; the ids
    /// folded into it are acknowledged with it. Once it is full it is not
    /// searched again.
    fn coalesce_front(&mut self) {
        let topic = topics::GATEWAY_TELEMETRY;
        let budget = split::Budget {
            bytes: self.session.max_payload_len(topic, UPLINK_QOS),
            points: self.pacer.max_points(Scope::Gateway),
            entries: self.pacer.max_entries(Scope::Gateway, true),
        };
        if self.offline.len() < 2 || self.offline.front().is_none_or(|f| f.coalesced) {
            return;
        }
        let (folded, full) = coalesce::fold_front(&mut self.offline, budget);
        if full {
            self.mark_front_coalesced();
        }
        let (Some(folded), Some(front)) = (folded, self.offline.front().map(|f| f.id)) else {
            return;
        };
        // The outbox's journal follows: the front now holds what it took,
        // a message taken whole is gone, one taken in part keeps the rest.
        self.journal.put(front, topic, &folded.payload);
        for id in folded.whole {
            self.ledger.carry_whole(front, id);
            self.journal.delete(id);
        }
        for (id, rest) in folded.part {
            self.ledger.carry_part(front, id);
            self.journal.put(id, topic, &rest);
        }
        let class = if self.pacer.counts(Scope::Gateway) {
            Class {
                scope: Scope::Gateway,
                telemetry: true,
                messages: (folded.devices.len() as u64).max(1),
                points: folded.points,
            }
        } else {
            Class::counted(topic, &[], false)
        };
        self.offline
            .refill_front(folded.payload, class, folded.devices);
    }

    /// Nothing more is folded into the front of the outbox.
    fn mark_front_coalesced(&mut self) {
        if let Some(front) = self.offline.front_mut() {
            front.coalesced = true;
        }
    }

    /// When the first message of the outbox may go, if it waits only for
    /// room in a rate limit.
    pub(super) fn outbox_due(&self) -> Option<Millis> {
        if !self.is_connected() || self.limits_wait.is_some() {
            return None;
        }
        let front = self.offline.front()?;
        Some(match front.class {
            Some(class) => self.pacer.ready_at(self.now, class),
            None => self.now,
        })
    }

    /// The server's session limits arrived: pace the traffic by them (80 %
    /// of each rate limit; the in-flight window and packet size lowered to
    /// the server's), and let the outbox go.
    fn on_session_limits(&mut self, now: Millis, response: &Value) {
        self.limits_wait = None;
        match SessionLimits::from_json(response) {
            Ok(limits) => {
                // The server's buckets outlive a connection: keep ours if
                // the limits did not change.
                if self.limits.as_ref() != Some(&limits) {
                    self.pacer = Pacer::new(&limits);
                }
                self.apply_transport_limits(&limits);
                self.limits = Some(limits);
            }
            Err(reason) => self
                .events
                .push_back(GatewayEvent::SessionLimitsUnreadable { reason }),
        }
        self.flush_offline(now);
    }

    /// Lower the in-flight window to 80 % of the server's
    /// `maxInflightMessages` and the packet size to its `maxPayloadSize`
    /// (never above what the options asked for).
    pub(super) fn apply_transport_limits(&mut self, limits: &SessionLimits) {
        let (asked_inflight, asked_packet) = self.asked;
        let mut options = self.session.options().clone();
        options.max_inflight = limits
            .max_inflight_messages
            .map(|n| ((n as f64 * HEADROOM).floor() as usize).clamp(1, u16::MAX as usize) as u16)
            .map_or(asked_inflight, |n| n.min(asked_inflight));
        options.max_packet_size = limits
            .max_payload_size
            .map_or(asked_packet, |n| n.min(asked_packet));
        self.session.set_options(options);
    }

    /// Publish `connect` for `device` (already registered in the model) and
    /// remember it until its PUBACK. It waits in the outbox like any other
    /// message while the session is not connected, the limits are not
    /// known, or the rate limits have no room.
    pub(super) fn send_connect(
        &mut self,
        now: Millis,
        device: &str,
        device_type: Option<String>,
    ) -> Result<crate::core::mqtt::PublishId, GatewayError> {
        let encoded = Uplink::Connect {
            device: device.to_string(),
            device_type,
        }
        .encode()?;
        let id = self.submit(now, &encoded.topic, encoded.payload)?;
        self.connects.insert(id, device.to_string());
        self.model.devices_mut().record_connect_sent(now, device);
        Ok(id)
    }

    /// The bridge's notification topic: `1` when the bridge to ThingsBoard
    /// is up, `0` when it is down. ThingsBoard forgets every device with
    /// the bridge's session, so when it comes back up every device is
    /// registered again (contract §10 B).
    fn on_bridge_state(&mut self, now: Millis, payload: &[u8]) {
        let up = match payload {
            b"1" => true,
            b"0" => false,
            other => {
                let text = String::from_utf8_lossy(other);
                return self
                    .events
                    .push_back(GatewayEvent::DecodeError(CodecError::new(
                        topics::BRIDGE_STATE,
                        format!("the bridge state is \"1\" or \"0\", not {text:?}"),
                    )));
            }
        };
        let was = self.bridge_up.replace(up);
        self.events.push_back(GatewayEvent::BridgeState { up });
        if up && was == Some(false) {
            self.model.devices_mut().session_lost();
            for (device, device_type) in self.model.devices().to_register() {
                if let Err(e) = self.send_connect(now, &device, device_type) {
                    self.failed(format!("register device {device:?} again"), e);
                }
            }
        }
    }

    fn on_message(&mut self, now: Millis, topic: &str, payload: &[u8]) {
        if self.bridged && topic == topics::BRIDGE_STATE {
            return self.on_bridge_state(now, payload);
        }
        let echoes = self.bridged.then_some(&mut self.echoes);
        match decode(now, topic, payload, echoes) {
            Ok(downlink) => self.on_downlink(now, topic, downlink),
            Err(e) => self.events.push_back(GatewayEvent::DecodeError(e)),
        }
    }

    fn unanswered(&mut self, topic: &str, id: u32) {
        self.events
            .push_back(GatewayEvent::DecodeError(CodecError::new(
                topic,
                format!(
                    "id {id} answers no pending request (it timed out, or was another client's)"
                ),
            )));
    }

    fn on_downlink(&mut self, now: Millis, topic: &str, downlink: Downlink) {
        match downlink {
            Downlink::Echo { topic } => {
                self.model.count_echo();
                self.events.push_back(GatewayEvent::EchoIgnored { topic });
            }
            Downlink::SharedAttributes { device, update } => {
                let forgotten = self.model.apply_shared_attributes(now, &device, &update);
                self.shared_forgotten(forgotten);
                self.model
                    .devices_mut()
                    .record_received(now, &device, false);
                let (updated, deleted) = split(&update);
                self.events.push_back(GatewayEvent::SharedAttributes {
                    device,
                    updated,
                    deleted,
                });
            }
            Downlink::AttributeResponse { id, device, body } => {
                if matches!(
                    self.model.requests().get(id).map(|r| &r.kind),
                    Some(RequestKind::KeepAlive { device: kept }) if *kept == device
                ) {
                    self.model.requests_mut().take(id);
                    return;
                }
                // The server only echoes the id, and another gateway tab
                // may use the same one: the device must match too.
                let Some(RequestKind::Attributes { scope, keys, .. }) = self
                    .model
                    .requests()
                    .get(id)
                    .map(|r| r.kind.clone())
                    .filter(|kind| matches!(kind, RequestKind::Attributes { device: asked, .. } if *asked == device))
                else {
                    return self.unanswered(topic, id);
                };
                self.model.requests_mut().take(id);
                match body.resolve(&keys) {
                    Ok(result) => {
                        if let (AttributeScope::Shared, AttributeResult::Found(map)) =
                            (scope, &result)
                        {
                            let forgotten = self.model.store_shared_attributes(now, &device, map);
                            self.shared_forgotten(forgotten);
                        }
                        self.model
                            .devices_mut()
                            .record_received(now, &device, false);
                        self.events.push_back(GatewayEvent::AttributeResponse {
                            id,
                            device,
                            scope,
                            keys,
                            result,
                        });
                    }
                    Err(reason) => self
                        .events
                        .push_back(GatewayEvent::DecodeError(CodecError::new(topic, reason))),
                }
            }
            Downlink::RpcRequest {
                device,
                id,
                method,
                params,
            } => {
                self.model.devices_mut().record_received(now, &device, true);
                let dropped = self.model.rpc_inbox_mut().push(
                    now,
                    Some(&device),
                    id,
                    &method,
                    params.clone(),
                );
                self.rpc_inbox_dropped(false, dropped.len());
                self.events.push_back(GatewayEvent::RpcRequest {
                    device,
                    id,
                    method,
                    params,
                });
            }
            Downlink::DisconnectNotice {
                device,
                reason,
                explanation,
            } => self.events.push_back(GatewayEvent::DisconnectNotice {
                device,
                reason,
                explanation,
            }),
            Downlink::OwnSharedAttributes(update) => {
                self.model.own_mut().shared_mut().apply(now, &update);
                let (updated, deleted) = split(&update);
                self.events
                    .push_back(GatewayEvent::OwnSharedAttributes { updated, deleted });
            }
            Downlink::OwnAttributeResponse { id, client, shared } => {
                let asked = matches!(
                    self.model.requests().get(id).map(|r| &r.kind),
                    Some(RequestKind::OwnAttributes { .. })
                );
                if !asked {
                    return self.unanswered(topic, id);
                }
                self.model.requests_mut().take(id);
                self.model.own_mut().shared_mut().update(now, &shared);
                self.events
                    .push_back(GatewayEvent::OwnAttributeResponse { id, client, shared });
            }
            Downlink::OwnRpcRequest { id, method, params } => {
                let dropped =
                    self.model
                        .own_mut()
                        .rpc_mut()
                        .push(now, None, id, &method, params.clone());
                self.rpc_inbox_dropped(true, dropped.len());
                self.events
                    .push_back(GatewayEvent::OwnRpcRequest { id, method, params });
            }
            Downlink::DeviceRenamed { old, new, .. } => self.on_renamed(now, old, new),
            Downlink::DeviceDeleted { device, .. } => {
                self.model.devices_mut().delete(now, &device);
                self.events
                    .push_back(GatewayEvent::DeviceDeleted { device });
            }
            Downlink::OwnRpcResponse { id, body } => self.on_call_answered(now, id, body),
        }
    }

    fn on_renamed(&mut self, now: Millis, old: String, new: String) {
        let previous = self.model.devices_mut().rename(now, &old, &new);
        if let Some(shared) = self.model.all_shared_attributes().get(&old).cloned() {
            self.model.forget_shared_attributes(&old);
            *self.model.shared_attributes_mut(&new) = shared;
        }
        self.events.push_back(GatewayEvent::DeviceRenamed {
            old: old.clone(),
            new: new.clone(),
        });
        if previous.is_some_and(|s| s.wants_connection()) {
            let registered = self.model.devices_mut().register(now, &new, None);
            if let (Ok(name), true) = (registered, self.is_connected()) {
                let device_type = self
                    .model
                    .devices()
                    .get(&name)
                    .and_then(|d| d.device_type.clone());
                if let Err(e) = self.send_connect(now, &name, device_type) {
                    self.failed(format!("register renamed device {name:?}"), e);
                }
            }
        }
    }

    fn on_call_answered(&mut self, now: Millis, id: u32, response: Value) {
        self.echoes.forget_call(id);
        let method = match self.model.requests().get(id).map(|r| r.kind.clone()) {
            Some(RequestKind::OwnRpcCall { method }) => {
                self.model.requests_mut().take(id);
                Some(method)
            }
            _ => None,
        };
        if method.is_some() && self.model.own().session_limits_call() == Some(id) {
            self.model.own_mut().set_session_limits_call(None);
            self.model
                .own_mut()
                .set_session_limits(now, response.clone());
            self.events
                .push_back(GatewayEvent::SessionLimits(response.clone()));
            self.on_session_limits(now, &response);
            return;
        }
        self.events.push_back(GatewayEvent::OwnRpcResponse {
            id,
            method,
            response,
        });
    }

    /// Time out what is due in the model.
    pub(super) fn expire(&mut self, now: Millis) {
        let expired = self.model.expire(now);
        for request in expired.requests {
            let id = request.id;
            let event = match request.kind {
                RequestKind::Attributes {
                    device,
                    scope,
                    keys,
                } => GatewayEvent::AttributeRequestTimedOut {
                    id,
                    device,
                    scope,
                    keys,
                },
                RequestKind::OwnAttributes { .. } => {
                    GatewayEvent::OwnAttributeRequestTimedOut { id }
                }
                // The server answers nothing when its attribute lookup
                // fails; the request still counted as activity.
                RequestKind::KeepAlive { .. } => continue,
                RequestKind::OwnRpcCall { method } => {
                    self.echoes.forget_call(id);
                    if self.model.own().session_limits_call() == Some(id) {
                        self.model.own_mut().set_session_limits_call(None);
                    }
                    GatewayEvent::OwnRpcCallTimedOut { id, method }
                }
            };
            self.events.push_back(event);
        }
        for entry in expired.rpc {
            self.events.push_back(GatewayEvent::RpcExpired {
                device: entry.device.unwrap_or_default(),
                id: entry.id,
                method: entry.method,
            });
        }
        for entry in expired.own_rpc {
            self.events.push_back(GatewayEvent::OwnRpcExpired {
                id: entry.id,
                method: entry.method,
            });
        }
    }

    /// Record a publish for `devices` in the model.
    pub(super) fn record_publish<'a>(
        &mut self,
        now: Millis,
        devices: impl IntoIterator<Item = &'a String>,
        traffic: Traffic,
    ) {
        let connected = self.is_connected();
        for device in devices {
            self.model
                .devices_mut()
                .record_publish(now, device, traffic, connected);
        }
    }
}
