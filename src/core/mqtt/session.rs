//! The session state machine. See the module docs of `core::mqtt` for how a
//! caller drives it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::mem;

use bytes::{Bytes, BytesMut};
use mqttbytes::QoS;

use super::decode::{decode, log_incoming, Incoming};
use super::encode::{connect_packet, publish_size, subscribe_size, Outgoing};
use super::framing::{FrameError, Framer};
use super::inflight::{Outbox, PacketIds, Strike, MAX_STRIKES};
use super::publish::Publish;
use super::reason::explain_with;
use super::timers::{Timer, Timers};
use super::topic::{check_filter, check_topic};
use super::{
    explain_connack, ConnectOptions, Event, Protocol, PublishId, ServerLimits, SessionError,
    SubscribeId, SubscribeResult,
};
use crate::core::time::Millis;

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// No transport (never opened, or closed); publishes at QoS 1 queue up.
    Disconnected,
    /// Transport open, CONNECT sent, waiting for CONNACK.
    Connecting,
    /// CONNACK accepted: traffic flows.
    Connected,
}

/// Where the transport stands, as far as `Event::Closed` goes: each
/// transport ends with exactly one `Closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// No transport, and no `Closed` owed.
    Idle,
    /// A transport is open and no `Closed` has been emitted for it.
    Open,
    /// The session emitted `Closed` itself; the caller's `handle_close` for
    /// this transport stays silent.
    Closing,
}

/// A SUBSCRIBE awaiting its SUBACK.
#[derive(Debug, Clone)]
struct PendingSubscribe {
    id: SubscribeId,
    filters: Vec<String>,
}

/// The largest capacity a fresh transmit buffer starts with (256 KiB).
const MAX_TX_CAPACITY: usize = 256 * 1024;

/// The bytes to write, and when we last wrote.
#[derive(Debug, Default)]
struct Tx {
    /// The protocol of the current (or last) connection.
    protocol: Protocol,
    out: BytesMut,
    /// The capacity a fresh buffer starts with at its first write: the size
    /// the last handed-out buffer reached, rounded up to a power of two and
    /// capped at [`MAX_TX_CAPACITY`]. The buffer handed out by
    /// `poll_transmit` belongs to the caller, so each batch needs a new one;
    /// sizing it up front spares the doublings from empty.
    next_capacity: usize,
    last_sent: Millis,
    /// A packet that could not be encoded (a bug, or an input that slipped
    /// past the checks); the session ends at the end of the current call.
    error: Option<String>,
}

impl Tx {
    /// Queue `packet` for the transport and log it.
    fn send(&mut self, now: Millis, packet: Outgoing<'_>, events: &mut VecDeque<Event>) {
        if self.out.capacity() == 0 && self.next_capacity > 0 {
            self.out = BytesMut::with_capacity(self.next_capacity);
        }
        match packet.write(self.protocol, &mut self.out) {
            Ok(()) => {
                self.last_sent = now;
                events.push_back(Event::Packet(packet.log()));
            }
            Err(why) => {
                let kind = packet.log().kind;
                self.error
                    .get_or_insert(format!("could not encode {kind}: {why}"));
            }
        }
    }
}

/// The QoS a publish asked at `qos` goes out with: QoS 2 is sent as QoS 1
/// (ThingsBoard does not support QoS 2).
fn sent_qos(qos: QoS) -> QoS {
    match qos {
        QoS::ExactlyOnce => QoS::AtLeastOnce,
        other => other,
    }
}

/// The shortest wait for PINGRESP, however short the keepalive.
const MIN_PING_RESPONSE_MS: u64 = 5_000;

/// An MQTT 5 or 3.1.1 client session that does no I/O and reads no clock.
pub struct Session {
    options: ConnectOptions,
    /// What the server of the current connection announced in CONNACK.
    server: ServerLimits,
    state: SessionState,
    link: Link,
    framer: Framer,
    tx: Tx,
    events: VecDeque<Event>,
    timers: Timers,
    outbox: Outbox,
    ids: PacketIds,
    subscribes: HashMap<u16, PendingSubscribe>,
    /// Packet ids of QoS 2 messages delivered and not yet released by PUBREL.
    qos2_received: HashSet<u16>,
    next_publish: u64,
    next_subscribe: u64,
    /// The error of the last `Event::Closed`.
    last_error: Option<SessionError>,
}

