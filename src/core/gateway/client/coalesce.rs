//! Coalescing the telemetry that waits in the outbox: the
//! `v1/gateway/telemetry` messages behind the oldest are folded into it,
//! each device's entries appended to its part, as long as the result fits
//! what one message may hold ([`Budget`]: the maximum payload, the data
//! points a rate window holds, the device entries the server counts as
//! messages).
//!
//! Why: ThingsBoard counts every device entry of a gateway message as a
//! message against the gateway's rate limits, so ten waiting messages for
//! one device, folded, cost one message instead of ten; and each folded
//! message is one packet, one in-flight slot and one PUBACK instead of many.
//!
//! Which messages: a simulator tick over many devices is cut into messages
//! of a few devices each, so the next message for the same devices is not
//! the next in the queue but one tick further. The search goes past the
//! messages that do not fit (up to [`SCAN`] messages), but a device of a
//! message passed over is never taken ahead of it: each device's entries
//! keep their order. It stops at the first message of another kind (a
//! registration must go before the telemetry that follows it).
//!
//! A device's entries without a timestamp are stamped by the server with the
//! time it receives them: two such entries for one device in one message
//! would get the same time and the later would hide the earlier. A message
//! is therefore not folded in where a device it names would end up with an
//! untimed entry beside others.
//!
//! The bytes are exactly what `serde_json` writes for the folded object
//! (every entry is serialized once, when its message is read).

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use serde_json::{Map, Value};

use super::held::HeldQueue;
use super::split::Budget;
use crate::core::gateway::codec::topics;
use crate::core::gateway::limits::entry_points;
use crate::core::mqtt::PublishId;

/// How many messages behind the oldest are searched for telemetry to fold
/// into it.
pub(super) const SCAN: usize = 1_000;

/// The oldest message of the outbox after folding.
pub(super) struct Folded {
    /// Its new payload.
    pub payload: Bytes,
    /// The devices it names, in order.
    pub devices: Vec<String>,
    /// Its data points.
    pub points: u64,
    /// The messages folded into it whole (taken out of the outbox), in
    /// order.
    pub whole: Vec<PublishId>,
    /// The messages it took part of: each keeps the rest, this payload.
    pub part: Vec<(PublishId, Bytes)>,
}

/// Fold into the oldest message of `queue` (a gateway telemetry message)
/// the telemetry behind it that fits `budget`: whole messages, or the
/// parts of devices it can take from a message whose other devices stay
/// there. Returns what it became, if anything was folded, and whether it
/// is full (searching again later would find no room).
pub(super) fn fold_front(queue: &mut HeldQueue, budget: Budget) -> (Option<Folded>, bool) {
    let topic = topics::GATEWAY_TELEMETRY;
    let Some(front) = queue.get_mut(0).filter(|f| f.topic == topic) else {
        return (None, true);
    };
    let Some(mut folding) = Coalescer::start(&front.payload, budget) else {
        return (None, true);
    };
    // Devices of what stays behind: nothing of theirs may go ahead of it.
    let mut passed_over: HashSet<String> = HashSet::new();
    let (mut whole, mut part) = (Vec::new(), Vec::new());
    let mut full = false;
    for index in 1..=SCAN {
        let Some(next) = queue.get_mut(index) else {
            break;
        };
        if next.topic != topic {
            break;
        }
        let devices = next.devices();
        if devices.is_empty() {
            // Unreadable: its devices are unknown, so nothing behind it
            // may go ahead of it.
            full = true;
            break;
        }
        let open = devices
            .iter()
            .any(|d| !passed_over.contains(d) && folding.has_room_for(d));
        let taken = if open {
            folding.take(&next.payload, &passed_over)
        } else {
            Take::Nothing
        };
        match taken {
            Take::Whole => whole.push(index),
            Take::Part { rest, kept } => {
                passed_over.extend(kept.iter().cloned());
                part.push((index, rest, kept));
            }
            Take::Nothing => passed_over.extend(next.devices().iter().cloned()),
        }
        if folding.is_full() {
            full = true;
            break;
        }
    }
    if whole.is_empty() && part.is_empty() {
        return (None, full);
    }
    let part = part
        .into_iter()
        .filter_map(|(index, rest, kept)| queue.keep_rest(index, rest, kept))
        .collect();
    let whole = queue.take_at(&whole).into_iter().map(|h| h.id).collect();
    let devices = folding.device_names();
    let points = folding.points();
    let folded = Folded {
        payload: folding.finish(),
        devices,
        points,
        whole,
        part,
    };
    (Some(folded), full)
}

