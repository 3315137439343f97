//! Packet ids, and the QoS 1 publishes awaiting PUBACK with an ordered queue
//! behind them.
//!
//! A QoS 1 publish first waits in the [`Outbox`] queue. When the session is
//! connected and fewer than `max_inflight` publishes await their PUBACK, the
//! oldest queued one gets a packet id, is sent and moves into the in-flight
//! table, where it stays until its PUBACK comes or its deadline passes. The
//! table survives a lost connection: its publishes are resent with DUP after
//! the next CONNACK, in the order they were first sent. That order is kept by
//! a launch sequence number, not by [`PublishId`]: a caller may reserve an id
//! early and publish with it later, after publishes with higher ids.
//!
//! A rejection ends. A publish the server answers with an error PUBACK, or
//! that is the oldest unacknowledged one when the server closes the
//! connection within [`BLAME_WINDOW_MS`] of its sending (ThingsBoard
//! acknowledges in order, then closes for the message it rejects), gets a
//! strike. It is tried again (first in line) until it has
//! [`MAX_STRIKES`]; then it is set aside as rejected, and the rest flows.

use std::collections::{BTreeSet, HashMap, VecDeque};

/// Strikes after which a publish is set aside as rejected.
pub(crate) const MAX_STRIKES: u8 = 3;

/// How soon after a publish was sent a close by the server counts against it.
pub(crate) const BLAME_WINDOW_MS: u64 = 5_000;

/// What a strike did to a publish.
#[derive(Debug)]
pub(crate) enum Strike {
    /// It will be tried again.
    Retry,
    /// It had [`MAX_STRIKES`]: it left the outbox; its id and topic.
    Reject(PublishId, String),
}

use bytes::Bytes;
use mqttbytes::QoS;

use super::publish::Publish;
use super::{Protocol, PublishId};
use crate::core::time::Millis;

/// Hands out packet ids 1..=65535 in turn, wrapping, skipping ids in use.
#[derive(Debug, Clone)]
pub(crate) struct PacketIds {
    next: u16,
}

impl Default for PacketIds {
    fn default() -> Self {
        PacketIds { next: 1 }
    }
}

impl PacketIds {
    /// The next id for which `in_use` is false, or `None` if all are taken.
    pub fn allocate(&mut self, in_use: impl Fn(u16) -> bool) -> Option<u16> {
        for _ in 0..u16::MAX {
            let id = self.next;
            self.next = if id == u16::MAX { 1 } else { id + 1 };
            if !in_use(id) {
                return Some(id);
            }
        }
        None
    }
}

/// A publish that has been sent and awaits its PUBACK.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    /// Launch sequence number: the order in which publishes were sent.
    seq: u64,
    /// Which call to `publish` it came from.
    id: PublishId,
    /// The packet as sent (its `pkid` set).
    pub publish: Publish,
    /// When it times out; `None` while disconnected.
    deadline: Option<Millis>,
    /// When it was last sent.
    sent_at: Millis,
}

/// QoS 1 publishes: those in flight (by packet id, each with its launch
/// sequence number) and those queued behind them.
///
/// The in-flight table is a hash map, not an ordered map: it keeps its
/// capacity from batch to batch, so a steady flow of publishes allocates no
/// tree nodes for it. Send order is only needed for resends (rare) and is
/// recovered then by sorting on the sequence number.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    inflight: HashMap<u16, InFlight>,
    /// (deadline, launch sequence number, packet id) of each publish in
    /// flight while connected: the earliest first, ties in send order.
    deadlines: BTreeSet<(Millis, u64, u16)>,
    queue: VecDeque<(PublishId, Publish)>,
    /// The launch sequence number of the next publish sent.
    next_seq: u64,
    /// Strikes against publishes still in the outbox (see the module docs).
    strikes: HashMap<PublishId, u8>,
}

impl Outbox {
    /// How many publishes await their PUBACK.
    pub fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    /// How many publishes wait to be sent.
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// Whether a publish with this packet id awaits its PUBACK.
    pub fn has_pkid(&self, pkid: u16) -> bool {
        self.inflight.contains_key(&pkid)
    }

    /// Put a publish at the back of the queue.
    pub fn enqueue(&mut self, id: PublishId, publish: Publish) {
        self.queue.push_back((id, publish));
    }

    /// The oldest queued publish, if any.
    pub fn front(&self) -> Option<&Publish> {
        self.queue.front().map(|(_, publish)| publish)
    }

    /// Take the oldest queued publish out of the queue without sending it.
    pub fn pop_front(&mut self) -> Option<(PublishId, Publish)> {
        self.queue.pop_front()
    }

