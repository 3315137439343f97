//! Cutting a multi-device gateway message (`{"Dev": part, ..}`) into messages
//! whose payloads each fit a byte budget and, where the server limits data
//! points per second, carry no more data points than a rate window holds.
//!
//! Every device's part comes serialized once, with where its items end
//! ([`Part`]: telemetry is written so by the codec, other bodies by
//! [`parts_of`]); members `"Dev":part` are packed in order, as many per
//! message as fit, each copied once into its message. A part too big for a
//! message of its own is cut by its items (telemetry entries, or attribute
//! keys) into consecutive members, each as full as the budget allows, which
//! land in consecutive messages; a cut member is a slice of the part's
//! bytes between brackets, nothing is serialized again. The bytes of a
//! message are exactly what `serde_json` writes for the same object, so a
//! batch that fits is one message identical to the unsplit encoding. Each
//! message tells its telemetry entries and data points, counted from the
//! parts, so nobody parses it back to count them.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::core::gateway::codec::{Item, Part};
use crate::core::gateway::limits::entry_points;

/// What one message may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    /// Payload bytes.
    pub bytes: usize,
    /// Data points (telemetry values, attribute keys), if limited. One
    /// telemetry entry is never cut, even if it alone carries more.
    pub points: Option<u64>,
    /// Device entries, if limited (each is a message to the server's rate
    /// limits).
    pub entries: Option<u64>,
}

impl Budget {
    /// The most data points one message may carry (`u64::MAX`: no limit).
    pub(super) fn max_points(&self) -> u64 {
        self.points.unwrap_or(u64::MAX)
    }
}
/// How one device's part may be cut when it alone is too big.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// A JSON array, cut between elements (telemetry entries).
    Elements,
    /// A JSON object, cut between members (attribute keys).
    Members,
    /// Not at all (a claim must stay whole).
    Never,
}

impl Cut {
    /// The smallest piece of a part, in words, for error messages.
    pub(super) fn item(self) -> &'static str {
        match self {
            Cut::Elements => "one telemetry entry",
            Cut::Members => "one attribute",
            Cut::Never => "its claim",
        }
    }
}

/// One message of a split batch.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Piece {
    /// The JSON payload, at most the budget.
    pub payload: Bytes,
    /// The devices it names, in order.
    pub devices: Vec<String>,
    /// The entries it carries: the elements of each device's array, 1 for
    /// a device's object or other value.
    pub entries: u64,
    /// The data points it carries (telemetry values, attribute keys).
    pub points: u64,
}

/// A device whose smallest piece alone takes a payload over the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unsplittable {
    /// The device.
    pub device: String,
    /// The payload of the smallest message that carries that piece.
    pub payload_len: usize,
}

/// One `"Dev":part` member: the device's key, then `body` (a whole part,
/// or a run of its items between `brackets`).
struct Member<'a> {
    device: &'a str,
    key: &'a [u8],
    body: &'a [u8],
    brackets: Option<(u8, u8)>,
    entries: u64,
    points: u64,
}

impl Member<'_> {
    /// Its length in bytes.
    fn len(&self) -> usize {
        self.key.len() + 1 + self.body.len() + if self.brackets.is_some() { 2 } else { 0 }
    }

    /// Append its bytes to `buf`.
    fn write(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(self.key);
        buf.push(b':');
        if let Some((open, _)) = self.brackets {
            buf.push(open);
        }
        buf.extend_from_slice(self.body);
        if let Some((_, close)) = self.brackets {
            buf.push(close);
        }
    }
}

/// The data points of a part (or of one of its items) cut as `cut`.
fn points(cut: Cut, value: &Value) -> u64 {
    match cut {
        Cut::Elements => entry_points(value),
        Cut::Members => match value {
            Value::Object(map) => map.len() as u64,
            _ => 1,
        },
        Cut::Never => 0,
    }
}

fn write_json(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    // Strings and `Value`s always serialize, and a `Vec` takes every byte.
    let _ = serde_json::to_writer(out, value);
}

/// The parts of `body` (device name to part), serialized once each, with
/// their items where `cut` may cut them (an array's elements for
/// [`Cut::Elements`], an object's members for [`Cut::Members`]).
pub(super) fn parts_of(body: &Map<String, Value>, cut: Cut) -> Vec<Part<'_>> {
    body.iter()
        .map(|(device, part)| {
            let mut json = Vec::new();
            let mut items = Vec::new();
            match (cut, part) {
                (Cut::Elements, Value::Array(elements)) => {
                    json.push(b'[');
                    for (i, item) in elements.iter().enumerate() {
                        if i > 0 {
                            json.push(b',');
                        }
                        write_json(&mut json, item);
                        items.push(Item {
                            end: json.len(),
                            points: entry_points(item),
                        });
                    }
                    json.push(b']');
                }
                (Cut::Members, Value::Object(map)) => {
                    json.push(b'{');
                    for (i, (k, v)) in map.iter().enumerate() {
                        if i > 0 {
                            json.push(b',');
                        }
                        write_json(&mut json, k);
                        json.push(b':');
                        write_json(&mut json, v);
                        items.push(Item {
                            end: json.len(),
                            points: 1,
                        });
                    }
                    json.push(b'}');
                }
                _ => write_json(&mut json, part),
            }
            Part {
                device,
                json: json.into(),
                items,
                array: part.is_array(),
                entries: part.as_array().map_or(1, |a| a.len() as u64),
                points: points(cut, part),
            }
        })
        .collect()
}

