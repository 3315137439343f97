//! A tiny broker for transcripts: it decodes what the session transmits with
//! mqttbytes, feeds back bytes, and moves a simulated clock.

use bytes::BytesMut;
use mqttbytes::v4::{self, Packet, PubAck, SubAck, SubscribeReasonCode};
use mqttbytes::QoS;

use crate::core::mqtt::{ConnectOptions, Credentials, Event, Session};
use crate::core::time::Millis;

/// The session under test, the simulated clock, and everything seen so far.
pub struct Broker {
    pub session: Session,
    pub now: Millis,
    events: Vec<Event>,
}

/// Options with an access token and otherwise defaults.
pub fn options() -> ConnectOptions {
    ConnectOptions::new("gw", Credentials::AccessToken("TOKEN".into()))
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
        broker.open();
        broker.feed(&connack(0));
        broker.sent();
        broker.take_events();
        broker
    }

    /// Open the transport and return what the session sent (its CONNECT).
    pub fn open(&mut self) -> Vec<Packet> {
        self.session.handle_open(self.now);
        self.collect();
        self.sent()
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
        self.open();
        self.feed(&connack(0));
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

    /// Every packet the session transmitted since the last call, decoded. It
    /// came out as one buffer.
    pub fn sent(&mut self) -> Vec<Packet> {
        let Some(bytes) = self.session.poll_transmit() else {
            return Vec::new();
        };
        assert!(
            self.session.poll_transmit().is_none(),
            "one buffer per poll"
        );
        let mut buf = BytesMut::from(&bytes[..]);
        let mut packets = Vec::new();
        while !buf.is_empty() {
            packets.push(v4::read(&mut buf, usize::MAX).expect("the session sends valid MQTT"));
        }
        packets
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
