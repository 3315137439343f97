//! Registered devices, their state and counters, and the server's renames.

use std::collections::BTreeMap;

use super::error::ModelError;
use crate::core::time::Millis;

/// Where a device stands with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    /// Registered; its `connect` is on its way, or waits for the next CONNACK.
    Connecting,
    /// The server acknowledged its `connect` (or took its data) in this session.
    Connected,
    /// Disconnected by the user: kept, but not registered again on reconnect.
    Disconnected,
    /// Renamed on the server: publishes under this name go to `to`.
    Renamed {
        /// The new name.
        to: String,
    },
    /// Deleted on the server: publishes under this name are refused.
    Deleted,
}

impl DeviceState {
    /// Whether the device should be registered with the server (again after a
    /// reconnect).
    pub fn wants_connection(&self) -> bool {
        matches!(self, DeviceState::Connecting | DeviceState::Connected)
    }
}

/// What a publish carried, for the device's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// A telemetry upload.
    Telemetry,
    /// A client-attribute upload.
    Attributes,
    /// Anything else (attribute request, RPC reply, claim).
    Other,
}

/// One device behind the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its name, the key the server knows it by.
    pub name: String,
    /// The device profile sent with `connect`, if any.
    pub device_type: Option<String>,
    /// Where it stands.
    pub state: DeviceState,
    /// When it last sent or received anything.
    pub last_activity: Millis,
    /// When a message naming it last went to the server (its registration
    /// included): what keeps its sub-device session alive there (contract
    /// §11 item 3).
    pub last_uplink: Millis,
    /// Telemetry uploads that included it.
    pub telemetry_sent: u64,
    /// Client-attribute uploads that included it.
    pub attributes_sent: u64,
    /// RPC requests received for it.
    pub rpc_received: u64,
}

impl Device {
    fn new(now: Millis, name: &str, device_type: Option<&str>, state: DeviceState) -> Self {
        Device {
            name: name.to_string(),
            device_type: device_type.map(str::to_string),
            state,
            last_activity: now,
            last_uplink: now,
            telemetry_sent: 0,
            attributes_sent: 0,
            rpc_received: 0,
        }
    }
}

/// Where a registered device stands with the server's sub-device expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Not registered, no expiry, or far from it.
    Fine,
    /// The server drops it in this many ms unless a message names it (its
    /// keep-alive is late: the session is down, or it waits for room in a
    /// rate limit).
    Soon(u64),
    /// The server has dropped it: its RPCs and attribute updates stop until
    /// the next message names it.
    Expired,
}

impl Device {
    /// Where this device stands at `now` with an expiry of `inactivity_ms`
    /// (0: none).
    pub fn expiry(&self, now: Millis, inactivity_ms: u64) -> Expiry {
        if inactivity_ms == 0 || self.state != DeviceState::Connected {
            return Expiry::Fine;
        }
        let expires = self.last_uplink.after_ms(inactivity_ms);
        if now >= expires {
            Expiry::Expired
        } else if now > keepalive_at(self.last_uplink, inactivity_ms) {
            Expiry::Soon(expires.since(now))
        } else {
            Expiry::Fine
        }
    }
}

/// When a device whose last uplink was at `last_uplink` needs a keep-alive
/// so that its server session (expiring after `inactivity_ms`) does not
/// expire: a minute before (half the time for short expiries).
pub fn keepalive_at(last_uplink: Millis, inactivity_ms: u64) -> Millis {
    let margin = (inactivity_ms / 2).min(60_000);
    last_uplink.after_ms(inactivity_ms - margin)
}

/// The devices this gateway speaks for, by name, and the old → new name map.
#[derive(Debug, Clone, Default)]
pub struct Devices {
    devices: BTreeMap<String, Device>,
    renames: BTreeMap<String, String>,
}

impl Devices {
    /// No devices.
    pub fn new() -> Self {
        Devices::default()
    }

    /// The device named `name` (exactly; renames are not followed).
    pub fn get(&self, name: &str) -> Option<&Device> {
        self.devices.get(name)
    }

