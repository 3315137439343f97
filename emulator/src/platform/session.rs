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
    /// Publish to `session` at `qos` with the session's next server packet
    /// id (truncated to 16 bits, so 0 appears after 65 535 pushes; taken
    /// even at QoS 0, where it is not written; never retransmitted).
    Push {
        /// Target connection.
        session: SessionId,
        /// Topic.
        topic: String,
        /// Payload.
        payload: Vec<u8>,
        /// The QoS granted to the session's subscription matching `topic`,
        /// or 1 without one (ThingsBoard's `getQoSForTopic`, contract §2).
        qos: u8,
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
    /// 65 536): a bigger one closes the connection (MQTT 5: DISCONNECT 129,
    /// malformed packet, as ThingsBoard's decoder failure does).
    pub max_payload_size: usize,
    /// Most QoS 1 publishes received and not yet acknowledged; more closes
    /// the connection (MQTT 5: DISCONNECT 151, quota exceeded).
    pub max_inflight_messages: usize,
}

// ---------------------------------------------------------------------------
// The rules (contract §1, §2, §4, §6, §11).
// ---------------------------------------------------------------------------

use super::limits::{Buckets, Cost};
use super::{mask, topics, Attach, Credentials, Platform, Session};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Why a publish was not processed, as the topic handlers report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Problem {
    /// The body is not valid JSON (gateway topics).
    NotJson(String),
    /// Valid JSON of the wrong shape, a missing required field or no valid
    /// entries: PUBACK 131 and close.
    Invalid(String),
    /// One device's values could not be converted.
    Conversion(String),
    /// Invalid input on a device-level topic: close.
    DeviceInvalid(String),
    /// A rate limit was hit.
    RateLimited(String),
    /// Not a topic ThingsBoard knows.
    UnknownTopic,
}

/// What a topic handler works on.
pub(super) struct Ctx<'a> {
    /// The publishing session.
    pub session: SessionId,
    /// Its device.
    pub device: Uuid,
    /// The topic.
    pub topic: &'a str,
    /// The payload.
    pub payload: &'a [u8],
    /// Receive time.
    pub now: u64,
    /// Sub-devices the message named (for QoS 0 notices).
    pub named: Vec<String>,
}

/// Filters ThingsBoard grants (§2, §7); anything else is refused.
const GRANTED_FILTERS: &[&str] = &[
    topics::GW_ATTRIBUTES,
    topics::GW_ATTRIBUTES_RESPONSE,
    topics::GW_RPC,
    topics::ME_ATTRIBUTES,
    "v1/devices/me/attributes/response/+",
    "v1/devices/me/rpc/request/+",
    "v1/devices/me/rpc/response/+",
    "v2/a",
    "v2/a/res/+",
    "v2/r/req/+",
    "v2/r/res/+",
    "v2/fw/response/+/chunk/+",
    "v2/sw/response/+/chunk/+",
];

