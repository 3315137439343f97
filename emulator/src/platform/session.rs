//! What the MQTT transport (`crate::server`) asks of the platform, and what
//! the platform asks of the transport.
//!
//! The transport owns sockets, the packet codec (MQTT 3.1, 3.1.1 and 5) and
//! one task per connection. The platform owns every rule: who may connect,
//! what a publish is answered with, which subscription filters are granted,
//! and when a connection must be closed. Time is passed in (`now`, epoch
//! milliseconds); nothing here reads a clock or does I/O.
//!
//! Calls made by the transport, in the order a connection makes them:
//!
//! 1. [`Platform::open_session`] for a CONNECT. `Err` is a refusal: write the
//!    CONNACK with [`ConnectRefusal::code`] for the version and close.
//! 2. [`Platform::subscribe`] for each SUBSCRIBE: one answer per filter.
//! 3. [`Platform::publish`] for each PUBLISH (any QoS): the [`Verdict`] says
//!    which PUBACK to write (if any) and whether to close afterwards.
//! 4. [`Platform::ping`] for each PINGREQ.
//! 5. [`Platform::close_session`] once the connection is gone, whoever
//!    closed it (the transport calls it also after a `Close` effect).
//!
//! Besides, the transport calls [`Platform::tick`] a few times per second.
//!
//! Every call may leave [`Effect`]s behind (pushes to any session, closes of
//! any session); the transport drains them with [`Platform::take_effects`]
//! after each call, under the same lock, and routes each to its session.

use serde::Serialize;

/// One accepted MQTT connection, as the platform knows it. Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SessionId(pub u64);

/// The protocol level of a CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MqttVersion {
    /// MQTT 3.1 (level 3, protocol name `MQIsdp`).
    V31,
    /// MQTT 3.1.1 (level 4).
    V311,
    /// MQTT 5 (level 5).
    V5,
}

impl MqttVersion {
    /// Whether reason codes (PUBACK, DISCONNECT, SUBACK 0x8F) exist.
    pub fn is_v5(self) -> bool {
        self == MqttVersion::V5
    }
}

/// The fields of a CONNECT that the platform checks.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    /// Client identifier (may be empty).
    pub client_id: String,
    /// User name, if any (an access token, or an MQTT basic user name).
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<Vec<u8>>,
    /// Protocol level.
    pub version: MqttVersion,
    /// Keepalive from the CONNECT, seconds.
    pub keep_alive: u16,
    /// Remote address, for logs (`127.0.0.1:53412`, or `ws 127.0.0.1:53412`).
    pub peer: String,
}

/// Why a CONNECT is refused (contract §1, "CONNACK on failure").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectRefusal {
    /// Unknown token, or user name/password mismatch.
    BadCredentials,
    /// Known credentials that may not connect.
    NotAuthorized,
    /// The client id is not acceptable.
    ClientIdInvalid,
    /// The platform cannot take the session now.
    ServerUnavailable,
}

impl ConnectRefusal {
    /// The CONNACK return code (3.1/3.1.1) or reason code (5).
    pub fn code(self, version: MqttVersion) -> u8 {
        match (self, version.is_v5()) {
            (ConnectRefusal::BadCredentials, true) => 134,
            (ConnectRefusal::NotAuthorized, true) => 135,
            (ConnectRefusal::ClientIdInvalid, true) => 133,
            (ConnectRefusal::ServerUnavailable, true) => 136,
            (ConnectRefusal::BadCredentials | ConnectRefusal::NotAuthorized, false) => 5,
            (ConnectRefusal::ClientIdInvalid, false) => 2,
            (ConnectRefusal::ServerUnavailable, false) => 3,
        }
    }
}

/// An accepted CONNECT.
#[derive(Debug, Clone)]
pub struct SessionOpened {
    /// The new session.
    pub session: SessionId,
    /// The device the credentials belong to.
    pub device_name: String,
    /// Whether that device has "Is gateway" set.
    pub gateway: bool,
}

/// The answer to one PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The PUBACK to write, if any: its packet id (ThingsBoard answers a
    /// QoS 0 gateway publish with id 0xFFFF) and reason code (written only
    /// under MQTT 5). `None`: no PUBACK (a gateway topic from a device
    /// without the gateway flag, or a QoS 0 device-level publish).
    pub ack: Option<Ack>,
    /// Close the connection after writing the ack.
    pub close: Option<Close>,
}

/// A PUBACK to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Packet id.
    pub pkid: u16,
    /// MQTT 5 reason code (0 success, 128, 131, 144, 151, 153).
    pub reason: u8,
}