    /// Move the oldest queued publish into flight with `pkid` (not in flight
    /// already), sent at `now` and timing out at `deadline`; returns it for
    /// sending.
    pub fn launch(
        &mut self,
        pkid: u16,
        now: Millis,
        deadline: Millis,
    ) -> Option<(PublishId, &Publish)> {
        let (id, mut publish) = self.queue.pop_front()?;
        publish.set_pkid_and_dup(pkid, false);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.deadlines.insert((deadline, seq, pkid));
        let entry = self.inflight.entry(pkid).insert_entry(InFlight {
            seq,
            id,
            publish,
            deadline: Some(deadline),
            sent_at: now,
        });
        Some((id, &entry.into_mut().publish))
    }

    /// A strike against `id`.
    fn add_strike(&mut self, id: PublishId) -> u8 {
        let strikes = self.strikes.entry(id).or_insert(0);
        *strikes += 1;
        *strikes
    }

    /// The server answered `pkid` with an error PUBACK: the publish leaves
    /// flight and is queued first in line to be tried again, or, at its
    /// last strike, handed back. `None` for an unknown packet id.
    pub fn reject(&mut self, pkid: u16) -> Option<Strike> {
        let entry = self.inflight.remove(&pkid)?;
        if let Some(deadline) = entry.deadline {
            self.deadlines.remove(&(deadline, entry.seq, pkid));
        }
        let strikes = self.add_strike(entry.id);
        if strikes >= MAX_STRIKES {
            self.strikes.remove(&entry.id);
            return Some(Strike::Reject(entry.id, entry.publish.into_topic()));
        }
        self.queue.push_front((entry.id, entry.publish));
        Some(Strike::Retry)
    }

    /// The server closed the connection at `now`: the oldest publish in
    /// flight, if sent within [`BLAME_WINDOW_MS`], gets a strike; at its
    /// last it leaves flight and is handed back.
    pub fn blame_oldest(&mut self, now: Millis) -> Option<Strike> {
        let (&pkid, entry) = self.inflight.iter().min_by_key(|(_, e)| e.seq)?;
        if now.since(entry.sent_at) > BLAME_WINDOW_MS {
            return None;
        }
        let id = entry.id;
        let strikes = self.add_strike(id);
        if strikes < MAX_STRIKES {
            return Some(Strike::Retry);
        }
        self.strikes.remove(&id);
        let entry = self.inflight.remove(&pkid)?;
        if let Some(deadline) = entry.deadline {
            self.deadlines.remove(&(deadline, entry.seq, pkid));
        }
        Some(Strike::Reject(entry.id, entry.publish.into_topic()))
    }

    /// The PUBACK for `pkid` came: the publish leaves flight and is handed
    /// back. `None` if no publish with that id is in flight (a duplicate or
    /// unknown PUBACK).
    pub fn ack(&mut self, pkid: u16) -> Option<(PublishId, Publish)> {
        let entry = self.inflight.remove(&pkid)?;
        if let Some(deadline) = entry.deadline {
            self.deadlines.remove(&(deadline, entry.seq, pkid));
        }
        self.strikes.remove(&entry.id);
        Some((entry.id, entry.publish))
    }

    /// Re-encode every publish, queued or in flight, for `protocol` (the
    /// session connects with another protocol than before).
    pub fn convert(&mut self, protocol: Protocol) {
        let convert = |publish: &mut Publish| {
            let placeholder = Publish::new(protocol, "", QoS::AtMostOnce, Bytes::new());
            let old = std::mem::replace(publish, placeholder);
            *publish = old.into_protocol(protocol);
        };
        for entry in self.inflight.values_mut() {
            convert(&mut entry.publish);
        }
        for (_, publish) in self.queue.iter_mut() {
            convert(publish);
        }
    }