impl Platform {
    /// Checks a CONNECT's credentials (contract §1: the user name as an
    /// access token; MQTT basic by client id and user name, or client id
    /// alone) and opens a session for it. An older session of the same
    /// device is ended with an [`Effect::Close`] (MQTT 5 reason 142); a
    /// gateway registration of it is dropped.
    pub fn open_session(
        &mut self,
        req: ConnectRequest,
        now: u64,
    ) -> Result<SessionOpened, ConnectRefusal> {
        if self.closing {
            return Err(ConnectRefusal::ServerUnavailable);
        }
        let who = match &req.username {
            Some(u) => format!("user name {}", mask(u)),
            None => format!("client id {:?}", req.client_id),
        };
        let device = match self.authenticate(&req) {
            Ok(id) => id,
            Err((refusal, why)) => {
                let unknown_token = refusal == ConnectRefusal::BadCredentials
                    && why == UNKNOWN_TOKEN
                    && self.config.accept_any_token;
                match (&req.username, unknown_token) {
                    (Some(token), true) if !token.is_empty() => {
                        self.create_gateway_for_token(&token.clone(), now)
                    }
                    _ => {
                        self.journal(
                            now,
                            None,
                            "",
                            &[],
                            format!("CONNECT from {} with {who}: {why}", req.peer),
                            format!("CONNACK {} (refused)", refusal.code(req.version)),
                            true,
                        );
                        return Err(refusal);
                    }
                }
            }
        };
        match self.attach.get(&device).copied() {
            Some(Attach::Direct(old)) => self.end_session(
                old,
                Some(Close {
                    disconnect_reason: Some(142),
                }),
                now,
                "session taken over by a newer CONNECT with the same credentials",
            ),
            Some(Attach::Gateway(gw)) => {
                if let Some(s) = self.sessions.get_mut(&gw) {
                    s.sub_devices.remove(&device);
                }
            }
            None => {}
        }
        self.next_session += 1;
        let session = SessionId(self.next_session);
        self.sessions.insert(
            session,
            Session {
                id: session,
                device,
                version: req.version,
                peer: req.peer.clone(),
                connected_at: now,
                last_activity: now,
                subscriptions: BTreeMap::new(),
                sub_devices: BTreeMap::new(),
                gateway_buckets: Buckets::new(&self.limits.gateway_rate_limits, now),
                device_buckets: Buckets::new(&self.limits.device_rate_limits, now),
            },
        );
        self.attach.insert(device, Attach::Direct(session));
        let d = self.devices.get_mut(&device).expect("authenticated");
        d.last_connect_time = Some(now);
        d.last_activity_time = Some(now);
        let opened = SessionOpened {
            session,
            device_name: d.name.clone(),
            gateway: d.is_gateway(),
        };
        self.log.push(format!(
            "session {} opened for {:?}{} ({who}, MQTT {}) from {}",
            session.0,
            opened.device_name,
            if opened.gateway { " (gateway)" } else { "" },
            version_name(req.version),
            req.peer
        ));
        Ok(opened)
    }

    fn authenticate(&self, req: &ConnectRequest) -> Result<Uuid, (ConnectRefusal, &'static str)> {
        let password = req.password.as_deref();
        match req.username.as_deref().filter(|u| !u.is_empty()) {
            Some(user) => {
                for d in self.devices.values() {
                    if let Credentials::MqttBasic {
                        client_id,
                        user_name: Some(u),
                        password: stored,
                    } = &d.credentials
                    {
                        if u == user && client_id.as_ref().is_none_or(|c| *c == req.client_id) {
                            return match stored {
                                Some(p) if Some(p.as_bytes()) != password => {
                                    Err((ConnectRefusal::BadCredentials, "password mismatch"))
                                }
                                _ => Ok(d.id),
                            };
                        }
                    }
                }
                self.token_owner(user)
                    .ok_or((ConnectRefusal::BadCredentials, UNKNOWN_TOKEN))
            }
            None => self
                .devices
                .values()
                .find(|d| {
                    matches!(&d.credentials, Credentials::MqttBasic {
                        client_id: Some(c), user_name: None, ..
                    } if *c == req.client_id && !c.is_empty())
                })
                .map(|d| d.id)
                .ok_or((
                    ConnectRefusal::BadCredentials,
                    "no user name and no MQTT basic credentials for the client id",
                )),
        }
    }

