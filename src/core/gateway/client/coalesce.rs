//! Coalescing the telemetry that waits in the outbox: consecutive
//! `v1/gateway/telemetry` messages are folded into one, each device's
//! entries appended to its part, as long as the result fits what one
//! message may hold ([`Budget`]: the maximum payload, the data points a rate
//! window holds, the device entries the server counts as messages).
//!
//! Why: ThingsBoard counts every device entry of a gateway message as a
//! message against the gateway's rate limits, so ten waiting messages for
//! one device, folded, cost one message instead of ten; and each folded
//! message is one packet, one in-flight slot and one PUBACK instead of many.
//!
//! A device's entries without a timestamp are stamped by the server with the
//! time it receives them: two such entries for one device in one message
//! would get the same time and the later would hide the earlier. A message
//! is therefore not folded in where a device it names would end up with an
//! untimed entry beside others.
//!
//! The bytes are exactly what `serde_json` writes for the folded object
//! (every entry is serialized once, when its message is read).

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::split::Budget;
use crate::core::gateway::limits::entry_points;

/// One telemetry entry, serialized.
struct Entry {
    json: Vec<u8>,
    timed: bool,
}

/// One device's part: its name (serialized) and entries, in order.
struct Part {
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
                        entries,
                    });
                }
            }
        }
        self.len = len;
        self.points = points;
        true
    }

    /// How many devices the folded message names (each a message to the
    /// server's rate limits).
    pub fn devices(&self) -> u64 {
        self.parts.len() as u64
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
        assert_eq!((c.devices(), c.points()), (2, 4));
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
