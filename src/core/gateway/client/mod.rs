//! The gateway client: a [`Gateway`] owns a [`Session`] and the [`Model`].
//!
//! It is driven exactly like the session (same method names, same
//! semantics): feed it what happened (`handle_open`, `handle_data`,
//! `handle_close`, `handle_timeout`), then drain `poll_transmit`,
//! `poll_event` and re-arm the timer at `poll_timeout`. API calls (in
//! `api.rs`) encode a message (split into several by `split.rs` when a
//! multi-device message is over the maximum packet size), publish it at
//! QoS 1 and update the model; incoming messages are decoded and applied in
//! `dispatch.rs`.
//!
//! Offline queue. While the session is not connected, API publishes are not
//! handed to the session (which would send them right at CONNACK, before
//! the gateway could send `connect` again for its devices, and the server
//! would create a new device as `"default"`, contract §5). They wait, in
//! order, in the gateway's own queue of at most [`OFFLINE_QUEUE_LIMIT`]
//! messages, each with its publish id already handed out, and go out right
//! after the next CONNACK's SUBSCRIBE, `connect`s and `getSessionLimits`.
//! Publishes the session had in flight are resent (with DUP) first, at
//! CONNACK; they were sent while their devices were registered. Gateway
//! telemetry that waits there is folded into as few messages as the limits
//! allow as it comes to the front (`coalesce.rs`).
mod api;
mod coalesce;
mod dispatch;
pub mod error;
pub mod events;
mod held;
pub mod journal;
mod ledger;
mod restored;
mod split;

#[cfg(test)]
pub(crate) mod tests;

use std::collections::{HashMap, VecDeque};

pub use api::SentTelemetry;
pub use error::GatewayError;
pub use events::GatewayEvent;

use bytes::Bytes;

use super::codec::EchoTracker;
use super::limits::{Pacer, SessionLimits};
use super::model::{Model, ModelConfig, RequestKind};
use crate::core::mqtt::{ConnectOptions, PublishId, Session, SessionState};
use crate::core::time::Millis;

use held::{Held, HeldQueue};
pub use held::{OFFLINE_QUEUE_BYTES, OFFLINE_QUEUE_LIMIT};
use journal::Journal;
pub use journal::JournalOp;
use ledger::Ledger;

/// A ThingsBoard gateway over one MQTT session. Sans-IO: it never reads a
/// clock nor touches a socket.
pub struct Gateway {
    session: Session,
    model: Model,
    echoes: EchoTracker,
    events: VecDeque<GatewayEvent>,
    /// `connect` publishes awaiting their PUBACK, by device name.
    connects: HashMap<PublishId, String>,
    /// API publishes made while the session was not connected, or waiting
    /// for the session limits or for room in a rate limit, in order.
    offline: HeldQueue,
    /// Keeps the traffic inside the server's session limits.
    pacer: Pacer,
    /// The session limits in force (parsed from the last answer).
    limits: Option<SessionLimits>,
    /// Until when uplinks wait for the answer to `getSessionLimits`, after
    /// a CONNACK.
    limits_wait: Option<Millis>,
    /// The durable outbox's changes, for the shell to store.
    journal: Journal,
    /// Messages a full outbox dropped, oldest first.
    outbox_dropped: u64,
    /// Which calls' data each message carries besides its own, once
    /// waiting telemetry was folded (their outcomes follow its).
    ledger: Ledger,
    /// Whether a bridged broker sends our own publishes back (then they are
    /// recognised and ignored); off for a relay or ThingsBoard itself.
    bridged: bool,
    /// Whether the bridge to ThingsBoard is up, as its notification topic
    /// last said (bridged only; `None` before the first word).
    bridge_up: Option<bool>,
    /// The in-flight window and packet size the options asked for, before
    /// the server's limits lowered them.
    asked: (u16, usize),
    /// The latest time the caller gave us (for events drained in `poll_event`).
    now: Millis,
}

impl Gateway {
    /// A disconnected gateway that connects with `options` when the
    /// transport opens, with the default model configuration.
    pub fn new(options: ConnectOptions) -> Self {
        Gateway::with_config(options, ModelConfig::default())
    }

    /// A disconnected gateway with these timeouts and bounds.
    pub fn with_config(options: ConnectOptions, config: ModelConfig) -> Self {
        let (options_inflight, options_packet) = (options.max_inflight, options.max_packet_size);
        Gateway {
            session: Session::new(options),
            model: Model::new(config),
            echoes: EchoTracker::default(),
            events: VecDeque::new(),
            connects: HashMap::new(),
            offline: HeldQueue::default(),
            pacer: Pacer::default(),
            limits: None,
            limits_wait: None,
            journal: Journal::default(),
            outbox_dropped: 0,
            ledger: Ledger::default(),
            bridged: false,
            bridge_up: None,
            asked: (options_inflight, options_packet),
            now: Millis(0),
        }
    }

