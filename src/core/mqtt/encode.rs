//! Encoding the session's packets with mqttbytes (`v4` for MQTT 3.1.1, `v5`
//! for MQTT 5), and their traffic-log lines.

use bytes::{Bytes, BytesMut};
use mqttbytes::{v4, v5, QoS};

use super::decode::describe;
use super::publish::Publish;
use super::{ConnectOptions, Credentials, Direction, PacketLog, Protocol};

/// A CONNECT in the codec of the session's protocol (boxed: built once per
/// connection, and mqttbytes' `v5` CONNECT is large).
#[derive(Debug, Clone)]
pub(crate) enum Connect {
    V4(Box<v4::Connect>),
    V5(Box<v5::Connect>),
}

/// A packet we send.
pub(crate) enum Outgoing<'a> {
    Connect(&'a Connect),
    Publish(&'a Publish),
    PubAck(u16),
    PubRec(u16),
    PubComp(u16),
    /// A SUBSCRIBE with packet id `pkid`; under MQTT 5 every filter has No
    /// Local set, so the server never sends the gateway its own publishes.
    Subscribe {
        pkid: u16,
        filters: &'a [(String, QoS)],
    },
    PingReq,
    Disconnect,
}

impl Outgoing<'_> {
    /// Append the encoded packet to `out` in `protocol`, or say why it
    /// cannot be encoded (then nothing is appended).
    pub fn write(&self, protocol: Protocol, out: &mut BytesMut) -> Result<(), String> {
        let start = out.len();
        let result = match (self, protocol) {
            // Connect::write patches its flags byte at an index counted from
            // the buffer start, so it must get a buffer of its own.
            (Outgoing::Connect(connect), _) => {
                let mut own = BytesMut::new();
                let written = match connect {
                    Connect::V4(connect) => connect.write(&mut own),
                    Connect::V5(connect) => connect.write(&mut own),
                };
                written.map(|_| out.extend_from_slice(&own))
            }
            (Outgoing::Publish(publish), _) => publish.write(out).map(drop),
            (Outgoing::PubAck(pkid), Protocol::V311) => v4::PubAck::new(*pkid).write(out).map(drop),
            (Outgoing::PubAck(pkid), Protocol::V5) => v5::PubAck::new(*pkid).write(out).map(drop),
            (Outgoing::PubRec(pkid), Protocol::V311) => v4::PubRec::new(*pkid).write(out).map(drop),
            (Outgoing::PubRec(pkid), Protocol::V5) => v5::PubRec::new(*pkid).write(out).map(drop),
            (Outgoing::PubComp(pkid), Protocol::V311) => {
                v4::PubComp::new(*pkid).write(out).map(drop)
            }
            (Outgoing::PubComp(pkid), Protocol::V5) => v5::PubComp::new(*pkid).write(out).map(drop),
            (Outgoing::Subscribe { pkid, filters }, Protocol::V311) => {
                let mut subscribe = v4::Subscribe::new_many(
                    filters
                        .iter()
                        .map(|(path, qos)| v4::SubscribeFilter::new(path.clone(), *qos)),
                );
                subscribe.pkid = *pkid;
                subscribe.write(out).map(drop)
            }
            (Outgoing::Subscribe { pkid, filters }, Protocol::V5) => {
                let mut subscribe = v5::Subscribe::new_many(filters.iter().map(|(path, qos)| {
                    let mut filter = v5::SubscribeFilter::new(path.clone(), *qos);
                    filter.set_nolocal(true);
                    filter
                }));
                subscribe.pkid = *pkid;
                subscribe.write(out).map(drop)
            }
            (Outgoing::PingReq, Protocol::V311) => v4::PingReq.write(out).map(drop),
            (Outgoing::PingReq, Protocol::V5) => v5::PingReq.write(out).map(drop),
            (Outgoing::Disconnect, Protocol::V311) => v4::Disconnect.write(out).map(drop),
            (Outgoing::Disconnect, Protocol::V5) => v5::Disconnect::new().write(out).map(drop),
        };
        result.map_err(|error| {
            out.truncate(start);
            describe(error)
        })
    }

    /// The traffic-log line for this packet.
    pub fn log(&self) -> PacketLog {
        let simple = |kind, pkid| PacketLog {
            direction: Direction::Out,
            kind,
            topic: String::new(),
            qos: None,
            pkid,
            dup: false,
            payload: Bytes::new(),
            reasons: Bytes::new(),
        };
        match self {
            Outgoing::Connect(_) => simple("CONNECT", None),
            Outgoing::Publish(publish) => PacketLog {
                direction: Direction::Out,
                kind: "PUBLISH",
                topic: publish.topic().to_string(),
                qos: Some(publish.qos() as u8),
                pkid: (publish.qos() != QoS::AtMostOnce).then_some(publish.pkid()),
                dup: publish.dup(),
                payload: publish.payload().clone(),
                reasons: Bytes::new(),
            },
            Outgoing::PubAck(pkid) => simple("PUBACK", Some(*pkid)),
            Outgoing::PubRec(pkid) => simple("PUBREC", Some(*pkid)),
            Outgoing::PubComp(pkid) => simple("PUBCOMP", Some(*pkid)),
            Outgoing::Subscribe { pkid, filters } => {
                let filters: Vec<&str> = filters.iter().map(|(path, _)| path.as_str()).collect();
                PacketLog {
                    topic: filters.join(", "),
                    ..simple("SUBSCRIBE", Some(*pkid))
                }
            }
            Outgoing::PingReq => simple("PINGREQ", None),
            Outgoing::Disconnect => simple("DISCONNECT", None),
        }
    }
}

