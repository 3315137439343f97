//! Telemetry as the console shows it: the latest value of every key of every
//! device, and chart series for the few devices a person is looking at.
//!
//! Memory stays bounded with thousands of devices: latest values are one entry
//! per (device, key), and series (a [`Ring`] of points per numeric key) are
//! kept only for the last [`WATCHED_CAP`] devices opened.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::Value;

use crate::core::ring::Ring;

/// Points kept per chart series.
pub const SERIES_CAP: usize = 300;
/// Devices whose series are kept at once.
pub const WATCHED_CAP: usize = 8;

/// The latest value of one key.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    /// The value as sent.
    pub value: Value,
    /// Its timestamp (epoch ms).
    pub ts: u64,
}

/// Latest values and chart series.
#[derive(Debug, Default)]
pub struct TelemetryView {
    latest: HashMap<String, BTreeMap<String, Latest>>,
    series: HashMap<String, BTreeMap<String, Ring<(u64, f64)>>>,
    watched: VecDeque<String>,
}

impl TelemetryView {
    /// Record that `device` sent `values` stamped `ts`.
    pub fn record<'a>(
        &mut self,
        device: &str,
        ts: u64,
        values: impl IntoIterator<Item = (&'a String, &'a Value)>,
    ) {
        let latest = self.latest.entry(device.to_string()).or_default();
        let mut series = self.series.get_mut(device);
        for (key, value) in values {
            // The latest is the newest by timestamp, as the platform keeps
            // it: a value sent late with an earlier `ts` does not replace it.
            if latest.get(key).is_none_or(|l| l.ts <= ts) {
                latest.insert(
                    key.clone(),
                    Latest {
                        value: value.clone(),
                        ts,
                    },
                );
            }
            if let (Some(series), Some(number)) = (series.as_deref_mut(), as_number(value)) {
                series
                    .entry(key.clone())
                    .or_insert_with(|| Ring::new(SERIES_CAP))
                    .push((ts, number));
            }
        }
    }

    /// Start keeping chart series for `device` (the oldest watched device
    /// beyond [`WATCHED_CAP`] stops being kept).
    pub fn watch(&mut self, device: &str) {
        if let Some(i) = self.watched.iter().position(|d| d == device) {
            self.watched.remove(i);
        } else {
            self.series.insert(device.to_string(), BTreeMap::new());
        }
        self.watched.push_back(device.to_string());
        while self.watched.len() > WATCHED_CAP {
            if let Some(old) = self.watched.pop_front() {
                self.series.remove(&old);
            }
        }
    }

    /// Latest values of `device`, by key.
    pub fn latest(&self, device: &str) -> Option<&BTreeMap<String, Latest>> {
        self.latest.get(device)
    }

    /// Chart series of `device`, by numeric key (only while watched).
    pub fn series(&self, device: &str) -> Option<&BTreeMap<String, Ring<(u64, f64)>>> {
        self.series.get(device)
    }

    /// Forget `device` (removed), or move its data to a new name (renamed).
    pub fn rename(&mut self, old: &str, new: Option<&str>) {
        let latest = self.latest.remove(old);
        let series = self.series.remove(old);
        self.watched.retain(|d| d != old);
        if let Some(new) = new {
            if let Some(latest) = latest {
                self.latest.insert(new.to_string(), latest);
            }
            if let Some(series) = series {
                self.series.insert(new.to_string(), series);
                self.watched.push_back(new.to_string());
            }
        }
    }
}

/// A value a chart can draw: numbers, booleans as 0/1, numeric strings.
pub fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn keeps_the_latest_value_of_each_key_for_every_device() {
        let mut t = TelemetryView::default();
        t.record("A", 1, &values(json!({"temp": 20, "mode": "auto"})));
        t.record("A", 2, &values(json!({"temp": 21.5})));
        let latest = t.latest("A").unwrap();
        assert_eq!(
            latest["temp"],
            Latest {
                value: json!(21.5),
                ts: 2
            }
        );
        assert_eq!(latest["mode"].ts, 1);
        assert!(
            t.series("A").is_none(),
            "no series for a device nobody opened"
        );
    }

    #[test]
    fn a_value_with_an_earlier_timestamp_does_not_replace_the_latest() {
        let mut t = TelemetryView::default();
        t.record("A", 2_000, &values(json!({"temp": 23.25})));
        t.record("A", 1_000, &values(json!({"temp": 19})));
        assert_eq!(t.latest("A").unwrap()["temp"].value, json!(23.25));
        t.record("A", 2_000, &values(json!({"temp": 24})));
        assert_eq!(
            t.latest("A").unwrap()["temp"].value,
            json!(24),
            "same time: the later one"
        );
    }

    #[test]
    fn a_watched_device_grows_a_series_per_numeric_key() {
        let mut t = TelemetryView::default();
        t.watch("A");
        for i in 0..5u64 {
            t.record(
                "A",
                i,
                &values(json!({"temp": i, "on": true, "label": "x"})),
            );
        }
        let series = t.series("A").unwrap();
        assert_eq!(series["temp"].len(), 5);
        assert_eq!(series["on"].last(), Some(&(4, 1.0)));
        assert!(!series.contains_key("label"));
    }

    #[test]
    fn only_the_most_recently_watched_devices_keep_series() {
        let mut t = TelemetryView::default();
        for i in 0..=WATCHED_CAP {
            t.watch(&format!("D{i}"));
        }
        assert!(t.series("D0").is_none());
        assert!(t.series(&format!("D{WATCHED_CAP}")).is_some());
    }

    #[test]
    fn renaming_moves_the_data_and_removing_forgets_it() {
        let mut t = TelemetryView::default();
        t.record("Old", 1, &values(json!({"x": 1})));
        t.rename("Old", Some("New"));
        assert!(t.latest("Old").is_none());
        assert!(t.latest("New").is_some());
        t.rename("New", None);
        assert!(t.latest("New").is_none());
    }

    #[test]
    fn numbers_booleans_and_numeric_strings_chart_and_nothing_else_does() {
        assert_eq!(as_number(&json!(2)), Some(2.0));
        assert_eq!(as_number(&json!(false)), Some(0.0));
        assert_eq!(as_number(&json!("3.5")), Some(3.5));
        assert_eq!(as_number(&json!("abc")), None);
        assert_eq!(as_number(&json!({"a": 1})), None);
    }
}
