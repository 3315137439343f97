//! The publish verdicts and session rules of ThingsBoard's MQTT transport
//! (contract §2, §4, §5, §6, §11 and `thingsboard-rest.md` §5) as a client
//! sees them on the wire, each over TCP and over WebSocket, under MQTT 3.1.1
//! and 5: PUBACK reason codes and packet ids, which verdicts close the
//! connection, QoS 0 on a gateway topic, rate limits and `getSessionLimits`,
//! sub-device expiry, the QoS and packet ids of server pushes, rename and
//! delete notices, and no echo of a client's own publishes.
//!
//! rumqttc 0.25 (3.1.1 and 5) is the client wherever it shows what arrived;
//! the QoS 0 test and the PINGREQ-only gateway speak raw MQTT bytes (rumqttc
//! treats a PUBACK with packet id 0xFFFF as unsolicited and drops the
//! connection, and sends PINGREQs only at its keep-alive). Every wait has a
//! deadline; a "nothing arrived" check waits only until a later event
//! proves the order.

mod common;

use common::*;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const WAIT: Duration = Duration::from_secs(10);
const TELEMETRY: &str = "v1/gateway/telemetry";

// ---------------------------------------------------------------------------
// Ways to connect: TCP or WebSocket, MQTT 3.1.1 or 5.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V311,
    V5,
}

#[derive(Debug, Clone, Copy)]
struct Way {
    addr: SocketAddr,
    ws: bool,
    version: Version,
}

impl Way {
    /// `tcp-311`, `ws-5`, …: keeps device names apart between rounds.
    fn tag(&self) -> String {
        format!(
            "{}-{}",
            if self.ws { "ws" } else { "tcp" },
            if self.v5() { "5" } else { "311" }
        )
    }

    fn v5(&self) -> bool {
        self.version == Version::V5
    }
}

/// TCP and WebSocket, each with MQTT 3.1.1 and 5.
fn ways(emu: &Emulator) -> Vec<Way> {
    let mut out = Vec::new();
    for (addr, ws) in [(emu.mqtt, false), (emu.ws, true)] {
        for version in [Version::V311, Version::V5] {
            out.push(Way { addr, ws, version });
        }
    }
    out
}

// ---------------------------------------------------------------------------
// What a client saw, whichever client it was.
// ---------------------------------------------------------------------------

/// (Fields only read through `Debug`, in failure messages, are allowed.)
#[derive(Debug, Clone)]
#[allow(dead_code)]
enum Ev {
    ConnAck(bool),
    SubAck,
    /// `reason` is 0 under 3.1.1 (no reason code on the wire).
    PubAck {
        pkid: u16,
        reason: u8,
    },
    Publish {
        topic: String,
        qos: u8,
        pkid: u16,
        payload: Vec<u8>,
    },
    PingResp,
    Disconnect(u8),
    /// The server closed the connection (EOF, reset or WebSocket close).
    Closed(String),
    /// A client-side failure that is not a close.
    Error(String),
    Other,
}

impl Ev {
    fn terminal(&self) -> bool {
        matches!(self, Ev::Closed(_) | Ev::Error(_))
    }
}

/// Waits for the event `pick` accepts; skips the others. A close or a
/// client error on the way fails the test.
async fn expect_on<T>(
    rx: &mut mpsc::UnboundedReceiver<Ev>,
    what: &str,
    mut pick: impl FnMut(&Ev) -> Option<T>,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let ev = timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
            .unwrap_or_else(|| panic!("the connection had already ended; waiting for {what}"));
        if let Some(t) = pick(&ev) {
            return t;
        }
        assert!(!ev.terminal(), "{ev:?} while waiting for {what}");
    }
}

/// Waits for the close; a PUBACK or PUBLISH before it fails the test.
async fn expect_closed_on(rx: &mut mpsc::UnboundedReceiver<Ev>, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let ev = timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("the connection was not closed within {WAIT:?}: {what}"))
            .unwrap_or_else(|| panic!("the connection had already ended: {what}"));
        match ev {
            Ev::Closed(_) => return,
            Ev::PubAck { .. } | Ev::Publish { .. } | Ev::Error(_) => {
                panic!("{what}: expected the close, got {ev:?}")
            }
            _ => {}
        }
    }
}

fn parse(payload: &[u8]) -> Value {
    serde_json::from_slice(payload)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(payload)))
}

// ---------------------------------------------------------------------------
// rumqttc, 3.1.1 or 5, its event loop polled by a task.
// ---------------------------------------------------------------------------