/// What [`Coalescer::take`] took of a message.
pub(super) enum Take {
    /// All of it.
    Whole,
    /// Some devices' parts; the others stay in the message.
    Part {
        /// The message with the parts left.
        rest: Bytes,
        /// Their devices, in order.
        kept: Vec<String>,
    },
    /// Nothing.
    Nothing,
}

/// One telemetry entry, serialized.
struct Entry {
    json: Vec<u8>,
    timed: bool,
}

/// One device's part: its name (and serialized) and entries, in order.
struct Part {
    device: String,
    name: Vec<u8>,
    entries: Vec<Entry>,
}

impl Part {
    fn untimed(&self) -> bool {
        self.entries.iter().any(|e| !e.timed)
    }
}

/// A gateway telemetry message being folded together from several.
pub(super) struct Coalescer {
    parts: Vec<Part>,
    index: HashMap<String, usize>,
    /// The length of the folded payload.
    len: usize,
    /// Its data points.
    points: u64,
    budget: Budget,
}

/// A `{"Dev": [entries], ..}` payload read into serialized parts; `None` if
/// it is not one (then it is left as it is).
fn read(payload: &[u8]) -> Option<Vec<(String, Vec<Entry>, u64)>> {
    let body: Map<String, Value> = serde_json::from_slice(payload).ok()?;
    let mut parts = Vec::with_capacity(body.len());
    for (device, part) in body {
        let Value::Array(items) = part else {
            return None;
        };
        let mut points = 0;
        let mut entries = Vec::with_capacity(items.len());
        for item in &items {
            let Value::Object(map) = item else {
                return None;
            };
            points += entry_points(item);
            entries.push(Entry {
                json: serde_json::to_vec(item).ok()?,
                timed: map.contains_key("ts"),
            });
        }
        parts.push((device, entries, points));
    }
    Some(parts)
}

/// What a list of `entries` adds to a payload, commas between them included.
fn entries_len(entries: &[Entry]) -> usize {
    entries.iter().map(|e| e.json.len() + 1).sum::<usize>()
}

impl Coalescer {
    /// Start from the first message's `payload`. `None` if it is not a
    /// gateway telemetry payload or is over the budget already: then it goes
    /// out as it is.
    pub fn start(payload: &[u8], budget: Budget) -> Option<Coalescer> {
        let mut c = Coalescer {
            parts: Vec::new(),
            index: HashMap::new(),
            len: 2, // `{}`
            points: 0,
            budget,
        };
        // The first message, whole (else it goes out as it is).
        if !matches!(c.take(payload, &HashSet::new()), Take::Whole) {
            return None;
        }
        Some(c)
    }

    /// Whether `device`'s part could be taken by the device budget (it is
    /// named already, or there is room for one more).
    pub fn has_room_for(&self, device: &str) -> bool {
        self.index.contains_key(device)
            || self
                .budget
                .entries
                .is_none_or(|max| (self.parts.len() as u64) < max)
    }

    /// Take from the message `payload` the parts of its devices that fit,
    /// in order, except those of `passed_over` devices (which must keep
    /// their place) and those a part already left behind (same reason).
    pub fn take(&mut self, payload: &[u8], passed_over: &HashSet<String>) -> Take {
        let Some(incoming) = read(payload) else {
            return Take::Nothing;
        };
        let mut kept: Vec<(String, Vec<Entry>)> = Vec::new();
        let mut taken = 0;
        for (device, entries, part_points) in incoming {
            let left_behind = kept.iter().any(|(d, _)| *d == device);
            if left_behind
                || passed_over.contains(&device)
                || !self.fits(&device, &entries, part_points)
            {
                kept.push((device, entries));
                continue;
            }
            self.append(device, entries, part_points);
            taken += 1;
        }
        match (taken, kept.is_empty()) {
            (0, _) => Take::Nothing,
            (_, true) => Take::Whole,
            _ => {
                let devices = kept.iter().map(|(d, _)| d.clone()).collect();
                let parts: Vec<Part> = kept
                    .into_iter()
                    .map(|(device, entries)| Part {
                        name: serde_json::to_vec(&device).unwrap_or_default(),
                        device,
                        entries,
                    })
                    .collect();
                Take::Part {
                    rest: write(&parts),
                    kept: devices,
                }
            }
        }
    }

