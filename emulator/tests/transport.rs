//! The emulator as an MQTT server, through its real binary: rumqttc clients
//! (3.1.1 and 5, over TCP and WebSocket), a WebSocket client speaking raw
//! MQTT bytes, and raw TCP for bad input.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);

/// A rumqttc 3.1.1 client and its event loop.
mod v4 {
    use super::*;
    pub use rumqttc::{
        AsyncClient, ConnectReturnCode, Event, EventLoop, MqttOptions, Packet, QoS,
        SubscribeReasonCode, Transport,
    };

    pub fn client(addr: SocketAddr, ws: bool, id: &str, token: &str) -> (AsyncClient, EventLoop) {
        let mut o = if ws {
            let mut o = MqttOptions::new(id, format!("ws://{addr}/mqtt"), addr.port());
            o.set_transport(Transport::Ws);
            o
        } else {
            MqttOptions::new(id, addr.ip().to_string(), addr.port())
        };
        o.set_credentials(token, "");
        o.set_keep_alive(Duration::from_secs(30));
        AsyncClient::new(o, 16)
    }

    /// The next packet from the server that `pick` accepts.
    pub async fn expect<T>(
        el: &mut EventLoop,
        what: &str,
        pick: impl Fn(Packet) -> Option<T>,
    ) -> T {
        let found = timeout(WAIT, async {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(p)) => {
                        if let Some(t) = pick(p) {
                            return t;
                        }
                    }
                    Ok(Event::Outgoing(_)) => {}
                    Err(e) => panic!("connection error while waiting for {what}: {e:?}"),
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
    }
}

/// A rumqttc 5 client and its event loop.
mod v5 {
    use super::*;
    pub use rumqttc::v5::mqttbytes::v5::{
        ConnectReturnCode, Packet, PubAckReason, SubscribeReasonCode,
    };
    pub use rumqttc::v5::mqttbytes::QoS;
    pub use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
    pub use rumqttc::Transport;

    pub fn client(addr: SocketAddr, ws: bool, id: &str, token: &str) -> (AsyncClient, EventLoop) {
        let mut o = if ws {
            let mut o = MqttOptions::new(id, format!("ws://{addr}/mqtt"), addr.port());
            o.set_transport(Transport::Ws);
            o
        } else {
            MqttOptions::new(id, addr.ip().to_string(), addr.port())
        };
        o.set_credentials(token, "");
        o.set_keep_alive(Duration::from_secs(30));
        AsyncClient::new(o, 16)
    }

