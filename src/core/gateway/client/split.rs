//! Cutting a multi-device gateway message (`{"Dev": part, ..}`) into messages
//! whose payloads each fit a byte budget and, where the server limits data
//! points per second, carry no more data points than a rate window holds.
//!
//! Every device's part is serialized once as a `"Dev":part` member; members
//! are packed in order, as many per message as fit. A part too big for a
//! message of its own is cut by its items (telemetry entries, or attribute
//! keys) into consecutive members, each as full as the budget allows, which
//! land in consecutive messages. The bytes of a message are exactly what
//! `serde_json` writes for the same object, so a batch that fits is one
//! message identical to the unsplit encoding.

use bytes::Bytes;
use serde_json::{Map, Value};

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
    fn max_points(&self) -> u64 {
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
}

/// A device whose smallest piece alone takes a payload over the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unsplittable {
    /// The device.
    pub device: String,
    /// The payload of the smallest message that carries that piece.
    pub payload_len: usize,
}

/// One `"Dev":part` member, serialized, with its data points.
struct Member<'a> {
    device: &'a str,
    bytes: Vec<u8>,
    points: u64,
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

fn json(value: &impl serde::Serialize) -> Vec<u8> {
    // Strings and `Value`s always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Split `body` (device name to part) into messages of at most `budget`
/// payload bytes, devices and their items in order, no device twice in one
/// message. Fails, naming the first device, if one piece of a part (per
/// `cut`) does not fit alone.
pub(super) fn split(
    body: &Map<String, Value>,
    cut: Cut,
    budget: Budget,
) -> Result<Vec<Piece>, Unsplittable> {
    let mut members = Vec::with_capacity(body.len());
    for (device, part) in body {
        let key = json(device);
        let mut bytes = key.clone();
        bytes.push(b':');
        bytes.extend_from_slice(&json(part));
        let part_points = if budget.points.is_some() {
            points(cut, part)
        } else {
            0
        };
        // `{` + member + `}`.
        if bytes.len() + 2 <= budget.bytes && part_points <= budget.max_points() {
            members.push(Member {
                device,
                bytes,
                points: part_points,
            });
            continue;
        }
        let (open, close, items): (u8, u8, Vec<(Vec<u8>, u64)>) = match (cut, part) {
            (Cut::Elements, Value::Array(items)) if items.len() > 1 => (
                b'[',
                b']',
                items
                    .iter()
                    .map(|item| (json(item), entry_points(item)))
                    .collect(),
            ),
            (Cut::Members, Value::Object(map)) if map.len() > 1 => (
                b'{',
                b'}',
                map.iter()
                    .map(|(k, v)| {
                        let mut item = json(k);
                        item.push(b':');
                        item.extend_from_slice(&json(v));
                        (item, 1)
                    })
                    .collect(),
            ),
            // Over the point budget but not cuttable: it goes whole (the
            // pacer waits for a full bucket for it).
            _ if bytes.len() + 2 <= budget.bytes => {
                members.push(Member {
                    device,
                    bytes,
                    points: part_points,
                });
                continue;
            }
            _ => {
                return Err(Unsplittable {
                    device: device.clone(),
                    payload_len: bytes.len() + 2,
                })
            }
        };
        cut_part(device, &key, (open, close), items, budget, &mut members)?;
    }
    Ok(pack(members, budget))
}

/// Cut one device's serialized `items` into members `"Dev":[..]` (or
/// `{..}`), each as full as `budget` allows, appended to `members`.
fn cut_part<'a>(
    device: &'a str,
    key: &[u8],
    (open, close): (u8, u8),
    items: Vec<(Vec<u8>, u64)>,
    budget: Budget,
    members: &mut Vec<Member<'a>>,
) -> Result<(), Unsplittable> {
    // `{` key `:` open item close `}`.
    let overhead = key.len() + 5;
    // The member being built, without its closing bracket, and its points.
    let mut current: Vec<u8> = Vec::new();
    let mut current_points = 0u64;
    for (item, item_points) in items {
        if overhead + item.len() > budget.bytes {
            return Err(Unsplittable {
                device: device.to_string(),
                payload_len: overhead + item.len(),
            });
        }
        // `,` item close, in braces.
        let over_bytes = current.len() + item.len() + 4 > budget.bytes;
        let over_points = current_points + item_points > budget.max_points();
        if !current.is_empty() && (over_bytes || over_points) {
            current.push(close);
            let bytes = std::mem::take(&mut current);
            members.push(Member {
                device,
                bytes,
                points: std::mem::take(&mut current_points),
            });
        }
        if current.is_empty() {
            current.extend_from_slice(key);
            current.push(b':');
            current.push(open);
        } else {
            current.push(b',');
        }
        current.extend_from_slice(&item);
        current_points += item_points;
    }
    current.push(close);
    members.push(Member {
        device,
        bytes: current,
        points: current_points,
    });
    Ok(())
}

/// Pack members in order into `{..}` payloads within `budget`;
/// consecutive members of one device go to separate messages.
fn pack(members: Vec<Member<'_>>, budget: Budget) -> Vec<Piece> {
    let mut pieces = Vec::new();
    // Bytes still to write if they all went in one message.
    let mut remaining = members.iter().map(|m| m.bytes.len() + 1).sum::<usize>() + 1;
    let mut buf: Vec<u8> = Vec::new();
    let mut devices: Vec<String> = Vec::new();
    let mut buf_points = 0u64;
    let close = |buf: &mut Vec<u8>, devices: &mut Vec<String>, pieces: &mut Vec<Piece>| {
        buf.push(b'}');
        pieces.push(Piece {
            payload: Bytes::from(std::mem::take(buf)),
            devices: std::mem::take(devices),
        });
    };
    for member in members {
        if !buf.is_empty() {
            // `,` member `}`.
            let fits = buf.len() + member.bytes.len() + 2 <= budget.bytes
                && buf_points + member.points <= budget.max_points()
                && (devices.len() as u64) < budget.entries.unwrap_or(u64::MAX);
            let repeated = devices.last().is_some_and(|d| d == member.device);
            if fits && !repeated {
                buf.push(b',');
            } else {
                close(&mut buf, &mut devices, &mut pieces);
                buf_points = 0;
            }
        }
        if buf.is_empty() {
            buf.reserve(remaining.min(budget.bytes));
            buf.push(b'{');
        }
        buf_points += member.points;
        remaining -= member.bytes.len() + 1;
        buf.extend_from_slice(&member.bytes);
        devices.push(member.device.to_string());
    }
    if !buf.is_empty() {
        close(&mut buf, &mut devices, &mut pieces);
    }
    pieces
}