#[derive(Clone)]
enum Handle {
    V311(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

impl Handle {
    async fn publish(&self, topic: &str, qos: u8, payload: impl Into<Vec<u8>>) {
        let payload: Vec<u8> = payload.into();
        match self {
            Handle::V311(c) => {
                let qos = match qos {
                    0 => rumqttc::QoS::AtMostOnce,
                    _ => rumqttc::QoS::AtLeastOnce,
                };
                c.publish(topic, qos, false, payload).await.unwrap()
            }
            Handle::V5(c) => {
                use rumqttc::v5::mqttbytes::QoS;
                let qos = if qos == 0 {
                    QoS::AtMostOnce
                } else {
                    QoS::AtLeastOnce
                };
                c.publish(topic, qos, false, payload).await.unwrap()
            }
        }
    }
}

struct Client {
    handle: Handle,
    rx: mpsc::UnboundedReceiver<Ev>,
    task: JoinHandle<()>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn pubreason(r: rumqttc::v5::mqttbytes::v5::PubAckReason) -> u8 {
    use rumqttc::v5::mqttbytes::v5::PubAckReason as R;
    match r {
        R::Success => 0,
        R::NoMatchingSubscribers => 16,
        R::UnspecifiedError => 128,
        R::ImplementationSpecificError => 131,
        R::NotAuthorized => 135,
        R::TopicNameInvalid => 144,
        R::PacketIdentifierInUse => 145,
        R::QuotaExceeded => 151,
        R::PayloadFormatInvalid => 153,
    }
}

fn from_v311(p: rumqttc::Packet) -> Ev {
    use rumqttc::Packet as P;
    match p {
        P::ConnAck(c) => Ev::ConnAck(c.code == rumqttc::ConnectReturnCode::Success),
        P::SubAck(_) => Ev::SubAck,
        P::PubAck(a) => Ev::PubAck {
            pkid: a.pkid,
            reason: 0,
        },
        P::Publish(p) => Ev::Publish {
            topic: p.topic,
            qos: p.qos as u8,
            pkid: p.pkid,
            payload: p.payload.to_vec(),
        },
        P::PingResp => Ev::PingResp,
        _ => Ev::Other,
    }
}

fn from_v5(p: rumqttc::v5::mqttbytes::v5::Packet) -> Ev {
    use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Packet as P};
    match p {
        P::ConnAck(c) => Ev::ConnAck(c.code == ConnectReturnCode::Success),
        P::SubAck(_) => Ev::SubAck,
        P::PubAck(a) => Ev::PubAck {
            pkid: a.pkid,
            reason: pubreason(a.reason),
        },
        P::Publish(p) => Ev::Publish {
            topic: String::from_utf8_lossy(&p.topic).into_owned(),
            qos: p.qos as u8,
            pkid: p.pkid,
            payload: p.payload.to_vec(),
        },
        P::PingResp(_) => Ev::PingResp,
        P::Disconnect(d) => Ev::Disconnect(d.reason_code as u8),
        _ => Ev::Other,
    }
}

fn end_v311(e: rumqttc::ConnectionError) -> Ev {
    use rumqttc::{ConnectionError as E, StateError as S};
    let text = format!("{e:?}");
    match e {
        E::Io(_) | E::MqttState(S::Io(_) | S::ConnectionAborted) | E::Websocket(_) => {
            Ev::Closed(text)
        }
        _ => Ev::Error(text),
    }
}

fn end_v5(e: rumqttc::v5::ConnectionError) -> Ev {
    use rumqttc::v5::{ConnectionError as E, StateError as S};
    let text = format!("{e:?}");
    match e {
        E::Io(_) | E::MqttState(S::Io(_) | S::ConnectionAborted) | E::Websocket(_) => {
            Ev::Closed(text)
        }
        E::MqttState(S::ServerDisconnect { .. }) => Ev::Closed(text),
        _ => Ev::Error(text),
    }
}

impl Client {
    /// Connects and waits for a successful CONNACK. `keep_alive`: 60 s
    /// unless given (3.1.1 only: rumqttc's MQTT 5 client wants ≥ 5 s).
    async fn open(way: Way, token: &str, id: &str, keep_alive: Option<Duration>) -> Client {
        let (tx, rx) = mpsc::unbounded_channel();
        let keep_alive = keep_alive.unwrap_or(Duration::from_secs(60));
        let (handle, task) = match way.version {
            Version::V311 => {
                use rumqttc::{AsyncClient, Event, MqttOptions, Transport};
                let mut o = if way.ws {
                    let url = format!("ws://{}/mqtt", way.addr);
                    let mut o = MqttOptions::new(id, url, way.addr.port());
                    o.set_transport(Transport::Ws);
                    o
                } else {
                    MqttOptions::new(id, way.addr.ip().to_string(), way.addr.port())
                };
                o.set_credentials(token, "");
                o.set_keep_alive(keep_alive);
                let (c, mut el) = AsyncClient::new(o, 64);
                let task = tokio::spawn(async move {
                    loop {
                        let ev = match el.poll().await {
                            Ok(Event::Incoming(p)) => from_v311(p),
                            Ok(Event::Outgoing(_)) => continue,
                            Err(e) => {
                                // Packets read in the same batch as the close
                                // are still queued: they came first.
                                for queued in el.state.events.drain(..) {
                                    if let Event::Incoming(p) = queued {
                                        let _ = tx.send(from_v311(p));
                                    }
                                }
                                end_v311(e)
                            }
                        };
                        let end = ev.terminal();
                        if tx.send(ev).is_err() || end {
                            return;
                        }
                    }
                });
                (Handle::V311(c), task)
            }
            Version::V5 => {
                use rumqttc::v5::{AsyncClient, Event, MqttOptions};
                let mut o = if way.ws {
                    let url = format!("ws://{}/mqtt", way.addr);
                    let mut o = MqttOptions::new(id, url, way.addr.port());
                    o.set_transport(rumqttc::Transport::Ws);
                    o
                } else {
                    MqttOptions::new(id, way.addr.ip().to_string(), way.addr.port())
                };
                o.set_credentials(token, "");
                o.set_keep_alive(keep_alive);
                let (c, mut el) = AsyncClient::new(o, 64);
                let task = tokio::spawn(async move {
                    loop {
                        let ev = match el.poll().await {
                            Ok(Event::Incoming(p)) => from_v5(p),
                            Ok(Event::Outgoing(_)) => continue,
                            Err(e) => {
                                // Packets read in the same batch as the close
                                // are still queued: they came first.
                                for queued in el.state.events.drain(..) {
                                    if let Event::Incoming(p) = queued {
                                        let _ = tx.send(from_v5(p));
                                    }
                                }
                                end_v5(e)
                            }
                        };
                        let end = ev.terminal();
                        if tx.send(ev).is_err() || end {
                            return;
                        }
                    }
                });
                (Handle::V5(c), task)
            }
        };
        let mut c = Client { handle, rx, task };
        let ok = c
            .expect("CONNACK", |e| match e {
                Ev::ConnAck(ok) => Some(*ok),
                _ => None,
            })
            .await;
        assert!(ok, "CONNACK refused for {way:?}");
        c
    }

    async fn publish(&self, topic: &str, qos: u8, payload: impl Into<Vec<u8>>) {
        self.handle.publish(topic, qos, payload).await
    }

    /// Subscribes at QoS 1 and waits for the SUBACK.
    async fn subscribe(&mut self, filters: &[&str]) {
        self.subscribe_at(filters, 1).await
    }

    /// Subscribes at `qos` (0 or 1) and waits for the SUBACK.
    async fn subscribe_at(&mut self, filters: &[&str], qos: u8) {
        match &self.handle {
            Handle::V311(c) => {
                use rumqttc::{QoS, SubscribeFilter};
                let qos = if qos == 0 {
                    QoS::AtMostOnce
                } else {
                    QoS::AtLeastOnce
                };
                c.subscribe_many(
                    filters
                        .iter()
                        .map(|f| SubscribeFilter::new(f.to_string(), qos)),
                )
                .await
                .unwrap()
            }
            Handle::V5(c) => {
                use rumqttc::v5::mqttbytes::{v5::Filter, QoS};
                let qos = if qos == 0 {
                    QoS::AtMostOnce
                } else {
                    QoS::AtLeastOnce
                };
                c.subscribe_many(filters.iter().map(|f| Filter::new(f.to_string(), qos)))
                    .await
                    .unwrap()
            }
        }
        self.expect("SUBACK", |e| matches!(e, Ev::SubAck).then_some(()))
            .await;
    }

    async fn expect<T>(&mut self, what: &str, pick: impl FnMut(&Ev) -> Option<T>) -> T {
        expect_on(&mut self.rx, what, pick).await
    }

    /// The reason code of the next PUBACK (0 under 3.1.1).
    async fn puback(&mut self, what: &str) -> u8 {
        self.expect(what, |e| match e {
            Ev::PubAck { reason, .. } => Some(*reason),
            Ev::Publish { .. } => panic!("{what}: a PUBLISH {e:?} before the PUBACK"),
            _ => None,
        })
        .await
    }

    async fn expect_closed(&mut self, what: &str) {
        expect_closed_on(&mut self.rx, what).await
    }

    /// A publish the server must acknowledge with success.
    async fn publish_ok(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.publish(topic, 1, payload).await;
        let reason = self.puback(&format!("the PUBACK on {topic}")).await;
        assert_eq!(reason, 0, "PUBACK on {topic}");
    }

    /// The next server push on `topic` (QoS 1), with its packet id.
    async fn push(&mut self, topic: &str) -> (u16, Value) {
        let (qos, pkid, v) = self.push_any(topic).await;
        assert_eq!(qos, 1, "push on {topic}: {v}");
        (pkid, v)
    }

    /// The next server push on `topic`: (QoS, packet id, body).
    async fn push_any(&mut self, topic: &str) -> (u8, u16, Value) {
        self.expect(&format!("a push on {topic}"), |e| match e {
            Ev::Publish {
                topic: t,
                qos,
                pkid,
                payload,
            } if t == topic => Some((*qos, *pkid, parse(payload))),
            _ => None,
        })
        .await
    }
}

// ---------------------------------------------------------------------------
// Raw MQTT bytes over TCP or WebSocket, read by a task.
// ---------------------------------------------------------------------------

enum Sink {
    Tcp(tokio::net::tcp::OwnedWriteHalf),
    Ws(SplitSink<WebSocketStream<TcpStream>, Message>),
}

struct Wire {
    level: u8,
    sink: Arc<Mutex<Sink>>,
    rx: mpsc::UnboundedReceiver<Ev>,
    task: JoinHandle<()>,
}

impl Drop for Wire {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Splits whole packets off `buf` and sends them decoded; `false` once the
/// receiver is gone.
fn drain(level: u8, buf: &mut Vec<u8>, tx: &mpsc::UnboundedSender<Ev>) -> bool {
    loop {
        let mut len = 0usize;
        let mut i = 1;
        loop {
            let Some(&b) = buf.get(i) else {
                return true;
            };
            len += ((b & 0x7f) as usize) << (7 * (i - 1));
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            assert!(i <= 4, "bad remaining length from the server");
        }
        if buf.len() < i + len {
            return true;
        }
        let byte1 = buf[0];
        let body = buf[i..i + len].to_vec();
        buf.drain(..i + len);
        if tx.send(decode(level, byte1, &body)).is_err() {
            return false;
        }
    }
}

fn decode(level: u8, byte1: u8, body: &[u8]) -> Ev {
    let u16_at = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
    match byte1 >> 4 {
        2 => Ev::ConnAck(body[1] == 0),
        3 => {
            let qos = (byte1 >> 1) & 3;
            let tl = u16_at(0) as usize;
            let topic = String::from_utf8_lossy(&body[2..2 + tl]).into_owned();
            let mut i = 2 + tl;
            let mut pkid = 0;
            if qos > 0 {
                pkid = u16_at(i);
                i += 2;
            }
            if level == 5 {
                let (mut n, mut shift) = (0usize, 0);
                loop {
                    let b = body[i];
                    i += 1;
                    n += ((b & 0x7f) as usize) << shift;
                    shift += 7;
                    if b & 0x80 == 0 {
                        break;
                    }
                }
                i += n;
            }
            Ev::Publish {
                topic,
                qos,
                pkid,
                payload: body[i..].to_vec(),
            }
        }
        4 => Ev::PubAck {
            pkid: u16_at(0),
            reason: body.get(2).copied().unwrap_or(0),
        },
        9 => Ev::SubAck,
        13 => Ev::PingResp,
        14 => Ev::Disconnect(body.first().copied().unwrap_or(0)),
        _ => Ev::Other,
    }
}

impl Wire {
    /// Connects at `level` (4 or 5) and waits for a successful CONNACK.
    async fn open(addr: SocketAddr, ws: bool, level: u8, token: &str, id: &str) -> Wire {
        let tcp = TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (sink, task) = if ws {
            let mut req = format!("ws://{addr}/mqtt").into_client_request().unwrap();
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
            let (stream, _) = timeout(WAIT, tokio_tungstenite::client_async(req, tcp))
                .await
                .expect("handshake in time")
                .expect("handshake");
            let (sink, mut read) = stream.split();
            let task = tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(Ok(m)) = read.next().await {
                    match m {
                        Message::Binary(b) => {
                            buf.extend_from_slice(&b);
                            if !drain(level, &mut buf, &tx) {
                                return;
                            }
                        }
                        Message::Close(_) => break,
                        _ => {}
                    }
                }
                let _ = tx.send(Ev::Closed("WebSocket ended".into()));
            });
            (Sink::Ws(sink), task)
        } else {
            let (mut read, write) = tcp.into_split();
            let task = tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    match read.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            buf.extend_from_slice(&chunk[..n]);
                            if !drain(level, &mut buf, &tx) {
                                return;
                            }
                        }
                    }
                }
                let _ = tx.send(Ev::Closed("TCP ended".into()));
            });
            (Sink::Tcp(write), task)
        };
        let mut w = Wire {
            level,
            sink: Arc::new(Mutex::new(sink)),
            rx,
            task,
        };
        w.send(&connect(level, id.as_bytes(), token)).await;
        let ok = w
            .expect("CONNACK", |e| match e {
                Ev::ConnAck(ok) => Some(*ok),
                _ => None,
            })
            .await;
        assert!(ok, "CONNACK refused");
        w
    }

    async fn send(&self, bytes: &[u8]) {
        write(&self.sink, bytes).await;
    }

    async fn publish(&self, qos: u8, pkid: u16, topic: &str, payload: &[u8]) {
        self.send(&publish(self.level, qos, pkid, topic, payload))
            .await;
    }

    /// Acknowledges a server push.
    async fn ack(&self, pkid: u16) {
        let [hi, lo] = pkid.to_be_bytes();
        self.send(&[0x40, 2, hi, lo]).await;
    }

    async fn expect<T>(&mut self, what: &str, pick: impl FnMut(&Ev) -> Option<T>) -> T {
        expect_on(&mut self.rx, what, pick).await
    }
}

