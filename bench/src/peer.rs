//! The peer: rumqttc 0.25's `MqttState`, driven the way its own event loop
//! drives it (`Network::readb` and the `Framed` codec): packets read with
//! `Packet::read` from a `BytesMut` read buffer, each one handed to
//! `handle_incoming_packet`, the packets it returns written into a `BytesMut`
//! write buffer that is flushed once per chunk; its `events` queue drained.

use std::hint::black_box;

use bytes::BytesMut;
use rumqttc::{Event, Incoming, MqttState, Packet, Publish, QoS, Request};

use crate::workload::{Workload, CHUNK, MAX_INFLIGHT, MAX_PACKET, TOPIC};
use crate::Tally;

/// What the peer's event loop starts with: a fresh state (automatic acks)
/// and `Framed`'s 8 KiB read buffer.
fn fresh() -> (MqttState, BytesMut, BytesMut) {
    let state = MqttState::new(MAX_INFLIGHT, false);
    (state, BytesMut::with_capacity(8 * 1024), BytesMut::new())
}

/// Hand every whole packet in `rx` to `state`, writing what it answers to `tx`.
fn read_all(state: &mut MqttState, rx: &mut BytesMut, tx: &mut BytesMut) {
    loop {
        match Packet::read(rx, MAX_PACKET) {
            Ok(packet) => {
                let reply = state
                    .handle_incoming_packet(packet)
                    .expect("the state accepts the packet");
                if let Some(reply) = reply {
                    reply.write(tx, MAX_PACKET).expect("the reply encodes");
                }
            }
            // As rumqttc's `Codec::decode`: make room for the rest and wait.
            Err(rumqttc::Error::InsufficientBytes(more)) => {
                rx.reserve(more);
                break;
            }
            Err(error) => panic!("the stream does not decode: {error:?}"),
        }
    }
}

/// Scenario 1: take the broker's stream chunk by chunk, deliver every
/// message, write every PUBACK.
pub fn incoming(work: &Workload) -> Tally {
    let (mut state, mut rx, mut tx) = fresh();
    let mut tally = Tally::default();
    for chunk in work.incoming.chunks(CHUNK) {
        rx.extend_from_slice(chunk);
        read_all(&mut state, &mut rx, &mut tx);
        while let Some(event) = state.events.pop_front() {
            if let Event::Incoming(Incoming::Publish(publish)) = event {
                tally.messages += 1;
                black_box(publish.payload);
            }
        }
        tally.bytes_out += tx.len() as u64;
        black_box(&tx);
        tx.clear();
    }
    tally
}

/// Scenario 2: publish in batches of `ACK_BATCH` at QoS 1, write each
/// batch, then take the broker's PUBACKs for it in one chunk.
pub fn outgoing(work: &Workload) -> Tally {
    let (mut state, mut rx, mut tx) = fresh();
    let mut tally = Tally::default();
    for batch in work.batches() {
        let acks = &work.acks_peer[batch.start * 4..batch.end * 4];
        for payload in &work.payloads[batch] {
            let publish = Publish::from_bytes(TOPIC, QoS::AtLeastOnce, payload.clone());
            let packet = state
                .handle_outgoing_packet(Request::Publish(publish))
                .expect("the publish is accepted");
            let packet = packet.expect("no packet id collision");
            packet
                .write(&mut tx, MAX_PACKET)
                .expect("the publish encodes");
        }
        while state.events.pop_front().is_some() {}
        tally.bytes_out += tx.len() as u64;
        black_box(&tx);
        tx.clear();
        rx.extend_from_slice(acks);
        read_all(&mut state, &mut rx, &mut tx);
        assert!(tx.is_empty(), "a PUBACK needs no answer");
        while let Some(event) = state.events.pop_front() {
            if let Event::Incoming(Incoming::PubAck(ack)) = event {
                tally.messages += 1;
                black_box(ack);
            }
        }
    }
    assert_eq!(state.inflight(), 0);
    tally
}
