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
    /// The next device of the tick going, if one goes (see
    /// [`Simulator::begin_tick`]).
    cursor: Option<usize>,
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
            cursor: None,
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
    pub fn tick(&mut self, random: impl FnMut() -> f64) -> Vec<(String, Map<String, Value>)> {
        self.cursor = None;
        self.begin_tick();
        self.next_part(usize::MAX, random).unwrap_or_default()
    }

    /// Start a tick whose devices are then handed out in parts by
    /// [`Simulator::next_part`], so the caller can spread a large tick over
    /// several tasks. Returns false (and starts nothing) while the last
    /// tick still has devices to hand out: a tick that falls behind is not
    /// doubled.
    pub fn begin_tick(&mut self) -> bool {
        if self.cursor.is_some() {
            return false;
        }
        self.ticks += 1;
        self.cursor = Some(0);
        true
    }

    /// Whether the tick going has devices left to hand out.
    pub fn in_tick(&self) -> bool {
        self.cursor.is_some()
    }

    /// The next values of up to `max` (at least one) devices of the tick
    /// going, in order; `None` when no tick goes.
    pub fn next_part(
        &mut self,
        max: usize,
        mut random: impl FnMut() -> f64,
    ) -> Option<Vec<(String, Map<String, Value>)>> {
        let start = self.cursor?;
        let devices = self.config.devices.len();
        let end = start.saturating_add(max.max(1)).min(devices);
        let mut out = Vec::with_capacity(end - start);
        for d in start..end {
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
            out.push((self.config.devices[d].clone(), map));
        }
        self.cursor = (end < devices).then_some(end);
        Some(out)
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
    fn a_tick_in_parts_gives_what_one_tick_gives() {
        let mut c = config();
        c.devices = (0..7).map(|i| format!("D{i}")).collect();
        let random = || {
            let mut seed = 0.1;
            move || {
                seed = (seed * 7.3 + 0.01) % 1.0;
                seed
            }
        };
        let mut whole = Simulator::new(c.clone()).unwrap();
        let mut parts = Simulator::new(c).unwrap();
        let (mut r1, mut r2) = (random(), random());
        for _ in 0..2 {
            let expected = whole.tick(&mut r1);
            assert!(parts.begin_tick());
            assert!(!parts.begin_tick(), "a tick going is not doubled");
            let mut got = Vec::new();
            while parts.in_tick() {
                let part = parts.next_part(3, &mut r2).unwrap();
                assert!(!part.is_empty() && part.len() <= 3);
                got.extend(part);
            }
            assert_eq!(got, expected);
            assert_eq!(parts.next_part(3, &mut r2), None);
        }
        assert_eq!((parts.ticks(), whole.ticks()), (2, 2));
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
