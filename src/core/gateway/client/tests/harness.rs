//! A tiny scriptable broker: it decodes what the gateway transmits with
//! mqttbytes and answers CONNACK, SUBACK, PUBACK and PINGRESP by itself;
//! tests push PUBLISHes to the gateway and read what it published.

use bytes::BytesMut;
use mqttbytes::v4::{
    self, ConnAck, ConnectReturnCode, Packet, PingResp, PubAck, Publish, SubAck,
    SubscribeReasonCode,
};
use mqttbytes::QoS;
use serde_json::Value;

use crate::core::gateway::{Gateway, GatewayEvent};
use crate::core::mqtt::{ConnectOptions, Credentials, Protocol};
use crate::core::time::Millis;

pub struct Harness {
    pub gw: Gateway,
    pub now: Millis,
    /// Every packet the gateway sent, in order.
    pub sent: Vec<Packet>,
    /// Events drained from the gateway so far, not yet taken by the test.
    pub events: Vec<GatewayEvent>,
    /// Filters the broker refuses in SUBACK.
    pub refuse: Vec<String>,
    /// Whether the broker PUBACKs the gateway's QoS 1 publishes.
    pub ack_publishes: bool,
    /// Whether the broker sends every publish of the gateway on these
    /// topics back to it (a bridged broker's echo).
    pub echo_topics: Vec<String>,
    /// What the broker answers the gateway's `getSessionLimits` with, as
    /// ThingsBoard does; `None`: no answer (the test answers, or not).
    pub limits: Option<Value>,
    next_pkid: u16,
}

/// ThingsBoard CE's answer with its default tenant profile: no rate limits.
pub fn no_limits() -> Value {
    serde_json::json!({"maxPayloadSize": 65536, "maxInflightMessages": 100,
        "rateLimits": {"messages": null, "telemetryMessages": null, "telemetryDataPoints": null},
        "gatewayRateLimits": {"messages": null, "telemetryMessages": null, "telemetryDataPoints": null}})
}

impl Harness {
    /// A gateway that is not connected yet.
    pub fn new() -> Self {
        // The fake server below speaks MQTT 3.1.1.
        let mut options = ConnectOptions::new("gw", Credentials::AccessToken("token".into()));
        options.protocol = Protocol::V311;
        Harness {
            gw: Gateway::new(options),
            now: Millis(1_000),
            sent: Vec::new(),
            events: Vec::new(),
            refuse: Vec::new(),
            ack_publishes: true,
            echo_topics: Vec::new(),
            limits: Some(no_limits()),
            next_pkid: 1,
        }
    }

    /// A gateway connected, subscribed and with its session limits asked.
    pub fn connected() -> Self {
        let mut h = Harness::new();
        h.open();
        h
    }

    /// Open the transport; the broker accepts the CONNECT.
    pub fn open(&mut self) {
        self.gw.handle_open(self.now);
        self.exchange();
    }

    /// The transport drops.
    pub fn drop_link(&mut self) {
        self.gw.handle_close(self.now, "test dropped the link");
        self.drain_events();
    }

