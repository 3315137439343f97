//! Shared attributes as last received, with their time, and deletions.
//! Bounded in bytes, as everything the server can grow is (wasm memory
//! never shrinks):
//!
//! - a value heavier than [`SHARED_VALUE_BYTES`] is kept as the start of
//!   its JSON text ([`SHARED_PREVIEW_BYTES`]), marked with its size
//!   ([`SharedValue::truncated`]), as a table cell of ThingsBoard's UI
//!   shows the start of a long value;
//! - one device's attributes (or the gateway's own) weigh at most
//!   [`SHARED_DEVICE_BYTES`]: past that the attributes received longest ago
//!   (values or deletions) are forgotten and counted
//!   ([`SharedAttributes::dropped`]);
//! - every device's together weigh at most [`SHARED_TOTAL_BYTES`] (see
//!   [`Model`](super::Model)).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::core::gateway::codec::{AttributeUpdate, Attributes};
use crate::core::time::Millis;
use crate::core::weight::{json_weight, ENTRY_OVERHEAD};

/// The most one shared attribute's value may weigh and be kept whole
/// (256 KiB); a heavier one is kept truncated.
pub const SHARED_VALUE_BYTES: usize = 256 * 1024;

/// How much of a truncated value's JSON text is kept (1 KiB).
pub const SHARED_PREVIEW_BYTES: usize = 1024;

/// What one device's shared attributes (or the gateway's own) may weigh
/// together (1 MiB): values, keys and deletions.
pub const SHARED_DEVICE_BYTES: usize = 1024 * 1024;

/// What every device's shared attributes may weigh together (16 MiB; the
/// gateway's own count apart, within [`SHARED_DEVICE_BYTES`]). Past it, the
/// attributes of the devices updated longest ago are forgotten whole.
pub const SHARED_TOTAL_BYTES: usize = 16 * 1024 * 1024;

/// A shared attribute's value and when it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedValue {
    /// The value as received; when [`SharedValue::truncated`], a string
    /// holding the start of its JSON text.
    pub value: Value,
    /// When it arrived.
    pub at: Millis,
    /// The length of the JSON text received, when the value was too heavy
    /// to keep whole ([`SHARED_VALUE_BYTES`]).
    pub truncated: Option<usize>,
}

impl SharedValue {
    fn new(value: &Value, at: Millis) -> Self {
        if json_weight(value) <= SHARED_VALUE_BYTES {
            return SharedValue {
                value: value.clone(),
                at,
                truncated: None,
            };
        }
        let text = value.to_string();
        let mut end = SHARED_PREVIEW_BYTES.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        SharedValue {
            value: Value::String(text[..end].to_string()),
            at,
            truncated: Some(text.len()),
        }
    }

    /// The value as the page shows it: its JSON text, or for a truncated
    /// value the start of it with its size ("…(truncated: 300 KiB)").
    pub fn shown(&self) -> String {
        match (&self.value, self.truncated) {
            (Value::String(start), Some(len)) => format!(
                "{start}… (truncated: {} received, the first {} kept)",
                crate::core::weight::bytes_in_words(len),
                crate::core::weight::bytes_in_words(SHARED_PREVIEW_BYTES)
            ),
            (value, _) => value.to_string(),
        }
    }

    fn weight(&self, key: &str) -> usize {
        ENTRY_OVERHEAD + key.len() + std::mem::size_of::<Self>() + json_weight(&self.value)
    }
}

/// What a deletion mark weighs besides its key.
const DELETION_WEIGHT: usize = ENTRY_OVERHEAD + std::mem::size_of::<Millis>();

/// One device's (or the gateway's own) shared attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedAttributes {
    values: BTreeMap<String, SharedValue>,
    deleted: BTreeMap<String, Millis>,
    bytes: usize,
    byte_cap: usize,
    dropped: u64,
    last_at: Millis,
}

impl Default for SharedAttributes {
    fn default() -> Self {
        SharedAttributes {
            values: BTreeMap::new(),
            deleted: BTreeMap::new(),
            bytes: 0,
            byte_cap: SHARED_DEVICE_BYTES,
            dropped: 0,
            last_at: Millis(0),
        }
    }
}

impl SharedAttributes {
    /// Nothing received yet; at most [`SHARED_DEVICE_BYTES`] kept.
    pub fn new() -> Self {
        SharedAttributes::default()
    }

    /// The same, keeping at most `byte_cap` bytes.
    pub fn with_byte_cap(mut self, byte_cap: usize) -> Self {
        self.byte_cap = byte_cap;
        self
    }

    /// Apply an update or a deletion received at `now`.
    pub fn apply(&mut self, now: Millis, update: &AttributeUpdate) {
        match update {
            AttributeUpdate::Updated(map) => self.update(now, map),
            AttributeUpdate::Deleted(keys) => self.delete(now, keys),
        }
    }

    /// Store new values received at `now`.
    pub fn update(&mut self, now: Millis, map: &Attributes) {
        for (key, value) in map {
            self.forget(key);
            let value = SharedValue::new(value, now);
            self.bytes += value.weight(key);
            self.values.insert(key.clone(), value);
        }
        self.last_at = self.last_at.max(now);
        self.trim();
    }

    /// Record keys deleted at `now`.
    pub fn delete(&mut self, now: Millis, keys: &[String]) {
        for key in keys {
            self.forget(key);
            self.bytes += DELETION_WEIGHT + key.len();
            self.deleted.insert(key.clone(), now);
        }
        self.last_at = self.last_at.max(now);
        self.trim();
    }

    /// Forget what is known of `key` (its value or its deletion).
    fn forget(&mut self, key: &str) {
        if let Some(old) = self.values.remove(key) {
            self.bytes -= old.weight(key);
        }
        if self.deleted.remove(key).is_some() {
            self.bytes -= DELETION_WEIGHT + key.len();
        }
    }

    /// Forget the attributes received longest ago until within the byte cap.
    fn trim(&mut self) {
        if self.bytes <= self.byte_cap {
            return;
        }
        let mut by_age: Vec<(Millis, String)> = self
            .values
            .iter()
            .map(|(k, v)| (v.at, k.clone()))
            .chain(self.deleted.iter().map(|(k, at)| (*at, k.clone())))
            .collect();
        by_age.sort();
        for (_, key) in by_age {
            if self.bytes <= self.byte_cap || self.values.len() + self.deleted.len() <= 1 {
                break;
            }
            self.forget(&key);
            self.dropped += 1;
        }
    }

    /// The current value of `key`.
    pub fn get(&self, key: &str) -> Option<&SharedValue> {
        self.values.get(key)
    }

    /// Every current value, by key.
    pub fn values(&self) -> &BTreeMap<String, SharedValue> {
        &self.values
    }

    /// Every deleted key, with when it was deleted.
    pub fn deleted(&self) -> &BTreeMap<String, Millis> {
        &self.deleted
    }

    /// Whether nothing was received.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.deleted.is_empty()
    }

    /// What the values and deletions kept weigh, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The most they weigh together, in bytes.
    pub fn byte_cap(&self) -> usize {
        self.byte_cap
    }

    /// How many attributes (values or deletions) were forgotten, received
    /// longest ago first, to stay within the byte cap.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// When the last update or deletion arrived.
    pub fn last_at(&self) -> Millis {
        self.last_at
    }
}
