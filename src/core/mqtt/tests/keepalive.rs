//! Keepalive: PINGREQ after half the keepalive of silence, and a dead link
//! detected when PINGRESP does not come.

use mqttbytes::v4::Packet;
use mqttbytes::QoS;

use super::harness::{options, pingresp, publish, Broker};
use crate::core::mqtt::{ConnectOptions, Event, SessionError, SessionState};

fn keepalive(secs: u16) -> ConnectOptions {
    let mut options = options();
    options.keep_alive_secs = secs;
    options
}

#[test]
fn a_pingreq_goes_out_after_half_the_keepalive_without_sending() {
    let mut broker = Broker::connected(keepalive(60));
    let start = broker.now;
    assert_eq!(broker.session.poll_timeout(), Some(start + 30_000));
    broker.run_until(start + 29_999);
    assert_eq!(broker.sent(), []);
    broker.run_until(start + 30_000);
    assert_eq!(broker.sent(), [Packet::PingReq]);
}

#[test]
fn sending_anything_postpones_the_ping_but_receiving_does_not() {
    let mut broker = Broker::connected(keepalive(60));
    let start = broker.now;
    broker.run_until(start + 10_000);
    broker.feed(&publish("in", 0, 0, b"x"));
    assert_eq!(broker.session.poll_timeout(), Some(start + 30_000));
    broker.run_until(start + 20_000);
    broker.publish("out", b"y", QoS::AtMostOnce);
    broker.sent();
    broker.run_until(start + 49_999);
    assert_eq!(broker.sent(), []);
    broker.run_until(start + 50_000);
    assert_eq!(broker.sent(), [Packet::PingReq]);
}

#[test]
fn a_pingresp_in_time_keeps_the_connection() {
    let mut broker = Broker::connected(keepalive(60));
    let start = broker.now;
    broker.run_until(start + 30_000);
    assert_eq!(broker.sent(), [Packet::PingReq]);
    broker.run_until(start + 31_000);
    broker.feed(&pingresp());
    broker.run_until(start + 59_999);
    assert_eq!(broker.session.state(), SessionState::Connected);
    broker.run_until(start + 60_000);
    assert_eq!(broker.sent(), [Packet::PingReq]);
    assert_eq!(broker.app_events(), []);
}

#[test]
fn no_pingresp_within_half_the_keepalive_is_a_dead_link() {
    let mut broker = Broker::connected(keepalive(60));
    let start = broker.now;
    broker.run_until(start + 59_999);
    assert_eq!(broker.app_events(), []);
    broker.run_until(start + 60_000);
    assert_eq!(
        broker.app_events(),
        [Event::Closed {
            error: Some(SessionError::KeepAliveTimeout)
        }]
    );
    assert_eq!(broker.session.state(), SessionState::Disconnected);
    assert_eq!(broker.session.poll_timeout(), None);
}

#[test]
fn the_wait_for_pingresp_is_at_least_5_seconds_with_a_short_keepalive() {
    let mut broker = Broker::connected(keepalive(4));
    let start = broker.now;
    broker.run_until(start + 6_999);
    // Pings at 2 s, 4 s and 6 s; the first one's answer is due at 7 s.
    let pings = broker
        .sent()
        .into_iter()
        .filter(|p| *p == Packet::PingReq)
        .count();
    assert_eq!(pings, 3);
    assert_eq!(broker.session.state(), SessionState::Connected);
    broker.run_until(start + 7_000);
    assert_eq!(
        broker.app_events(),
        [Event::Closed {
            error: Some(SessionError::KeepAliveTimeout)
        }]
    );
}

#[test]
fn a_late_timer_call_handles_everything_due_then_still_detects_a_dead_link() {
    let mut broker = Broker::connected(keepalive(60));
    let start = broker.now;
    let id = broker.publish("t", b"x", QoS::AtLeastOnce);
    broker.sent();
    broker.take_events();
    // A background tab wakes up long after the ping and the PUBACK deadline.
    broker.timeout_at(start + 95_000);
    assert_eq!(broker.sent(), [Packet::PingReq]);
    assert_eq!(
        broker.app_events(),
        [Event::AckTimedOut {
            id,
            topic: "t".into()
        }]
    );
    assert_eq!(broker.session.state(), SessionState::Connected);
    assert_eq!(broker.session.poll_timeout(), Some(start + 125_000));
    broker.timeout_at(start + 125_000);
    assert_eq!(
        broker.app_events(),
        [Event::Closed {
            error: Some(SessionError::KeepAliveTimeout)
        }]
    );
}

#[test]
fn a_late_timer_call_with_a_pingresp_after_it_keeps_the_connection() {
    let mut broker = Broker::connected(keepalive(60));
    let start = broker.now;
    broker.timeout_at(start + 200_000);
    assert_eq!(broker.sent(), [Packet::PingReq]);
    broker.feed(&pingresp());
    broker.timeout_at(start + 229_999);
    assert_eq!(broker.sent(), []);
    assert_eq!(broker.session.state(), SessionState::Connected);
    assert_eq!(broker.app_events(), []);
}

#[test]
fn keepalive_0_never_pings() {
    let mut broker = Broker::connected(keepalive(0));
    assert_eq!(broker.session.poll_timeout(), None);
    broker.timeout_at(broker.now + 10_000_000);
    assert_eq!(broker.sent(), []);
}

#[test]
fn poll_timeout_is_the_earliest_deadline() {
    let mut options = keepalive(60);
    options.puback_timeout_ms = 5_000;
    let mut broker = Broker::new(options);
    let start = broker.now;
    broker.open();
    assert_eq!(broker.session.poll_timeout(), Some(start + 10_000));
    broker.feed(&super::harness::connack(0));
    assert_eq!(broker.session.poll_timeout(), Some(start + 30_000));
    broker.run_until(start + 10_000);
    broker.publish("t", b"x", QoS::AtLeastOnce);
    assert_eq!(broker.session.poll_timeout(), Some(start + 15_000));
}
