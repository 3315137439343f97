//! CONNECT fields and every CONNACK answer.

use mqttbytes::v4::{Login, Packet};

use super::harness::{connack, options, publish, Broker};
use crate::core::mqtt::{
    explain_connack, ConnectOptions, Credentials, Event, Protocol, ServerLimits, SessionError,
    SessionState,
};

/// The CONNECT sent for `options`, under MQTT 3.1.1.
fn connect_sent_for(mut options: ConnectOptions) -> mqttbytes::v4::Connect {
    options.protocol = Protocol::V311;
    let mut broker = Broker::new(options);
    let sent = broker.open();
    assert_eq!(broker.session.state(), SessionState::Connecting);
    match sent.as_slice() {
        [Packet::Connect(connect)] => connect.clone(),
        other => panic!("expected one CONNECT, got {other:?}"),
    }
}

#[test]
fn connect_sends_an_access_token_as_the_user_name_without_password() {
    let connect = connect_sent_for(options());
    assert_eq!(connect.client_id, "gw");
    assert!(connect.clean_session);
    assert_eq!(connect.login, Some(Login::new("TOKEN", "")));
}

#[test]
fn connect_sends_basic_credentials_as_given() {
    let credentials = Credentials::Basic {
        username: Some("user".into()),
        password: Some("secret".into()),
    };
    let connect = connect_sent_for(ConnectOptions::new("client-7", credentials));
    assert_eq!(connect.client_id, "client-7");
    assert_eq!(connect.login, Some(Login::new("user", "secret")));
}

#[test]
fn connect_with_only_a_password_still_sends_the_password() {
    let credentials = Credentials::Basic {
        username: None,
        password: Some("secret".into()),
    };
    let connect = connect_sent_for(ConnectOptions::new("c", credentials));
    assert_eq!(connect.login, Some(Login::new("", "secret")));
}

#[test]
fn anonymous_connect_carries_no_user_name_or_password() {
    let connect = connect_sent_for(ConnectOptions::new("plain", Credentials::Anonymous));
    assert_eq!(connect.client_id, "plain");
    assert_eq!(connect.login, None);
}

#[test]
fn connect_carries_the_configured_keepalive_not_mqttbytes_default_of_10() {
    let mut options = options();
    options.keep_alive_secs = 37;
    assert_eq!(connect_sent_for(options).keep_alive, 37);
    assert_eq!(connect_sent_for(super::harness::options()).keep_alive, 60);
}

#[test]
fn connack_0_emits_connected_and_the_session_is_connected() {
    let mut broker = Broker::new(options());
    broker.open();
    broker.feed(&[0x20, 0x02, 0x01, 0x00]);
    assert_eq!(
        broker.app_events(),
        [Event::Connected {
            session_present: true,
            server_limits: ServerLimits::default(),
        }]
    );
    assert_eq!(broker.session.state(), SessionState::Connected);
}

#[test]
fn every_refusal_code_emits_refused_with_plain_words_then_closed() {
    let expected = [
        (
            1,
            "the broker does not accept MQTT 3.1.1 (protocol version refused)",
        ),
        (2, "client id rejected: check the client id"),
        (
            3,
            "server unavailable: the broker or ThingsBoard behind it is down or overloaded",
        ),
        (4, "bad user name or password: check the credentials"),
        (5, "not authorized: check the access token"),
        (6, "unknown refusal code 6"),
        (200, "unknown refusal code 200"),
    ];
    for (code, reason) in expected {
        assert_eq!(explain_connack(code), reason);
        let mut broker = Broker::new(options());
        broker.open();
        broker.feed(&connack(code));
        let reason = reason.to_string();
        assert_eq!(
            broker.app_events(),
            [
                Event::Refused {
                    code,
                    reason: reason.clone()
                },
                Event::Closed {
                    error: Some(SessionError::Refused { code, reason })
                },
            ],
            "code {code}"
        );
        assert_eq!(broker.session.state(), SessionState::Disconnected);
        assert_eq!(broker.session.poll_timeout(), None);
    }
}

#[test]
fn code_5_says_not_authorized_check_the_access_token() {
    let mut broker = Broker::new(options());
    broker.open();
    broker.feed(&connack(5));
    let events = broker.app_events();
    assert!(matches!(
        &events[0],
        Event::Refused { code: 5, reason } if reason == "not authorized: check the access token"
    ));
}

#[test]
fn no_connack_within_the_connect_timeout_closes_with_connect_timeout() {
    let mut broker = Broker::new(options());
    broker.open();
    assert_eq!(broker.session.poll_timeout(), Some(broker.now + 10_000));
    broker.run_until(broker.now + 9_999);
    assert_eq!(broker.app_events(), []);
    broker.run_until(broker.now + 1);
    assert_eq!(
        broker.app_events(),
        [Event::Closed {
            error: Some(SessionError::ConnectTimeout)
        }]
    );
    assert_eq!(broker.session.state(), SessionState::Disconnected);
}

#[test]
fn a_second_connack_is_a_protocol_error() {
    let mut broker = Broker::connected(options());
    broker.feed(&connack(0));
    assert!(matches!(
        broker.app_events().as_slice(),
        [Event::Closed {
            error: Some(SessionError::Protocol(_))
        }]
    ));
}

#[test]
fn a_publish_before_connack_is_a_protocol_error() {
    let mut broker = Broker::new(options());
    broker.open();
    broker.feed(&publish("t", 0, 0, b"x"));
    assert_eq!(
        broker.app_events(),
        [Event::Closed {
            error: Some(SessionError::Protocol(
                "the broker sent PUBLISH before CONNACK".into()
            ))
        }]
    );
}
