//! Session limits: ThingsBoard's rate-limit strings (`"10:1,300:60"`) as
//! greedy-refill token buckets, and the limit settings changeable at run time.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One rate limit: every `count:seconds` window at once.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    spec: String,
    windows: Vec<Window>,
}

#[derive(Debug, Clone, PartialEq)]
struct Window {
    capacity: f64,
    period_ms: f64,
    tokens: f64,
    last: u64,
}

impl RateLimit {
    /// Parses `count:seconds[,count:seconds…]` (e.g. `"10:1,300:60"`). The
    /// buckets start full at `now`.
    pub fn parse(spec: &str, now: u64) -> Result<RateLimit, String> {
        let mut windows = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (count, secs) = part
                .split_once(':')
                .ok_or_else(|| format!("{part:?} is not count:seconds"))?;
            let count: u64 = count
                .trim()
                .parse()
                .map_err(|_| format!("{part:?}: {count:?} is not a whole number"))?;
            let secs: u64 = secs
                .trim()
                .parse()
                .map_err(|_| format!("{part:?}: {secs:?} is not a whole number"))?;
            if count == 0 || secs == 0 {
                return Err(format!("{part:?}: count and seconds must be positive"));
            }
            windows.push(Window {
                capacity: count as f64,
                period_ms: secs as f64 * 1000.0,
                tokens: count as f64,
                last: now,
            });
        }
        if windows.is_empty() {
            return Err(format!("{spec:?} holds no count:seconds window"));
        }
        Ok(RateLimit {
            spec: spec.to_string(),
            windows,
        })
    }

    /// The string it was parsed from.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Takes `n` tokens from every window if all have them (tokens refill
    /// continuously, Bucket4j's greedy refill). `false`: the limit is hit and
    /// nothing is taken.
    pub fn try_consume(&mut self, n: u64, now: u64) -> bool {
        for w in &mut self.windows {
            let elapsed = now.saturating_sub(w.last) as f64;
            w.tokens = (w.tokens + elapsed * w.capacity / w.period_ms).min(w.capacity);
            w.last = w.last.max(now);
        }
        let n = n as f64;
        if self.windows.iter().all(|w| w.tokens + 1e-9 >= n) {
            for w in &mut self.windows {
                w.tokens -= n;
            }
            true
        } else {
            false
        }
    }
}

/// The three rate limits ThingsBoard applies to one party (a gateway's
/// sub-device traffic, or a device's own traffic). `None` = unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitSpecs {
    /// Every message that is not a telemetry or attribute post.
    pub messages: Option<String>,
    /// Telemetry and attribute posts.
    pub telemetry_messages: Option<String>,
    /// Key/value pairs of telemetry and attribute posts.
    pub telemetry_data_points: Option<String>,
}

impl RateLimitSpecs {
    /// Parses the command-line form
    /// `messages=10:1,300:60;telemetryMessages=10:1;telemetryDataPoints=200:1`.
    pub fn parse_cli(s: &str) -> Result<RateLimitSpecs, String> {
        let mut specs = RateLimitSpecs::default();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not name=count:seconds,…"))?;
            RateLimit::parse(value, 0)?;
            let slot = match name.trim() {
                "messages" => &mut specs.messages,
                "telemetryMessages" => &mut specs.telemetry_messages,
                "telemetryDataPoints" => &mut specs.telemetry_data_points,
                other => {
                    return Err(format!(
                        "unknown rate limit {other:?} (messages, telemetryMessages, telemetryDataPoints)"
                    ))
                }
            };
            *slot = Some(value.trim().to_string());
        }
        Ok(specs)
    }

    /// Checks every string parses.
    pub fn validate(&self) -> Result<(), String> {
        for s in [
            &self.messages,
            &self.telemetry_messages,
            &self.telemetry_data_points,
        ]
        .into_iter()
        .flatten()
        {
            RateLimit::parse(s, 0)?;
        }
        Ok(())
    }

    /// The `getSessionLimits` form: strings, `null` when unlimited.
    pub fn to_json(&self) -> Value {
        json!({
            "messages": self.messages,
            "telemetryMessages": self.telemetry_messages,
            "telemetryDataPoints": self.telemetry_data_points,
        })
    }
}