    pub async fn expect<T>(
        el: &mut EventLoop,
        what: &str,
        pick: impl Fn(Packet) -> Option<T>,
    ) -> T {
        let found = timeout(WAIT, async {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(p)) => {
                        if let Some(t) = pick(p) {
                            return t;
                        }
                    }
                    Ok(Event::Outgoing(_)) => {}
                    Err(e) => panic!("connection error while waiting for {what}: {e:?}"),
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
    }
}

/// CONNECT, SUBSCRIBE (QoS 2 asked, 1 granted), PUBLISH/PUBACK and a server
/// push (the answer to the `getSessionLimits` client RPC), under 3.1.1.
async fn session_v311(addr: SocketAddr, ws: bool) {
    use v4::*;
    let (client, mut el) = client(addr, ws, "gw-v4", GATEWAY_TOKEN);
    let code = expect(&mut el, "CONNACK", |p| match p {
        Packet::ConnAck(c) => Some(c.code),
        _ => None,
    })
    .await;
    assert_eq!(code, ConnectReturnCode::Success);
    client
        .subscribe("v1/devices/me/rpc/response/+", QoS::ExactlyOnce)
        .await
        .unwrap();
    let codes = expect(&mut el, "SUBACK", |p| match p {
        Packet::SubAck(s) => Some(s.return_codes),
        _ => None,
    })
    .await;
    assert_eq!(codes, [SubscribeReasonCode::Success(QoS::AtLeastOnce)]);
    client
        .publish(
            "v1/devices/me/telemetry",
            QoS::AtLeastOnce,
            false,
            r#"{"t":1}"#,
        )
        .await
        .unwrap();
    expect(&mut el, "PUBACK", |p| {
        matches!(p, Packet::PubAck(_)).then_some(())
    })
    .await;
    client
        .publish(
            "v1/devices/me/rpc/request/7",
            QoS::AtLeastOnce,
            false,
            r#"{"method":"getSessionLimits","params":{}}"#,
        )
        .await
        .unwrap();
    let push = expect(&mut el, "the getSessionLimits answer", |p| match p {
        Packet::Publish(p) if p.topic == "v1/devices/me/rpc/response/7" => Some(p),
        _ => None,
    })
    .await;
    assert_eq!(push.qos, QoS::AtLeastOnce);
    assert_ne!(push.pkid, 0);
    let limits: serde_json::Value = serde_json::from_slice(&push.payload).unwrap();
    assert!(limits["maxPayloadSize"].is_u64(), "{limits}");
    client.disconnect().await.unwrap();
}

/// The same under MQTT 5, with the PUBACK's reason code.
async fn session_v5(addr: SocketAddr, ws: bool) {
    use v5::*;
    let (client, mut el) = client(addr, ws, "gw-v5", GATEWAY_TOKEN);
    let code = expect(&mut el, "CONNACK", |p| match p {
        Packet::ConnAck(c) => Some(c.code),
        _ => None,
    })
    .await;
    assert_eq!(code, ConnectReturnCode::Success);
    client
        .subscribe("v1/devices/me/rpc/response/+", QoS::ExactlyOnce)
        .await
        .unwrap();
    let codes = expect(&mut el, "SUBACK", |p| match p {
        Packet::SubAck(s) => Some(s.return_codes),
        _ => None,
    })
    .await;
    assert_eq!(codes, [SubscribeReasonCode::Success(QoS::AtLeastOnce)]);
    client
        .publish(
            "v1/devices/me/telemetry",
            QoS::AtLeastOnce,
            false,
            r#"{"t":1}"#,
        )
        .await
        .unwrap();
    let reason = expect(&mut el, "PUBACK", |p| match p {
        Packet::PubAck(a) => Some(a.reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, PubAckReason::Success);
    client
        .publish(
            "v1/devices/me/rpc/request/3",
            QoS::AtLeastOnce,
            false,
            r#"{"method":"getSessionLimits","params":{}}"#,
        )
        .await
        .unwrap();
    let push = expect(&mut el, "the getSessionLimits answer", |p| match p {
        Packet::Publish(p) if &p.topic[..] == b"v1/devices/me/rpc/response/3" => Some(p),
        _ => None,
    })
    .await;
    assert_eq!(push.qos, QoS::AtLeastOnce);
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn mqtt_311_over_tcp_and_websocket() {
    let emu = Emulator::start(&[]);
    session_v311(emu.mqtt, false).await;
    session_v311(emu.ws, true).await;
    let line = emu.wait_log(
        "naming the session",
        |l| l.contains("MQTT 3.1.1 user GW***"),
        WAIT,
    );
    assert!(!line.contains(&format!("user {GATEWAY_TOKEN}")), "{line}");
    emu.wait_log(
        "for the WebSocket peer",
        |l| l.contains("ws 127.0.0.1:") && l.contains("session"),
        WAIT,
    );
}

#[tokio::test]
async fn mqtt_5_over_tcp_and_websocket() {
    let emu = Emulator::start(&[]);
    session_v5(emu.mqtt, false).await;
    session_v5(emu.ws, true).await;
    let line = emu.wait_log(
        "naming the session",
        |l| l.contains("MQTT 5 user GW***"),
        WAIT,
    );
    // The gateway is named after its token: the name is masked too.
    assert!(line.contains("\"Gateway GW***\""), "{line}");
    assert!(
        emu.logs().iter().all(|l| !l.contains(GATEWAY_TOKEN)),
        "no token in clear anywhere in the log"
    );
}

/// MQTT 3.1 (`MQIsdp`, level 3), which mqttbytes cannot read, and a QoS 2
/// PUBLISH, which gets a PUBACK (ThingsBoard has no QoS 2 flow).
#[test]
fn mqtt_31_and_qos2_get_pubacks() {
    let emu = Emulator::start(&[]);
    let mut s = raw(emu.mqtt);
    let mut body = vec![0, 6];
    body.extend_from_slice(b"MQIsdp\x03\x82\x00\x3c\x00\x02id");
    body.extend_from_slice(&(GATEWAY_TOKEN.len() as u16).to_be_bytes());
    body.extend_from_slice(GATEWAY_TOKEN.as_bytes());
    send(&mut s, &packet(0x10, &body));
    let (got, _) = read_some(&mut s, 4, WAIT);
    assert_eq!(got, [0x20, 2, 0, 0]);
    send(
        &mut s,
        &publish(4, 2, 9, "v1/devices/me/telemetry", br#"{"q":2}"#),
    );
    let (got, _) = read_some(&mut s, 4, WAIT);
    assert_eq!(got, [0x40, 2, 0, 9], "PUBACK, not PUBREC");
    // PINGREQ -> PINGRESP; a zero-length MQTT 5 style DISCONNECT ends it.
    send(&mut s, &[0xc0, 0]);
    assert_eq!(read_some(&mut s, 2, WAIT).0, [0xd0, 0]);
    send(&mut s, &[0xe0, 0]);
    read_to_close(&mut s, WAIT);
    emu.wait_log(
        "the 3.1 session",
        |l| l.contains("MQTT 3.1 user GW***"),
        WAIT,
    );
}

/// Raw MQTT 5: zero-length DISCONNECT, QoS 2 PUBACK with id, UNSUBACK.
#[test]
fn mqtt_5_raw_packets() {
    let emu = Emulator::start(&[]);
    let mut s = raw(emu.mqtt);
    send(&mut s, &connect(5, b"raw5", GATEWAY_TOKEN));
    assert_eq!(read_some(&mut s, 5, WAIT).0, [0x20, 3, 0, 0, 0]);
    send(
        &mut s,
        &publish(5, 2, 0x1234, "v1/devices/me/telemetry", br#"{"q":2}"#),
    );
    assert_eq!(read_some(&mut s, 4, WAIT).0, [0x40, 2, 0x12, 0x34]);
    // UNSUBSCRIBE of two filters.
    send(&mut s, &packet(0xa2, b"\x00\x05\x00\x00\x01a\x00\x01b"));
    assert_eq!(read_some(&mut s, 7, WAIT).0, [0xb0, 5, 0, 5, 0, 0, 0]);
    send(&mut s, &[0xe0, 0]);
    read_to_close(&mut s, WAIT);
}

/// The WebSocket subprotocol offered is echoed (`mqtt`, `mqttv3.1`,
/// `binary`), on any path; a packet may span messages and a message may
/// hold several packets.
#[tokio::test]
async fn websocket_subprotocols_and_framing() {
    let emu = Emulator::start(&[]);
    for (path, proto) in [
        ("/mqtt", "mqtt"),
        ("/", "binary"),
        ("/any/path", "mqttv3.1"),
    ] {
        let mut req = format!("ws://{}{path}", emu.ws)
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", proto.parse().unwrap());
        let tcp = tokio::net::TcpStream::connect(emu.ws).await.unwrap();
        let (mut ws, resp) = timeout(WAIT, tokio_tungstenite::client_async(req, tcp))
            .await
            .expect("handshake in time")
            .expect("handshake");
        assert_eq!(
            resp.headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok()),
            Some(proto)
        );
        // CONNECT split across two messages.
        let c = connect(4, b"ws-raw", GATEWAY_TOKEN);
        let (a, b) = c.split_at(5);
        ws.send(Message::binary(a.to_vec())).await.unwrap();
        ws.send(Message::binary(b.to_vec())).await.unwrap();
        // PINGREQ and a QoS 1 PUBLISH in one message.
        let mut two = vec![0xc0, 0];
        two.extend(publish(4, 1, 77, "v1/devices/me/telemetry", br#"{"w":1}"#));
        ws.send(Message::binary(two)).await.unwrap();
        let mut got = Vec::new();
        let want = [0x20, 2, 0, 0, 0xd0, 0, 0x40, 2, 0, 77];
        while got.len() < want.len() {
            match timeout(WAIT, ws.next()).await.expect("an answer in time") {
                Some(Ok(Message::Binary(b))) => got.extend_from_slice(&b),
                Some(Ok(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got, want, "CONNACK, PINGRESP, PUBACK over {proto}");
        // MQTT needs binary messages: a text one closes the connection.
        ws.send(Message::text("hello")).await.unwrap();
        let end = timeout(WAIT, async {
            loop {
                match ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(end.is_ok(), "closed after a text message");
    }
    emu.wait_log(
        "the text message",
        |l| l.contains("text WebSocket message"),
        WAIT,
    );
}

/// A packet over `--max-payload-size` closes the connection, found from its
/// header (a 10 MiB announcement is never buffered); MQTT 5 gets
/// DISCONNECT 129 (malformed packet, as ThingsBoard) first; 3.1.1 just the close.
#[test]
fn oversize_packet_closes() {
    let emu = Emulator::start(&[]);
    for level in [4u8, 5] {
        let mut s = raw(emu.mqtt);
        send(&mut s, &connect(level, b"big", GATEWAY_TOKEN));
        let n = if level == 5 { 5 } else { 4 };
        assert_eq!(read_some(&mut s, n, WAIT).0.len(), n);
        // 10 MiB announced, 1 KiB sent.
        let mut p = vec![0x32];
        varint(&mut p, 10 << 20);
        p.extend_from_slice(&[0u8; 1024]);
        send(&mut s, &p);
        let got = read_to_close(&mut s, WAIT);
        if level == 5 {
            assert_eq!(got, [0xe0, 2, 129, 0]);
        } else {
            assert!(got.is_empty(), "{got:02x?}");
        }
    }
    emu.wait_log(
        "the reason",
        |l| l.contains("over the 65536-byte limit"),
        WAIT,
    );
}

/// The same through rumqttc and a lowered limit: a 2 KiB publish under
/// `--max-payload-size 1024` ends the connection; the next client is fine.
#[tokio::test]
async fn publish_over_the_configured_limit_closes() {
    use v5::*;
    let emu = Emulator::start(&["--max-payload-size", "1024"]);
    let (client, mut el) = client(emu.mqtt, false, "big5", GATEWAY_TOKEN);
    expect(&mut el, "CONNACK", |p| {
        matches!(p, Packet::ConnAck(_)).then_some(())
    })
    .await;
    client
        .publish(
            "v1/devices/me/telemetry",
            QoS::AtLeastOnce,
            false,
            vec![b'x'; 2048],
        )
        .await
        .unwrap();
    let ended = timeout(WAIT, async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::Disconnect(d))) => return d.reason_code as u8,
                Ok(Event::Incoming(Packet::PubAck(a))) => panic!("unexpected PUBACK {a:?}"),
                Ok(_) => {}
                // rumqttc reports a server DISCONNECT as an error.
                Err(rumqttc::v5::ConnectionError::MqttState(
                    rumqttc::v5::StateError::ServerDisconnect { reason_code, .. },
                )) => return reason_code as u8,
                Err(e) => panic!("{e:?}"),
            }
        }
    })
    .await
    .expect("the connection ends");
    assert_eq!(ended, 129, "DISCONNECT malformed packet, as ThingsBoard");
    session_v5(emu.mqtt, false).await;
}

/// More QoS 1 publishes at once than `--max-inflight` closes the
/// connection (MQTT 5: DISCONNECT 151).
#[test]
fn too_many_inflight_publishes_close() {
    let emu = Emulator::start(&["--max-inflight", "5"]);
    let mut s = raw(emu.mqtt);
    send(&mut s, &connect(5, b"burst", GATEWAY_TOKEN));
    assert_eq!(read_some(&mut s, 5, WAIT).0.len(), 5);
    let mut burst = Vec::new();
    for id in 1..=6 {
        burst.extend(publish(5, 1, id, "v1/devices/me/telemetry", br#"{"b":1}"#));
    }
    send(&mut s, &burst);
    let got = read_to_close(&mut s, WAIT);
    assert!(got.ends_with(&[0xe0, 2, 151, 0]), "{got:02x?}");
}

/// Garbage closes that connection only: a client connects afterwards.
#[tokio::test]
async fn garbage_closes_without_harm() {
    let mut emu = Emulator::start(&[]);
    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0xff; 64],
        &[0x10, 0xff, 0xff, 0xff, 0xff, 0xff],
    ] {
        let mut s = raw(emu.mqtt);
        send(&mut s, junk);
        assert!(read_to_close(&mut s, WAIT).is_empty());
    }
    // Garbage after a good CONNECT: MQTT 5 gets DISCONNECT 129 (malformed).
    let mut s = raw(emu.mqtt);
    send(&mut s, &connect(5, b"g", GATEWAY_TOKEN));
    assert_eq!(read_some(&mut s, 5, WAIT).0.len(), 5);
    send(&mut s, &[0x32, 3, 0, 9, b'x']);
    assert_eq!(read_to_close(&mut s, WAIT), [0xe0, 2, 0x81, 0]);
    emu.wait_log("the garbage", |l| l.contains("is not CONNECT"), WAIT);
    assert!(emu.alive());
    session_v311(emu.mqtt, false).await;
}

/// Half a CONNECT then silence: closed at the CONNECT deadline (10 s),
/// while other clients are served meanwhile.
#[tokio::test]
async fn half_packet_then_silence() {
    let emu = Emulator::start(&[]);
    let mut s = raw(emu.mqtt);
    let c = connect(4, b"half", GATEWAY_TOKEN);
    send(&mut s, &c[..c.len() / 2]);
    session_v311(emu.mqtt, false).await;
    let got = tokio::task::spawn_blocking(move || read_to_close(&mut s, Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(got.is_empty());
    emu.wait_log(
        "the deadline",
        |l| l.contains("no CONNECT within 10 s"),
        WAIT,
    );
}

/// A CONNECT with a 65 535-byte client id (the largest an MQTT string can
/// hold): over the default packet limit it is closed; under a raised limit
/// it gets the platform's CONNACK. The emulator survives both.
#[tokio::test]
async fn huge_client_id() {
    for extra in [&[][..], &["--max-payload-size", "200000"]] {
        let mut emu = Emulator::start(extra);
        let mut s = raw(emu.mqtt);
        send(&mut s, &connect(4, &vec![b'c'; 65_535], GATEWAY_TOKEN));
        let (got, closed) = read_some(&mut s, 4, WAIT);
        if extra.is_empty() {
            assert!(closed && got.is_empty(), "{got:02x?}");
        } else {
            assert_eq!(got.len(), 4, "a CONNACK: {got:02x?}");
            assert_eq!(got[..2], [0x20, 2]);
        }
        drop(s);
        emu.wait_log(
            "the client id, shortened",
            |l| l.contains("65535") || l.contains("65536-byte"),
            WAIT,
        );
        assert!(emu.alive());
        session_v311(emu.mqtt, false).await;
    }
}

/// 1 000 connections opened and dropped (half after a CONNECT, half before
/// anything), then a normal client works and every task has ended.
#[tokio::test]
async fn thousand_connections_opened_and_dropped() {
    let mut emu = Emulator::start(&["--accept-any-token"]);
    let addr = emu.mqtt;
    tokio::task::spawn_blocking(move || {
        for batch in 0..10 {
            let mut open = Vec::new();
            for i in 0..100 {
                let mut s = raw(addr);
                if i % 2 == 0 {
                    send(
                        &mut s,
                        &connect(4, format!("c{batch}-{i}").as_bytes(), GATEWAY_TOKEN),
                    );
                }
                open.push(s);
            }
            drop(open);
        }
    })
    .await
    .unwrap();
    assert!(emu.alive());
    let (client, mut el) = v4::client(emu.mqtt, false, "after", "NORMAL_TOKEN");
    v4::expect(&mut el, "CONNACK", |p| {
        matches!(p, v4::Packet::ConnAck(_)).then_some(())
    })
    .await;
    client.disconnect().await.unwrap();
    let _ = timeout(WAIT, el.poll()).await;
    drop(el);
    // Every connection, the 1 000 included, has ended.
    emu.wait_log(
        "no connection left open",
        |l| l.contains("session") && l.contains("closed") && l.contains("(0 connection(s) open)"),
        Duration::from_secs(30),
    );
    let n = emu.logs().iter().filter(|l| l.contains("closed")).count();
    assert!(n >= 1000, "each dropped connection is logged ({n} lines)");
}

/// `--ws off` leaves out the WebSocket listener and its ready line; SIGTERM
/// ends the emulator with status 0.
#[test]
fn ws_off_and_sigterm_exits_zero() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_platform-emulator"))
        .args([
            "--mqtt",
            "127.0.0.1:0",
            "--ws",
            "off",
            "--http",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let second = rx.recv_timeout(WAIT).unwrap();
    assert!(
        first.starts_with("emulator: mqtt listening on 127.0.0.1:"),
        "{first}"
    );
    assert!(
        second.starts_with("emulator: http listening on http://127.0.0.1:"),
        "{second}"
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + WAIT;
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0));
}
