//! A tiny broker for transcripts: it decodes what the session transmits with
//! mqttbytes, feeds back bytes, and moves a simulated clock. It speaks the
//! session's protocol: [`Wire`] builds the broker's packets in either.
//!
//! [`options`] is MQTT 3.1.1, for the tests that assert 3.1.1 bytes with
//! `v4` packets; [`options_for`] and [`BOTH`] run a test under each protocol.

use bytes::BytesMut;
use mqttbytes::v4::{self, Packet, PubAck, SubAck, SubscribeReasonCode};
use mqttbytes::{v5, QoS};

use crate::core::mqtt::{ConnectOptions, Credentials, Event, Protocol, Session};
use crate::core::time::Millis;

/// Both protocols, for tests of behaviour they share.
pub const BOTH: [Protocol; 2] = [Protocol::V311, Protocol::V5];

/// The session under test, the simulated clock, and everything seen so far.
pub struct Broker {
    pub session: Session,
    pub now: Millis,
    events: Vec<Event>,
}

/// MQTT 3.1.1 options with an access token and otherwise defaults.
pub fn options() -> ConnectOptions {
    options_for(Protocol::V311)
}

/// Options for `protocol` with an access token and otherwise defaults.
pub fn options_for(protocol: Protocol) -> ConnectOptions {
    let mut options = ConnectOptions::new("gw", Credentials::AccessToken("TOKEN".into()));
    options.protocol = protocol;
    options
}

impl Broker {
    /// A disconnected session at time 1 000 ms.
    pub fn new(options: ConnectOptions) -> Self {
        Broker {
            session: Session::new(options),
            now: Millis(1_000),
            events: Vec::new(),
        }
    }

    /// A session that has opened, sent CONNECT and got CONNACK 0; the
    /// transcript so far is discarded.
    pub fn connected(options: ConnectOptions) -> Self {
        let mut broker = Broker::new(options);
        broker.open_bytes();
        broker.feed(&broker.wire().connack(0));
        broker.sent_bytes();
        broker.take_events();
        broker
    }

    /// The broker's packets in the session's protocol.
    pub fn wire(&self) -> Wire {
        Wire(self.session.options().protocol)
    }

    /// Open the transport and return what the session sent (its CONNECT).
    pub fn open(&mut self) -> Vec<Packet> {
        self.session.handle_open(self.now);
        self.collect();
        self.sent()
    }

    /// Open the transport and return the bytes the session sent.
    pub fn open_bytes(&mut self) -> Vec<u8> {
        self.session.handle_open(self.now);
        self.collect();
        self.sent_bytes()
    }