    /// The MQTT session (state, options, in-flight counts).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// What the gateway knows: devices, requests, inboxes, attributes.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Replace the options used for the next connect.
    pub fn set_options(&mut self, options: ConnectOptions) {
        self.asked = (options.max_inflight, options.max_packet_size);
        self.session.set_options(options);
        if let Some(limits) = self.limits.clone() {
            self.apply_transport_limits(&limits);
        }
    }

    /// Say whether the gateway talks through a bridged broker that sends its
    /// own publishes back (under MQTT 3.1.1; MQTT 5's No Local keeps them
    /// away). Only then are messages that look like our own ignored as
    /// echoes: through a relay, or to ThingsBoard itself, a server message
    /// is never dropped for looking like one of ours.
    pub fn set_bridged(&mut self, bridged: bool) {
        self.bridged = bridged;
    }

    /// Make the outbox durable: from now on every uplink made through the
    /// API (telemetry, attributes, RPC replies, claims, attribute requests,
    /// client-side calls) is journaled when accepted and again when done
    /// with; the shell takes the changes with
    /// [`Gateway::take_journal`] and keeps them (IndexedDB), and gives them
    /// back after a reload with [`Gateway::restore`].
    pub fn set_durable(&mut self, durable: bool) {
        self.journal.set(durable);
    }

    /// The durable outbox's changes since the last call, in order.
    pub fn take_journal(&mut self) -> Vec<JournalOp> {
        self.journal.take()
    }

    /// Put uplinks kept from an earlier page (in the order they were
    /// accepted) back in the outbox, behind what waits there: they go out
    /// after the next CONNACK's registrations. Requests among them wait
    /// again for their answers (each reported as
    /// [`GatewayEvent::RequestRestored`]). Returns their new publish ids, in
    /// the same order; they are not journaled again.
    pub fn restore(&mut self, records: Vec<(String, Bytes)>) -> Vec<PublishId> {
        records
            .into_iter()
            .map(|(topic, payload)| {
                let (topic, payload) = self.wait_again(topic, payload);
                let id = self.session.reserve_publish_id();
                self.hold(Held::new(id, topic, payload, None));
                id
            })
            .collect()
    }

    /// If `topic` and `payload` are a request, wait for its answer again
    /// (under a new id if this page uses its id already, then the message
    /// says so).
    fn wait_again(&mut self, topic: String, payload: Bytes) -> (String, Bytes) {
        let Some((id, kind)) = restored::request_of(&topic, &payload) else {
            return (topic, payload);
        };
        let call = matches!(kind, RequestKind::OwnRpcCall { .. });
        let now = self.now;
        let new_id = self.model.requests_mut().adopt(now, id, kind.clone());
        let (topic, payload) = if new_id == id {
            (topic, payload)
        } else {
            restored::renumbered(&topic, &payload, new_id)
        };
        if call {
            self.echoes.record_call(new_id, &payload);
        }
        self.events
            .push_back(GatewayEvent::RequestRestored { id: new_id, kind });
        (topic, payload)
    }

    /// After how long (ms) without a message naming it the server drops a
    /// sub-device's session; keep-alives go out before that. 0: the server
    /// never does (the gateway device's "overwrite activity time"), so no
    /// keep-alives.
    pub fn set_sub_device_expiry(&mut self, ms: u64) {
        let config = self.model.config_mut();
        config.session_inactivity_ms = ms;
        config.keep_registered = ms > 0;
    }

    /// The session limits the server reported last, parsed.
    pub fn session_limits(&self) -> Option<&SessionLimits> {
        self.limits.as_ref()
    }

    /// How near the rate limits are, from 0 to 1 (own traffic, the devices'
    /// traffic); `None` where nothing is limited.
    pub fn limit_usage(&self, now: Millis) -> (Option<f64>, Option<f64>) {
        self.pacer.usage(now)
    }

    /// Whether uplinks wait for the answer to `getSessionLimits`.
    pub fn awaiting_limits(&self) -> bool {
        self.limits_wait.is_some()
    }

    /// Whether the session is connected (CONNACK accepted).
    pub fn is_connected(&self) -> bool {
        self.session.state() == SessionState::Connected
    }

