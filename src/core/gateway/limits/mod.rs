//! The limits the server reports with `getSessionLimits` (contract §6), and
//! the pacing that keeps the gateway's traffic inside them.
//!
//! After each CONNACK the gateway asks for its session limits and holds its
//! uplinks until the answer (or [`LIMITS_WAIT_MS`]) comes. From then on
//! every uplink passes the [`Pacer`]: the in-flight window is the server's
//! `maxInflightMessages`, no message is bigger than `maxPayloadSize` or
//! carries more data points than a rate window holds, and token buckets keep
//! every rate limit (the gateway's own and its devices' combined) at 80 %,
//! as ThingsBoard's SDK does. What waits for tokens waits in order in the
//! gateway's outbox.

mod pacer;
mod rate;

pub use pacer::{data_points, entry_points, Class, Pacer, Scope};
pub use rate::{Buckets, RateLimit, Window};

use serde_json::Value;

/// How long the gateway holds its uplinks after CONNACK waiting for the
/// session limits; servers before ThingsBoard 3.8 never answer.
pub const LIMITS_WAIT_MS: u64 = 5_000;

/// The share of each server limit the gateway uses.
pub const HEADROOM: f64 = 0.8;

/// One set of rate limits (`rateLimits` or `gatewayRateLimits`); `None`
/// where the server set none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Messages that are not telemetry or attributes.
    pub messages: Option<RateLimit>,
    /// Telemetry and attribute messages.
    pub telemetry_messages: Option<RateLimit>,
    /// Telemetry data points and attribute keys.
    pub telemetry_data_points: Option<RateLimit>,
}

/// What `getSessionLimits` answered, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionLimits {
    /// The largest packet the server takes.
    pub max_payload_size: Option<usize>,
    /// How many unacknowledged messages the server takes.
    pub max_inflight_messages: Option<usize>,
    /// The gateway device's own traffic (`v1/devices/me/*`).
    pub own: RateLimits,
    /// Its devices' traffic (`v1/gateway/*`), all devices together.
    pub gateway: RateLimits,
}

impl SessionLimits {
    /// Reads the answer `{"maxPayloadSize", "maxInflightMessages",
    /// "rateLimits": {..}, "gatewayRateLimits": {..}}`. Missing, `null` or
    /// empty fields mean no limit; a malformed one is an error that names it.
    pub fn from_json(value: &Value) -> Result<SessionLimits, String> {
        let obj = value
            .as_object()
            .ok_or("the session limits are not a JSON object")?;
        let size = |key: &str| -> Result<Option<usize>, String> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .filter(|n| *n > 0)
                    .map(|n| Some(n as usize))
                    .ok_or_else(|| format!("{key} is {v}, not a positive whole number")),
            }
        };
        Ok(SessionLimits {
            max_payload_size: size("maxPayloadSize")?,
            max_inflight_messages: size("maxInflightMessages")?,
            own: rate_limits(obj.get("rateLimits"), "rateLimits")?,
            gateway: rate_limits(obj.get("gatewayRateLimits"), "gatewayRateLimits")?,
        })
    }
}

fn rate_limits(value: Option<&Value>, name: &str) -> Result<RateLimits, String> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(RateLimits::default()),
        Some(Value::Object(obj)) => obj,
        Some(other) => return Err(format!("{name} is {other}, not an object")),
    };
    let one = |key: &str| -> Result<Option<RateLimit>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => RateLimit::parse(s)
                .map(Some)
                .map_err(|e| format!("{name}.{key}: {e}")),
            Some(other) => Err(format!("{name}.{key} is {other}, not a string")),
        }
    };
    Ok(RateLimits {
        messages: one("messages")?,
        telemetry_messages: one("telemetryMessages")?,
        telemetry_data_points: one("telemetryDataPoints")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_servers_answer_is_read_with_nulls_as_no_limit() {
        let limits = SessionLimits::from_json(&json!({
            "maxPayloadSize": 65536, "maxInflightMessages": 100,
            "rateLimits": {"messages": "10:1,300:60", "telemetryMessages": null, "telemetryDataPoints": ""},
            "gatewayRateLimits": {"messages": "20:1", "telemetryMessages": "10:1", "telemetryDataPoints": "200:1"}
        }))
        .unwrap();
        assert_eq!(limits.max_payload_size, Some(65_536));
        assert_eq!(limits.max_inflight_messages, Some(100));
        assert_eq!(limits.own.messages.as_ref().map(RateLimit::burst), Some(10));
        assert_eq!(limits.own.telemetry_messages, None);
        assert_eq!(limits.own.telemetry_data_points, None);
        assert_eq!(
            limits
                .gateway
                .telemetry_data_points
                .as_ref()
                .map(RateLimit::burst),
            Some(200)
        );
    }

    #[test]
    fn an_answer_without_limits_means_none() {
        let limits = SessionLimits::from_json(&json!({"rateLimits": null})).unwrap();
        assert_eq!(limits, SessionLimits::default());
    }

    #[test]
    fn a_malformed_limit_is_an_error_that_names_it() {
        let e = SessionLimits::from_json(&json!({"gatewayRateLimits": {"messages": "ten"}}))
            .unwrap_err();
        assert!(e.contains("gatewayRateLimits.messages"), "{e}");
        let e = SessionLimits::from_json(&json!({"maxInflightMessages": -1})).unwrap_err();
        assert!(e.contains("maxInflightMessages"), "{e}");
        assert!(SessionLimits::from_json(&json!([])).is_err());
    }
}
