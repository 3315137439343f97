//! One device as the tenant keeps it: identity (UUID, name, profile),
//! credentials, `additionalInfo`, stored telemetry and attributes.

use super::values::TbValue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Data points kept per telemetry key; older ones are dropped first.
pub const HISTORY_CAP: usize = 10_000;

/// One telemetry data point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TsPoint {
    /// Timestamp, epoch milliseconds.
    pub ts: i64,
    /// The typed value.
    pub value: TbValue,
}

/// One attribute value with the time it was last written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// Server-only, never pushed.
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

/// How a device authenticates (ThingsBoard's `DeviceCredentials`). In a
/// state file: `{"ACCESS_TOKEN":"token"}` or
/// `{"MQTT_BASIC":{"clientId","userName","password"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum Credentials {
    /// `ACCESS_TOKEN`: the CONNECT user name is the token.
    AccessToken(String),
    /// `MQTT_BASIC`: `{clientId?, userName?, password?}`.
    MqttBasic {
        /// Client id that must match, if set.
        client_id: Option<String>,
        /// User name that must match, if set.
        user_name: Option<String>,
        /// Password that must match, if set.
        password: Option<String>,
    },
}

impl Credentials {
    /// ThingsBoard's `credentialsType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Credentials::AccessToken(_) => "ACCESS_TOKEN",
            Credentials::MqttBasic { .. } => "MQTT_BASIC",
        }
    }

    /// ThingsBoard's `credentialsId`: the token, or for MQTT basic a
    /// stand-in for its hash of client id and user name.
    pub fn credentials_id(&self) -> String {
        match self {
            Credentials::AccessToken(t) => t.clone(),
            Credentials::MqttBasic {
                client_id,
                user_name,
                ..
            } => format!(
                "{}|{}",
                client_id.as_deref().unwrap_or(""),
                user_name.as_deref().unwrap_or("")
            ),
        }
    }

    /// ThingsBoard's `credentialsValue`: null for a token, the JSON text of
    /// `{clientId,userName,password}` for MQTT basic.
    pub fn credentials_value(&self) -> Value {
        match self {
            Credentials::AccessToken(_) => Value::Null,
            Credentials::MqttBasic {
                client_id,
                user_name,
                password,
            } => Value::String(
                serde_json::json!({"clientId": client_id, "userName": user_name, "password": password})
                    .to_string(),
            ),
        }
    }
}

/// A device of the tenant: a plain device, a gateway, or a gateway's
/// sub-device. A state file holds it with these fields in camelCase.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The device's UUID.
    pub id: Uuid,
    /// Unique name within the tenant.
    pub name: String,
    /// Device profile name (`type`).
    #[serde(rename = "type")]
    pub device_type: String,
    /// Optional label.
    pub label: Option<String>,
    /// Creation time, epoch milliseconds.
    pub created_time: u64,
    /// ThingsBoard's `additionalInfo` (`gateway`, `overwriteActivityTime`,
    /// `lastConnectedGateway`, `sendPubackOnValidationFailure`, …).
    pub additional_info: Map<String, Value>,
    /// 1 after creation, +1 per save.
    pub version: u64,
    /// How it connects.
    pub credentials: Credentials,
    /// Id of the credentials record.
    pub credentials_uuid: Uuid,
    /// Version of the credentials record.
    pub credentials_version: u64,
    /// Last activity (any message for it), epoch ms.
    pub last_activity_time: Option<u64>,
    /// Last connect (session opened or registered by a gateway), epoch ms.
    pub last_connect_time: Option<u64>,
    /// Last disconnect, epoch ms.
    pub last_disconnect_time: Option<u64>,
    /// Telemetry history per key, in arrival order.
    pub timeseries: BTreeMap<String, Vec<TsPoint>>,
    /// Client-scope attributes.
    pub client_attributes: BTreeMap<String, Attribute>,
    /// Shared-scope attributes.
    pub shared_attributes: BTreeMap<String, Attribute>,
    /// Server-scope attributes.
    pub server_attributes: BTreeMap<String, Attribute>,
    /// Next server-side RPC id (ThingsBoard's per-device `rpcSeq`, from 0).
    pub next_rpc_id: i32,
}

/// The REST summary the emulator's own routes show.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSummary {
    /// The device's UUID.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Profile name.
    #[serde(rename = "type")]
    pub device_type: String,
    /// Whether "Is gateway" is set.
    pub gateway: bool,
}

impl Device {
    /// A new device with a random UUID.
    pub fn new(name: &str, device_type: &str, credentials: Credentials, now: u64) -> Device {
        Device {
            id: Uuid::new_v4(),
            name: name.to_string(),
            device_type: device_type.to_string(),
            label: None,
            created_time: now,
            additional_info: Map::new(),
            version: 1,
            credentials,
            credentials_uuid: Uuid::new_v4(),
            credentials_version: 1,
            last_activity_time: None,
            last_connect_time: None,
            last_disconnect_time: None,
            timeseries: BTreeMap::new(),
            client_attributes: BTreeMap::new(),
            shared_attributes: BTreeMap::new(),
            server_attributes: BTreeMap::new(),
            next_rpc_id: 0,
        }
    }

    /// Whether `additionalInfo.gateway` is true.
    pub fn is_gateway(&self) -> bool {
        self.info_flag("gateway")
    }

    /// A boolean `additionalInfo` flag (absent or not a boolean: false).
    pub fn info_flag(&self, key: &str) -> bool {
        self.additional_info
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `additionalInfo.lastConnectedGateway`, if it is a UUID.
    pub fn last_connected_gateway(&self) -> Option<Uuid> {
        self.additional_info
            .get("lastConnectedGateway")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// The summary.
    pub fn summary(&self) -> DeviceSummary {
        DeviceSummary {
            id: self.id,
            name: self.name.clone(),
            device_type: self.device_type.clone(),
            gateway: self.is_gateway(),
        }
    }

    /// Stores one telemetry data point.
    pub fn add_point(&mut self, key: &str, ts: i64, value: TbValue) {
        let points = self.timeseries.entry(key.to_string()).or_default();
        if points.len() == HISTORY_CAP {
            points.remove(0);
        }
        points.push(TsPoint { ts, value });
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

    /// The attributes of one scope.
    pub fn attributes(&self, scope: Scope) -> &BTreeMap<String, Attribute> {
        match scope {
            Scope::Client => &self.client_attributes,
            Scope::Shared => &self.shared_attributes,
            Scope::Server => &self.server_attributes,
        }
    }

    /// The attributes of one scope, mutable.
    pub fn attributes_mut(&mut self, scope: Scope) -> &mut BTreeMap<String, Attribute> {
        match scope {
            Scope::Client => &mut self.client_attributes,
            Scope::Shared => &mut self.shared_attributes,
            Scope::Server => &mut self.server_attributes,
        }
    }

    /// Takes the next server-side RPC id.
    pub fn take_rpc_id(&mut self) -> i32 {
        let id = self.next_rpc_id;
        self.next_rpc_id = self.next_rpc_id.wrapping_add(1);
        id
    }
}
