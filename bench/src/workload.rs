//! The inputs both sides get: built once, deterministically, before any
//! measurement, and only read (or cheaply cloned) while measuring.

use bytes::{Bytes, BytesMut};
use rumqttc::{PubAck, Publish, QoS};

/// The topic of every message, in and out: ThingsBoard's gateway RPC topic.
pub const TOPIC: &str = "v1/gateway/rpc";

/// Size of one transport chunk (one WebSocket message) in scenario 1.
pub const CHUNK: usize = 16 * 1024;

/// Most QoS 1 publishes awaiting PUBACK, for both sides (our default).
pub const MAX_INFLIGHT: u16 = 50;

/// How many publishes go out before the broker acknowledges them in one
/// chunk, in scenario 2. Equal to [`MAX_INFLIGHT`], so nobody waits.
pub const ACK_BATCH: usize = MAX_INFLIGHT as usize;

/// Largest packet accepted, for both sides (ThingsBoard's limit, our default).
pub const MAX_PACKET: usize = 65_536;

/// The CONNACK that accepts our session (clean session, return code 0).
pub const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

/// Everything a run needs, for `messages` messages.
pub struct Workload {
    /// How many messages scenarios 1 and 2 move.
    pub messages: usize,
    /// How many 100 ms load-test ticks scenario 3 sends (see [`crate::tick`]).
    pub ticks: u64,
    /// One JSON payload per message (slices of one shared buffer, so a clone
    /// is a reference-count increment and never allocates).
    pub payloads: Vec<Bytes>,
    /// Scenario 1: the broker's byte stream, `messages` QoS 1 PUBLISH
    /// packets back to back; fed in [`CHUNK`]-byte pieces that cut packets anywhere.
    pub incoming: Vec<u8>,
    /// Scenario 2: the PUBACKs our session expects, 4 bytes each in send order
    /// (packet ids 1, 2, 3, … as it hands them out).
    pub acks_ours: Vec<u8>,
    /// Scenario 2: the PUBACKs rumqttc expects (it cycles ids 1..=max_inflight).
    pub acks_peer: Vec<u8>,
}

impl Workload {
    /// Build the inputs for `messages` messages and `ticks` load-test ticks.
    pub fn new(messages: usize, ticks: u64) -> Workload {
        let payloads = payloads(messages);
        let incoming = incoming_stream(&payloads);
        let acks_ours = puback_stream((0..messages).map(|i| (i % 65_535) as u16 + 1));
        let cycle = usize::from(MAX_INFLIGHT);
        let acks_peer = puback_stream((0..messages).map(|i| (i % cycle) as u16 + 1));
        Workload {
            messages,
            ticks,
            payloads,
            incoming,
            acks_ours,
            acks_peer,
        }
    }

    /// The message index ranges of scenario 2's batches.
    pub fn batches(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        (0..self.messages)
            .step_by(ACK_BATCH)
            .map(|start| start..(start + ACK_BATCH).min(self.messages))
    }

    /// Bytes of one of our QoS 1 PUBLISH packets for message `i` (both sides
    /// encode the same packet, so this is what each writes).
    pub fn publish_size(&self, i: usize) -> usize {
        let publish = Publish {
            pkid: 1,
            ..Publish::from_bytes(TOPIC, QoS::AtLeastOnce, self.payloads[i].clone())
        };
        publish.size()
    }
}

/// A ~100-byte RPC request for each message, varied so no two are alike.
fn payloads(messages: usize) -> Vec<Bytes> {
    let mut all = Vec::new();
    let mut ends = Vec::with_capacity(messages);
    for i in 0..messages {
        let text = format!(
            r#"{{"device":"Thermostat {:05}","data":{{"id":{},"method":"setTemperature","params":{{"value":{}.{}}}}}}}"#,
            i % 1_000,
            i,
            15 + i % 10,
            i % 10,
        );
        all.extend_from_slice(text.as_bytes());
        ends.push(all.len());
    }
    let all = Bytes::from(all);
    let mut start = 0;
    ends.into_iter()
        .map(|end| {
            let payload = all.slice(start..end);
            start = end;
            payload
        })
        .collect()
}

/// The broker's QoS 1 PUBLISH packets, one per payload, with packet ids
/// 1..=65535 in turn (what a broker hands out).
fn incoming_stream(payloads: &[Bytes]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for (i, payload) in payloads.iter().enumerate() {
        let mut publish = Publish::from_bytes(TOPIC, QoS::AtLeastOnce, payload.clone());
        publish.pkid = (i % 65_535) as u16 + 1;
        publish.write(&mut out).expect("a small PUBLISH encodes");
    }
    out.to_vec()
}

/// PUBACK packets for `pkids`, back to back.
fn puback_stream(pkids: impl Iterator<Item = u16>) -> Vec<u8> {
    let mut out = BytesMut::new();
    for pkid in pkids {
        PubAck::new(pkid).write(&mut out).expect("a PUBACK encodes");
    }
    out.to_vec()
}
