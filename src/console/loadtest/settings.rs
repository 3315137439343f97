//! A run's settings, as a person sets them and a scenario keeps them, and
//! their check into a [`Plan`] the engine can follow.

use serde::{Deserialize, Serialize};

use super::schedule::Schedule;
use super::template::Template;
use crate::console::pattern;

/// How fast a run sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Rate {
    /// Each device sends one message every `every_ms` (MQTTX's interval,
    /// performance-tests' publish pause).
    #[serde(rename_all = "camelCase")]
    PerDevice {
        /// Milliseconds between two messages of one device.
        every_ms: u64,
    },
    /// All devices together send `per_second` messages a second, in turn
    /// (performance-tests' MESSAGES_PER_SECOND).
    #[serde(rename_all = "camelCase")]
    Total {
        /// Messages a second, over all devices.
        per_second: f64,
    },
}

/// When a run stops sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Stop {
    /// After this long (performance-tests' DURATION_IN_SECONDS).
    Duration {
        /// Seconds.
        secs: u64,
    },
    /// After this many messages over all devices (one message is one
    /// device's telemetry entry).
    Count {
        /// Messages.
        messages: u64,
    },
}

/// Everything that defines one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunSettings {
    /// A name for the results (the template's label when empty).
    pub name: String,
    /// The devices: a name or a pattern such as `Meter-{1..1000}`.
    pub devices: String,
    /// The device profile given when the devices are created.
    pub device_type: String,
    /// Register (and so create) the devices at the start, and wait until
    /// the server acknowledged them.
    pub create_devices: bool,
    /// Remove the devices from the gateway at the end.
    pub remove_devices: bool,
    /// What each message carries.
    pub template: Template,
    /// How fast.
    pub rate: Rate,
    /// For how long.
    pub stop: Stop,
    /// Seconds over which the rate grows from 0 to full.
    pub ramp_up_secs: u64,
    /// Send one message per device first and wait for their
    /// acknowledgements, outside the results (performance-tests'
    /// WARMUP_ENABLED).
    pub warm_up: bool,
    /// Seconds to wait for the last acknowledgements after sending ends.
    pub drain_secs: u64,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            name: String::new(),
            devices: "Meter-{1..100}".into(),
            device_type: "SMART_METER".into(),
            create_devices: true,
            remove_devices: false,
            template: Template::SmartMeter,
            rate: Rate::PerDevice { every_ms: 1_000 },
            stop: Stop::Duration { secs: 60 },
            ramp_up_secs: 0,
            warm_up: false,
            drain_secs: 30,
        }
    }
}

/// The fastest one device may send: ThingsBoard keeps one value per key
/// and millisecond, so two messages of one device need distinct times.
pub const MIN_DEVICE_INTERVAL_MS: f64 = 10.0;

/// A checked run: its devices and its timing.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The settings it came from.
    pub settings: RunSettings,
    /// The devices, in turn order.
    pub devices: Vec<String>,
    /// When each message is due.
    pub schedule: Schedule,
}

impl RunSettings {
    /// The name shown in results.
    pub fn title(&self) -> String {
        if self.name.trim().is_empty() {
            self.template.label().to_string()
        } else {
            self.name.trim().to_string()
        }
    }

    /// Check the settings; errors say what to change.
    pub fn plan(&self) -> Result<Plan, String> {
        let devices = pattern::expand(&self.devices)?;
        self.template.compile(devices.len())?;
        let n = devices.len() as f64;
        let rate = match self.rate {
            Rate::PerDevice { every_ms } => {
                if (every_ms as f64) < MIN_DEVICE_INTERVAL_MS {
                    return Err(format!(
                        "a device can send at most every {MIN_DEVICE_INTERVAL_MS} ms"
                    ));
                }
                n / every_ms as f64
            }
            Rate::Total { per_second } => {
                if !per_second.is_finite() || per_second <= 0.0 {
                    return Err("the rate must be above 0 messages a second".into());
                }
                if 1000.0 * n / per_second < MIN_DEVICE_INTERVAL_MS {
                    return Err(format!(
                        "{per_second} messages a second over {} devices is more than one per device every {MIN_DEVICE_INTERVAL_MS} ms: add devices or lower the rate",
                        devices.len()
                    ));
                }
                per_second / 1000.0
            }
        };
        let ramp_ms = self.ramp_up_secs as f64 * 1000.0;
        let schedule = match self.stop {
            Stop::Duration { secs: 0 } | Stop::Count { messages: 0 } => {
                return Err("a run needs a duration or a message count above 0".into());
            }
            Stop::Duration { secs } => Schedule::of_duration(rate, ramp_ms, secs as f64 * 1000.0),
            Stop::Count { messages } => Schedule::of_count(rate, ramp_ms, messages),
        };
        Ok(Plan {
            settings: self.clone(),
            devices,
            schedule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_per_device_and_a_total_rate_give_the_same_schedule() {
        let mut s = RunSettings {
            devices: "Meter-{1..1000}".into(),
            rate: Rate::PerDevice { every_ms: 10_000 },
            ..RunSettings::default()
        };
        let per_device = s.plan().unwrap();
        assert_eq!(per_device.devices.len(), 1_000);
        assert_eq!(per_device.schedule.total(), 6_000);
        s.rate = Rate::Total { per_second: 100.0 };
        assert_eq!(s.plan().unwrap().schedule, per_device.schedule);
        s.stop = Stop::Count { messages: 250 };
        assert_eq!(s.plan().unwrap().schedule.total(), 250);
    }

    #[test]
    fn impossible_settings_are_refused_in_words() {
        let plan = |f: &dyn Fn(&mut RunSettings)| {
            let mut s = RunSettings::default();
            f(&mut s);
            s.plan().unwrap_err()
        };
        assert!(plan(&|s| s.devices = "M-{1..".into()).contains("without its"));
        assert!(plan(&|s| s.rate = Rate::PerDevice { every_ms: 1 }).contains("at most every"));
        assert!(plan(&|s| s.rate = Rate::Total { per_second: 0.0 }).contains("above 0"));
        assert!(plan(&|s| s.rate = Rate::Total { per_second: 1e6 }).contains("add devices"));
        assert!(plan(&|s| s.stop = Stop::Count { messages: 0 }).contains("above 0"));
        assert!(
            plan(&|s| s.template = Template::Custom { json: "[]".into() }).contains("JSON object")
        );
    }

    #[test]
    fn settings_read_back_and_missing_fields_take_their_defaults() {
        let s = RunSettings {
            name: "meters".into(),
            rate: Rate::Total { per_second: 12.5 },
            stop: Stop::Count { messages: 9 },
            ramp_up_secs: 5,
            warm_up: true,
            ..RunSettings::default()
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            text.contains(r#""rate":{"kind":"total","perSecond":12.5}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<RunSettings>(&text).unwrap(), s);
        let partial: RunSettings = serde_json::from_str(r#"{"devices": "X"}"#).unwrap();
        assert_eq!(partial.devices, "X");
        assert_eq!(partial.drain_secs, 30);
        assert_eq!(partial.title(), "SMART_METER");
    }
}