/// How a connection is closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    /// Under MQTT 5, a DISCONNECT with this reason code is written before the
    /// socket closes (142 session taken over, 150 message rate too high…);
    /// `None` closes the socket without a DISCONNECT, as ThingsBoard's
    /// `ctx.close()` does. Under 3.1.1 the socket just closes.
    pub disconnect_reason: Option<u8>,
}

/// What the transport must do on behalf of the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Publish to `session` at QoS 1 with the session's next server packet
    /// id (truncated to 16 bits, so 0 appears after 65 535 pushes; never
    /// retransmitted).
    Push {
        /// Target connection.
        session: SessionId,
        /// Topic.
        topic: String,
        /// Payload.
        payload: Vec<u8>,
    },
    /// Close `session`'s connection (after writing what was queued for it).
    Close {
        /// Target connection.
        session: SessionId,
        /// How.
        close: Close,
        /// Why, for the log.
        why: String,
    },
}

/// The limits the transport enforces itself (the platform enforces the
/// rate limits). Read with [`Platform::transport_limits`] per packet: they
/// can change while running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportLimits {
    /// Largest packet accepted (ThingsBoard's `NETTY_MAX_PAYLOAD_SIZE`,
    /// 65 536): a bigger one closes the connection (MQTT 5: DISCONNECT 149,
    /// packet too large).
    pub max_payload_size: usize,
    /// Most QoS 1 publishes received and not yet acknowledged; more closes
    /// the connection (MQTT 5: DISCONNECT 151, quota exceeded).
    pub max_inflight_messages: usize,
}

// ---------------------------------------------------------------------------
// Interim implementation over the single-gateway platform, so the transport
// can be built and tried while the tenant model is written. It accepts every
// CONNECT, grants every filter and answers every publish with PUBACK 0.
// The tenant model replaces this block.
// ---------------------------------------------------------------------------

use super::Platform;

impl Platform {
    /// Checks a CONNECT's credentials and opens a session for it (ending any
    /// older session of the same device with an [`Effect::Close`], MQTT 5
    /// reason 142).
    pub fn open_session(
        &mut self,
        req: ConnectRequest,
        now: u64,
    ) -> Result<SessionOpened, ConnectRefusal> {
        self.interim_next_session += 1;
        let session = SessionId(self.interim_next_session);
        self.interim_session = Some(session);
        self.set_broker_connected(true, now);
        self.log.push(format!(
            "session {} opened for {:?} from {}",
            session.0, req.username, req.peer
        ));
        Ok(SessionOpened {
            session,
            device_name: self.config.gateway_name.clone(),
            gateway: true,
        })
    }

    /// Answers a SUBSCRIBE: per filter, the granted QoS (at most 1) or
    /// `None` for a refused filter (0x80 under 3.1.1, 0x8F under MQTT 5).
    pub fn subscribe(
        &mut self,
        _session: SessionId,
        filters: &[(String, u8)],
        _now: u64,
    ) -> Vec<Option<u8>> {
        filters.iter().map(|(_, qos)| Some((*qos).min(1))).collect()
    }

    /// Handles one PUBLISH from `session` (`pkid` is 0 for QoS 0).
    pub fn publish(
        &mut self,
        session: SessionId,
        topic: &str,
        payload: &[u8],
        qos: u8,
        pkid: u16,
        now: u64,
    ) -> Verdict {
        let out = self.handle(topic, payload, now);
        self.interim_effects
            .extend(out.into_iter().map(|o| Effect::Push {
                session,
                topic: o.topic,
                payload: o.payload.into_bytes(),
            }));
        Verdict {
            ack: (qos > 0).then_some(Ack { pkid, reason: 0 }),
            close: None,
        }
    }

    /// A PINGREQ from `session` (activity for the gateway, and for its
    /// sub-devices when the gateway has "overwrite activity time").
    pub fn ping(&mut self, _session: SessionId, _now: u64) {}

    /// The connection of `session` is gone: its sub-devices are deregistered.
    pub fn close_session(&mut self, session: SessionId, now: u64, why: &str) {
        if self.interim_session == Some(session) {
            self.interim_session = None;
            self.set_broker_connected(false, now);
            self.close_gateway_session(now, why);
        }
    }

    /// The effects left by the calls since the last drain, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        let mut effects = std::mem::take(&mut self.interim_effects);
        if let Some(session) = self.interim_session {
            for o in self.interim_outgoing.drain(..) {
                effects.push(Effect::Push {
                    session,
                    topic: o.topic,
                    payload: o.payload.into_bytes(),
                });
            }
        }
        effects
    }

    /// The limits the transport enforces.
    pub fn transport_limits(&self) -> TransportLimits {
        TransportLimits {
            max_payload_size: self.config.max_payload_size,
            max_inflight_messages: self.config.max_inflight_messages,
        }
    }
}