impl Session {
    /// A disconnected session that will connect with `options` when the transport opens.
    pub fn new(options: ConnectOptions) -> Self {
        let tx = Tx {
            protocol: options.protocol,
            ..Tx::default()
        };
        Session {
            options,
            server: ServerLimits::default(),
            state: SessionState::Disconnected,
            link: Link::Idle,
            framer: Framer::default(),
            tx,
            events: VecDeque::new(),
            timers: Timers::default(),
            outbox: Outbox::default(),
            ids: PacketIds::default(),
            subscribes: HashMap::new(),
            qos2_received: HashSet::new(),
            next_publish: 1,
            next_subscribe: 1,
            last_error: None,
        }
    }

    /// The options this session connects with.
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// Replace the options used for the next connect (e.g. after the user edits them).
    pub fn set_options(&mut self, options: ConnectOptions) {
        self.options = options;
    }

    /// What the server announced in the CONNACK of the current connection
    /// (MQTT 5 only; all `None` before it, under 3.1.1, and after a close).
    pub fn server_limits(&self) -> ServerLimits {
        self.server
    }

    /// The largest packet the session sends now: `max_packet_size`, or the
    /// server's Maximum Packet Size if that is smaller.
    pub fn max_packet_size(&self) -> usize {
        let server = self.server.maximum_packet_size.map(|max| max as usize);
        server.map_or(self.options.max_packet_size, |server| {
            server.min(self.options.max_packet_size)
        })
    }

    /// Most QoS 1 publishes awaiting PUBACK at once now: `max_inflight`
    /// (at least 1), or the server's Receive Maximum if that is smaller.
    pub fn inflight_window(&self) -> usize {
        let own = usize::from(self.options.max_inflight.max(1));
        self.server
            .receive_maximum
            .map_or(own, |server| own.min(usize::from(server)))
    }

    /// Where the session stands now.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// How many QoS 1 publishes have been sent and await their PUBACK
    /// (kept across reconnects and resent with DUP).
    pub fn inflight_len(&self) -> usize {
        self.outbox.inflight_len()
    }

    /// How many QoS 1 publishes wait behind the in-flight cap (or for a
    /// connection) to be sent for the first time.
    pub fn queued_len(&self) -> usize {
        self.outbox.queued_len()
    }

    /// Why the last connection ended: the error of the last [`Event::Closed`],
    /// `None` before any close and after a requested [`Session::disconnect`].
    /// A driver can use it to stop retrying after
    /// [`SessionError::Refused`] with code 4 or 5 (MQTT 3.1.1) or 134 or 135
    /// (MQTT 5): bad credentials.
    pub fn last_error(&self) -> Option<&SessionError> {
        self.last_error.as_ref()
    }

    /// Call when the transport has opened: queues CONNECT and arms the connect timeout.
    pub fn handle_open(&mut self, now: Millis) {
        self.reset_connection();
        if self.tx.protocol != self.options.protocol {
            self.tx.protocol = self.options.protocol;
            self.outbox.convert(self.tx.protocol);
        }
        self.state = SessionState::Connecting;
        self.link = Link::Open;
        match connect_packet(&self.options) {
            Ok(connect) => {
                self.tx
                    .send(now, Outgoing::Connect(&connect), &mut self.events);
                let deadline = now + self.options.connect_timeout_ms;
                self.timers.set(Timer::Connect, deadline);
            }
            Err(why) => self.fail(SessionError::Protocol(why)),
        }
        self.finish();
    }

    /// Call with every chunk of bytes the transport delivers, however it splits
    /// or merges packets.
    pub fn handle_data(&mut self, now: Millis, data: &[u8]) {
        if self.link != Link::Open {
            return;
        }
        self.framer.push(data);
        while self.link == Link::Open {
            let max = self.options.max_incoming_packet_size;
            match self.framer.next_frame(max, self.tx.protocol) {
                Ok(Some(frame)) => match decode(&frame, self.tx.protocol) {
                    Ok(packet) => self.handle_packet(now, packet),
                    Err(why) => self.fail(SessionError::Malformed(why)),
                },
                Ok(None) => break,
                Err(FrameError::Malformed(why)) => self.fail(SessionError::Malformed(why)),
                Err(FrameError::TooLarge { size, max }) => {
                    self.fail(SessionError::PacketTooLarge { size, max })
                }
            }
        }
        self.finish();
    }

