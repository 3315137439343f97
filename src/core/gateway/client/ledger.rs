//! Which API calls each message carries, once waiting telemetry has been
//! folded (`coalesce.rs`): a message may carry other calls' data, whole or
//! in part, besides its own. A call is acknowledged when every message
//! carrying its data is; if one of them is refused or times out, the call
//! is reported so (the first such outcome), once all of them are done.

use std::collections::HashMap;

use crate::core::mqtt::{Event, PublishId};

/// A call whose data was split over several messages.
#[derive(Debug)]
struct Split {
    /// How many of those messages are not done yet.
    left: u32,
    /// The first refusal or time-out among those that are.
    failure: Option<Event>,
}

/// The calls carried by messages other than their own.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    /// For each message waiting or in flight: the other calls it carries.
    carried: HashMap<PublishId, Vec<PublishId>>,
    /// The calls split over several messages.
    split: HashMap<PublishId, Split>,
}

/// `outcome` (an acknowledgement, refusal or time-out) as told for `id`.
fn retold(outcome: &Event, id: PublishId) -> Event {
    let mut event = outcome.clone();
    match &mut event {
        Event::Acked(x) => *x = id,
        Event::AckTimedOut { id: x, .. } | Event::Rejected { id: x, .. } => *x = id,
        _ => {}
    }
    event
}

impl Ledger {
    /// The message `carrier` now carries all of `call`'s message (which
    /// leaves the outbox), with whatever that message carried.
    pub fn carry_whole(&mut self, carrier: PublishId, call: PublishId) {
        let mut calls = vec![call];
        calls.extend(self.carried.remove(&call).unwrap_or_default());
        self.carried.entry(carrier).or_default().extend(calls);
    }

    /// The message `carrier` now carries part of `call`'s data; the rest
    /// stays in `call`'s own message.
    pub fn carry_part(&mut self, carrier: PublishId, call: PublishId) {
        self.split
            .entry(call)
            .or_insert(Split {
                left: 1,
                failure: None,
            })
            .left += 1;
        self.carried.entry(carrier).or_default().push(call);
    }

    /// The message of `outcome` is done: the outcome of each call that is
    /// now done, its own first, in order.
    pub fn settle(&mut self, id: PublishId, outcome: &Event) -> Vec<Event> {
        let failed = !matches!(outcome, Event::Acked(_));
        let mut done = Vec::new();
        let calls = std::iter::once(id).chain(self.carried.remove(&id).unwrap_or_default());
        for call in calls {
            let Some(split) = self.split.get_mut(&call) else {
                done.push(retold(outcome, call));
                continue;
            };
            split.left -= 1;
            if failed && split.failure.is_none() {
                split.failure = Some(retold(outcome, call));
            }
            if split.left == 0 {
                let split = self.split.remove(&call);
                done.push(split.and_then(|s| s.failure).unwrap_or(Event::Acked(call)));
            }
        }
        done
    }

    /// The message `id` was dropped from a full outbox: the calls it
    /// carried that no other message carries any more (itself included),
    /// which are gone without an outcome.
    pub fn drop_message(&mut self, id: PublishId) -> Vec<PublishId> {
        let mut gone = Vec::new();
        let calls = std::iter::once(id).chain(self.carried.remove(&id).unwrap_or_default());
        for call in calls {
            match self.split.get_mut(&call) {
                Some(split) if split.left > 1 => split.left -= 1,
                Some(_) => {
                    self.split.remove(&call);
                    gone.push(call);
                }
                None => gone.push(call),
            }
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acked(n: u64) -> Event {
        Event::Acked(PublishId(n))
    }

    fn rejected(n: u64) -> Event {
        Event::Rejected {
            id: PublishId(n),
            topic: "v1/gateway/telemetry".into(),
            reason: 0x97,
            explanation: "quota".into(),
        }
    }

    #[test]
    fn a_call_carried_whole_is_done_with_its_carrier() {
        let mut l = Ledger::default();
        // 2 had taken in 3; then 1 takes in 2, with what it carried.
        l.carry_whole(PublishId(2), PublishId(3));
        l.carry_whole(PublishId(1), PublishId(2));
        assert_eq!(
            l.settle(PublishId(1), &acked(1)),
            [acked(1), acked(2), acked(3)]
        );
        assert_eq!(l.settle(PublishId(9), &acked(9)), [acked(9)]);
    }

    #[test]
    fn a_split_call_is_done_when_every_part_is_and_failed_if_one_failed() {
        let mut l = Ledger::default();
        l.carry_part(PublishId(1), PublishId(5));
        l.carry_part(PublishId(2), PublishId(5));
        // Three messages carry 5: 1, 2 and 5 itself.
        assert_eq!(l.settle(PublishId(1), &acked(1)), [acked(1)]);
        assert_eq!(l.settle(PublishId(5), &acked(5)), []);
        assert_eq!(
            l.settle(PublishId(2), &rejected(2)),
            [rejected(2), rejected(5)]
        );
        // Told once.
        assert_eq!(l.settle(PublishId(5), &acked(5)), [acked(5)]);
    }

    #[test]
    fn a_dropped_message_takes_only_what_nothing_else_carries() {
        let mut l = Ledger::default();
        l.carry_part(PublishId(1), PublishId(5));
        l.carry_whole(PublishId(1), PublishId(6));
        assert_eq!(l.drop_message(PublishId(1)), [PublishId(1), PublishId(6)]);
        assert_eq!(l.settle(PublishId(5), &acked(5)), [acked(5)]);
    }
}