/// Bytes a PUBLISH takes on the wire in `protocol`, fixed header included.
pub(crate) fn publish_size(
    protocol: Protocol,
    topic_len: usize,
    payload_len: usize,
    qos: QoS,
) -> usize {
    let id_len = if qos == QoS::AtMostOnce { 0 } else { 2 };
    packet_size(2 + topic_len + id_len + properties_len(protocol) + payload_len)
}

/// Bytes a SUBSCRIBE of `filters` takes on the wire in `protocol`, fixed
/// header included.
pub(crate) fn subscribe_size(protocol: Protocol, filters: &[(String, QoS)]) -> usize {
    let filters_len: usize = filters.iter().map(|(path, _)| 2 + path.len() + 1).sum();
    packet_size(2 + properties_len(protocol) + filters_len)
}

/// The empty property list of an MQTT 5 packet takes one byte (its length, 0).
fn properties_len(protocol: Protocol) -> usize {
    match protocol {
        Protocol::V311 => 0,
        Protocol::V5 => 1,
    }
}

/// Fixed header (type byte and remaining length) plus `remaining_len`.
fn packet_size(remaining_len: usize) -> usize {
    let length_bytes = match remaining_len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    };
    1 + length_bytes + remaining_len
}

/// The largest Maximum Packet Size MQTT 5 can announce: what a 4-byte
/// remaining length allows.
const MQTT_MAX_PACKET: usize = 268_435_460;

/// The CONNECT for `options`: a clean session (MQTT 5: clean start with a
/// session expiry of 0), the configured keepalive (not mqttbytes' default of
/// 10 s) and the credentials as MQTT fields. Under MQTT 5 it announces
/// `max_incoming_packet_size` as the Maximum Packet Size. It sets no Receive
/// Maximum: that would limit the server's publishes to us, which are
/// acknowledged at once, not ours to it. Fails if a string is longer than
/// MQTT can carry.
pub(crate) fn connect_packet(options: &ConnectOptions) -> Result<Connect, String> {
    let (username, password) = match &options.credentials {
        Credentials::AccessToken(token) => (token.clone(), String::new()),
        // A password without a user name goes out alone (mqttbytes sets only
        // the password flag): the broker decides whether it accepts that.
        Credentials::Basic { username, password } => (
            username.clone().unwrap_or_default(),
            password.clone().unwrap_or_default(),
        ),
        Credentials::Anonymous => (String::new(), String::new()),
    };
    let login = !matches!(options.credentials, Credentials::Anonymous);
    let too_long = |what: &str, s: &str| {
        (s.len() > usize::from(u16::MAX))
            .then(|| format!("the {what} is {} bytes, over MQTT's 65535", s.len()))
    };
    let problem = too_long("client id", &options.client_id)
        .or_else(|| too_long("user name or token", &username))
        .or_else(|| too_long("password", &password));
    if let Some(problem) = problem {
        return Err(problem);
    }
    let connect = match options.protocol {
        Protocol::V311 => {
            let mut connect = v4::Connect::new(options.client_id.clone());
            connect.keep_alive = options.keep_alive_secs;
            connect.clean_session = true;
            connect.login = login.then(|| v4::Login::new(username, password));
            Connect::V4(Box::new(connect))
        }
        Protocol::V5 => {
            let mut connect = v5::Connect::new(options.client_id.clone());
            connect.keep_alive = options.keep_alive_secs;
            connect.clean_session = true;
            connect.login = login.then(|| v5::Login::new(username, password));
            let max = options.max_incoming_packet_size.clamp(1, MQTT_MAX_PACKET);
            connect.properties = Some(v5::ConnectProperties {
                session_expiry_interval: Some(0),
                receive_maximum: None,
                max_packet_size: Some(u32::try_from(max).unwrap_or(u32::MAX)),
                topic_alias_max: None,
                request_response_info: None,
                request_problem_info: None,
                user_properties: Vec::new(),
                authentication_method: None,
                authentication_data: None,
            });
            Connect::V5(Box::new(connect))
        }
    };
    Ok(connect)
}