async fn write(sink: &Mutex<Sink>, bytes: &[u8]) {
    match &mut *sink.lock().await {
        Sink::Tcp(w) => w.write_all(bytes).await.unwrap(),
        Sink::Ws(s) => s.send(Message::binary(bytes.to_vec())).await.unwrap(),
    }
}

// ---------------------------------------------------------------------------
// ThingsBoard's REST API (blocking calls, run with `block_in_place`).
// ---------------------------------------------------------------------------

#[derive(Clone)]
struct Rest {
    addr: SocketAddr,
    jwt: String,
}

impl Rest {
    fn login(addr: SocketAddr) -> Rest {
        let (status, body) = http(
            addr,
            "POST",
            "/api/auth/login",
            None,
            r#"{"username":"tenant@thingsboard.org","password":"tenant"}"#,
        );
        assert_eq!(status, 200, "{body}");
        let jwt = parse(body.as_bytes())["token"]
            .as_str()
            .unwrap()
            .to_string();
        Rest { addr, jwt }
    }

    fn call(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let auth = path.starts_with("/api/").then_some(self.jwt.as_str());
        http(self.addr, method, path, auth, body)
    }

    /// A call that must answer 200; its JSON body (`null` when empty).
    fn ok(&self, method: &str, path: &str, body: &str) -> Value {
        let (status, text) = self.call(method, path, body);
        assert_eq!(status, 200, "{method} {path}: {text}");
        if text.trim().is_empty() {
            Value::Null
        } else {
            parse(text.as_bytes())
        }
    }

