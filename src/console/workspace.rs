//! What the page keeps across reloads besides profiles and the durable
//! outbox: the devices, the auto-reply rules and the simulator settings, as
//! JSON in localStorage. Pure: the controller reads and writes the text.

use serde::{Deserialize, Serialize};

use super::auto_reply::Rule;
use super::loadtest::RunSettings;
use crate::core::gateway::model::{DeviceState, Devices};

/// The storage key the workspace lives under.
pub const STORAGE_KEY: &str = "browser-gateway.workspace.v1";

/// One device as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedDevice {
    /// Its name.
    pub name: String,
    /// Its device profile, if one was given.
    #[serde(default)]
    pub device_type: Option<String>,
    /// Whether it is to be registered (false: disconnected by the person).
    #[serde(default = "yes")]
    pub registered: bool,
}

fn yes() -> bool {
    true
}

/// The simulator's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimSettings {
    /// Keys, comma-separated, as typed.
    pub keys: String,
    /// Milliseconds between ticks, as typed.
    pub interval: String,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            keys: "temperature, humidity".into(),
            interval: "1000".into(),
        }
    }
}

/// Everything kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Workspace {
    /// The devices, in name order.
    pub devices: Vec<SavedDevice>,
    /// The auto-reply rules, in order.
    pub rules: Vec<Rule>,
    /// The simulator's settings.
    pub simulator: SimSettings,
    /// The load-test runs as last set.
    pub load_tests: Vec<RunSettings>,
}

impl Workspace {
    /// The devices of the model worth keeping: registered or disconnected
    /// by the person (renamed and deleted ones are the server's business).
    pub fn devices_of(devices: &Devices) -> Vec<SavedDevice> {
        devices
            .iter()
            .filter_map(|d| {
                let registered = match d.state {
                    DeviceState::Connecting | DeviceState::Connected => true,
                    DeviceState::Disconnected => false,
                    DeviceState::Renamed { .. } | DeviceState::Deleted => return None,
                };
                Some(SavedDevice {
                    name: d.name.clone(),
                    device_type: d.device_type.clone(),
                    registered,
                })
            })
            .collect()
    }

    /// The JSON to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Read a stored workspace; anything unreadable gives an empty one and
    /// says why (never a panic).
    pub fn from_json(text: &str) -> (Workspace, Option<String>) {
        match serde_json::from_str(text) {
            Ok(w) => (w, None),
            Err(e) => (
                Workspace::default(),
                Some(format!(
                    "the devices and rules saved in this browser could not be read and were ignored: {e}"
                )),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::auto_reply::Reply;
    use crate::core::time::Millis;
    use serde_json::json;

    #[test]
    fn devices_rules_and_simulator_settings_survive_a_round_trip() {
        let mut devices = Devices::new();
        devices.register(Millis(0), "Pump 7", Some("pump")).unwrap();
        devices.register(Millis(0), "Off", None).unwrap();
        devices.mark_disconnected(Millis(0), "Off").unwrap();
        devices.register(Millis(0), "Gone", None).unwrap();
        devices.delete(Millis(0), "Gone");
        let w = Workspace {
            devices: Workspace::devices_of(&devices),
            rules: vec![Rule {
                method: "getState".into(),
                device: None,
                reply: Reply::Fixed(json!({"on": true})),
                delay_ms: 200,
            }],
            simulator: SimSettings {
                keys: "a, b".into(),
                interval: "500".into(),
            },
            load_tests: vec![RunSettings::default()],
        };
        assert_eq!(
            w.devices,
            [
                SavedDevice {
                    name: "Off".into(),
                    device_type: None,
                    registered: false
                },
                SavedDevice {
                    name: "Pump 7".into(),
                    device_type: Some("pump".into()),
                    registered: true
                },
            ]
        );
        let (back, problem) = Workspace::from_json(&w.to_json());
        assert_eq!(problem, None);
        assert_eq!(back, w);
    }

    #[test]
    fn an_unreadable_workspace_is_ignored_with_a_reason() {
        let (w, problem) = Workspace::from_json("{\"devices\": 3}");
        assert_eq!(w, Workspace::default());
        assert!(problem.unwrap().contains("could not be read"));
    }
}