    /// Call when the transport closed without the session asking (`why` for the user).
    ///
    /// Emits [`Event::Closed`] with [`SessionError::TransportClosed`] unless
    /// the session already emitted `Closed` for this transport (after an
    /// error, a refusal or [`Session::disconnect`]). A transport that failed
    /// before it opened also gets its `Closed`, so each transport the caller
    /// creates ends with exactly one.
    pub fn handle_close(&mut self, now: Millis, why: &str) {
        self.blame_close(now);
        self.reset_connection();
        self.state = SessionState::Disconnected;
        self.emit_closed(Some(SessionError::TransportClosed(why.to_string())));
        self.link = Link::Idle;
        self.finish();
    }

    /// Call when the time from [`Session::poll_timeout`] has come (late is fine:
    /// everything due at `now` is handled).
    pub fn handle_timeout(&mut self, now: Millis) {
        if self.link != Link::Open {
            return;
        }
        if self.timers.is_due(Timer::Connect, now) {
            self.fail(SessionError::ConnectTimeout);
        } else if self.timers.is_due(Timer::PingResp, now) {
            self.fail(SessionError::KeepAliveTimeout);
        } else if self.state == SessionState::Connected {
            for (id, publish) in self.outbox.expire(now) {
                self.events.push_back(Event::AckTimedOut {
                    id,
                    topic: publish.into_topic(),
                });
            }
            self.drain_queue(now);
            if self.ping_at().is_some_and(|at| at <= now) {
                self.tx.send(now, Outgoing::PingReq, &mut self.events);
                if self.timers.get(Timer::PingResp).is_none() {
                    let wait = self.half_keepalive_ms().max(MIN_PING_RESPONSE_MS);
                    self.timers.set(Timer::PingResp, now + wait);
                }
            }
        }
        self.finish();
    }

    /// When the session next needs [`Session::handle_timeout`], if ever.
    pub fn poll_timeout(&self) -> Option<Millis> {
        [self.timers.next(), self.outbox.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Everything queued for the transport since the last call, as one buffer
    /// (one WebSocket message), or `None` if nothing is queued.
    ///
    /// The next buffer starts with room for as many bytes as this one holds
    /// (rounded up to a power of two, at most 256 KiB), allocated at its first
    /// write, so a steady flow of batches does not regrow it from empty.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.tx.out.is_empty() {
            return None;
        }
        let len = self.tx.out.len();
        self.tx.next_capacity = len.next_power_of_two().min(MAX_TX_CAPACITY);
        Some(Vec::from(mem::take(&mut self.tx.out)))
    }

    /// The next event for the application, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Queue a publish. QoS 1 is accepted in any state and sent (or resent with
    /// DUP) once connected; QoS 0 needs a connected session. QoS 2 is sent as
    /// QoS 1 (ThingsBoard does not support QoS 2).
    ///
    /// A QoS 0 publish is reported [`Event::Acked`] as soon as it is queued
    /// for the transport; a QoS 1 publish when its PUBACK arrives, or
    /// [`Event::AckTimedOut`] if it does not within `puback_timeout_ms`, or
    /// [`Event::Rejected`] if an MQTT 5 server refuses it.
    pub fn publish(
        &mut self,
        now: Millis,
        topic: &str,
        payload: Bytes,
        qos: QoS,
    ) -> Result<PublishId, SessionError> {
        self.check_publish(topic, payload.len(), qos)?;
        let id = self.reserve_publish_id();
        self.publish_checked(now, id, topic, payload, qos);
        Ok(id)
    }