    /// A device's id, by name (no spaces or other characters to escape,
    /// but `Gateway <token>`'s space).
    fn device_id(&self, name: &str) -> String {
        let name = name.replace(' ', "%20");
        let d = self.ok("GET", &format!("/api/tenant/devices?deviceName={name}"), "");
        d["id"]["id"].as_str().unwrap().to_string()
    }
}

/// Runs blocking test code (HTTP, log waits) without stalling the clients'
/// tasks (tests use the multi-thread runtime).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn telemetry(device: &str, key: &str, value: i64) -> String {
    json!({ device: [{ "ts": 1_700_000_000_000i64 + value, "values": { key: value } }] })
        .to_string()
}

// ---------------------------------------------------------------------------
// §4 verdicts.
// ---------------------------------------------------------------------------

/// A body that is not JSON on `v1/gateway/telemetry`: MQTT 5 gets PUBACK 153
/// and the connection stays open (a later publish is acknowledged); 3.1.1
/// gets no PUBACK and the connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_json_gets_153_under_mqtt5_and_a_close_under_311() {
    let emu = Emulator::start(&[]);
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "not-json", None).await;
        c.publish(TELEMETRY, 1, "{\"Pump\": [ not json").await;
        if way.v5() {
            assert_eq!(c.puback("the PUBACK of the bad body").await, 153, "{way:?}");
            let dev = format!("NJ-{}", way.tag());
            c.publish_ok(TELEMETRY, telemetry(&dev, "t", 1)).await;
        } else {
            c.expect_closed(&format!("not JSON under 3.1.1, {way:?}"))
                .await;
        }
    }
}

/// Valid JSON of the wrong shape, or a required field missing: PUBACK 131,
/// then the close, under both versions (3.1.1's PUBACK has no code: the
/// close is what shows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_shape_or_missing_field_gets_131_then_close() {
    let emu = Emulator::start(&[]);
    let cases = [
        (TELEMETRY, r#"[{"ts":1,"values":{"a":1}}]"#, "an array"),
        ("v1/gateway/connect", r#""Pump 7""#, "a string"),
        (
            "v1/gateway/rpc",
            r#"{"device":"Pump 7","data":{"ok":true}}"#,
            "an RPC reply without id",
        ),
        (
            "v1/gateway/attributes/request",
            r#"{"id":1,"device":"Pump 7","key":"setpoint"}"#,
            "an attribute request without client",
        ),
    ];
    for way in ways(&emu) {
        for (topic, body, what) in cases {
            let mut c = Client::open(way, GATEWAY_TOKEN, "shape", None).await;
            c.publish(topic, 1, body).await;
            let reason = c.puback(&format!("the PUBACK of {what}")).await;
            assert_eq!(reason, if way.v5() { 131 } else { 0 }, "{what}, {way:?}");
            c.expect_closed(&format!("{what}, {way:?}")).await;
        }
    }
}

/// An unknown `v1/gateway/...` topic: PUBACK 144 under MQTT 5 (a plain
/// PUBACK under 3.1.1), and the connection stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_gateway_topic_gets_144_and_stays_open() {
    let emu = Emulator::start(&[]);
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "unknown", None).await;
        c.publish("v1/gateway/foo", 1, r#"{"Pump 7":{"a":1}}"#)
            .await;
        let reason = c.puback("the PUBACK on v1/gateway/foo").await;
        assert_eq!(reason, if way.v5() { 144 } else { 0 }, "{way:?}");
        let dev = format!("UT-{}", way.tag());
        c.publish_ok(TELEMETRY, telemetry(&dev, "t", 1)).await;
    }
}

