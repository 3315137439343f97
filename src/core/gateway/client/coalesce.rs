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
    /// The ids of the messages folded into it, in order (with what had
    /// been folded into them).
    pub absorbed: Vec<PublishId>,
}

/// Fold into the oldest message of `queue` (a gateway telemetry message)
/// the telemetry messages behind it that fit `budget`, taking them out of
/// the queue. Returns what it became, if anything was folded, and whether
/// it is full (a message that did not fit was met: searching again later
/// would find nothing more).
pub(super) fn fold_front(queue: &mut HeldQueue, budget: Budget) -> (Option<Folded>, bool) {
    let topic = topics::GATEWAY_TELEMETRY;
    let Some(front) = queue.get_mut(0).filter(|f| f.topic == topic) else {
        return (None, true);
    };
    let Some(mut folding) = Coalescer::start(&front.payload, budget) else {
        return (None, true);
    };
    let mut passed_over: HashSet<String> = HashSet::new();
    let mut taken = Vec::new();
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
        let blocked = devices.iter().any(|d| passed_over.contains(d));
        if blocked || !folding.has_room_for(devices) || !folding.add(&next.payload) {
            // Passed over: nothing of its devices goes ahead of it.
            passed_over.extend(next.devices().iter().cloned());
            if folding.is_full() {
                full = true;
                break;
            }
            continue;
        }
        taken.push(index);
    }
    if taken.is_empty() {
        return (None, full);
    }
    let absorbed = queue
        .take_at(&taken)
        .into_iter()
        .flat_map(|h| std::iter::once(h.id).chain(h.absorbed))
        .collect();
    let devices = folding.device_names();
    let points = folding.points();
    let folded = Folded {
        payload: folding.finish(),
        devices,
        points,
        absorbed,
    };
    (Some(folded), full)
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
        if !c.add(payload) || c.parts.is_empty() {
            return None;
        }
        Some(c)
    }

    /// Whether a message naming `devices` could fit by the device budget
    /// (checked before its payload is read).
    pub fn has_room_for(&self, devices: &[String]) -> bool {
        let new = devices
            .iter()
            .filter(|d| !self.index.contains_key(*d))
            .count();
        self.budget
            .entries
            .is_none_or(|max| (self.parts.len() + new) as u64 <= max)
    }

    /// Whether it is as full as the bytes or data points allow (room left
    /// for less than the smallest entry).
    pub fn is_full(&self) -> bool {
        self.len + 16 > self.budget.bytes
            || self.budget.points.is_some_and(|max| self.points >= max)
    }

    /// Fold in the next message's `payload` if the result stays within the
    /// budget and gives no device an untimed entry beside others; else
    /// change nothing and say `false`.
    pub fn add(&mut self, payload: &[u8]) -> bool {
        let Some(incoming) = read(payload) else {
            return false;
        };
        let (mut len, mut points, mut devices) = (self.len, self.points, self.parts.len());
        for (device, entries, part_points) in &incoming {
            if entries.is_empty() {
                return false;
            }
            points += part_points;
            match self.index.get(device) {
                Some(&i) => {
                    let untimed = entries.iter().any(|e| !e.timed);
                    if untimed || self.parts[i].untimed() {
                        return false;
                    }
                    // `,entry` for each.
                    len += entries_len(entries);
                }
                None => {
                    let name = serde_json::to_vec(device).unwrap_or_default();
                    // `"Dev":[e1,e2]` plus a comma if not the first part.
                    len += name.len() + 1 + 2 + entries_len(entries) - 1 + usize::from(devices > 0);
                    devices += 1;
                }
            }
        }
        let within = len <= self.budget.bytes
            && self.budget.points.is_none_or(|max| points <= max)
            && self.budget.entries.is_none_or(|max| devices as u64 <= max);
        if !within {
            return false;
        }
        for (device, entries, _) in incoming {
            match self.index.get(&device) {
                Some(&i) => self.parts[i].entries.extend(entries),
                None => {
                    self.index.insert(device.clone(), self.parts.len());
                    self.parts.push(Part {
                        name: serde_json::to_vec(&device).unwrap_or_default(),
                        device,
                        entries,
                    });
                }
            }
        }
        self.len = len;
        self.points = points;
        true
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
        let mut out = Vec::with_capacity(self.len);
        out.push(b'{');
        for (i, part) in self.parts.iter().enumerate() {
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
        debug_assert_eq!(out.len(), self.len);
        Bytes::from(out)
    }
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
        let two = Budget {
            bytes: 65_536,
            points: None,
            entries: Some(2),
        };
        let (folded, full) = fold_front(&mut q, two);
        let folded = folded.unwrap();
        assert!(!full, "more of A and B may come");
        assert_eq!(folded.absorbed, [PublishId(3), PublishId(5)]);
        assert_eq!(folded.devices, ["A", "B"]);
        assert_eq!(
            serde_json::from_slice::<Value>(&folded.payload).unwrap(),
            json!({"A": [t(1)[0], t(2)[0], t(3)[0]], "B": [t(1)[0], t(2)[0], t(3)[0]]})
        );
        assert_eq!(q.len(), 3, "the front and the two C/D messages");
    }

    #[test]
    fn a_device_of_a_message_passed_over_never_goes_ahead_of_it() {
        let mut q = queue(&[
            (TELEMETRY, json!({"A": t(1)})),
            // Does not fit two devices with A: passed over.
            (TELEMETRY, json!({"B": t(1), "C": t(1)})),
            (TELEMETRY, json!({"A": t(2)})),
            // B must not overtake B's first entry.
            (TELEMETRY, json!({"B": t(2)})),
        ]);
        let two = Budget {
            bytes: 65_536,
            points: None,
            entries: Some(2),
        };
        let (folded, _) = fold_front(&mut q, two);
        assert_eq!(folded.unwrap().absorbed, [PublishId(3)]);
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