    /// As [`Session::publish`], with an id taken earlier from
    /// [`Session::reserve_publish_id`], for a caller that holds a publish
    /// back (e.g. while offline) but must hand out its id at once. Each
    /// reserved id must be used at most once. Publishes in flight are resent
    /// in the order they were sent, whatever their ids.
    pub fn publish_reserved(
        &mut self,
        now: Millis,
        id: PublishId,
        topic: &str,
        payload: Bytes,
        qos: QoS,
    ) -> Result<(), SessionError> {
        debug_assert!(id.0 < self.next_publish, "{id:?} was never reserved");
        self.check_publish(topic, payload.len(), qos)?;
        self.publish_checked(now, id, topic, payload, qos);
        Ok(())
    }

    /// A fresh publish id, never handed out before, for a later
    /// [`Session::publish_reserved`].
    pub fn reserve_publish_id(&mut self) -> PublishId {
        let id = PublishId(self.next_publish);
        self.next_publish += 1;
        id
    }

    /// Whether [`Session::publish`] would accept a `payload_len`-byte payload
    /// on `topic` at `qos` now: a valid topic, a packet within
    /// [`Session::max_packet_size`] ([`SessionError::PublishTooLarge`]
    /// otherwise), and a connected session for QoS 0. Nothing is queued.
    pub fn check_publish(
        &self,
        topic: &str,
        payload_len: usize,
        qos: QoS,
    ) -> Result<(), SessionError> {
        check_topic(topic)?;
        let qos = sent_qos(qos);
        let size = publish_size(self.tx.protocol, topic.len(), payload_len, qos);
        let max = self.max_packet_size();
        if size > max {
            return Err(SessionError::PublishTooLarge { size, max });
        }
        if qos == QoS::AtMostOnce && self.state != SessionState::Connected {
            return Err(SessionError::NotConnected);
        }
        Ok(())
    }

    /// Bytes a PUBLISH of `payload_len` bytes on `topic` at `qos` takes on
    /// the wire in the session's protocol: fixed header, topic, packet id
    /// (QoS 1 and 2), MQTT 5's empty property list, and payload. This is the
    /// size compared with [`Session::max_packet_size`].
    pub fn publish_size(&self, topic: &str, payload_len: usize, qos: QoS) -> usize {
        publish_size(self.tx.protocol, topic.len(), payload_len, sent_qos(qos))
    }

    /// The largest payload a PUBLISH on `topic` at `qos` may carry within
    /// [`Session::max_packet_size`] (0 if not even an empty one fits).
    pub fn max_payload_len(&self, topic: &str, qos: QoS) -> usize {
        let max = self.max_packet_size();
        let empty = self.publish_size(topic, 0, qos);
        if empty > max {
            return 0;
        }
        // The remaining-length field grows by at most 3 bytes: step down
        // from the largest candidate until the whole packet fits.
        let mut len = max - empty;
        while len > 0 && self.publish_size(topic, len, qos) > max {
            len -= 1;
        }
        len
    }

    /// Queue or send a publish that passed [`Session::check_publish`].
    fn publish_checked(
        &mut self,
        now: Millis,
        id: PublishId,
        topic: &str,
        payload: Bytes,
        qos: QoS,
    ) {
        let qos = sent_qos(qos);
        let publish = Publish::new(self.tx.protocol, topic, qos, payload);
        if qos == QoS::AtMostOnce {
            self.tx
                .send(now, Outgoing::Publish(&publish), &mut self.events);
            self.events.push_back(Event::Acked(id));
        } else {
            self.outbox.enqueue(id, publish);
            self.drain_queue(now);
        }
        self.finish();
    }