/// QoS 0 on `v1/gateway/telemetry`: the data is stored, a PUBACK with
/// packet id 0xFFFF (reason 128 under MQTT 5) arrives, and under MQTT 5 a
/// `{"device":..,"reason":129}` notice on `v1/gateway/disconnect`; under
/// 3.1.1 no notice (a later QoS 1 publish's PUBACK comes with nothing
/// before it). The connection stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos0_gateway_telemetry_gets_puback_ffff_and_a_129_notice() {
    let emu = Emulator::start(&[]);
    let rest = blocking(|| Rest::login(emu.http));
    for (addr, ws) in [(emu.mqtt, false), (emu.ws, true)] {
        for level in [4u8, 5] {
            let dev = format!("Q0-{}-{level}", if ws { "ws" } else { "tcp" });
            let mut w = Wire::open(addr, ws, level, GATEWAY_TOKEN, "qos0").await;
            w.publish(0, 0, TELEMETRY, telemetry(&dev, "q", 7).as_bytes())
                .await;
            let (mut acked, mut noticed) = (false, level == 4);
            while !(acked && noticed) {
                let ev = w
                    .expect("the PUBACK and the notice", |e| {
                        matches!(e, Ev::PubAck { .. } | Ev::Publish { .. }).then(|| e.clone())
                    })
                    .await;
                match ev {
                    Ev::PubAck { pkid, reason } => {
                        assert!(!acked, "one PUBACK only");
                        assert_eq!(pkid, 0xFFFF, "level {level}, ws {ws}");
                        if level == 5 {
                            assert_eq!(reason, 128);
                        }
                        acked = true;
                    }
                    Ev::Publish {
                        topic,
                        qos,
                        pkid,
                        payload,
                    } => {
                        assert_eq!(level, 5, "no notice under 3.1.1: {topic}");
                        assert_eq!(topic, "v1/gateway/disconnect");
                        assert_eq!(qos, 1);
                        assert_eq!(parse(&payload), json!({"device": dev, "reason": 129}));
                        assert!(!noticed, "one notice");
                        noticed = true;
                        w.ack(pkid).await;
                    }
                    _ => unreachable!(),
                }
            }
            // Still open; and nothing else came before this PUBACK.
            w.publish(1, 9, TELEMETRY, telemetry(&dev, "later", 1).as_bytes())
                .await;
            let next = w
                .expect("the later PUBACK", |e| {
                    matches!(e, Ev::PubAck { .. } | Ev::Publish { .. }).then(|| e.clone())
                })
                .await;
            assert!(
                matches!(next, Ev::PubAck { pkid: 9, reason: 0 }),
                "{next:?}"
            );
            let id = blocking(|| rest.device_id(&dev));
            let stored = blocking(|| {
                rest.ok(
                    "GET",
                    &format!("/api/plugins/telemetry/DEVICE/{id}/values/timeseries?keys=q"),
                    "",
                )
            });
            assert_eq!(
                stored,
                json!({"q": [{"ts": 1_700_000_000_007i64, "value": "7"}]}),
                "the QoS 0 data is stored"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// §6 limits.
// ---------------------------------------------------------------------------

/// Publishes `n` messages at once and returns the PUBACK reasons that came
/// before the close (the close must come).
async fn burst_until_close(c: &mut Client, topic: &str, bodies: &[String], what: &str) -> Vec<u8> {
    for b in bodies {
        c.publish(topic, 1, b.clone()).await;
    }
    let mut reasons = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let ev = timeout_at(deadline, c.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{what}: no close within {WAIT:?}; PUBACKs {reasons:?}"))
            .expect("events until the close");
        match ev {
            Ev::PubAck { reason, .. } => reasons.push(reason),
            Ev::Closed(_) => return reasons,
            Ev::Error(e) => panic!("{what}: {e}"),
            _ => {}
        }
    }
}

/// `--gateway-rate-limits 'telemetryMessages=3:1'`: the 4th telemetry
/// message within a second gets PUBACK 151 then the close (MQTT 5), or just
/// the close (3.1.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_telemetry_message_limit_closes() {
    let emu = Emulator::start(&["--gateway-rate-limits", "telemetryMessages=3:1"]);
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "rl", None).await;
        let dev = format!("RL-{}", way.tag());
        let bodies: Vec<String> = (1..=4).map(|i| telemetry(&dev, "t", i)).collect();
        let reasons = burst_until_close(&mut c, TELEMETRY, &bodies, &way.tag()).await;
        if way.v5() {
            assert_eq!(reasons, [0, 0, 0, 151], "{way:?}");
        } else {
            assert_eq!(reasons, [0, 0, 0], "{way:?}");
        }
    }
}

/// `--gateway-rate-limits 'telemetryDataPoints=5:1'`: two messages of 3
/// data points each: the second gets PUBACK 151 then the close (MQTT 5), or
/// just the close (3.1.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_data_point_limit_closes() {
    let emu = Emulator::start(&["--gateway-rate-limits", "telemetryDataPoints=5:1"]);
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "dp", None).await;
        let dev = format!("DP-{}", way.tag());
        let body = json!({ &dev: [{"ts": 1, "values": {"a": 1, "b": 2, "c": 3}}] }).to_string();
        let reasons = burst_until_close(&mut c, TELEMETRY, &[body.clone(), body], &way.tag()).await;
        if way.v5() {
            assert_eq!(reasons, [0, 151], "{way:?}");
        } else {
            assert_eq!(reasons, [0], "{way:?}");
        }
    }
}