/// Split `parts` (in order, no device twice) into messages of at most
/// `budget` payload bytes, devices and their items in order, no device
/// twice in one message. Fails, naming the first device, if one item of a
/// part (or a part without items) does not fit alone.
pub(super) fn split(parts: &[Part<'_>], budget: Budget) -> Result<Vec<Piece>, Unsplittable> {
    let keys: Vec<Vec<u8>> = parts
        .iter()
        .map(|part| {
            let mut key = Vec::with_capacity(part.device.len() + 2);
            write_json(&mut key, part.device);
            key
        })
        .collect();
    let mut members = Vec::with_capacity(parts.len());
    for (part, key) in parts.iter().zip(&keys) {
        let whole = Member {
            device: part.device,
            key,
            body: &part.json,
            brackets: None,
            entries: part.entries,
            points: part.points,
        };
        // `{` + member + `}`.
        let fits_bytes = whole.len() + 2 <= budget.bytes;
        if fits_bytes && part.points <= budget.max_points() {
            members.push(whole);
            continue;
        }
        if part.items.len() > 1 {
            cut_part(part, key, budget, &mut members)?;
        } else if fits_bytes {
            // Over the point budget but not cuttable: it goes whole (the
            // pacer waits for a full bucket for it).
            members.push(whole);
        } else {
            return Err(Unsplittable {
                device: part.device.to_string(),
                payload_len: whole.len() + 2,
            });
        }
    }
    Ok(pack(members, budget))
}

/// Cut one part's items into members `"Dev":[..]` (or `{..}`), each as
/// full as `budget` allows, appended to `members`.
fn cut_part<'a>(
    part: &'a Part<'a>,
    key: &'a [u8],
    budget: Budget,
    members: &mut Vec<Member<'a>>,
) -> Result<(), Unsplittable> {
    let brackets = (part.json[0], part.json[part.json.len() - 1]);
    // `{` key `:` open item close `}`.
    let overhead = key.len() + 5;
    let member = |from: usize, to: usize, count: u64, points: u64| Member {
        device: part.device,
        key,
        body: &part.json[from..to],
        brackets: Some(brackets),
        entries: if part.array { count } else { 1 },
        points,
    };
    // The member being built: where its items start and end, how many and
    // their points (none yet: `count` is 0).
    let (mut from, mut to, mut count, mut current_points) = (0, 0, 0u64, 0u64);
    let mut start = 1;
    for &Item { end, points } in &part.items {
        let item_len = end - start;
        if overhead + item_len > budget.bytes {
            return Err(Unsplittable {
                device: part.device.to_string(),
                payload_len: overhead + item_len,
            });
        }
        // The member so far without its close: key `:` open items.
        let current_len = if count == 0 {
            0
        } else {
            key.len() + 2 + (to - from)
        };
        // `,` item close, in braces.
        let over_bytes = current_len + item_len + 4 > budget.bytes;
        let over_points = current_points + points > budget.max_points();
        if count > 0 && (over_bytes || over_points) {
            members.push(member(from, to, count, current_points));
            (count, current_points) = (0, 0);
        }
        if count == 0 {
            from = start;
        }
        to = end;
        count += 1;
        current_points += points;
        start = end + 1;
    }
    members.push(member(from, to, count, current_points));
    Ok(())
}

/// Pack members in order into `{..}` payloads within `budget`;
/// consecutive members of one device go to separate messages.
fn pack(members: Vec<Member<'_>>, budget: Budget) -> Vec<Piece> {
    let mut pieces = Vec::new();
    // Bytes still to write if they all went in one message.
    let mut remaining = members.iter().map(|m| m.len() + 1).sum::<usize>() + 1;
    let mut buf: Vec<u8> = Vec::new();
    let mut devices: Vec<String> = Vec::new();
    let (mut buf_entries, mut buf_points) = (0u64, 0u64);
    let mut close = |buf: &mut Vec<u8>, devices: &mut Vec<String>, entries, points| {
        buf.push(b'}');
        pieces.push(Piece {
            payload: Bytes::from(std::mem::take(buf)),
            devices: std::mem::take(devices),
            entries,
            points,
        });
    };
    for member in members {
        if !buf.is_empty() {
            // `,` member `}`.
            let fits = buf.len() + member.len() + 2 <= budget.bytes
                && buf_points + member.points <= budget.max_points()
                && (devices.len() as u64) < budget.entries.unwrap_or(u64::MAX);
            let repeated = devices.last().is_some_and(|d| d == member.device);
            if fits && !repeated {
                buf.push(b',');
            } else {
                close(&mut buf, &mut devices, buf_entries, buf_points);
                (buf_entries, buf_points) = (0, 0);
            }
        }
        if buf.is_empty() {
            buf.reserve(remaining.min(budget.bytes));
            buf.push(b'{');
        }
        buf_entries += member.entries;
        buf_points += member.points;
        let len = member.len();
        remaining -= len + 1;
        member.write(&mut buf);
        devices.push(member.device.to_string());
    }
    if !buf.is_empty() {
        close(&mut buf, &mut devices, buf_entries, buf_points);
    }
    pieces
}