    /// Bytes from the broker to the gateway, then let the broker answer.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.gw.handle_data(self.now, bytes);
        self.exchange();
    }

    /// The server publishes `payload` on `topic` at QoS 1.
    pub fn push(&mut self, topic: &str, payload: &str) {
        let mut publish = Publish::new(topic, QoS::AtLeastOnce, payload.as_bytes().to_vec());
        publish.pkid = self.pkid();
        let mut buf = BytesMut::new();
        publish.write(&mut buf).unwrap();
        self.feed(&buf);
    }

    /// Move the clock `ms` forward, firing every timeout on the way.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now.after_ms(ms);
        let mut rounds = 0;
        while let Some(at) = self.gw.poll_timeout() {
            rounds += 1;
            assert!(rounds < 10_000, "poll_timeout never moves past {at:?}");
            if at > end {
                break;
            }
            self.now = self.now.max(at);
            self.gw.handle_timeout(self.now);
            self.exchange();
        }
        self.now = end;
        self.gw.handle_timeout(end);
        self.exchange();
    }

    /// Let the broker answer what the gateway sent, then take every event so far.
    pub fn take_events(&mut self) -> Vec<GatewayEvent> {
        self.exchange();
        std::mem::take(&mut self.events)
    }

    /// Take the events so far that are not session passthrough (nor what
    /// became of each call's data).
    pub fn gateway_events(&mut self) -> Vec<GatewayEvent> {
        self.take_events()
            .into_iter()
            .filter(|e| !matches!(e, GatewayEvent::Session(_) | GatewayEvent::Settled(_)))
            .collect()
    }

    /// Let the broker answer, then take every publish the gateway sent so
    /// far, as (topic, JSON body), forgetting every packet sent.
    pub fn take_published(&mut self) -> Vec<(String, Value)> {
        self.exchange();
        let sent = std::mem::take(&mut self.sent);
        sent.into_iter()
            .filter_map(|p| match p {
                Packet::Publish(p) => Some((
                    p.topic,
                    serde_json::from_slice(&p.payload).expect("gateway published invalid JSON"),
                )),
                _ => None,
            })
            .collect()
    }

    /// The publishes sent so far on `topic` (bodies only), and forget everything sent.
    pub fn take_published_on(&mut self, topic: &str) -> Vec<Value> {
        self.take_published()
            .into_iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, v)| v)
            .collect()
    }

    fn pkid(&mut self) -> u16 {
        let id = self.next_pkid;
        self.next_pkid = self.next_pkid.wrapping_add(1).max(1);
        id
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.gw.poll_event() {
            self.events.push(e);
        }
    }

    /// Read what the gateway transmitted and answer it, until it is quiet.
    fn exchange(&mut self) {
        loop {
            self.drain_events();
            let Some(bytes) = self.gw.poll_transmit() else {
                return;
            };
            let mut stream = BytesMut::from(&bytes[..]);
            let mut reply = BytesMut::new();
            while !stream.is_empty() {
                let packet = v4::read(&mut stream, 1 << 20).expect("gateway sent bad MQTT");
                match &packet {
                    Packet::Connect(_) => {
                        ConnAck::new(ConnectReturnCode::Success, false)
                            .write(&mut reply)
                            .unwrap();
                    }
                    Packet::Subscribe(s) => {
                        let codes = s
                            .filters
                            .iter()
                            .map(|f| {
                                if self.refuse.contains(&f.path) {
                                    SubscribeReasonCode::Failure
                                } else {
                                    SubscribeReasonCode::Success(QoS::AtLeastOnce)
                                }
                            })
                            .collect();
                        SubAck::new(s.pkid, codes).write(&mut reply).unwrap();
                    }
                    Packet::Publish(p) => {
                        if p.qos == QoS::AtLeastOnce && self.ack_publishes {
                            PubAck::new(p.pkid).write(&mut reply).unwrap();
                        }
                        if let Some(id) = p.topic.strip_prefix("v1/devices/me/rpc/request/") {
                            let call: Value =
                                serde_json::from_slice(&p.payload).unwrap_or_default();
                            if let (true, Some(limits)) =
                                (call["method"] == "getSessionLimits", &self.limits)
                            {
                                let mut answer = Publish::new(
                                    format!("v1/devices/me/rpc/response/{id}"),
                                    QoS::AtLeastOnce,
                                    limits.to_string().into_bytes(),
                                );
                                answer.pkid = self.pkid();
                                answer.write(&mut reply).unwrap();
                            }
                        }
                        if self.echo_topics.iter().any(|t| echo_matches(t, &p.topic)) {
                            let mut back = Publish::from_bytes(
                                p.topic.clone(),
                                QoS::AtLeastOnce,
                                p.payload.clone(),
                            );
                            back.pkid = self.pkid();
                            back.write(&mut reply).unwrap();
                        }
                    }
                    Packet::PingReq => {
                        PingResp.write(&mut reply).unwrap();
                    }
                    _ => {}
                }
                self.sent.push(packet);
            }
            if !reply.is_empty() {
                self.gw.handle_data(self.now, &reply);
            }
        }
    }
}

/// Whether topic `filter` (with a trailing `+`) matches `topic`.
fn echo_matches(filter: &str, topic: &str) -> bool {
    match filter.strip_suffix('+') {
        Some(prefix) => topic.starts_with(prefix) && !topic[prefix.len()..].contains('/'),
        None => filter == topic,
    }
}

/// The calls (by the publish id each returned) whose data was
/// acknowledged among `events`, in order.
pub fn acked(events: &[GatewayEvent]) -> Vec<crate::core::mqtt::PublishId> {
    events
        .iter()
        .filter_map(|e| match e {
            GatewayEvent::Settled(crate::core::mqtt::Event::Acked(id)) => Some(*id),
            _ => None,
        })
        .collect()
}

/// The subscriptions in a SUBSCRIBE, as (filter, qos).
pub fn subscribed(packets: &[Packet]) -> Vec<Vec<(String, QoS)>> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Subscribe(s) => {
                Some(s.filters.iter().map(|f| (f.path.clone(), f.qos)).collect())
            }
            _ => None,
        })
        .collect()
}

/// Every publish in `packets` was sent at QoS 1.
pub fn all_qos1(packets: &[Packet]) -> bool {
    packets.iter().all(|p| match p {
        Packet::Publish(p) => p.qos == QoS::AtLeastOnce,
        _ => true,
    })
}
