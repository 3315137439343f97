//! The tenant's connection-level rules as a client meets them through the
//! transport, over TCP and over WebSocket: CONNACK refusals, refused
//! subscription filters, no PUBACK for gateway topics from a plain device,
//! and the one-session-per-credential takeover.

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

fn v4_options(addr: SocketAddr, ws: bool, id: &str, token: &str) -> rumqttc::MqttOptions {
    let mut o = if ws {
        let mut o = rumqttc::MqttOptions::new(id, format!("ws://{addr}/mqtt"), addr.port());
        o.set_transport(rumqttc::Transport::Ws);
        o
    } else {
        rumqttc::MqttOptions::new(id, addr.ip().to_string(), addr.port())
    };
    o.set_credentials(token, "");
    o
}

fn v5_options(addr: SocketAddr, ws: bool, id: &str, token: &str) -> rumqttc::v5::MqttOptions {
    let mut o = if ws {
        let mut o = rumqttc::v5::MqttOptions::new(id, format!("ws://{addr}/mqtt"), addr.port());
        o.set_transport(rumqttc::Transport::Ws);
        o
    } else {
        rumqttc::v5::MqttOptions::new(id, addr.ip().to_string(), addr.port())
    };
    o.set_credentials(token, "");
    o
}

/// An unknown token is refused: 3.1.1 CONNACK 5, MQTT 5 CONNACK 134.
#[tokio::test]
async fn unknown_token_is_refused() {
    let emu = Emulator::start(&[]);
    for (addr, ws) in [(emu.mqtt, false), (emu.ws, true)] {
        let (_c, mut el) = rumqttc::AsyncClient::new(v4_options(addr, ws, "x", "NO_SUCH_TOKEN"), 4);
        let err = timeout(WAIT, el.poll())
            .await
            .expect("an answer")
            .unwrap_err();
        assert!(
            matches!(
                err,
                rumqttc::ConnectionError::ConnectionRefused(
                    rumqttc::ConnectReturnCode::NotAuthorized
                )
            ),
            "{err:?}"
        );
        let (_c, mut el) =
            rumqttc::v5::AsyncClient::new(v5_options(addr, ws, "x", "NO_SUCH_TOKEN"), 4);
        let err = timeout(WAIT, el.poll())
            .await
            .expect("an answer")
            .unwrap_err();
        assert!(
            matches!(
                err,
                rumqttc::v5::ConnectionError::ConnectionRefused(
                    rumqttc::v5::mqttbytes::v5::ConnectReturnCode::BadUserNamePassword
                )
            ),
            "{err:?}"
        );
    }
    // Raw: the CONNACK, then the close.
    for (level, want) in [(4u8, &[0x20, 2, 0, 5][..]), (5, &[0x20, 3, 0, 134, 0])] {
        let mut s = raw(emu.mqtt);
        send(&mut s, &connect(level, b"x", "NO_SUCH_TOKEN"));
        assert_eq!(read_to_close(&mut s, WAIT), want);
    }
    let line = emu.wait_log(
        "the refusal",
        |l| l.contains("refused") && l.contains("NO***"),
        WAIT,
    );
    assert!(!line.contains("NO_SUCH_TOKEN"), "{line}");
}

/// A filter ThingsBoard does not serve is refused: 0x80 under 3.1.1, 0x8F
/// under MQTT 5; the others in the same SUBSCRIBE are granted at QoS 1.
#[tokio::test]
async fn refused_subscription_filters() {
    let emu = Emulator::start(&[]);
    for (addr, ws) in [(emu.mqtt, false), (emu.ws, true)] {
        use rumqttc::{Event, Packet, QoS, SubscribeFilter, SubscribeReasonCode};
        let (c, mut el) = rumqttc::AsyncClient::new(v4_options(addr, ws, "s4", GATEWAY_TOKEN), 4);
        c.subscribe_many([
            SubscribeFilter::new("v1/gateway/rpc".into(), QoS::ExactlyOnce),
            SubscribeFilter::new("not/a/thingsboard/topic".into(), QoS::AtLeastOnce),
        ])
        .await
        .unwrap();
        let codes = timeout(WAIT, async {
            loop {
                if let Event::Incoming(Packet::SubAck(s)) = el.poll().await.unwrap() {
                    return s.return_codes;
                }
            }
        })
        .await
        .expect("a SUBACK");
        assert_eq!(
            codes,
            [
                SubscribeReasonCode::Success(QoS::AtLeastOnce),
                SubscribeReasonCode::Failure
            ]
        );

        use rumqttc::v5::mqttbytes::v5::{Filter, Packet as P5, SubscribeReasonCode as R5};
        use rumqttc::v5::mqttbytes::QoS as Q5;
        let (c, mut el) =
            rumqttc::v5::AsyncClient::new(v5_options(addr, ws, "s5", GATEWAY_TOKEN), 4);
        c.subscribe_many([
            Filter::new("v1/gateway/attributes", Q5::AtLeastOnce),
            Filter::new("#", Q5::AtLeastOnce),
        ])
        .await
        .unwrap();
        let codes = timeout(WAIT, async {
            loop {
                if let rumqttc::v5::Event::Incoming(P5::SubAck(s)) = el.poll().await.unwrap() {
                    return s.return_codes;
                }
            }
        })
        .await
        .expect("a SUBACK");
        assert_eq!(
            codes,
            [R5::Success(Q5::AtLeastOnce), R5::TopicFilterInvalid]
        );
    }
}