    /// Hold `held` in the outbox; what a full outbox drops to make room
    /// (the oldest data) leaves the durable outbox too, and is counted.
    fn hold(&mut self, held: Held) {
        let dropped = self.offline.push_back(held);
        if dropped.is_empty() {
            return;
        }
        let mut count = 0;
        for h in &dropped {
            self.journal.delete(h.id);
            count += self.ledger.drop_message(h.id).len() as u64;
        }
        self.outbox_dropped += count;
        self.events.push_back(GatewayEvent::OutboxDropped {
            count,
            total: self.outbox_dropped,
        });
    }

    /// Say that an RPC inbox (the gateway's `own`, else the devices') dropped
    /// `count` requests to make room.
    fn rpc_inbox_dropped(&mut self, own: bool, count: usize) {
        if count == 0 {
            return;
        }
        let total = if own {
            self.model.own().rpc().dropped()
        } else {
            self.model.rpc_inbox().dropped()
        };
        self.events.push_back(GatewayEvent::RpcInboxDropped {
            own,
            count: count as u64,
            total,
        });
    }

    /// Say that the shared attributes of `devices` were forgotten to keep
    /// every device's within their bound.
    fn shared_forgotten(&mut self, devices: Vec<String>) {
        if devices.is_empty() {
            return;
        }
        self.events
            .push_back(GatewayEvent::SharedAttributesForgotten {
                devices,
                total: self.model.shared_forgotten(),
            });
    }

    /// How many messages a full outbox dropped (oldest first) so far.
    pub fn outbox_dropped(&self) -> u64 {
        self.outbox_dropped
    }

    /// How many messages wait in the outbox: for the next CONNACK, for the
    /// session limits, or for room in a rate limit (at most
    /// [`OFFLINE_QUEUE_LIMIT`], past which the oldest are dropped). They are
    /// kept across closes and requested disconnects until they go out.
    pub fn offline_len(&self) -> usize {
        self.offline.len()
    }

    /// What the messages in the offline queue weigh together, in bytes (at
    /// most [`OFFLINE_QUEUE_BYTES`]).
    pub fn offline_bytes(&self) -> usize {
        self.offline.bytes()
    }

    /// Call when the transport has opened (as [`Session::handle_open`]).
    pub fn handle_open(&mut self, now: Millis) {
        self.now = now;
        self.session.handle_open(now);
        self.pump();
    }

    /// Call with every chunk of bytes the transport delivers (as
    /// [`Session::handle_data`]). CONNACKs trigger the subscriptions, the
    /// re-registration of every device and `getSessionLimits`, then the
    /// messages of the offline queue, in that order.
    pub fn handle_data(&mut self, now: Millis, data: &[u8]) {
        self.now = now;
        self.session.handle_data(now, data);
        self.pump();
    }

    /// Call when the transport closed without the gateway asking (as
    /// [`Session::handle_close`]). Connected devices become connecting
    /// again: the server forgot them.
    pub fn handle_close(&mut self, now: Millis, why: &str) {
        self.now = now;
        self.session.handle_close(now, why);
        self.pump();
    }

    /// Call when the time from [`Gateway::poll_timeout`] has come (late is
    /// fine): session timers, then attribute requests, client-side calls and
    /// RPC requests that timed out.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.now = now;
        if self.session.poll_timeout().is_some_and(|at| at <= now) {
            self.session.handle_timeout(now);
        }
        self.pump();
        self.expire(now);
        if self.limits_wait.is_some_and(|until| until <= now) {
            self.limits_wait = None;
            self.events
                .push_back(GatewayEvent::SessionLimitsUnanswered {
                    kept: self.limits.is_some(),
                });
        }
        self.keep_registered(now);
        self.flush_offline(now);
    }

    /// When the gateway next needs [`Gateway::handle_timeout`]: the earliest
    /// of the session's timers and the model's deadlines.
    pub fn poll_timeout(&self) -> Option<Millis> {
        [
            self.session.poll_timeout(),
            self.model.next_deadline(),
            self.limits_wait,
            self.outbox_due(),
            self.next_keepalive(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Everything queued for the transport, as one buffer (as
    /// [`Session::poll_transmit`]).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.session.poll_transmit()
    }

    /// The next event for the application, if any.
    pub fn poll_event(&mut self) -> Option<GatewayEvent> {
        self.pump();
        self.events.pop_front()
    }

    /// Send DISCONNECT and end the session (as [`Session::disconnect`]).
    /// Devices stay registered in the model and are registered again on the
    /// next CONNACK.
    pub fn disconnect(&mut self, now: Millis) {
        self.now = now;
        self.session.disconnect(now);
        self.pump();
    }

    /// Handle every event the session has for us.
    fn pump(&mut self) {
        while let Some(event) = self.session.poll_event() {
            self.on_session_event(event);
        }
    }
}
