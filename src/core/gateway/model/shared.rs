//! Shared attributes as last received, with their time, and deletions.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::core::gateway::codec::{AttributeUpdate, Attributes};
use crate::core::time::Millis;

/// A shared attribute's value and when it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedValue {
    /// The value as received.
    pub value: Value,
    /// When it arrived.
    pub at: Millis,
}

/// One device's (or the gateway's own) shared attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SharedAttributes {
    values: BTreeMap<String, SharedValue>,
    deleted: BTreeMap<String, Millis>,
}

impl SharedAttributes {
    /// Nothing received yet.
    pub fn new() -> Self {
        SharedAttributes::default()
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
            self.deleted.remove(key);
            self.values.insert(
                key.clone(),
                SharedValue {
                    value: value.clone(),
                    at: now,
                },
            );
        }
    }

    /// Record keys deleted at `now`.
    pub fn delete(&mut self, now: Millis, keys: &[String]) {
        for key in keys {
            self.values.remove(key);
            self.deleted.insert(key.clone(), now);
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
}