    /// Every device, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        self.devices.values()
    }

    /// How many devices are known (in any state).
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// Whether no device is known.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Old name → current name, for every rename the server announced.
    pub fn renames(&self) -> &BTreeMap<String, String> {
        &self.renames
    }

    /// The name to publish under for `name`: renames followed, deleted
    /// devices refused.
    pub fn resolve(&self, name: &str) -> Result<String, ModelError> {
        let current = self.renames.get(name).map(String::as_str).unwrap_or(name);
        match self.devices.get(current) {
            Some(Device {
                state: DeviceState::Deleted,
                ..
            }) => Err(ModelError::DeviceDeleted {
                device: current.to_string(),
            }),
            _ => Ok(current.to_string()),
        }
    }

    /// Register `name` (renames followed) to be connected: new devices are
    /// added, known ones set to [`DeviceState::Connecting`] (a given type
    /// replaces the old one, counters are kept). Returns the name registered.
    pub fn register(
        &mut self,
        now: Millis,
        name: &str,
        device_type: Option<&str>,
    ) -> Result<String, ModelError> {
        let name = self.resolve(name)?;
        let device = self
            .devices
            .entry(name.clone())
            .or_insert_with(|| Device::new(now, &name, device_type, DeviceState::Connecting));
        if device_type.is_some() {
            device.device_type = device_type.map(str::to_string);
        }
        device.state = DeviceState::Connecting;
        device.last_activity = now;
        device.last_uplink = now;
        Ok(name)
    }

    /// A publish for `name` (already resolved) went out. Unknown or
    /// user-disconnected devices become registered, as the server registers
    /// any device a gateway message names; `connected` says whether the
    /// session is up (then it counts as [`DeviceState::Connected`]).
    pub fn record_publish(&mut self, now: Millis, name: &str, traffic: Traffic, connected: bool) {
        let state = if connected {
            DeviceState::Connected
        } else {
            DeviceState::Connecting
        };
        let device = self
            .devices
            .entry(name.to_string())
            .or_insert_with(|| Device::new(now, name, None, state.clone()));
        if device.state == DeviceState::Disconnected {
            device.state = state;
        }
        device.last_activity = now;
        device.last_uplink = now;
        match traffic {
            Traffic::Telemetry => device.telemetry_sent += 1,
            Traffic::Attributes => device.attributes_sent += 1,
            Traffic::Other => {}
        }
    }

    /// A `connect` for `name` went out: the server's session of it starts
    /// (again) now.
    pub fn record_connect_sent(&mut self, now: Millis, name: &str) {
        if let Some(device) = self.devices.get_mut(name) {
            device.last_uplink = now;
        }
    }

    /// Something arrived for `name`: refresh its activity time, count an RPC.
    pub fn record_received(&mut self, now: Millis, name: &str, rpc: bool) {
        if let Some(device) = self.devices.get_mut(name) {
            device.last_activity = now;
            if rpc {
                device.rpc_received += 1;
            }
        }
    }

    /// The server acknowledged the `connect` of `name`. Returns whether the
    /// device moved from connecting to connected.
    pub fn mark_connected(&mut self, name: &str) -> bool {
        match self.devices.get_mut(name) {
            Some(device) if device.state == DeviceState::Connecting => {
                device.state = DeviceState::Connected;
                true
            }
            _ => false,
        }
    }

    /// The user disconnected `name` (renames followed). Returns the name.
    pub fn mark_disconnected(&mut self, now: Millis, name: &str) -> Result<String, ModelError> {
        let name = self.resolve(name)?;
        let device = self
            .devices
            .get_mut(&name)
            .ok_or_else(|| ModelError::UnknownDevice {
                device: name.clone(),
            })?;
        device.state = DeviceState::Disconnected;
        device.last_activity = now;
        Ok(name)
    }

    /// Forget `name` entirely, with any rename to or from it. Returns the
    /// device if it was known.
    pub fn remove(&mut self, name: &str) -> Option<Device> {
        self.renames.retain(|old, new| old != name && new != name);
        self.devices.remove(name)
    }

    /// The server renamed `old` to `new`. The rename map stays flat (every
    /// old name maps straight to a current one). The device under `old`
    /// becomes [`DeviceState::Renamed`]; `new` takes over its type, state and
    /// counters. Returns the state `old` had, if it was known.
    pub fn rename(&mut self, now: Millis, old: &str, new: &str) -> Option<DeviceState> {
        if old == new {
            return self.devices.get(old).map(|d| d.state.clone());
        }
        self.renames.remove(new);
        for target in self.renames.values_mut() {
            if target == old {
                *target = new.to_string();
            }
        }
        self.renames.insert(old.to_string(), new.to_string());
        let device = self.devices.get_mut(old)?;
        let previous = std::mem::replace(
            &mut device.state,
            DeviceState::Renamed {
                to: new.to_string(),
            },
        );
        let mut moved = device.clone();
        moved.name = new.to_string();
        moved.state = previous.clone();
        moved.last_activity = now;
        self.devices.insert(new.to_string(), moved);
        Some(previous)
    }

    /// The server deleted `name`: publishes to it are refused from now on.
    pub fn delete(&mut self, now: Millis, name: &str) {
        let device = self
            .devices
            .entry(name.to_string())
            .or_insert_with(|| Device::new(now, name, None, DeviceState::Deleted));
        device.state = DeviceState::Deleted;
        device.last_activity = now;
    }

    /// The session closed: the server forgot every registration, so every
    /// connected device is connecting again.
    pub fn session_lost(&mut self) {
        for device in self.devices.values_mut() {
            if device.state == DeviceState::Connected {
                device.state = DeviceState::Connecting;
            }
        }
    }

    /// The server's session of each device expires `inactivity_ms` after
    /// its last uplink: the connected devices whose keep-alive is due at
    /// `now` ([`keepalive_at`]).
    pub fn due_for_keepalive(&self, now: Millis, inactivity_ms: u64) -> Vec<String> {
        self.devices
            .values()
            .filter(|d| d.state == DeviceState::Connected)
            .filter(|d| keepalive_at(d.last_uplink, inactivity_ms) <= now)
            .map(|d| d.name.clone())
            .collect()
    }

    /// The earliest keep-alive due among the connected devices.
    pub fn next_keepalive(&self, inactivity_ms: u64) -> Option<Millis> {
        self.devices
            .values()
            .filter(|d| d.state == DeviceState::Connected)
            .map(|d| keepalive_at(d.last_uplink, inactivity_ms))
            .min()
    }

    /// Devices to register after a CONNACK, with their types: every one that
    /// [wants a connection](DeviceState::wants_connection).
    pub fn to_register(&self) -> Vec<(String, Option<String>)> {
        self.devices
            .values()
            .filter(|d| d.state.wants_connection())
            .map(|d| (d.name.clone(), d.device_type.clone()))
            .collect()
    }
}
