//! Our side: `browser_gateway::core::mqtt::Session`, driven the way the
//! browser shell drives it (one `handle_data` per WebSocket message, then
//! drain events, then one `poll_transmit`).

use std::hint::black_box;

use browser_gateway::core::mqtt::{
    ConnectOptions, Credentials, Event, Protocol, QoS, Session, SessionState,
};
use browser_gateway::core::time::Millis;

use crate::workload::{Workload, CHUNK, CONNACK, MAX_INFLIGHT, MAX_PACKET, TOPIC};
use crate::Tally;

/// A session connected to a broker that accepted it, with CONNECT written
/// and every event so far drained.
fn connected() -> Session {
    let mut options = ConnectOptions::new("bench", Credentials::AccessToken("token".into()));
    // The workload's packets, and rumqttc's side, are MQTT 3.1.1.
    options.protocol = Protocol::V311;
    options.max_inflight = MAX_INFLIGHT;
    options.max_packet_size = MAX_PACKET;
    let mut session = Session::new(options);
    session.handle_open(Millis(0));
    black_box(session.poll_transmit());
    session.handle_data(Millis(0), &CONNACK);
    while session.poll_event().is_some() {}
    assert_eq!(session.state(), SessionState::Connected);
    session
}

/// Scenario 1: take the broker's stream chunk by chunk, deliver every
/// message, write every PUBACK.
pub fn incoming(work: &Workload) -> Tally {
    let mut session = connected();
    let mut tally = Tally::default();
    for (n, chunk) in work.incoming.chunks(CHUNK).enumerate() {
        let now = Millis(n as u64);
        session.handle_data(now, chunk);
        while let Some(event) = session.poll_event() {
            if let Event::Message { payload, .. } = event {
                tally.messages += 1;
                black_box(payload);
            }
        }
        if let Some(bytes) = session.poll_transmit() {
            tally.bytes_out += bytes.len() as u64;
            black_box(bytes);
        }
    }
    assert_eq!(session.state(), SessionState::Connected);
    tally
}

/// Scenario 2: publish in batches of `ACK_BATCH` at QoS 1, write each
/// batch, then take the broker's PUBACKs for it in one chunk.
pub fn outgoing(work: &Workload) -> Tally {
    let mut session = connected();
    let mut tally = Tally::default();
    for (n, batch) in work.batches().enumerate() {
        let now = Millis(n as u64);
        let acks = &work.acks_ours[batch.start * 4..batch.end * 4];
        for payload in &work.payloads[batch] {
            let id = session.publish(now, TOPIC, payload.clone(), QoS::AtLeastOnce);
            black_box(id.expect("the publish is accepted"));
        }
        while session.poll_event().is_some() {}
        if let Some(bytes) = session.poll_transmit() {
            tally.bytes_out += bytes.len() as u64;
            black_box(bytes);
        }
        session.handle_data(now, acks);
        while let Some(event) = session.poll_event() {
            if let Event::Acked(id) = event {
                tally.messages += 1;
                black_box(id);
            }
        }
    }
    assert_eq!(session.state(), SessionState::Connected);
    assert_eq!(session.inflight_len() + session.queued_len(), 0);
    tally
}