    /// The earliest PUBACK deadline.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.deadlines.first().map(|(at, _, _)| *at)
    }

    /// Take out of flight every publish whose deadline is at or before `now`,
    /// oldest deadline first (ties in send order).
    pub fn expire(&mut self, now: Millis) -> Vec<(PublishId, Publish)> {
        let mut expired = Vec::new();
        while let Some(&(at, _, pkid)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(entry) = self.inflight.remove(&pkid) {
                self.strikes.remove(&entry.id);
                expired.push((entry.id, entry.publish));
            }
        }
        expired
    }

    /// Stop every PUBACK deadline (the connection is gone).
    pub fn stop_deadlines(&mut self) {
        self.deadlines.clear();
        for entry in self.inflight.values_mut() {
            entry.deadline = None;
        }
    }

    /// Mark every publish in flight as a duplicate with a fresh `deadline`
    /// and return them in the order they were first sent, for resending.
    pub fn prepare_resend(
        &mut self,
        now: Millis,
        deadline: Millis,
    ) -> impl Iterator<Item = &Publish> {
        self.deadlines.clear();
        for (&pkid, entry) in self.inflight.iter_mut() {
            entry.publish.set_pkid_and_dup(pkid, true);
            entry.deadline = Some(deadline);
            entry.sent_at = now;
            self.deadlines.insert((deadline, entry.seq, pkid));
        }
        let mut order: Vec<&InFlight> = self.inflight.values().collect();
        order.sort_unstable_by_key(|entry| entry.seq);
        order.into_iter().map(|entry| &entry.publish)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(payload: &'static [u8]) -> Publish {
        Publish::new(
            Protocol::V5,
            "t",
            QoS::AtLeastOnce,
            Bytes::from_static(payload),
        )
    }

    #[test]
    fn ids_start_at_one_and_wrap_past_65535_to_one() {
        let mut ids = PacketIds::default();
        assert_eq!(ids.allocate(|_| false), Some(1));
        ids.next = u16::MAX;
        assert_eq!(ids.allocate(|_| false), Some(u16::MAX));
        assert_eq!(ids.allocate(|_| false), Some(1));
    }

    #[test]
    fn ids_in_use_are_skipped_and_none_is_given_when_all_are_taken() {
        let mut ids = PacketIds::default();
        assert_eq!(ids.allocate(|id| id < 4), Some(4));
        assert_eq!(ids.allocate(|_| true), None);
    }

    #[test]
    fn expired_publishes_leave_flight_and_free_their_id() {
        let mut outbox = Outbox::default();
        outbox.enqueue(PublishId(1), publish(b"a"));
        outbox.enqueue(PublishId(2), publish(b"b"));
        outbox.launch(7, Millis(0), Millis(100));
        outbox.launch(8, Millis(0), Millis(200));
        assert_eq!(outbox.next_deadline(), Some(Millis(100)));
        let expired = outbox.expire(Millis(150));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].0, PublishId(1));
        assert!(!outbox.has_pkid(7));
        assert_eq!(outbox.ack(8).map(|(id, _)| id), Some(PublishId(2)));
        assert!(outbox.ack(8).is_none());
        assert_eq!(outbox.next_deadline(), None);
    }

    #[test]
    fn an_error_puback_puts_the_publish_first_in_line_until_its_third_strike() {
        let mut outbox = Outbox::default();
        outbox.enqueue(PublishId(1), publish(b"bad"));
        outbox.enqueue(PublishId(2), publish(b"good"));
        for strike in 1..MAX_STRIKES {
            outbox.launch(5, Millis(0), Millis(100));
            assert!(matches!(outbox.reject(5), Some(Strike::Retry)));
            assert_eq!(outbox.strikes[&PublishId(1)], strike);
            assert_eq!(outbox.queued_len(), 2);
        }
        outbox.launch(5, Millis(0), Millis(100));
        let Some(Strike::Reject(id, _)) = outbox.reject(5) else {
            panic!("the third strike rejects");
        };
        assert_eq!(id, PublishId(1));
        assert_eq!(outbox.queued_len(), 1, "the rest flows");
        assert!(outbox.strikes.is_empty());
    }

    #[test]
    fn a_close_soon_after_the_oldest_publish_counts_against_it_only() {
        let mut outbox = Outbox::default();
        outbox.enqueue(PublishId(1), publish(b"a"));
        outbox.enqueue(PublishId(2), publish(b"b"));
        outbox.launch(7, Millis(1_000), Millis(9_000));
        outbox.launch(8, Millis(1_000), Millis(9_000));
        assert!(
            outbox.blame_oldest(Millis(7_000)).is_none(),
            "too long after"
        );
        assert!(matches!(
            outbox.blame_oldest(Millis(1_500)),
            Some(Strike::Retry)
        ));
        assert!(matches!(
            outbox.blame_oldest(Millis(1_500)),
            Some(Strike::Retry)
        ));
        assert!(matches!(
            outbox.blame_oldest(Millis(1_500)),
            Some(Strike::Reject(PublishId(1), _))
        ));
        assert_eq!(outbox.inflight_len(), 1);
        // An acknowledgement forgets the strikes.
        assert!(matches!(
            outbox.blame_oldest(Millis(1_500)),
            Some(Strike::Retry)
        ));
        assert!(outbox.ack(8).is_some());
        assert!(outbox.strikes.is_empty());
    }
}
