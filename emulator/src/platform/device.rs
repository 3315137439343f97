//! One device as the platform sees it: identity, session state, stored
//! telemetry and attributes.

use super::values::TbValue;
use serde::Serialize;
use std::collections::BTreeMap;

/// Data points kept per telemetry key; older ones are dropped first.
pub const HISTORY_CAP: usize = 10_000;

/// One telemetry data point.
#[derive(Debug, Clone, PartialEq)]
pub struct TsPoint {
    /// Timestamp, epoch milliseconds.
    pub ts: i64,
    /// The typed value.
    pub value: TbValue,
}

/// One attribute value with the time it was last written.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The typed value.
    pub value: TbValue,
    /// When it was written, epoch milliseconds.
    pub last_update_ts: u64,
}

/// Attribute scope, as named by the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Written by the device.
    Client,
    /// Written by the server, pushed to the device.
    Shared,
    /// Server-only (never populated by the emulator; always empty).
    Server,
}

impl Scope {
    /// Parses `CLIENT_SCOPE`, `SHARED_SCOPE` or `SERVER_SCOPE`.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "CLIENT_SCOPE" => Some(Scope::Client),
            "SHARED_SCOPE" => Some(Scope::Shared),
            "SERVER_SCOPE" => Some(Scope::Server),
            _ => None,
        }
    }
}

/// A device: a sub-device of the gateway, or the gateway device itself.
#[derive(Debug, Clone)]
pub struct Device {
    /// Unique name (the key ThingsBoard looks gateway devices up by).
    pub name: String,
    /// Device profile name.
    pub device_type: String,
    /// Creation time, epoch milliseconds.
    pub created_time: u64,
    /// Whether the device is registered in the gateway session.
    pub connected: bool,
    /// Last message for this device, epoch milliseconds.
    pub last_activity_time: Option<u64>,
    /// Last registration in the gateway session.
    pub last_connect_time: Option<u64>,
    /// Last deregistration.
    pub last_disconnect_time: Option<u64>,
    /// Telemetry history per key, in arrival order.
    pub timeseries: BTreeMap<String, Vec<TsPoint>>,
    /// Data points received in total (not capped).
    pub telemetry_count: u64,
    /// Client-scope attributes.
    pub client_attributes: BTreeMap<String, Attribute>,
    /// Shared-scope attributes.
    pub shared_attributes: BTreeMap<String, Attribute>,
    /// Next server-side RPC id (ThingsBoard's per-device `rpcSeq`, from 0).
    pub next_rpc_id: i32,
}

/// The REST summary of a device.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSummary {
    /// Device name.
    pub name: String,
    /// Device profile name.
    #[serde(rename = "type")]
    pub device_type: String,
    /// Registered in the gateway session.
    pub connected: bool,
    /// Creation time, epoch ms.
    pub created_time: u64,
    /// Last message for the device, epoch ms (null: never).
    pub last_activity_time: Option<u64>,
    /// Last registration, epoch ms.
    pub last_connect_time: Option<u64>,
    /// Last deregistration, epoch ms.
    pub last_disconnect_time: Option<u64>,
    /// Telemetry data points received.
    pub telemetry_count: u64,
    /// Client plus shared attributes stored.
    pub attribute_count: usize,
}

impl Device {
    /// A new, unregistered device.
    pub fn new(name: &str, device_type: &str, now: u64) -> Device {
        Device {
            name: name.to_string(),
            device_type: device_type.to_string(),
            created_time: now,
            connected: false,
            last_activity_time: None,
            last_connect_time: None,
            last_disconnect_time: None,
            timeseries: BTreeMap::new(),
            telemetry_count: 0,
            client_attributes: BTreeMap::new(),
            shared_attributes: BTreeMap::new(),
            next_rpc_id: 0,
        }
    }

    /// The REST summary.
    pub fn summary(&self) -> DeviceSummary {
        DeviceSummary {
            name: self.name.clone(),
            device_type: self.device_type.clone(),
            connected: self.connected,
            created_time: self.created_time,
            last_activity_time: self.last_activity_time,
            last_connect_time: self.last_connect_time,
            last_disconnect_time: self.last_disconnect_time,
            telemetry_count: self.telemetry_count,
            attribute_count: self.client_attributes.len() + self.shared_attributes.len(),
        }
    }

    /// Stores one telemetry data point.
    pub fn add_point(&mut self, key: &str, ts: i64, value: TbValue) {
        let points = self.timeseries.entry(key.to_string()).or_default();
        if points.len() == HISTORY_CAP {
            points.remove(0);
        }
        points.push(TsPoint { ts, value });
        self.telemetry_count += 1;
    }

    /// The latest point of a key: the highest timestamp, the later arrival on a tie.
    pub fn latest(&self, key: &str) -> Option<&TsPoint> {
        self.timeseries
            .get(key)?
            .iter()
            .fold(None, |best: Option<&TsPoint>, p| match best {
                Some(b) if b.ts > p.ts => Some(b),
                _ => Some(p),
            })
    }

    /// The attributes of one scope (`Server` is always empty).
    pub fn attributes(&self, scope: Scope) -> Option<&BTreeMap<String, Attribute>> {
        match scope {
            Scope::Client => Some(&self.client_attributes),
            Scope::Shared => Some(&self.shared_attributes),
            Scope::Server => None,
        }
    }

    /// Takes the next server-side RPC id.
    pub fn take_rpc_id(&mut self) -> i32 {
        let id = self.next_rpc_id;
        self.next_rpc_id = self.next_rpc_id.wrapping_add(1);
        id
    }
}