/// A device without the gateway flag gets no PUBACK on a gateway topic
/// (the PINGRESP sent after it arrives alone).
#[test]
fn no_puback_for_gateway_topics_from_a_plain_device() {
    let emu = Emulator::start(&[]);
    for level in [4u8, 5] {
        let mut s = raw(emu.mqtt);
        send(&mut s, &connect(level, b"plain", "A1_TEST_TOKEN"));
        let n = if level == 5 { 5 } else { 4 };
        let (got, _) = read_some(&mut s, n, WAIT);
        assert_eq!(got[..4], [0x20, n as u8 - 2, 0, 0][..], "{got:02x?}");
        send(
            &mut s,
            &publish(
                level,
                1,
                1,
                "v1/gateway/telemetry",
                br#"{"D":[{"ts":1,"values":{"a":1}}]}"#,
            ),
        );
        send(&mut s, &[0xc0, 0]);
        assert_eq!(read_some(&mut s, 2, WAIT).0, [0xd0, 0]);
        // And its own topic is acknowledged.
        send(
            &mut s,
            &publish(level, 1, 2, "v1/devices/me/telemetry", br#"{"a":1}"#),
        );
        assert_eq!(read_some(&mut s, 4, WAIT).0, [0x40, 2, 0, 2]);
    }
}

/// A second CONNECT with the same token ends the first session; under
/// MQTT 5 with DISCONNECT 142 (session taken over).
#[tokio::test]
async fn second_session_takes_over() {
    let emu = Emulator::start(&[]);
    for (addr, ws) in [(emu.mqtt, false), (emu.ws, true)] {
        use rumqttc::v5::mqttbytes::v5::{DisconnectReasonCode, Packet};
        use rumqttc::v5::{AsyncClient, Event};
        let (_c1, mut first) = AsyncClient::new(v5_options(addr, ws, "one", GATEWAY_TOKEN), 4);
        timeout(WAIT, async {
            loop {
                if let Event::Incoming(Packet::ConnAck(_)) = first.poll().await.unwrap() {
                    return;
                }
            }
        })
        .await
        .expect("first CONNACK");
        let (_c2, mut second) = AsyncClient::new(v5_options(addr, ws, "two", GATEWAY_TOKEN), 4);
        let second_task = tokio::spawn(async move {
            loop {
                if let Event::Incoming(Packet::ConnAck(c)) = second.poll().await.unwrap() {
                    return (c.code, second);
                }
            }
        });
        let reason = timeout(WAIT, async {
            loop {
                match first.poll().await {
                    Ok(Event::Incoming(Packet::Disconnect(d))) => return Some(d.reason_code),
                    Ok(_) => {}
                    // rumqttc reports a server DISCONNECT as an error.
                    Err(rumqttc::v5::ConnectionError::MqttState(
                        rumqttc::v5::StateError::ServerDisconnect { reason_code, .. },
                    )) => return Some(reason_code),
                    Err(e) => panic!("{e:?}"),
                }
            }
        })
        .await
        .expect("the first session ends");
        assert_eq!(reason, Some(DisconnectReasonCode::SessionTakenOver));
        let (code, _second) = timeout(WAIT, second_task).await.unwrap().unwrap();
        assert_eq!(code, rumqttc::v5::mqttbytes::v5::ConnectReturnCode::Success);
    }
}

/// A shared attribute set through ThingsBoard's REST API is pushed to the
/// connected gateway at QoS 1 with the server's own packet id.
#[tokio::test]
async fn shared_attribute_from_rest_is_pushed() {
    use rumqttc::{Event, Packet, QoS};
    let emu = Emulator::start(&[]);
    let http_addr = emu.http;
    let (jwt, id) = tokio::task::spawn_blocking(move || {
        let (status, body) = http(
            http_addr,
            "POST",
            "/api/auth/login",
            None,
            r#"{"username":"tenant@thingsboard.org","password":"tenant"}"#,
        );
        assert_eq!(status, 200, "{body}");
        let jwt = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = http(
            http_addr,
            "GET",
            &format!("/api/tenant/devices?deviceName=Gateway%20{GATEWAY_TOKEN}"),
            Some(&jwt),
            "",
        );
        assert_eq!(status, 200, "{body}");
        let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        (jwt, id)
    })
    .await
    .unwrap();
    for (n, (addr, ws)) in [(emu.mqtt, false), (emu.ws, true)].into_iter().enumerate() {
        let (c, mut el) = rumqttc::AsyncClient::new(v4_options(addr, ws, "push", GATEWAY_TOKEN), 4);
        c.subscribe("v1/devices/me/attributes", QoS::AtLeastOnce)
            .await
            .unwrap();
        timeout(WAIT, async {
            loop {
                if let Event::Incoming(Packet::SubAck(_)) = el.poll().await.unwrap() {
                    return;
                }
            }
        })
        .await
        .expect("a SUBACK");
        let (jwt, id) = (jwt.clone(), id.clone());
        let (status, body) = tokio::task::spawn_blocking(move || {
            http(
                http_addr,
                "POST",
                &format!("/api/plugins/telemetry/DEVICE/{id}/SHARED_SCOPE"),
                Some(&jwt),
                &format!(r#"{{"pushed":{n}}}"#),
            )
        })
        .await
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let push = timeout(WAIT, async {
            loop {
                if let Event::Incoming(Packet::Publish(p)) = el.poll().await.unwrap() {
                    return p;
                }
            }
        })
        .await
        .expect("the push");
        assert_eq!(push.topic, "v1/devices/me/attributes");
        assert_eq!(push.qos, QoS::AtLeastOnce);
        assert_eq!(push.pkid, 1, "the connection's first push");
        let v: serde_json::Value = serde_json::from_slice(&push.payload).unwrap();
        assert_eq!(v["pushed"], n as u64, "{v}");
        c.disconnect().await.unwrap();
        let _ = timeout(WAIT, el.poll()).await;
    }
}
