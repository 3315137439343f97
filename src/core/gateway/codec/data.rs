//! The data types both directions share: attribute maps, scopes, telemetry
//! entries and claim requests.

use serde_json::Value;

/// Attribute or telemetry keys and their JSON values.
pub type Attributes = serde_json::Map<String, Value>;

/// Which attributes an attribute request asks for. ThingsBoard answers one
/// scope per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttributeScope {
    /// Client-side attributes (the ones the device uploads).
    Client,
    /// Shared attributes (set on the server, pushed to the device).
    Shared,
}

impl AttributeScope {
    /// The scope's name in lower case, as a user reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeScope::Client => "client",
            AttributeScope::Shared => "shared",
        }
    }
}

/// One telemetry element.
#[derive(Debug, Clone, PartialEq)]
pub enum TelemetryEntry {
    /// Values stamped with a time: encoded as `{"ts": ms, "values": {..}}`.
    Timed {
        /// Epoch milliseconds.
        ts: u64,
        /// The telemetry keys and values.
        values: Attributes,
    },
    /// Values the server stamps with its receive time: encoded flat,
    /// `{"key": value, ..}`. Flat keys named `ts` or `values` are refused (the
    /// server reads them as a timed entry's wrapper, or stores them
    /// literally), and so is `metadata` on the gateway topic (reserved for
    /// latency metrics). Put such keys in a timed entry's values.
    Flat(Attributes),
}

impl TelemetryEntry {
    /// A timed entry.
    pub fn timed(ts: u64, values: Attributes) -> Self {
        TelemetryEntry::Timed { ts, values }
    }

    /// A flat entry, stamped by the server.
    pub fn flat(values: Attributes) -> Self {
        TelemetryEntry::Flat(values)
    }

    /// The keys and values, whatever the form.
    pub fn values(&self) -> &Attributes {
        match self {
            TelemetryEntry::Timed { values, .. } | TelemetryEntry::Flat(values) => values,
        }
    }
}

/// What a claim carries; both fields are optional on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The secret the claiming user must type; absent means `""`.
    pub secret_key: Option<String>,
    /// How long the claim stays open, in ms; absent or 0 means the server's
    /// default (24 h).
    pub duration_ms: Option<u64>,
}