    /// Whether `device`'s part (`entries`, with `points`) fits.
    fn fits(&self, device: &str, entries: &[Entry], points: u64) -> bool {
        if entries.is_empty() {
            return false;
        }
        let (len, devices) = match self.index.get(device) {
            Some(&i) => {
                let untimed = entries.iter().any(|e| !e.timed);
                if untimed || self.parts[i].untimed() {
                    return false;
                }
                (self.len + entries_len(entries), self.parts.len())
            }
            None => {
                let name = serde_json::to_vec(device).map(|n| n.len()).unwrap_or(0);
                let comma = usize::from(!self.parts.is_empty());
                (
                    self.len + name + 1 + 2 + entries_len(entries) - 1 + comma,
                    self.parts.len() + 1,
                )
            }
        };
        len <= self.budget.bytes
            && self
                .budget
                .points
                .is_none_or(|max| self.points + points <= max)
            && self.budget.entries.is_none_or(|max| devices as u64 <= max)
    }

    /// Append `device`'s part (checked by [`Coalescer::fits`]).
    fn append(&mut self, device: String, entries: Vec<Entry>, points: u64) {
        match self.index.get(&device) {
            Some(&i) => {
                self.len += entries_len(&entries);
                self.parts[i].entries.extend(entries);
            }
            None => {
                let name = serde_json::to_vec(&device).unwrap_or_default();
                self.len += name.len() + 1 + 2 + entries_len(&entries) - 1
                    + usize::from(!self.parts.is_empty());
                self.index.insert(device.clone(), self.parts.len());
                self.parts.push(Part {
                    name,
                    device,
                    entries,
                });
            }
        }
        self.points += points;
    }

    /// Whether it is as full as the bytes or data points allow (room left
    /// for less than the smallest entry).
    pub fn is_full(&self) -> bool {
        self.len + 16 > self.budget.bytes
            || self.budget.points.is_some_and(|max| self.points >= max)
    }

    /// Fold in a whole message (`payload`), or nothing: the tests' way
    /// to build one up.
    #[cfg(test)]
    fn add(&mut self, payload: &[u8]) -> bool {
        matches!(self.take(payload, &HashSet::new()), Take::Whole)
    }

    /// The devices it names, in order.
    pub fn device_names(&self) -> Vec<String> {
        self.parts.iter().map(|p| p.device.clone()).collect()
    }

    /// Its data points.
    pub fn points(&self) -> u64 {
        self.points
    }

    /// The folded payload.
    pub fn finish(self) -> Bytes {
        let out = write(&self.parts);
        debug_assert_eq!(out.len(), self.len);
        out
    }
}

