//! What each message of a run carries: ThingsBoard performance-tests'
//! SMART_METER and SMART_TRACKER payloads, the console's random walk, or a
//! custom template of generators (see [`super::generator`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::generator::{Context, Custom};
use super::rng::Rng;
use crate::core::gateway::codec::Values;

/// The payload a run sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Template {
    /// `{"pulseCounter", "leakage", "batteryLevel"}`, as performance-tests'
    /// SMART_METER: a growing counter, a rare leak, a slowly draining battery.
    SmartMeter,
    /// `{"latitude", "longitude", "speed", "fuel", "batteryLevel"}`, as
    /// performance-tests' SMART_TRACKER: a position that wanders.
    SmartTracker,
    /// A random walk of each key, as the simulator does.
    RandomWalk {
        /// The keys.
        keys: Vec<String>,
    },
    /// JSON whose values may be generators.
    Custom {
        /// The template as typed.
        json: String,
    },
}

impl Template {
    /// A short name, as ThingsBoard's performance-tests call it.
    pub fn label(&self) -> &'static str {
        match self {
            Template::SmartMeter => "SMART_METER",
            Template::SmartTracker => "SMART_TRACKER",
            Template::RandomWalk { .. } => "RANDOM_WALK",
            Template::Custom { .. } => "CUSTOM",
        }
    }

    /// Check the template and make its generator for `devices` devices.
    pub fn compile(&self, devices: usize) -> Result<Payloads, String> {
        let kind = match self {
            Template::SmartMeter => Kind::Meter,
            Template::SmartTracker => Kind::Tracker,
            Template::RandomWalk { keys } => {
                // A key given twice is one key (a message cannot carry
                // it twice).
                let mut unique: Vec<String> = Vec::with_capacity(keys.len());
                for k in keys.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
                    if !unique.iter().any(|u| u == k) {
                        unique.push(k.to_string());
                    }
                }
                let keys = unique;
                if keys.is_empty() {
                    return Err("the random walk needs one or more keys".into());
                }
                Kind::Walk(keys)
            }
            Template::Custom { json } => Kind::Custom(Custom::parse(json)?),
        };
        let width = match &kind {
            Kind::Meter => 2,
            Kind::Tracker => 4,
            Kind::Walk(keys) => keys.len(),
            Kind::Custom(_) => 0,
        };
        Ok(Payloads {
            kind,
            width,
            state: vec![f64::NAN; devices * width],
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Meter,
    Tracker,
    Walk(Vec<String>),
    Custom(Custom),
}

/// A compiled template with each device's state (counters, positions,
/// walks), `width` numbers per device.
#[derive(Debug, Clone)]
pub struct Payloads {
    kind: Kind,
    width: usize,
    state: Vec<f64>,
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// Where one message's values go: a map of values, or JSON being written.
/// Both give the same message: a number that is not finite is `null`.
trait Sink {
    fn int(&mut self, key: &str, v: i64);
    fn float(&mut self, key: &str, v: f64);
    fn bool(&mut self, key: &str, v: bool);
    /// A custom template's values, in order.
    fn values(&mut self, values: Map<String, Value>);
}

impl Sink for Map<String, Value> {
    fn int(&mut self, key: &str, v: i64) {
        self.insert(key.to_string(), Value::from(v));
    }
    fn float(&mut self, key: &str, v: f64) {
        let v = Number::from_f64(v).map_or(Value::Null, Value::Number);
        self.insert(key.to_string(), v);
    }
    fn bool(&mut self, key: &str, v: bool) {
        self.insert(key.to_string(), Value::from(v));
    }
    fn values(&mut self, values: Map<String, Value>) {
        *self = values;
    }
}

impl Sink for Values<'_> {
    fn int(&mut self, key: &str, v: i64) {
        self.put(key, &v);
    }
    fn float(&mut self, key: &str, v: f64) {
        // serde_json writes a number that is not finite as `null`.
        self.put(key, &v);
    }
    fn bool(&mut self, key: &str, v: bool) {
        self.put(key, &v);
    }
    fn values(&mut self, values: Map<String, Value>) {
        for (k, v) in &values {
            self.put(k, v);
        }
    }
}

impl Payloads {
    /// The data points each message carries.
    pub fn points_per_message(&self) -> u64 {
        match &self.kind {
            Kind::Meter => 3,
            Kind::Tracker => 5,
            Kind::Walk(keys) => keys.len() as u64,
            Kind::Custom(c) => c.key_count() as u64,
        }
    }

    /// The values of device `index`'s next message (`ctx` says which).
    pub fn next(&mut self, index: usize, ctx: &Context<'_>, rng: &mut Rng) -> Map<String, Value> {
        let mut map = Map::with_capacity(self.points_per_message() as usize);
        self.emit(index, ctx, rng, &mut map);
        map
    }

    /// [`Payloads::next`], written as JSON into `values` (a
    /// [`TelemetryBatch`](crate::core::gateway::codec::TelemetryBatch)
    /// entry's) instead of a map: the same values, the same bytes.
    pub fn write(
        &mut self,
        index: usize,
        ctx: &Context<'_>,
        rng: &mut Rng,
        values: &mut Values<'_>,
    ) {
        self.emit(index, ctx, rng, values);
    }

    fn emit(&mut self, index: usize, ctx: &Context<'_>, rng: &mut Rng, out: &mut impl Sink) {
        let base = index * self.width;
        let state = self
            .state
            .get_mut(base..base + self.width)
            .unwrap_or(&mut []);
        match &self.kind {
            Kind::Meter => {
                if let [counter, battery] = state {
                    if counter.is_nan() {
                        *counter = rng.int(0, 10_000) as f64;
                        *battery = rng.int(60, 100) as f64;
                    }
                    *counter += rng.int(0, 10) as f64;
                    if rng.chance(0.05) {
                        *battery = (*battery - 1.0).max(0.0);
                    }
                    out.int("pulseCounter", *counter as i64);
                    out.bool("leakage", rng.chance(0.01));
                    out.int("batteryLevel", *battery as i64);
                }
            }
            Kind::Tracker => {
                if let [lat, lon, fuel, battery] = state {
                    if lat.is_nan() {
                        *lat = 50.45 + rng.range(-0.1, 0.1);
                        *lon = 30.52 + rng.range(-0.1, 0.1);
                        *fuel = rng.range(40.0, 100.0);
                        *battery = rng.int(60, 100) as f64;
                    }
                    *lat = (*lat + rng.range(-0.0005, 0.0005)).clamp(-90.0, 90.0);
                    *lon = (*lon + rng.range(-0.0005, 0.0005)).clamp(-180.0, 180.0);
                    *fuel = (*fuel - rng.range(0.0, 0.05)).max(0.0);
                    if rng.chance(0.05) {
                        *battery = (*battery - 1.0).max(0.0);
                    }
                    out.float("latitude", round(*lat, 6));
                    out.float("longitude", round(*lon, 6));
                    out.float("speed", round(rng.range(0.0, 120.0), 1));
                    out.float("fuel", round(*fuel, 2));
                    out.int("batteryLevel", *battery as i64);
                }
            }
            Kind::Walk(keys) => {
                for (key, v) in keys.iter().zip(state.iter_mut()) {
                    if v.is_nan() {
                        *v = 20.0 + rng.unit() * 10.0;
                    }
                    *v = (*v + (rng.unit() - 0.5) * 2.0).clamp(-1000.0, 1000.0);
                    out.float(key, round(*v, 2));
                }
            }
            Kind::Custom(custom) => out.values(custom.generate(ctx, rng)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(n: u64) -> Context<'static> {
        Context {
            device: "D",
            n,
            ts: 1_000 + n,
        }
    }

    #[test]
    fn smart_meter_and_tracker_carry_performance_tests_keys_and_keep_each_device_apart() {
        let mut rng = Rng::new(3);
        let mut meter = Template::SmartMeter.compile(2).unwrap();
        assert_eq!(meter.points_per_message(), 3);
        let a0 = meter.next(0, &ctx(0), &mut rng);
        let keys: Vec<&str> = a0.keys().map(String::as_str).collect();
        assert_eq!(keys, ["pulseCounter", "leakage", "batteryLevel"]);
        let b0 = meter.next(1, &ctx(0), &mut rng);
        let a1 = meter.next(0, &ctx(1), &mut rng);
        let counter = |m: &Map<String, Value>| m["pulseCounter"].as_i64().unwrap();
        assert!(counter(&a1) >= counter(&a0), "a counter only grows");
        assert!(counter(&a1) - counter(&a0) <= 10);
        assert!(b0["batteryLevel"].as_i64().unwrap() <= 100);

        let mut tracker = Template::SmartTracker.compile(1).unwrap();
        assert_eq!(tracker.points_per_message(), 5);
        let t = tracker.next(0, &ctx(0), &mut rng);
        let keys: Vec<&str> = t.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["latitude", "longitude", "speed", "fuel", "batteryLevel"]
        );
        assert!((50.0..51.0).contains(&t["latitude"].as_f64().unwrap()));
    }

    #[test]
    fn a_random_walk_moves_by_at_most_one_and_a_custom_template_is_checked() {
        let mut rng = Rng::new(9);
        let mut walk = Template::RandomWalk {
            keys: vec!["t".into(), " ".into(), "h".into()],
        }
        .compile(1)
        .unwrap();
        assert_eq!(walk.points_per_message(), 2);
        let first = walk.next(0, &ctx(0), &mut rng)["t"].as_f64().unwrap();
        let second = walk.next(0, &ctx(1), &mut rng)["t"].as_f64().unwrap();
        assert!((second - first).abs() <= 1.01);
        assert!(Template::RandomWalk { keys: vec![] }.compile(1).is_err());
        let bad = Template::Custom {
            json: r#"{"a": {"$nope": 1}}"#.into(),
        };
        assert!(bad.compile(1).unwrap_err().contains("unknown generator"));
    }

    #[test]
    fn templates_read_back_from_their_json() {
        for t in [
            Template::SmartMeter,
            Template::RandomWalk {
                keys: vec!["x".into()],
            },
            Template::Custom {
                json: r#"{"n": {"$seq": 1}}"#.into(),
            },
        ] {
            let text = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<Template>(&text).unwrap(), t);
        }
        assert_eq!(
            serde_json::to_string(&Template::SmartMeter).unwrap(),
            r#"{"kind":"smartMeter"}"#
        );
    }
}