    /// Subscribe to `filters`; needs a connected session. The SUBACK arrives as
    /// [`Event::Subscribed`]. Subscriptions do not survive a reconnect (the
    /// session is clean): subscribe again after every [`Event::Connected`].
    /// Under MQTT 5 every filter is sent with No Local: the server does not
    /// send the session its own publishes back.
    pub fn subscribe(
        &mut self,
        now: Millis,
        filters: &[(&str, QoS)],
    ) -> Result<SubscribeId, SessionError> {
        if self.state != SessionState::Connected {
            return Err(SessionError::NotConnected);
        }
        if filters.is_empty() {
            return Err(SessionError::InvalidTopic(
                "a SUBSCRIBE needs at least one filter".to_string(),
            ));
        }
        for (filter, _) in filters {
            check_filter(filter)?;
        }
        let filters: Vec<(String, QoS)> = filters
            .iter()
            .map(|(filter, qos)| (filter.to_string(), *qos))
            .collect();
        let size = subscribe_size(self.tx.protocol, &filters);
        let max = self.max_packet_size();
        if size > max {
            return Err(SessionError::InvalidTopic(format!(
                "the filters take {size} bytes, over the {max}-byte maximum packet size"
            )));
        }
        let (outbox, subscribes) = (&self.outbox, &self.subscribes);
        let pkid = self
            .ids
            .allocate(|id| outbox.has_pkid(id) || subscribes.contains_key(&id))
            .ok_or_else(|| SessionError::Protocol("all 65535 packet ids are in use".into()))?;
        let id = SubscribeId(self.next_subscribe);
        self.next_subscribe += 1;
        let subscribe = Outgoing::Subscribe {
            pkid,
            filters: &filters,
        };
        self.tx.send(now, subscribe, &mut self.events);
        let names = filters.into_iter().map(|(filter, _)| filter).collect();
        self.subscribes
            .insert(pkid, PendingSubscribe { id, filters: names });
        self.finish();
        Ok(id)
    }

    /// Send DISCONNECT and end the session; [`Event::Closed`] with no error
    /// follows. QoS 1 publishes still in flight are kept for the next connect.
    /// Bytes already queued (and the DISCONNECT) wait in
    /// [`Session::poll_transmit`]; then the caller closes the transport.
    pub fn disconnect(&mut self, now: Millis) {
        if self.link == Link::Open {
            self.tx.send(now, Outgoing::Disconnect, &mut self.events);
        }
        let pending = mem::take(&mut self.tx.out);
        self.reset_connection();
        self.tx.out = pending;
        self.state = SessionState::Disconnected;
        self.emit_closed(None);
        self.link = Link::Closing;
        self.finish();
    }

    /// Act on one packet from the broker.
    fn handle_packet(&mut self, now: Millis, packet: Incoming) {
        let log = log_incoming(&packet);
        let kind = log.kind;
        self.events.push_back(Event::Packet(log));
        match (self.state, packet) {
            (_, Incoming::ClientOnly(kind)) => self.fail(SessionError::Protocol(format!(
                "the broker sent {kind}, which only a client may send"
            ))),
            (_, Incoming::Auth) => self.fail(SessionError::Protocol(
                "the broker sent AUTH, but no authentication method was asked for".to_string(),
            )),
            (
                _,
                Incoming::Disconnect {
                    reason,
                    reason_string,
                },
            ) => {
                let explanation = match reason {
                    0 => "the server ended the connection without giving an error".to_string(),
                    _ => explain_with(reason, reason_string.as_deref()),
                };
                self.blame_close(now);
                self.fail(SessionError::ServerDisconnected {
                    reason,
                    explanation,
                })
            }
            (
                SessionState::Connecting,
                Incoming::ConnAck {
                    session_present,
                    code,
                    limits,
                    reason_string,
                },
            ) => self.on_connack(now, session_present, code, limits, reason_string),
            (SessionState::Connecting, _) => self.fail(SessionError::Protocol(format!(
                "the broker sent {kind} before CONNACK"
            ))),
            (SessionState::Connected, Incoming::ConnAck { .. }) => self.fail(
                SessionError::Protocol("the broker sent a second CONNACK".to_string()),
            ),
            (SessionState::Connected, Incoming::Publish(publish)) => self.on_publish(now, publish),
            (
                SessionState::Connected,
                Incoming::PubAck {
                    pkid,
                    reason,
                    reason_string,
                },
            ) => {
                match reason {
                    Some(reason) if reason >= 0x80 => {
                        // Tried again first in line, until its last strike.
                        if let Some(Strike::Reject(id, topic)) = self.outbox.reject(pkid) {
                            self.events.push_back(Event::Rejected {
                                id,
                                topic,
                                reason,
                                explanation: format!(
                                    "{} (refused {MAX_STRIKES} times; set aside)",
                                    explain_with(reason, reason_string.as_deref())
                                ),
                            });
                        }
                        self.drain_queue(now);
                    }
                    _ => {
                        if let Some((id, _)) = self.outbox.ack(pkid) {
                            self.events.push_back(Event::Acked(id));
                            self.drain_queue(now);
                        }
                    }
                }
            }
            (SessionState::Connected, Incoming::PubRel(pkid)) => {
                self.qos2_received.remove(&pkid);
                self.tx.send(now, Outgoing::PubComp(pkid), &mut self.events);
            }
            (SessionState::Connected, Incoming::SubAck { pkid, codes }) => {
                self.on_suback(pkid, &codes)
            }
            (SessionState::Connected, Incoming::PingResp) => self.timers.stop(Timer::PingResp),
            // We never send QoS 2 publishes or UNSUBSCRIBE: nothing to match.
            (SessionState::Connected, Incoming::PubRec(_))
            | (SessionState::Connected, Incoming::PubComp(_))
            | (SessionState::Connected, Incoming::UnsubAck(_)) => {}
            // No packets are read without an open transport.
            (SessionState::Disconnected, _) => {}
        }
    }