    /// Feed bytes from the broker.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.session.handle_data(self.now, bytes);
        self.collect();
    }

    /// The transport closes under the session.
    pub fn close(&mut self, why: &str) {
        self.session.handle_close(self.now, why);
        self.collect();
    }

    /// Drop the connection and connect again (CONNACK 0); returns what the
    /// session sent after CONNACK.
    pub fn reconnect(&mut self) -> Vec<Packet> {
        self.close("gone");
        self.open_bytes();
        self.feed(&self.wire().connack(0));
        self.sent()
    }

    /// Publish at `qos` on `topic` and expect it to be accepted.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &'static [u8],
        qos: QoS,
    ) -> crate::core::mqtt::PublishId {
        let id = self
            .session
            .publish(self.now, topic, bytes::Bytes::from_static(payload), qos)
            .expect("publish accepted");
        self.collect();
        id
    }

    /// Call `handle_timeout` at exactly `at` (however late), as a throttled tab would.
    pub fn timeout_at(&mut self, at: Millis) {
        self.now = at;
        self.session.handle_timeout(at);
        self.collect();
    }

    /// Move the clock to `until`, firing the session's timer on time on the way.
    pub fn run_until(&mut self, until: Millis) {
        while let Some(at) = self.session.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.session.handle_timeout(self.now);
            self.collect();
        }
        self.now = until;
    }

    /// Every packet an MQTT 3.1.1 session transmitted since the last call,
    /// decoded. It came out as one buffer.
    pub fn sent(&mut self) -> Vec<Packet> {
        let mut buf = BytesMut::from(&self.sent_bytes()[..]);
        let mut packets = Vec::new();
        while !buf.is_empty() {
            packets.push(v4::read(&mut buf, usize::MAX).expect("the session sends valid MQTT"));
        }
        packets
    }

    /// Every packet an MQTT 5 session transmitted since the last call,
    /// decoded. It came out as one buffer.
    pub fn sent_v5(&mut self) -> Vec<v5::Packet> {
        let mut buf = BytesMut::from(&self.sent_bytes()[..]);
        let mut packets = Vec::new();
        while !buf.is_empty() {
            // mqttbytes' v5::read refuses the short DISCONNECT `e0 00`.
            if buf.starts_with(&[0xE0, 0x00]) {
                let _ = buf.split_to(2);
                packets.push(v5::Packet::Disconnect(v5::Disconnect::new()));
                continue;
            }
            packets.push(v5::read(&mut buf, usize::MAX).expect("the session sends valid MQTT 5"));
        }
        packets
    }

    /// Every packet the session transmitted since the last call, as one
    /// name per packet ("PUBLISH", ...), in either protocol.
    pub fn sent_kinds(&mut self) -> Vec<&'static str> {
        match self.session.options().protocol {
            Protocol::V311 => self.sent().iter().map(kind_v4).collect(),
            Protocol::V5 => self.sent_v5().iter().map(kind_v5).collect(),
        }
    }

    /// The PUBLISH packets transmitted since the last call, in either
    /// protocol, as (packet id, DUP, payload).
    pub fn sent_publishes(&mut self) -> Vec<(u16, bool, bytes::Bytes)> {
        match self.session.options().protocol {
            Protocol::V311 => publishes(&self.sent())
                .into_iter()
                .map(|p| (p.pkid, p.dup, p.payload))
                .collect(),
            Protocol::V5 => self
                .sent_v5()
                .into_iter()
                .filter_map(|packet| match packet {
                    v5::Packet::Publish(p) => Some((p.pkid, p.dup, p.payload)),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The bytes the session transmitted since the last call (one buffer).
    pub fn sent_bytes(&mut self) -> Vec<u8> {
        let Some(bytes) = self.session.poll_transmit() else {
            return Vec::new();
        };
        assert!(
            self.session.poll_transmit().is_none(),
            "one buffer per poll"
        );
        bytes
    }

    /// All events since the last take, packet logs included.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.collect();
        std::mem::take(&mut self.events)
    }

    /// Events since the last take, without the packet logs.
    pub fn app_events(&mut self) -> Vec<Event> {
        self.take_events()
            .into_iter()
            .filter(|event| !matches!(event, Event::Packet(_)))
            .collect()
    }

    fn collect(&mut self) {
        while let Some(event) = self.session.poll_event() {
            self.events.push(event);
        }
    }
}

/// CONNACK with return `code` (any byte, even unknown ones).
pub fn connack(code: u8) -> Vec<u8> {
    vec![0x20, 0x02, 0x00, code]
}

/// A PUBLISH from the broker, built by hand so packet id 0 is possible.
pub fn publish(topic: &str, qos: u8, pkid: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&pkid.to_be_bytes());
    }
    body.extend_from_slice(payload);
    let mut packet = vec![0x30 | (qos << 1)];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        packet.push(byte);
        if len == 0 {
            break;
        }
    }
    packet.extend_from_slice(&body);
    packet
}

/// PUBACK for `pkid`.
pub fn puback(pkid: u16) -> Vec<u8> {
    let mut buf = BytesMut::new();
    PubAck::new(pkid).write(&mut buf).unwrap();
    buf.to_vec()
}

/// SUBACK for `pkid` with raw return codes (0x80 = refused).
pub fn suback(pkid: u16, codes: &[u8]) -> Vec<u8> {
    let codes = codes
        .iter()
        .map(|&code| SubscribeReasonCode::try_from(code).unwrap())
        .collect();
    let mut buf = BytesMut::new();
    SubAck::new(pkid, codes).write(&mut buf).unwrap();
    buf.to_vec()
}

/// PINGRESP.
pub fn pingresp() -> Vec<u8> {
    vec![0xD0, 0x00]
}

/// The PUBLISH packets among `packets`.
pub fn publishes(packets: &[Packet]) -> Vec<v4::Publish> {
    packets
        .iter()
        .filter_map(|packet| match packet {
            Packet::Publish(publish) => Some(publish.clone()),
            _ => None,
        })
        .collect()
}

