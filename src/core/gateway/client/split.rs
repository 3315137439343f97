//! Cutting a multi-device gateway message (`{"Dev": part, ..}`) into messages
//! whose payloads each fit a byte budget.
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

/// One `"Dev":part` member, serialized.
struct Member<'a> {
    device: &'a str,
    bytes: Vec<u8>,
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
    budget: usize,
) -> Result<Vec<Piece>, Unsplittable> {
    let mut members = Vec::with_capacity(body.len());
    for (device, part) in body {
        let key = json(device);
        let mut bytes = key.clone();
        bytes.push(b':');
        bytes.extend_from_slice(&json(part));
        // `{` + member + `}`.
        if bytes.len() + 2 <= budget {
            members.push(Member { device, bytes });
            continue;
        }
        let (open, close, items): (u8, u8, Vec<Vec<u8>>) = match (cut, part) {
            (Cut::Elements, Value::Array(items)) if items.len() > 1 => {
                (b'[', b']', items.iter().map(json).collect())
            }
            (Cut::Members, Value::Object(map)) if map.len() > 1 => (
                b'{',
                b'}',
                map.iter()
                    .map(|(k, v)| {
                        let mut item = json(k);
                        item.push(b':');
                        item.extend_from_slice(&json(v));
                        item
                    })
                    .collect(),
            ),
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
    items: Vec<Vec<u8>>,
    budget: usize,
    members: &mut Vec<Member<'a>>,
) -> Result<(), Unsplittable> {
    // `{` key `:` open item close `}`.
    let overhead = key.len() + 5;
    // The member being built, without its closing bracket.
    let mut current: Vec<u8> = Vec::new();
    for item in items {
        if overhead + item.len() > budget {
            return Err(Unsplittable {
                device: device.to_string(),
                payload_len: overhead + item.len(),
            });
        }
        // `,` item close, in braces.
        if !current.is_empty() && current.len() + item.len() + 4 > budget {
            current.push(close);
            let bytes = std::mem::take(&mut current);
            members.push(Member { device, bytes });
        }
        if current.is_empty() {
            current.extend_from_slice(key);
            current.push(b':');
            current.push(open);
        } else {
            current.push(b',');
        }
        current.extend_from_slice(&item);
    }
    current.push(close);
    members.push(Member {
        device,
        bytes: current,
    });
    Ok(())
}

/// Pack members in order into `{..}` payloads of at most `budget` bytes;
/// consecutive members of one device go to separate messages.
fn pack(members: Vec<Member<'_>>, budget: usize) -> Vec<Piece> {
    let mut pieces = Vec::new();
    // Bytes still to write if they all went in one message.
    let mut remaining = members.iter().map(|m| m.bytes.len() + 1).sum::<usize>() + 1;
    let mut buf: Vec<u8> = Vec::new();
    let mut devices: Vec<String> = Vec::new();
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
            let fits = buf.len() + member.bytes.len() + 2 <= budget;
            let repeated = devices.last().is_some_and(|d| d == member.device);
            if fits && !repeated {
                buf.push(b',');
            } else {
                close(&mut buf, &mut devices, &mut pieces);
            }
        }
        if buf.is_empty() {
            buf.reserve(remaining.min(budget));
            buf.push(b'{');
        }
        remaining -= member.bytes.len() + 1;
        buf.extend_from_slice(&member.bytes);
        devices.push(member.device.to_string());
    }
    if !buf.is_empty() {
        close(&mut buf, &mut devices, &mut pieces);
    }
    pieces
}