    fn on_connack(
        &mut self,
        now: Millis,
        session_present: bool,
        code: u8,
        limits: ServerLimits,
        reason_string: Option<String>,
    ) {
        self.timers.stop(Timer::Connect);
        if code != 0 {
            let mut reason = match (self.tx.protocol, code) {
                // A 3.1.1-only broker answers an MQTT 5 CONNECT with code 1.
                (Protocol::V5, 1) => {
                    "the broker does not accept MQTT 5 (protocol version refused): \
                     choose MQTT 3.1.1 in the profile"
                        .to_string()
                }
                _ => explain_connack(code),
            };
            if let Some(words) = reason_string.filter(|words| !words.is_empty()) {
                reason = format!("{reason} (the server says: {words})");
            }
            self.events.push_back(Event::Refused {
                code,
                reason: reason.clone(),
            });
            self.fail(SessionError::Refused { code, reason });
            return;
        }
        self.state = SessionState::Connected;
        self.server = limits;
        self.events.push_back(Event::Connected {
            session_present,
            server_limits: limits,
        });
        let deadline = now + self.options.puback_timeout_ms;
        for publish in self.outbox.prepare_resend(now, deadline) {
            self.tx
                .send(now, Outgoing::Publish(publish), &mut self.events);
        }
        self.drain_queue(now);
    }

    fn on_publish(&mut self, now: Millis, publish: mqttbytes::v4::Publish) {
        let deliver = match publish.qos {
            QoS::AtMostOnce => true,
            // Packet id 0 is acked as 0: ThingsBoard's counter wraps to it.
            QoS::AtLeastOnce => {
                let ack = Outgoing::PubAck(publish.pkid);
                self.tx.send(now, ack, &mut self.events);
                true
            }
            QoS::ExactlyOnce => {
                let rec = Outgoing::PubRec(publish.pkid);
                self.tx.send(now, rec, &mut self.events);
                self.qos2_received.insert(publish.pkid)
            }
        };
        if deliver {
            self.events.push_back(Event::Message {
                topic: publish.topic,
                payload: publish.payload,
                qos: publish.qos,
                retain: publish.retain,
            });
        }
    }

    fn on_suback(&mut self, pkid: u16, codes: &[u8]) {
        // A SUBACK for no pending SUBSCRIBE (e.g. sent before a reconnect) is ignored.
        let Some(pending) = self.subscribes.remove(&pkid) else {
            return;
        };
        if codes.len() != pending.filters.len() {
            let why = format!(
                "SUBACK has {} results for {} filters",
                codes.len(),
                pending.filters.len()
            );
            self.fail(SessionError::Protocol(why));
            return;
        }
        let results = pending
            .filters
            .into_iter()
            .zip(codes)
            .map(|(filter, &code)| SubscribeResult {
                filter,
                granted: match code {
                    0 => Some(QoS::AtMostOnce),
                    1 => Some(QoS::AtLeastOnce),
                    2 => Some(QoS::ExactlyOnce),
                    _ => None,
                },
                reason: (code >= 0x80).then_some(code),
            })
            .collect();
        self.events.push_back(Event::Subscribed {
            id: pending.id,
            results,
        });
    }