fn kind_v4(packet: &Packet) -> &'static str {
    match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck(_) => "PUBACK",
        Packet::PubRec(_) => "PUBREC",
        Packet::PubComp(_) => "PUBCOMP",
        Packet::Subscribe(_) => "SUBSCRIBE",
        Packet::PingReq => "PINGREQ",
        Packet::Disconnect => "DISCONNECT",
        other => panic!("a client does not send {other:?}"),
    }
}

fn kind_v5(packet: &v5::Packet) -> &'static str {
    match packet {
        v5::Packet::Connect(_) => "CONNECT",
        v5::Packet::Publish(_) => "PUBLISH",
        v5::Packet::PubAck(_) => "PUBACK",
        v5::Packet::PubRec(_) => "PUBREC",
        v5::Packet::PubComp(_) => "PUBCOMP",
        v5::Packet::Subscribe(_) => "SUBSCRIBE",
        v5::Packet::PingReq => "PINGREQ",
        v5::Packet::Disconnect(_) => "DISCONNECT",
        other => panic!("a client does not send {other:?}"),
    }
}

/// Prefix `body` with a fixed header of type byte `byte1`.
pub fn packet(byte1: u8, body: &[u8]) -> Vec<u8> {
    let mut packet = vec![byte1];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        packet.push(byte);
        if len == 0 {
            break;
        }
    }
    packet.extend_from_slice(body);
    packet
}

/// An MQTT 5 property list: its length, then `properties`.
pub fn properties(properties: &[u8]) -> Vec<u8> {
    let mut list = packet(0, properties);
    list.remove(0);
    list
}

/// An MQTT 5 Reason String property (0x1F).
pub fn reason_string(words: &str) -> Vec<u8> {
    let mut property = vec![0x1F];
    property.extend_from_slice(&(words.len() as u16).to_be_bytes());
    property.extend_from_slice(words.as_bytes());
    property
}

/// The broker's packets in one protocol, as bytes.
#[derive(Debug, Clone, Copy)]
pub struct Wire(pub Protocol);

impl Wire {
    fn v5(self) -> bool {
        self.0 == Protocol::V5
    }

    /// CONNACK with return or reason `code` (any byte) and no properties.
    pub fn connack(self, code: u8) -> Vec<u8> {
        self.connack_with(code, &[])
    }

    /// CONNACK with `code` and (MQTT 5) the given raw properties.
    pub fn connack_with(self, code: u8, props: &[u8]) -> Vec<u8> {
        if self.v5() {
            packet(0x20, &[&[0x00, code][..], &properties(props)].concat())
        } else {
            connack(code)
        }
    }

    /// A PUBLISH from the broker (packet id 0 is possible; MQTT 5: no properties).
    pub fn publish(self, topic: &str, qos: u8, pkid: u16, payload: &[u8]) -> Vec<u8> {
        if !self.v5() {
            return publish(topic, qos, pkid, payload);
        }
        let mut body = Vec::new();
        body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        body.extend_from_slice(topic.as_bytes());
        if qos > 0 {
            body.extend_from_slice(&pkid.to_be_bytes());
        }
        body.push(0);
        body.extend_from_slice(payload);
        packet(0x30 | (qos << 1), &body)
    }

    /// PUBACK for `pkid` in its shortest form (success).
    pub fn puback(self, pkid: u16) -> Vec<u8> {
        puback(pkid)
    }

    /// MQTT 5 PUBACK for `pkid` with a reason code and no properties.
    pub fn puback_reason(self, pkid: u16, reason: u8) -> Vec<u8> {
        packet(0x40, &[&pkid.to_be_bytes()[..], &[reason]].concat())
    }

    /// SUBACK for `pkid` with raw codes.
    pub fn suback(self, pkid: u16, codes: &[u8]) -> Vec<u8> {
        if self.v5() {
            packet(0x90, &[&pkid.to_be_bytes()[..], &[0], codes].concat())
        } else {
            suback(pkid, codes)
        }
    }

    /// PINGRESP.
    pub fn pingresp(self) -> Vec<u8> {
        pingresp()
    }

    /// MQTT 5 DISCONNECT with `reason` and the given raw properties.
    pub fn disconnect(self, reason: u8, props: &[u8]) -> Vec<u8> {
        packet(0xE0, &[&[reason][..], &properties(props)].concat())
    }
}