/// `--device-rate-limits 'telemetryMessages=3:1'` applies to the gateway's
/// own `v1/devices/me/telemetry` (its sub-device traffic is not counted
/// there): the 4th own message gets PUBACK 151 and the close (MQTT 5), or
/// the close (3.1.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_rate_limits_apply_to_the_gateways_own_telemetry() {
    let emu = Emulator::start(&["--device-rate-limits", "telemetryMessages=3:1"]);
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "own", None).await;
        let dev = format!("Own-{}", way.tag());
        for i in 0..5 {
            c.publish_ok(TELEMETRY, telemetry(&dev, "sub", i)).await;
        }
        let bodies: Vec<String> = (1..=4).map(|i| json!({ "own": i }).to_string()).collect();
        let reasons =
            burst_until_close(&mut c, "v1/devices/me/telemetry", &bodies, &way.tag()).await;
        if way.v5() {
            assert_eq!(reasons, [0, 0, 0, 151], "{way:?}");
        } else {
            assert_eq!(reasons, [0, 0, 0], "{way:?}");
        }
    }
}

/// `getSessionLimits` answers exactly the configured limits; `PUT
/// /emulator/limits` changes them while running, a new `getSessionLimits`
/// shows the change, and the new gateway limit is enforced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_session_limits_follows_the_configured_and_changed_limits() {
    let emu = Emulator::start(&[
        "--gateway-rate-limits",
        "telemetryMessages=3:1",
        "--device-rate-limits",
        "messages=100:1,1000:60",
    ]);
    let rest = blocking(|| Rest::login(emu.http));
    let configured = json!({
        "maxPayloadSize": 65536,
        "maxInflightMessages": 100,
        "rateLimits": {"messages": "100:1,1000:60", "telemetryMessages": null, "telemetryDataPoints": null},
        "gatewayRateLimits": {"messages": null, "telemetryMessages": "3:1", "telemetryDataPoints": null},
    });
    let changed = json!({
        "maxPayloadSize": 65536,
        "maxInflightMessages": 20,
        "rateLimits": {"messages": null, "telemetryMessages": null, "telemetryDataPoints": null},
        "gatewayRateLimits": {"messages": null, "telemetryMessages": "1:60", "telemetryDataPoints": "50:1"},
    });
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "limits", None).await;
        c.subscribe(&["v1/devices/me/rpc/response/+"]).await;
        let ask = r#"{"method":"getSessionLimits","params":{}}"#;
        c.publish_ok("v1/devices/me/rpc/request/1", ask).await;
        let (_, answer) = c.push("v1/devices/me/rpc/response/1").await;
        assert_eq!(answer, configured, "{way:?}");

        blocking(|| {
            rest.ok(
                "PUT",
                "/emulator/limits",
                r#"{"maxInflightMessages":20,
                    "gatewayRateLimits":{"telemetryMessages":"1:60","telemetryDataPoints":"50:1"},
                    "deviceRateLimits":{"messages":null}}"#,
            )
        });
        c.publish_ok("v1/devices/me/rpc/request/2", ask).await;
        let (_, answer) = c.push("v1/devices/me/rpc/response/2").await;
        assert_eq!(answer, changed, "{way:?}");

        let dev = format!("GSL-{}", way.tag());
        let bodies: Vec<String> = (1..=2).map(|i| telemetry(&dev, "t", i)).collect();
        let reasons = burst_until_close(&mut c, TELEMETRY, &bodies, &way.tag()).await;
        assert_eq!(reasons, if way.v5() { vec![0, 151] } else { vec![0] });

        // Back to the command line's limits for the next round.
        blocking(|| {
            rest.ok(
                "PUT",
                "/emulator/limits",
                r#"{"maxInflightMessages":100,
                    "gatewayRateLimits":{"telemetryMessages":"3:1","telemetryDataPoints":null},
                    "deviceRateLimits":{"messages":"100:1,1000:60"}}"#,
            )
        });
    }
}

// ---------------------------------------------------------------------------
// §11 item 3: sub-device expiry.
// ---------------------------------------------------------------------------

const GW2_TOKEN: &str = "GW2_OVERWRITE_TOKEN";

/// A two-way RPC through REST, on a blocking thread: (status, body).
fn rpc(rest: &Rest, device: &str, method: &str) -> JoinHandle<(u16, String)> {
    let rest = rest.clone();
    let path = format!("/api/rpc/twoway/{device}");
    let body = json!({"method": method, "params": {}, "timeout": 2000}).to_string();
    tokio::task::spawn_blocking(move || rest.call("POST", &path, &body))
}

