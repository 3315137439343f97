//! Simulated telemetry for load tests and live demos: every tick, each
//! simulated device sends a random walk of each key.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Devices that send.
    pub devices: Vec<String>,
    /// Keys each device sends.
    pub keys: Vec<String>,
    /// Milliseconds between ticks.
    pub interval_ms: u32,
}

/// A running simulation: the last value of every (device, key).
#[derive(Debug, Clone)]
pub struct Simulator {
    config: SimConfig,
    values: HashMap<(usize, usize), f64>,
    ticks: u64,
}

impl Simulator {
    /// A simulator for `config`; keys must be non-empty names.
    pub fn new(config: SimConfig) -> Result<Self, String> {
        if config.devices.is_empty() {
            return Err("select the devices to simulate first".into());
        }
        if config.keys.is_empty() || config.keys.iter().any(|k| k.trim().is_empty()) {
            return Err("enter one or more telemetry keys, separated by commas".into());
        }
        if config.interval_ms < 100 {
            return Err("the interval must be at least 100 ms".into());
        }
        Ok(Simulator {
            config,
            values: HashMap::new(),
            ticks: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Ticks so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// One tick: the next values of every device, each from `random()`
    /// (numbers in 0..1 from the caller).
    pub fn tick(&mut self, mut random: impl FnMut() -> f64) -> Vec<(String, Map<String, Value>)> {
        self.ticks += 1;
        let mut out = Vec::with_capacity(self.config.devices.len());
        for (d, device) in self.config.devices.iter().enumerate() {
            let mut map = Map::new();
            for (k, key) in self.config.keys.iter().enumerate() {
                let v = self
                    .values
                    .entry((d, k))
                    .or_insert_with(|| 20.0 + random() * 10.0);
                *v = (*v + (random() - 0.5) * 2.0).clamp(-1000.0, 1000.0);
                let rounded = (*v * 100.0).round() / 100.0;
                map.insert(key.trim().to_string(), Value::from(rounded));
            }
            out.push((device.clone(), map));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SimConfig {
        SimConfig {
            devices: vec!["A".into(), "B".into()],
            keys: vec!["t".into(), "h".into()],
            interval_ms: 1000,
        }
    }

    #[test]
    fn every_tick_gives_every_device_every_key() {
        let mut sim = Simulator::new(config()).unwrap();
        let mut seed = 0.1;
        let batch = sim.tick(|| {
            seed = (seed * 7.3) % 1.0;
            seed
        });
        assert_eq!(batch.len(), 2);
        assert!(batch
            .iter()
            .all(|(_, m)| m.contains_key("t") && m.contains_key("h")));
        assert_eq!(sim.ticks(), 1);
    }

    #[test]
    fn values_walk_by_at_most_one_per_tick() {
        let mut sim = Simulator::new(config()).unwrap();
        let first = sim.tick(|| 0.5)[0].1["t"].as_f64().unwrap();
        let second = sim.tick(|| 1.0)[0].1["t"].as_f64().unwrap();
        assert!((second - first - 1.0).abs() < 0.011, "{first} → {second}");
    }

    #[test]
    fn a_simulation_without_devices_keys_or_with_a_tiny_interval_is_refused() {
        let mut c = config();
        c.devices.clear();
        assert!(Simulator::new(c)
            .unwrap_err()
            .contains("select the devices"));
        let mut c = config();
        c.keys = vec![" ".into()];
        assert!(Simulator::new(c).unwrap_err().contains("telemetry keys"));
        let mut c = config();
        c.interval_ms = 10;
        assert!(Simulator::new(c).unwrap_err().contains("at least 100 ms"));
    }
}