    /// Answers a SUBSCRIBE: per filter, the granted QoS (at most 1) or
    /// `None` for a refused filter (0x80 under 3.1.1, 0x8F under MQTT 5).
    /// Subscribing to a device-level RPC request filter sends the requests
    /// held for the device.
    pub fn subscribe(
        &mut self,
        session: SessionId,
        filters: &[(String, u8)],
        now: u64,
    ) -> Vec<Option<u8>> {
        self.session_activity(session, now);
        let Some(s) = self.sessions.get_mut(&session) else {
            return filters.iter().map(|_| None).collect();
        };
        let mut flush = false;
        let mut refused = Vec::new();
        let answers = filters
            .iter()
            .map(|(filter, qos)| {
                if GRANTED_FILTERS.contains(&filter.as_str()) {
                    let granted = (*qos).min(1);
                    s.subscriptions.insert(filter.clone(), granted);
                    flush |= filter == "v1/devices/me/rpc/request/+" || filter == "v2/r/req/+";
                    Some(granted)
                } else {
                    refused.push(filter.clone());
                    None
                }
            })
            .collect();
        let device = s.device;
        for filter in refused {
            self.log.push(format!(
                "session {}: subscription to {filter:?} refused (not a ThingsBoard topic filter)",
                session.0
            ));
        }
        if flush {
            self.flush_rpcs(device, now);
        }
        answers
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
        let Some(s) = self.sessions.get(&session) else {
            return Verdict {
                ack: None,
                close: Some(Close {
                    disconnect_reason: None,
                }),
            };
        };
        let device = s.device;
        let version = s.version;
        let (gateway, puback_on_failure) = self
            .devices
            .get(&device)
            .map(|d| (d.is_gateway(), d.info_flag("sendPubackOnValidationFailure")))
            .unwrap_or((false, false));
        self.session_activity(session, now);
        let gateway_topic = topic.starts_with("v1/gateway/");
        if gateway_topic && !gateway {
            self.journal(
                now,
                Some(session),
                topic,
                payload,
                "gateway topic from a device without the gateway flag".into(),
                "dropped, no PUBACK".into(),
                false,
            );
            return Verdict {
                ack: None,
                close: None,
            };
        }
        let mut cx = Ctx {
            session,
            device,
            topic,
            payload,
            now,
            named: Vec::new(),
        };
        let result = if gateway_topic {
            self.gateway_publish(&mut cx)
        } else {
            self.device_publish(&mut cx)
        };
        let ack = |reason: u8| Some(Ack { pkid, reason });
        let v5 = version.is_v5();
        let close = Some(Close {
            disconnect_reason: None,
        });
        let (verdict, problem) = match result {
            Ok(()) => {
                let exempt = topic == topics::GW_CONNECT || topic == topics::GW_DISCONNECT;
                if qos == 0 && gateway_topic && !exempt {
                    // ThingsBoard's aggregate PUBACK callback on packet id -1.
                    if v5 {
                        for name in std::mem::take(&mut cx.named) {
                            self.push(
                                session,
                                topics::GW_DISCONNECT,
                                &json!({"device": name, "reason": 129}),
                            );
                        }
                    }
                    self.journal(
                        now,
                        Some(session),
                        topic,
                        payload,
                        "QoS 0 publish on a gateway topic (packet id -1)".into(),
                        format!(
                            "processed; PUBACK with packet id 65535 and code 128{}",
                            if v5 {
                                ", notice reason 129 per device"
                            } else {
                                ""
                            }
                        ),
                        false,
                    );
                    return Verdict {
                        ack: Some(Ack {
                            pkid: 0xFFFF,
                            reason: 128,
                        }),
                        close: None,
                    };
                }
                return Verdict {
                    ack: if qos > 0 { ack(0) } else { None },
                    close: None,
                };
            }
            Err(Problem::UnknownTopic) => (
                Verdict {
                    ack: if qos > 0 {
                        ack(if v5 { 144 } else { 0 })
                    } else {
                        None
                    },
                    close: None,
                },
                "unknown topic".to_string(),
            ),
            Err(Problem::NotJson(why)) if gateway_topic && (v5 || puback_on_failure) => (
                Verdict {
                    ack: ack(153),
                    close: None,
                },
                why,
            ),
            Err(Problem::Conversion(why)) if v5 || puback_on_failure => (
                Verdict {
                    ack: ack(153),
                    close: None,
                },
                why,
            ),
            Err(Problem::NotJson(why) | Problem::DeviceInvalid(why)) if puback_on_failure => (
                Verdict {
                    ack: ack(153),
                    close: None,
                },
                why,
            ),
            Err(Problem::NotJson(why) | Problem::Conversion(why) | Problem::DeviceInvalid(why)) => {
                (Verdict { ack: None, close }, why)
            }
            Err(Problem::Invalid(why)) => (
                Verdict {
                    ack: ack(131),
                    close,
                },
                why,
            ),
            Err(Problem::RateLimited(why)) => (
                Verdict {
                    ack: if v5 { ack(151) } else { None },
                    close,
                },
                why,
            ),
        };
        let verdict = Verdict {
            ack: if qos == 0 { None } else { verdict.ack },
            ..verdict
        };
        let mut action = match verdict.ack {
            Some(a) if v5 => format!("PUBACK {}", a.reason),
            Some(_) => "PUBACK".to_string(),
            None => "no PUBACK".to_string(),
        };
        if verdict.close.is_some() {
            action.push_str(", connection closed");
        }
        self.journal(
            now,
            Some(session),
            topic,
            payload,
            problem,
            action,
            verdict.close.is_some(),
        );
        if verdict.close.is_some() {
            // The transport closes the connection after the ack; the
            // session's sub-devices are deregistered now.
            self.end_session(session, None, now, "closed after a rejected publish");
        }
        verdict
    }