    /// Send queued QoS 1 publishes while connected and under the in-flight
    /// window. A publish over the server's Maximum Packet Size (smaller than
    /// ours when it was queued) is rejected with 0x95 instead of being sent:
    /// the server would end the connection for it.
    /// The server closed the connection: the oldest publish in flight, if
    /// just sent, counts it against itself; at its last strike it is set
    /// aside as rejected.
    fn blame_close(&mut self, now: Millis) {
        if self.state != SessionState::Connected {
            return;
        }
        if let Some(Strike::Reject(id, topic)) = self.outbox.blame_oldest(now) {
            self.events.push_back(Event::Rejected {
                id,
                topic,
                reason: 0x80,
                explanation: format!(
                    "the server closed the connection right after this message {MAX_STRIKES} \
                     times; set aside"
                ),
            });
        }
    }

    fn drain_queue(&mut self, now: Millis) {
        if self.state != SessionState::Connected {
            return;
        }
        let cap = self.inflight_window();
        let max = self.max_packet_size();
        while self.outbox.inflight_len() < cap {
            let Some(front) = self.outbox.front() else {
                break;
            };
            let size = publish_size(
                self.tx.protocol,
                front.topic().len(),
                front.payload().len(),
                front.qos(),
            );
            if size > max {
                if let Some((id, publish)) = self.outbox.pop_front() {
                    let reason = 0x95;
                    self.events.push_back(Event::Rejected {
                        id,
                        topic: publish.into_topic(),
                        reason,
                        explanation: format!(
                            "{}: {size} bytes, over the server's {max}",
                            super::explain_reason(reason)
                        ),
                    });
                }
                continue;
            }
            let (outbox, subscribes) = (&self.outbox, &self.subscribes);
            let Some(pkid) = self
                .ids
                .allocate(|id| outbox.has_pkid(id) || subscribes.contains_key(&id))
            else {
                break;
            };
            let deadline = now + self.options.puback_timeout_ms;
            if let Some((_, publish)) = self.outbox.launch(pkid, now, deadline) {
                self.tx
                    .send(now, Outgoing::Publish(publish), &mut self.events);
            }
        }
    }

    /// End the connection for `error`: discard what was not sent or read,
    /// stop the timers, keep publishes in flight for the next connect.
    fn fail(&mut self, error: SessionError) {
        self.reset_connection();
        self.state = SessionState::Disconnected;
        self.emit_closed(Some(error));
        self.link = Link::Closing;
    }

    /// Emit `Closed` unless it was already emitted for this transport.
    fn emit_closed(&mut self, error: Option<SessionError>) {
        if self.link != Link::Closing {
            self.last_error = error.clone();
            self.events.push_back(Event::Closed { error });
        }
    }

    /// Forget everything that belongs to one connection.
    fn reset_connection(&mut self) {
        self.server = ServerLimits::default();
        self.framer.clear();
        self.tx.out = BytesMut::new();
        self.tx.error = None;
        self.timers.stop_all();
        self.outbox.stop_deadlines();
        self.subscribes.clear();
        self.qos2_received.clear();
    }

    /// Half the keepalive in ms (0 when keepalive is off). Under MQTT 5 the
    /// server's Server Keep Alive, if it sent one, replaces ours.
    fn half_keepalive_ms(&self) -> u64 {
        let secs = self
            .server
            .server_keep_alive
            .unwrap_or(self.options.keep_alive_secs);
        u64::from(secs) * 500
    }

    /// When to send PINGREQ: half the keepalive after the last send, so a
    /// throttled background tab still pings before the broker's 1.5× cut-off.
    fn ping_at(&self) -> Option<Millis> {
        let half = self.half_keepalive_ms();
        (self.state == SessionState::Connected && half > 0).then(|| self.tx.last_sent + half)
    }

    /// Epilogue of every entry point: end the session if a packet could not
    /// be encoded, and re-arm the ping timer from the last send.
    fn finish(&mut self) {
        if let Some(why) = self.tx.error.take() {
            if self.link == Link::Open {
                self.fail(SessionError::Malformed(why));
            }
        }
        match self.ping_at() {
            Some(at) => self.timers.set(Timer::Ping, at),
            None => self.timers.stop(Timer::Ping),
        }
    }
}