/// Live buckets for one [`RateLimitSpecs`].
#[derive(Debug, Clone, Default)]
pub struct Buckets {
    messages: Option<RateLimit>,
    telemetry_messages: Option<RateLimit>,
    telemetry_data_points: Option<RateLimit>,
}

/// What one message costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// A telemetry or attribute post: `messages` posts with `points` data points.
    Telemetry {
        /// Telemetry messages (one per device entry).
        messages: u64,
        /// Key/value pairs over all entries.
        points: u64,
    },
    /// Anything else: this many messages.
    Other(u64),
}

impl Buckets {
    /// Full buckets for `specs` (invalid strings were refused earlier and
    /// count as unlimited).
    pub fn new(specs: &RateLimitSpecs, now: u64) -> Buckets {
        let make = |s: &Option<String>| s.as_deref().and_then(|s| RateLimit::parse(s, now).ok());
        Buckets {
            messages: make(&specs.messages),
            telemetry_messages: make(&specs.telemetry_messages),
            telemetry_data_points: make(&specs.telemetry_data_points),
        }
    }

    /// Charges `cost`; `Err` names the limit that was hit (nothing is charged then).
    pub fn charge(&mut self, cost: Cost, now: u64) -> Result<(), String> {
        fn take(b: &mut Option<RateLimit>, n: u64, now: u64, what: &str) -> Result<(), String> {
            match b {
                Some(limit) if n > 0 => {
                    if limit.try_consume(n, now) {
                        Ok(())
                    } else {
                        Err(format!("{what} rate limit {:?} exceeded", limit.spec()))
                    }
                }
                _ => Ok(()),
            }
        }
        match cost {
            Cost::Telemetry { messages, points } => {
                // Check both before taking either.
                let mut msgs = self.telemetry_messages.clone();
                take(&mut msgs, messages, now, "telemetryMessages")?;
                take(
                    &mut self.telemetry_data_points,
                    points,
                    now,
                    "telemetryDataPoints",
                )?;
                self.telemetry_messages = msgs;
                Ok(())
            }
            Cost::Other(n) => take(&mut self.messages, n, now, "messages"),
        }
    }
}

/// Limits changeable while running (`PUT /emulator/limits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Largest packet accepted, bytes.
    pub max_payload_size: usize,
    /// Most unacknowledged QoS 1 publishes from a client.
    pub max_inflight_messages: usize,
    /// All sub-device traffic of one gateway, summed.
    pub gateway_rate_limits: RateLimitSpecs,
    /// A device's own traffic (`v1/devices/me/*`).
    pub device_rate_limits: RateLimitSpecs,
    /// Sub-device session expiry, ms (0 = never).
    pub session_inactivity_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_size: 65_536,
            max_inflight_messages: 100,
            gateway_rate_limits: RateLimitSpecs::default(),
            device_rate_limits: RateLimitSpecs::default(),
            session_inactivity_ms: 600_000,
        }
    }
}

impl Limits {
    /// Merges a `PUT /emulator/limits` body: only the fields present change;
    /// within a rate-limit object, only the keys present (`null` = unlimited).
    pub fn merge(&self, body: &Value) -> Result<Limits, String> {
        let Value::Object(obj) = body else {
            return Err("the body must be a JSON object".into());
        };
        let mut next = self.clone();
        for (key, value) in obj {
            match key.as_str() {
                "maxPayloadSize" => next.max_payload_size = size(value, key)?,
                "maxInflightMessages" => next.max_inflight_messages = size(value, key)?,
                "sessionInactivityMs" => {
                    next.session_inactivity_ms = match value {
                        Value::Null => 0,
                        v => v
                            .as_u64()
                            .ok_or_else(|| format!("{key} must be a whole number"))?,
                    }
                }
                "gatewayRateLimits" => merge_specs(&mut next.gateway_rate_limits, value, key)?,
                "deviceRateLimits" => merge_specs(&mut next.device_rate_limits, value, key)?,
                other => return Err(format!("unknown limit {other:?}")),
            }
        }
        next.gateway_rate_limits.validate()?;
        next.device_rate_limits.validate()?;
        Ok(next)
    }
}