/// `--session-inactivity-ms 1500`: a registered sub-device without traffic
/// is dropped (an RPC for it waits and ends in 504 without reaching the
/// gateway), a device with traffic keeps receiving RPCs, and a gateway with
/// `additionalInfo.overwriteActivityTime=true` (set by GET-modify-POST
/// /api/device) keeps its idle sub-device with PINGREQs alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sub_device_expires_unless_the_gateway_overwrites_activity_time() {
    let emu = Emulator::start(&[
        "--session-inactivity-ms",
        "1500",
        "--rpc-min-timeout-ms",
        "1000",
        "--gateway",
        GW2_TOKEN,
    ]);
    let rest = blocking(|| Rest::login(emu.http));
    // "Overwrite activity time" on the second gateway, as a script would.
    blocking(|| {
        let id = rest.device_id(&format!("Gateway {GW2_TOKEN}"));
        let mut d = rest.ok("GET", &format!("/api/device/{id}"), "");
        d["additionalInfo"]["overwriteActivityTime"] = json!(true);
        rest.ok("POST", "/api/device", &d.to_string());
        let d = rest.ok("GET", &format!("/api/device/{id}"), "");
        assert_eq!(d["additionalInfo"]["overwriteActivityTime"], true, "{d}");
        assert_eq!(d["additionalInfo"]["gateway"], true, "{d}");
    });
    for (addr, ws) in [(emu.mqtt, false), (emu.ws, true)] {
        let tag = if ws { "ws" } else { "tcp" };
        let (kept, idle, busy) = (
            format!("Kept-{tag}"),
            format!("Idle-{tag}"),
            format!("Busy-{tag}"),
        );
        // The overwriting gateway registers Kept first, then only pings.
        let mut gw2 = Wire::open(addr, ws, 5, GW2_TOKEN, "gw2").await;
        let connect_body = |d: &str| json!({ "device": d }).to_string();
        gw2.publish(1, 1, "v1/gateway/connect", connect_body(&kept).as_bytes())
            .await;
        gw2.expect("the connect's PUBACK", |e| {
            matches!(e, Ev::PubAck { pkid: 1, reason: 0 }).then_some(())
        })
        .await;
        let sink = gw2.sink.clone();
        let pinger = tokio::spawn(async move {
            loop {
                write(&sink, &[0xc0, 0]).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        // The other gateway registers Idle and Busy; only Busy has traffic
        // (its rumqttc keep-alive pings every second).
        let way = Way {
            addr,
            ws,
            version: Version::V311,
        };
        let mut gw = Client::open(way, GATEWAY_TOKEN, "gw", Some(Duration::from_secs(1))).await;
        gw.subscribe(&["v1/gateway/rpc"]).await;
        gw.publish_ok("v1/gateway/connect", connect_body(&idle))
            .await;
        gw.publish_ok("v1/gateway/connect", connect_body(&busy))
            .await;
        let handle = gw.handle.clone();
        let busy_body = telemetry(&busy, "beat", 1);
        let beat = tokio::spawn(async move {
            loop {
                handle.publish(TELEMETRY, 1, busy_body.clone()).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });

        let expired = format!("sub-device session of {idle:?} expired");
        blocking(|| emu.wait_log("Idle's expiry", |l| l.contains(&expired), WAIT));
        // Kept was registered before Idle: only the pings kept it.
        let [kept_id, idle_id, busy_id] =
            [&kept, &idle, &busy].map(|n| blocking(|| rest.device_id(n)));
        let kept_call = rpc(&rest, &kept_id, "stay");
        let (rpc_id, push_pkid) = gw2
            .expect("the RPC for the kept device", |e| match e {
                Ev::Publish {
                    topic,
                    pkid,
                    payload,
                    ..
                } if topic == "v1/gateway/rpc" => {
                    let v = parse(payload);
                    assert_eq!(v["device"], json!(kept), "{v}");
                    Some((v["data"]["id"].clone(), *pkid))
                }
                _ => None,
            })
            .await;
        gw2.ack(push_pkid).await;
        let reply = json!({"device": kept, "id": rpc_id, "data": {"kept": true}}).to_string();
        gw2.publish(1, 2, "v1/gateway/rpc", reply.as_bytes()).await;
        let (status, body) = kept_call.await.unwrap();
        assert_eq!(
            (status, parse(body.as_bytes())),
            (200, json!({"kept": true}))
        );

        // Idle's RPC waits and times out; Busy's reaches the gateway.
        let idle_call = rpc(&rest, &idle_id, "lost");
        let busy_call = rpc(&rest, &busy_id, "beat");
        let no_idle = |e: &Ev| {
            if let Ev::Publish { topic, payload, .. } = e {
                if topic == "v1/gateway/rpc" {
                    let v = parse(payload);
                    assert_ne!(v["device"], json!(idle), "an expired device got {v}");
                }
            }
        };
        let busy_rpc = gw
            .expect("the RPC for the busy device", |e| {
                no_idle(e);
                match e {
                    Ev::Publish { topic, payload, .. } if topic == "v1/gateway/rpc" => {
                        Some(parse(payload)["data"]["id"].clone())
                    }
                    _ => None,
                }
            })
            .await;
        let reply = json!({"device": busy, "id": busy_rpc, "data": {"beat": 1}}).to_string();
        gw.publish("v1/gateway/rpc", 1, reply).await;
        let (status, body) = busy_call.await.unwrap();
        assert_eq!((status, parse(body.as_bytes())), (200, json!({"beat": 1})));
        let (status, body) = timeout(WAIT, idle_call).await.unwrap().unwrap();
        assert_eq!(status, 504, "the expired device's RPC: {body}");
        // Nothing for Idle arrived before a push made after its RPC ended.
        gw.subscribe(&["v1/devices/me/rpc/response/+"]).await;
        gw.publish(
            "v1/devices/me/rpc/request/99",
            1,
            r#"{"method":"getSessionLimits","params":{}}"#,
        )
        .await;
        gw.expect("the later push", |e| {
            no_idle(e);
            matches!(e, Ev::Publish { topic, .. } if topic == "v1/devices/me/rpc/response/99")
                .then_some(())
        })
        .await;
        beat.abort();
        pinger.abort();
    }
}

// ---------------------------------------------------------------------------
// §5 server packet ids, REST §5 rename/delete, no echo.
// ---------------------------------------------------------------------------

/// Server pushes (client-RPC answers, shared attributes of the gateway and
/// of a sub-device) are QoS 1 with the connection's own packet ids,
/// counting up from 1 on each connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_pushes_are_qos1_with_ids_counting_up_per_connection() {
    let emu = Emulator::start(&[]);
    let rest = blocking(|| Rest::login(emu.http));
    let gw_id = blocking(|| rest.device_id(&format!("Gateway {GATEWAY_TOKEN}")));
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "pushes", None).await;
        c.subscribe(&["v1/devices/me/rpc/response/+", "v1/devices/me/attributes"])
            .await;
        let dev = format!("Push-{}", way.tag());
        c.publish_ok("v1/gateway/connect", json!({ "device": dev }).to_string())
            .await;
        let dev_id = blocking(|| rest.device_id(&dev));
        let ask = r#"{"method":"getSessionLimits","params":{}}"#;

        c.publish_ok("v1/devices/me/rpc/request/1", ask).await;
        let (id1, _) = c.push("v1/devices/me/rpc/response/1").await;
        let shared = |id: &str, body: &str| {
            blocking(|| {
                rest.ok(
                    "POST",
                    &format!("/api/plugins/telemetry/DEVICE/{id}/SHARED_SCOPE"),
                    body,
                )
            })
        };
        shared(&gw_id, r#"{"own":2}"#);
        let (id2, v) = c.push("v1/devices/me/attributes").await;
        assert_eq!(v, json!({"own": 2}));
        shared(&dev_id, r#"{"sub":3}"#);
        let (id3, v) = c.push("v1/gateway/attributes").await;
        assert_eq!(v, json!({"device": dev, "data": {"sub": 3}}));
        c.publish_ok("v1/devices/me/rpc/request/2", ask).await;
        let (id4, _) = c.push("v1/devices/me/rpc/response/2").await;
        assert_eq!([id1, id2, id3, id4], [1, 2, 3, 4], "{way:?}");
    }
}

/// The next RPC pushed on `v1/devices/me/rpc/request/<n>`: (n, body).
async fn device_rpc(c: &mut Client) -> (u64, Value) {
    let prefix = "v1/devices/me/rpc/request/";
    c.expect("an RPC on v1/devices/me/rpc/request/<n>", |e| match e {
        Ev::Publish {
            topic,
            qos,
            payload,
            ..
        } if topic.starts_with(prefix) => {
            assert_eq!(*qos, 1);
            let n: u64 = topic[prefix.len()..].parse().expect("a numeric id");
            Some((n, parse(payload)))
        }
        _ => None,
    })
    .await
}

/// A push goes out at the QoS granted to the subscription matching its
/// topic, and at QoS 1 without one (contract §2, `getQoSForTopic`); a QoS 0
/// push still takes a number from the connection's counter (`nextMsgId`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_follow_the_granted_qos_else_qos1() {
    let emu = Emulator::start(&[]);
    let rest = blocking(|| Rest::login(emu.http));
    let gw_id = blocking(|| rest.device_id(&format!("Gateway {GATEWAY_TOKEN}")));
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "qos0-subs", None).await;
        c.subscribe_at(
            &["v1/devices/me/rpc/response/+", "v1/gateway/attributes"],
            0,
        )
        .await;
        let dev = format!("Sub0-{}", way.tag());
        c.publish_ok("v1/gateway/connect", json!({ "device": dev }).to_string())
            .await;
        let dev_id = blocking(|| rest.device_id(&dev));
        c.publish_ok(
            "v1/devices/me/rpc/request/5",
            r#"{"method":"getSessionLimits","params":{}}"#,
        )
        .await;
        let (qos, _, _) = c.push_any("v1/devices/me/rpc/response/5").await;
        assert_eq!(qos, 0, "granted QoS 0: {way:?}");
        let shared = |id: &str, body: &str| {
            blocking(|| {
                rest.ok(
                    "POST",
                    &format!("/api/plugins/telemetry/DEVICE/{id}/SHARED_SCOPE"),
                    body,
                )
            })
        };
        shared(&dev_id, r#"{"sub":1}"#);
        let (qos, _, v) = c.push_any("v1/gateway/attributes").await;
        assert_eq!((qos, v), (0, json!({"device": dev, "data": {"sub": 1}})));
        // Not subscribed: QoS 1, with the third number of the counter.
        shared(&gw_id, r#"{"own":1}"#);
        let (qos, pkid, _) = c.push_any("v1/devices/me/attributes").await;
        assert_eq!((qos, pkid), (1, 3), "{way:?}");
    }
}

/// Renaming a device through REST (GET, change the name, POST) sends its
/// gateway `gateway_device_renamed` on `v1/devices/me/rpc/request/<n>`;
/// deleting it sends `gateway_device_deleted` with the next id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_and_delete_reach_the_connected_gateway() {
    let emu = Emulator::start(&[]);
    let rest = blocking(|| Rest::login(emu.http));
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "rename", None).await;
        c.subscribe(&["v1/devices/me/rpc/request/+"]).await;
        let old = format!("Ren-{}", way.tag());
        let new = format!("{old}-renamed");
        c.publish_ok("v1/gateway/connect", json!({ "device": old }).to_string())
            .await;
        let id = blocking(|| rest.device_id(&old));
        blocking(|| {
            let mut d = rest.ok("GET", &format!("/api/device/{id}"), "");
            d["name"] = json!(new);
            rest.ok("POST", "/api/device", &d.to_string());
        });
        let (n, v) = device_rpc(&mut c).await;
        assert_eq!(
            v,
            json!({"method": "gateway_device_renamed", "params": { &old: new }}),
            "{way:?}"
        );
        blocking(|| rest.ok("DELETE", &format!("/api/device/{id}"), ""));
        let (m, v) = device_rpc(&mut c).await;
        assert_eq!(
            v,
            json!({"method": "gateway_device_deleted", "params": new}),
            "{way:?}"
        );
        assert_eq!(m, n + 1, "per-device RPC ids count up");
    }
}

