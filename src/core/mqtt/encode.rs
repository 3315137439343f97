//! Encoding the session's packets with mqttbytes, and their traffic-log lines.

use bytes::{Bytes, BytesMut};
use mqttbytes::v4::{
    Connect, Disconnect, Login, PingReq, PubAck, PubComp, PubRec, Publish, Subscribe,
};
use mqttbytes::QoS;

use super::decode::describe;
use super::{ConnectOptions, Credentials, Direction, PacketLog};

/// A packet we send.
pub(crate) enum Outgoing<'a> {
    Connect(&'a Connect),
    Publish(&'a Publish),
    PubAck(u16),
    PubRec(u16),
    PubComp(u16),
    Subscribe(&'a Subscribe),
    PingReq,
    Disconnect,
}

impl Outgoing<'_> {
    /// Append the encoded packet to `out`, or say why it cannot be encoded
    /// (then nothing is appended).
    pub fn write(&self, out: &mut BytesMut) -> Result<(), String> {
        let start = out.len();
        let result = match self {
            // Connect::write patches its flags byte at an index counted from
            // the buffer start, so it must get a buffer of its own.
            Outgoing::Connect(connect) => {
                let mut own = BytesMut::new();
                connect.write(&mut own).map(|_| out.extend_from_slice(&own))
            }
            Outgoing::Publish(publish) => publish.write(out).map(drop),
            Outgoing::PubAck(pkid) => PubAck::new(*pkid).write(out).map(drop),
            Outgoing::PubRec(pkid) => PubRec::new(*pkid).write(out).map(drop),
            Outgoing::PubComp(pkid) => PubComp::new(*pkid).write(out).map(drop),
            Outgoing::Subscribe(subscribe) => subscribe.write(out).map(drop),
            Outgoing::PingReq => PingReq.write(out).map(drop),
            Outgoing::Disconnect => Disconnect.write(out).map(drop),
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
        };
        match self {
            Outgoing::Connect(_) => simple("CONNECT", None),
            Outgoing::Publish(publish) => log_publish(Direction::Out, publish),
            Outgoing::PubAck(pkid) => simple("PUBACK", Some(*pkid)),
            Outgoing::PubRec(pkid) => simple("PUBREC", Some(*pkid)),
            Outgoing::PubComp(pkid) => simple("PUBCOMP", Some(*pkid)),
            Outgoing::Subscribe(subscribe) => {
                let filters: Vec<&str> =
                    subscribe.filters.iter().map(|f| f.path.as_str()).collect();
                PacketLog {
                    topic: filters.join(", "),
                    ..simple("SUBSCRIBE", Some(subscribe.pkid))
                }
            }
            Outgoing::PingReq => simple("PINGREQ", None),
            Outgoing::Disconnect => simple("DISCONNECT", None),
        }
    }
}

/// The traffic-log line for a PUBLISH going `direction`.
pub(crate) fn log_publish(direction: Direction, publish: &Publish) -> PacketLog {
    PacketLog {
        direction,
        kind: "PUBLISH",
        topic: publish.topic.clone(),
        qos: Some(publish.qos as u8),
        pkid: (publish.qos != QoS::AtMostOnce).then_some(publish.pkid),
        dup: publish.dup,
        payload: publish.payload.clone(),
    }
}

/// Bytes a PUBLISH takes on the wire, fixed header included.
pub(crate) fn publish_size(topic_len: usize, payload_len: usize, qos: QoS) -> usize {
    let id_len = if qos == QoS::AtMostOnce { 0 } else { 2 };
    packet_size(2 + topic_len + id_len + payload_len)
}

/// Bytes a SUBSCRIBE takes on the wire, fixed header included.
pub(crate) fn subscribe_size(subscribe: &Subscribe) -> usize {
    packet_size(
        2 + subscribe
            .filters
            .iter()
            .map(|f| 2 + f.path.len() + 1)
            .sum::<usize>(),
    )
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

/// The CONNECT for `options`: clean session, the configured keepalive (not
/// mqttbytes' default of 10 s) and the credentials as MQTT fields. Fails if a
/// string is longer than MQTT can carry.
pub(crate) fn connect_packet(options: &ConnectOptions) -> Result<Connect, String> {
    let mut connect = Connect::new(options.client_id.clone());
    connect.keep_alive = options.keep_alive_secs;
    connect.clean_session = true;
    connect.login = match &options.credentials {
        Credentials::AccessToken(token) => Some(Login::new(token.clone(), String::new())),
        // A password without a user name goes out alone (mqttbytes sets only
        // the password flag): the broker decides whether it accepts that.
        Credentials::Basic { username, password } => Some(Login::new(
            username.clone().unwrap_or_default(),
            password.clone().unwrap_or_default(),
        )),
        Credentials::Anonymous => None,
    };
    let too_long = |what: &str, s: &str| {
        (s.len() > usize::from(u16::MAX))
            .then(|| format!("the {what} is {} bytes, over MQTT's 65535", s.len()))
    };
    let login = connect.login.as_ref();
    let problem = too_long("client id", &connect.client_id)
        .or_else(|| login.and_then(|l| too_long("user name or token", &l.username)))
        .or_else(|| login.and_then(|l| too_long("password", &l.password)));
    match problem {
        Some(problem) => Err(problem),
        None => Ok(connect),
    }
}