fn size(v: &Value, key: &str) -> Result<usize, String> {
    match v {
        Value::Null => Ok(usize::MAX),
        v => v
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| format!("{key} must be a whole number or null")),
    }
}

fn merge_specs(specs: &mut RateLimitSpecs, v: &Value, key: &str) -> Result<(), String> {
    let Value::Object(obj) = v else {
        return Err(format!("{key} must be an object"));
    };
    for (name, value) in obj {
        let slot = match name.as_str() {
            "messages" => &mut specs.messages,
            "telemetryMessages" => &mut specs.telemetry_messages,
            "telemetryDataPoints" => &mut specs.telemetry_data_points,
            other => return Err(format!("unknown rate limit {key}.{other}")),
        };
        *slot = match value {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.trim().to_string()),
            _ => {
                return Err(format!(
                    "{key}.{name} must be a string like \"10:1,300:60\" or null"
                ))
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_window_applies_at_once() {
        let mut l = RateLimit::parse("3:1,4:60", 0).unwrap();
        assert!(l.try_consume(1, 0));
        assert!(l.try_consume(2, 0));
        assert!(!l.try_consume(1, 10), "the 1 s window is empty");
        // A second later the 1 s window is full again, the minute window has 1 left.
        assert!(l.try_consume(1, 1000));
        assert!(!l.try_consume(1, 1000));
    }

    #[test]
    fn tokens_refill_greedily() {
        let mut l = RateLimit::parse("10:1", 0).unwrap();
        assert!(l.try_consume(10, 0));
        assert!(!l.try_consume(1, 50));
        assert!(l.try_consume(1, 100), "one token per 100 ms");
    }

    #[test]
    fn bad_specs_are_refused() {
        for s in ["", "10", "a:1", "10:0", "10:1,x"] {
            assert!(RateLimit::parse(s, 0).is_err(), "{s:?}");
        }
        assert!(RateLimitSpecs::parse_cli("messages=10:1;what=1:1").is_err());
        let s =
            RateLimitSpecs::parse_cli("messages=10:1,300:60;telemetryDataPoints=200:1").unwrap();
        assert_eq!(s.messages.as_deref(), Some("10:1,300:60"));
        assert_eq!(s.telemetry_messages, None);
        assert_eq!(s.telemetry_data_points.as_deref(), Some("200:1"));
    }

    #[test]
    fn telemetry_cost_checks_both_buckets_before_taking() {
        let specs = RateLimitSpecs {
            messages: None,
            telemetry_messages: Some("2:1".into()),
            telemetry_data_points: Some("3:1".into()),
        };
        let mut b = Buckets::new(&specs, 0);
        assert!(b
            .charge(
                Cost::Telemetry {
                    messages: 1,
                    points: 5
                },
                0
            )
            .is_err());
        assert!(b
            .charge(
                Cost::Telemetry {
                    messages: 2,
                    points: 3
                },
                0
            )
            .is_ok());
        assert!(b.charge(Cost::Other(1000), 0).is_ok(), "messages unlimited");
    }

    #[test]
    fn limits_merge_keeps_what_is_absent() {
        let l = Limits::default();
        let m = l
            .merge(&json!({"maxPayloadSize": 1000, "gatewayRateLimits": {"messages": "5:1"}}))
            .unwrap();
        assert_eq!(m.max_payload_size, 1000);
        assert_eq!(m.max_inflight_messages, 100);
        assert_eq!(m.gateway_rate_limits.messages.as_deref(), Some("5:1"));
        let m2 = m
            .merge(&json!({"gatewayRateLimits": {"telemetryMessages": "1:1"}}))
            .unwrap();
        assert_eq!(m2.gateway_rate_limits.messages.as_deref(), Some("5:1"));
        let m3 = m2
            .merge(&json!({"gatewayRateLimits": {"messages": null}}))
            .unwrap();
        assert_eq!(m3.gateway_rate_limits.messages, None);
        assert!(l
            .merge(&json!({"deviceRateLimits": {"messages": "x"}}))
            .is_err());
        assert!(l.merge(&json!({"nope": 1})).is_err());
    }
}