/// No client receives its own publishes: with subscriptions to
/// `v1/gateway/attributes`, `v1/gateway/rpc` and `v1/devices/me/attributes`,
/// publishing on them brings nothing back; the first PUBLISH to arrive is
/// the server's own push, made after all of them were acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_client_receives_its_own_publishes() {
    let emu = Emulator::start(&[]);
    let rest = blocking(|| Rest::login(emu.http));
    for way in ways(&emu) {
        let mut c = Client::open(way, GATEWAY_TOKEN, "echo", None).await;
        c.subscribe(&[
            "v1/gateway/attributes",
            "v1/gateway/rpc",
            "v1/devices/me/attributes",
        ])
        .await;
        let dev = format!("Echo-{}", way.tag());
        c.publish_ok(
            "v1/gateway/attributes",
            json!({ &dev: {"fw": "1.0"} }).to_string(),
        )
        .await;
        c.publish_ok(
            "v1/gateway/rpc",
            json!({"device": dev, "id": 0, "data": {"ok": true}}).to_string(),
        )
        .await;
        c.publish_ok("v1/devices/me/attributes", r#"{"own":1}"#)
            .await;
        let id = blocking(|| rest.device_id(&dev));
        blocking(|| {
            rest.ok(
                "POST",
                &format!("/api/plugins/telemetry/DEVICE/{id}/SHARED_SCOPE"),
                r#"{"srv":1}"#,
            )
        });
        let first = c
            .expect("the server's push", |e| {
                matches!(e, Ev::Publish { .. }).then(|| e.clone())
            })
            .await;
        let Ev::Publish { topic, payload, .. } = first else {
            unreachable!()
        };
        assert_eq!(
            (topic.as_str(), parse(&payload)),
            (
                "v1/gateway/attributes",
                json!({"device": dev, "data": {"srv": 1}})
            ),
            "the first PUBLISH is the server's, not an echo ({way:?})"
        );
    }
}