    /// Charges a message to the gateway's sub-device buckets (`gateway`) or
    /// the session device's own buckets.
    pub(super) fn charge(&mut self, cx: &Ctx, gateway: bool, cost: Cost) -> Result<(), Problem> {
        let Some(s) = self.sessions.get_mut(&cx.session) else {
            return Ok(());
        };
        let buckets = if gateway {
            &mut s.gateway_buckets
        } else {
            &mut s.device_buckets
        };
        buckets.charge(cost, cx.now).map_err(|e| {
            Problem::RateLimited(format!(
                "{} {e}",
                if gateway {
                    "gateway (sub-device traffic)"
                } else {
                    "device"
                }
            ))
        })
    }

    /// A PINGREQ from `session`: activity for its device, and for its
    /// sub-devices when the gateway has "overwrite activity time".
    pub fn ping(&mut self, session: SessionId, now: u64) {
        self.session_activity(session, now);
    }

    /// The connection of `session` is gone: its sub-devices are deregistered
    /// (ThingsBoard's `onDevicesDisconnect`). Does nothing for a session the
    /// platform already ended.
    pub fn close_session(&mut self, session: SessionId, now: u64, why: &str) {
        self.end_session(session, None, now, why);
    }

    /// The effects left by the calls since the last drain, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The limits the transport enforces (current values).
    pub fn transport_limits(&self) -> TransportLimits {
        TransportLimits {
            max_payload_size: self.limits.max_payload_size,
            max_inflight_messages: self.limits.max_inflight_messages,
        }
    }

    /// The open sessions, by id.
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    /// Closes a session from the REST side (MQTT 5: DISCONNECT with
    /// `reason`). `false` when there is no such session.
    pub fn force_close(&mut self, session: SessionId, reason: Option<u8>, now: u64) -> bool {
        if !self.sessions.contains_key(&session) {
            return false;
        }
        self.end_session(
            session,
            Some(Close {
                disconnect_reason: reason,
            }),
            now,
            "closed through /emulator/sessions",
        );
        true
    }
}

const UNKNOWN_TOKEN: &str = "unknown access token";

/// `"3.1"`, `"3.1.1"` or `"5"`.
pub fn version_name(v: MqttVersion) -> &'static str {
    match v {
        MqttVersion::V31 => "3.1",
        MqttVersion::V311 => "3.1.1",
        MqttVersion::V5 => "5",
    }
}
