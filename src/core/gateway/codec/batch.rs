//! Telemetry for many devices written as JSON while it is built, for a
//! caller that produces many data points a second (the load test): no map
//! of values is built, no key is copied, each value is written once into
//! its device's part of `v1/gateway/telemetry`, and the entries and data
//! points are counted on the way. What is sent is exactly what
//! [`super::Uplink::Telemetry`] sends for the same devices, entries and
//! values (timed entries, values in the order put).

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Serialize;

use super::uplink::{Item, Part};

/// Telemetry entries of many devices, each written as JSON as it is put.
/// Send it with `Gateway::send_telemetry_batch`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryBatch {
    parts: Vec<BatchPart>,
    index: HashMap<String, usize>,
    entries: u64,
    points: u64,
    /// The first reason the batch must not be sent.
    problem: Option<String>,
}

/// One device's entries: `[entry,..]`.
#[derive(Debug, Clone, PartialEq)]
struct BatchPart {
    device: String,
    json: Vec<u8>,
    items: Vec<Item>,
    points: u64,
}

/// The values of one entry being written (see [`TelemetryBatch::timed`]).
#[derive(Debug)]
pub struct Values<'a> {
    json: &'a mut Vec<u8>,
    count: u64,
}

impl Values<'_> {
    /// Put one value. Keys must be distinct within an entry (a map of
    /// values could not hold a key twice).
    pub fn put(&mut self, key: &str, value: &(impl Serialize + ?Sized)) {
        if self.count > 0 {
            self.json.push(b',');
        }
        // Strings, numbers and `Value`s always serialize, into a `Vec`
        // without fail.
        let _ = serde_json::to_writer(&mut *self.json, key);
        self.json.push(b':');
        let _ = serde_json::to_writer(&mut *self.json, value);
        self.count += 1;
    }
}

impl TelemetryBatch {
    /// An empty batch.
    pub fn new() -> TelemetryBatch {
        TelemetryBatch::default()
    }

    /// Add a timed entry `{"ts": ts, "values": {..}}` to `device`'s
    /// entries (a device's entries stay in the order added; devices in the
    /// order they first appear); `write` puts its values. An entry without
    /// values, or a device without a name, makes the batch refused when
    /// sent, as `Uplink::Telemetry` refuses them.
    pub fn timed(&mut self, device: &str, ts: u64, write: impl FnOnce(&mut Values<'_>)) {
        let at = match self.index.get(device) {
            Some(&at) => at,
            None => {
                if device.is_empty() && self.problem.is_none() {
                    self.problem = Some("the device name is empty".into());
                }
                self.index.insert(device.to_string(), self.parts.len());
                self.parts.push(BatchPart {
                    device: device.to_string(),
                    json: b"[]".to_vec(),
                    items: Vec::new(),
                    points: 0,
                });
                self.parts.len() - 1
            }
        };
        let part = &mut self.parts[at];
        part.json.pop();
        if !part.items.is_empty() {
            part.json.push(b',');
        }
        part.json.extend_from_slice(b"{\"ts\":");
        let _ = serde_json::to_writer(&mut part.json, &ts);
        part.json.extend_from_slice(b",\"values\":{");
        let mut values = Values {
            json: &mut part.json,
            count: 0,
        };
        write(&mut values);
        let points = values.count;
        part.json.extend_from_slice(b"}}");
        let end = part.json.len();
        part.json.push(b']');
        if points == 0 && self.problem.is_none() {
            self.problem = Some(format!(
                "entry {} of {:?} has no values",
                part.items.len(),
                part.device
            ));
        }
        part.items.push(Item { end, points });
        part.points += points;
        self.entries += 1;
        self.points += points;
    }

    /// The entries in the batch, over all devices.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The data points in the batch (values over all entries).
    pub fn points(&self) -> u64 {
        self.points
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The devices, in the order they first appear, with their entries.
    pub fn devices(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.parts
            .iter()
            .map(|p| (p.device.as_str(), p.items.len() as u64))
    }

    /// The parts of the message, devices named by `names` (one per device
    /// in order: renames followed), two devices that are one merged; or
    /// why the batch must not be sent.
    pub(crate) fn parts<'a>(&'a self, names: &'a [String]) -> Result<Vec<Part<'a>>, String> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        if self.parts.is_empty() {
            return Err("there is no telemetry to send".into());
        }
        let mut out: Vec<Part<'a>> = Vec::with_capacity(self.parts.len());
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (part, name) in self.parts.iter().zip(names) {
            match index.get(name.as_str()) {
                // Two devices of the batch are one: its entries follow on.
                Some(&at) => {
                    let into = &mut out[at];
                    let mut json = into.json.to_vec();
                    json.pop();
                    let shift = json.len();
                    json.push(b',');
                    json.extend_from_slice(&part.json[1..]);
                    into.items.extend(part.items.iter().map(|i| Item {
                        end: i.end + shift,
                        points: i.points,
                    }));
                    into.json = Cow::Owned(json);
                    into.entries += part.items.len() as u64;
                    into.points += part.points;
                }
                None => {
                    index.insert(name, out.len());
                    out.push(Part {
                        device: name,
                        json: Cow::Borrowed(&part.json),
                        items: part.items.clone(),
                        array: true,
                        entries: part.items.len() as u64,
                        points: part.points,
                    });
                }
            }
        }
        Ok(out)
    }
}