/// `parts` as the JSON object serde_json would write.
fn write(parts: &[Part]) -> Bytes {
    let mut out = Vec::new();
    out.push(b'{');
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&part.name);
        out.extend_from_slice(b":[");
        for (j, entry) in part.entries.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&entry.json);
        }
        out.push(b']');
    }
    out.push(b'}');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn budget(bytes: usize) -> Budget {
        Budget {
            bytes,
            points: None,
            entries: None,
        }
    }

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn messages_fold_into_one_with_each_devices_entries_in_order() {
        let mut c = Coalescer::start(
            &bytes(json!({"A": [{"ts": 1, "values": {"t": 1}}]})),
            budget(65_536),
        )
        .unwrap();
        assert!(c.add(&bytes(
            json!({"B": [{"ts": 2, "values": {"t": 2, "h": 3}}]})
        )));
        assert!(c.add(&bytes(json!({"A": [{"ts": 3, "values": {"t": 4}}]}))));
        assert_eq!(
            (c.device_names(), c.points()),
            (vec!["A".to_string(), "B".to_string()], 4)
        );
        let folded = c.finish();
        let expected = json!({
            "A": [{"ts": 1, "values": {"t": 1}}, {"ts": 3, "values": {"t": 4}}],
            "B": [{"ts": 2, "values": {"t": 2, "h": 3}}],
        });
        // Byte for byte what serde_json writes for the folded object.
        assert_eq!(&folded[..], &bytes(expected)[..]);
    }

    #[test]
    fn nothing_is_folded_past_the_byte_budget() {
        let first = bytes(json!({"A": [{"ts": 1, "values": {"t": 1}}]}));
        let second = bytes(json!({"A": [{"ts": 2, "values": {"t": 2}}]}));
        let both =
            bytes(json!({"A": [{"ts": 1, "values": {"t": 1}}, {"ts": 2, "values": {"t": 2}}]}));
        // Exactly enough room: folded.
        let mut c = Coalescer::start(&first, budget(both.len())).unwrap();
        assert!(c.add(&second));
        assert_eq!(c.finish().len(), both.len());
        // One byte less: left alone, and the first is unchanged.
        let mut c = Coalescer::start(&first, budget(both.len() - 1)).unwrap();
        assert!(!c.add(&second));
        assert_eq!(&c.finish()[..], &first[..]);
        // A first message over the budget is not a start.
        assert!(Coalescer::start(&first, budget(first.len() - 1)).is_none());
    }

    #[test]
    fn the_points_and_device_budgets_hold() {
        let one = |d: &str, ts: u64| bytes(json!({ d: [{"ts": ts, "values": {"a": 1, "b": 2}}] }));
        let limited = Budget {
            bytes: 65_536,
            points: Some(4),
            entries: Some(2),
        };
        let mut c = Coalescer::start(&one("A", 1), limited).unwrap();
        assert!(c.add(&one("B", 2)));
        assert!(!c.add(&one("A", 3)), "6 points > 4");
        let mut c = Coalescer::start(
            &one("A", 1),
            Budget {
                points: None,
                ..limited
            },
        )
        .unwrap();
        assert!(c.add(&one("B", 2)));
        assert!(c.add(&one("A", 3)), "a device already named costs no entry");
        assert!(!c.add(&one("C", 4)), "a third device > 2");
    }

    #[test]
    fn untimed_entries_never_share_a_device_part() {
        let flat = |d: &str, v: u64| bytes(json!({ d: [{ "t": v }] }));
        let timed = |d: &str, ts: u64| bytes(json!({ d: [{"ts": ts, "values": {"t": 1}}] }));
        let mut c = Coalescer::start(&flat("A", 1), budget(65_536)).unwrap();
        assert!(!c.add(&flat("A", 2)), "the server would stamp both alike");
        assert!(!c.add(&timed("A", 2)));
        assert!(c.add(&flat("B", 2)), "another device is fine");
        let mut c = Coalescer::start(&timed("A", 1), budget(65_536)).unwrap();
        assert!(!c.add(&flat("A", 2)));
    }

    fn queue(messages: &[(&str, Value)]) -> HeldQueue {
        let mut q = HeldQueue::default();
        for (n, (topic, body)) in messages.iter().enumerate() {
            q.push_back(super::super::held::Held::new(
                PublishId(n as u64 + 1),
                topic.to_string(),
                Bytes::from(bytes(body.clone())),
                None,
            ));
        }
        q
    }

    fn t(ts: u64) -> Value {
        json!([{ "ts": ts, "values": { "v": ts } }])
    }

    const TELEMETRY: &str = "v1/gateway/telemetry";

    /// Room for two devices a message.
    fn two_devices() -> Budget {
        Budget {
            bytes: 65_536,
            points: None,
            entries: Some(2),
        }
    }

    #[test]
    fn the_same_devices_a_tick_later_are_found_past_the_others_and_folded() {
        // Ticks over 4 devices, cut two devices a message.
        let mut q = queue(&[
            (TELEMETRY, json!({"A": t(1), "B": t(1)})),
            (TELEMETRY, json!({"C": t(1), "D": t(1)})),
            (TELEMETRY, json!({"A": t(2), "B": t(2)})),
            (TELEMETRY, json!({"C": t(2), "D": t(2)})),
            (TELEMETRY, json!({"A": t(3), "B": t(3)})),
        ]);
        let (folded, full) = fold_front(&mut q, two_devices());
        let folded = folded.unwrap();
        assert!(!full, "more of A and B may come");
        assert_eq!(folded.whole, [PublishId(3), PublishId(5)]);
        assert!(folded.part.is_empty());
        assert_eq!(folded.devices, ["A", "B"]);
        assert_eq!(
            serde_json::from_slice::<Value>(&folded.payload).unwrap(),
            json!({"A": [t(1)[0], t(2)[0], t(3)[0]], "B": [t(1)[0], t(2)[0], t(3)[0]]})
        );
        assert_eq!(q.len(), 3, "the front and the two C/D messages");
    }

    #[test]
    fn a_message_with_more_devices_than_room_gives_the_parts_that_fit() {
        let mut q = queue(&[
            (TELEMETRY, json!({"A": t(1)})),
            (TELEMETRY, json!({"B": t(1), "C": t(1)})),
            (TELEMETRY, json!({"A": t(2)})),
            (TELEMETRY, json!({"B": t(2)})),
        ]);
        let (folded, _) = fold_front(&mut q, two_devices());
        let folded = folded.unwrap();
        // B's part of the second message, then both of A's and B's later.
        assert_eq!(folded.whole, [PublishId(3), PublishId(4)]);
        assert_eq!(folded.part.len(), 1);
        assert_eq!(folded.part[0].0, PublishId(2));
        assert_eq!(
            serde_json::from_slice::<Value>(&folded.part[0].1).unwrap(),
            json!({"C": t(1)})
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&folded.payload).unwrap(),
            json!({"A": [t(1)[0], t(2)[0]], "B": [t(1)[0], t(2)[0]]})
        );
        assert_eq!(q.len(), 2, "the front and C's rest");
    }

    #[test]
    fn a_device_of_a_part_left_behind_never_goes_ahead_of_it() {
        let mut q = queue(&[
            (TELEMETRY, json!({"A": t(1)})),
            // C does not fit beside A and B: its part stays.
            (TELEMETRY, json!({"B": t(1), "C": t(1)})),
            // So C's next entry must not overtake it.
            (TELEMETRY, json!({"C": t(2)})),
        ]);
        let (folded, _) = fold_front(&mut q, two_devices());
        let folded = folded.unwrap();
        assert!(folded.whole.is_empty());
        assert_eq!(folded.part.len(), 1);
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn the_search_stops_at_a_message_of_another_kind() {
        let mut q = queue(&[
            (TELEMETRY, json!({"A": t(1)})),
            ("v1/gateway/connect", json!({"device": "E"})),
            (TELEMETRY, json!({"A": t(2)})),
        ]);
        let (folded, _) = fold_front(&mut q, budget(65_536));
        assert!(folded.is_none());
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn a_front_full_by_bytes_is_said_full_and_not_searched_again() {
        let first = bytes(json!({"A": t(1)}));
        let mut q = queue(&[
            (TELEMETRY, json!({"A": t(1)})),
            (TELEMETRY, json!({"A": t(2)})),
            (TELEMETRY, json!({"A": t(3)})),
        ]);
        let (folded, full) = fold_front(&mut q, budget(first.len() + 10));
        assert!(folded.is_none());
        assert!(full);
    }

    #[test]
    fn what_is_not_gateway_telemetry_is_left_alone() {
        for payload in [
            &b"not json"[..],
            b"[1]",
            br#"{"A":{"t":1}}"#,
            br#"{"A":[1]}"#,
        ] {
            assert!(Coalescer::start(payload, budget(65_536)).is_none());
        }
        let mut c = Coalescer::start(br#"{"A":[{"t":1}]}"#, budget(65_536)).unwrap();
        assert!(!c.add(b"{"));
        assert!(!c.add(br#"{"B":[]}"#));
    }
}
