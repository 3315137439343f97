//! Token buckets for every limit of a session, and which of them a message
//! takes from.

use serde_json::Value;

use super::rate::{Buckets, RateLimit};
use super::{RateLimits, SessionLimits, HEADROOM};
use crate::core::time::Millis;

/// Whose traffic a message is: the rate limits differ (contract §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The gateway device's own (`v1/devices/me/*`).
    Own,
    /// Its devices' (`v1/gateway/*`), all devices together.
    Gateway,
}

/// What one message takes from the buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// Whose limits.
    pub scope: Scope,
    /// Telemetry or attributes (the telemetry buckets), or another message
    /// (the messages bucket).
    pub telemetry: bool,
    /// How many messages the server counts: one per device entry of a
    /// multi-device gateway message (ThingsBoard hands each device's part
    /// to its rate limits as a message of its own), else one.
    pub messages: u64,
    /// Data points it carries (telemetry values, attribute keys).
    pub points: u64,
}

impl Class {
    /// The class of a message on `topic` with `payload`.
    pub fn of(topic: &str, payload: &[u8]) -> Class {
        Class::counted(topic, payload, true)
    }

    /// The class of a message on `topic`; its device entries and data
    /// points are counted (which parses the payload) only if `count`, else
    /// taken as one message and no points.
    pub fn counted(topic: &str, payload: &[u8], count: bool) -> Class {
        let scope = Class::scope_of(topic);
        let telemetry = is_upload(topic);
        let mut class = Class {
            scope,
            telemetry,
            messages: 1,
            points: 0,
        };
        if !count {
            return class;
        }
        let multi_device = matches!(
            topic,
            "v1/gateway/telemetry" | "v1/gateway/attributes" | "v1/gateway/claim"
        );
        if multi_device {
            class.messages = serde_json::from_slice::<Value>(payload)
                .ok()
                .and_then(|v| v.as_object().map(|devices| devices.len() as u64))
                .unwrap_or(1)
                .max(1);
        }
        if telemetry {
            class.points = data_points(topic, payload).unwrap_or(0);
        }
        class
    }
}

impl Class {
    /// Whose limits a message on `topic` counts against.
    pub fn scope_of(topic: &str) -> Scope {
        if topic.starts_with("v1/gateway/") {
            Scope::Gateway
        } else {
            Scope::Own
        }
    }
}

/// Whether `topic` takes telemetry or attribute uploads.
fn is_upload(topic: &str) -> bool {
    matches!(
        topic,
        "v1/gateway/telemetry"
            | "v1/gateway/attributes"
            | "v1/devices/me/telemetry"
            | "v1/devices/me/attributes"
    )
}

/// The data points a telemetry or attribute upload carries, as ThingsBoard
/// counts them: key/value pairs over all `ts` entries, attribute keys.
/// `None` for any other topic.
pub fn data_points(topic: &str, payload: &[u8]) -> Option<u64> {
    if !is_upload(topic) {
        return None;
    }
    let per_device = topic.starts_with("v1/gateway/");
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        return Some(0);
    };
    let points = if per_device {
        value
            .as_object()
            .map(|devices| devices.values().map(entry_points).sum())
            .unwrap_or(0)
    } else {
        entry_points(&value)
    };
    Some(points)
}

/// Points of one telemetry entry (`{"ts","values"}` or flat), an array of
/// entries, or an attribute object.
pub fn entry_points(value: &Value) -> u64 {
    match value {
        Value::Array(items) => items.iter().map(entry_points).sum(),
        Value::Object(map) => match (map.get("ts"), map.get("values")) {
            (Some(_), Some(Value::Object(values))) => values.len() as u64,
            _ => map.keys().filter(|k| *k != "metadata").count() as u64,
        },
        _ => 0,
    }
}

/// The buckets of one [`RateLimits`].
#[derive(Debug, Clone, Default, PartialEq)]
struct BucketSet {
    messages: Option<Buckets>,
    telemetry_messages: Option<Buckets>,
    telemetry_data_points: Option<Buckets>,
    /// The most data points one message may carry.
    max_points: Option<u64>,
    /// The most device entries one telemetry or attribute message may
    /// carry (each is a message to the server's rate limits).
    max_telemetry_entries: Option<u64>,
    /// The same for other multi-device messages (claims).
    max_other_entries: Option<u64>,
}

impl BucketSet {
    fn new(limits: &RateLimits) -> BucketSet {
        let buckets = |l: &Option<RateLimit>| l.as_ref().map(|l| Buckets::new(&l.scaled(HEADROOM)));
        BucketSet {
            messages: buckets(&limits.messages),
            telemetry_messages: buckets(&limits.telemetry_messages),
            telemetry_data_points: buckets(&limits.telemetry_data_points),
            max_points: limits
                .telemetry_data_points
                .as_ref()
                .map(|l| l.scaled(HEADROOM).burst()),
            max_telemetry_entries: limits
                .telemetry_messages
                .as_ref()
                .map(|l| l.scaled(HEADROOM).burst()),
            max_other_entries: limits.messages.as_ref().map(|l| l.scaled(HEADROOM).burst()),
        }
    }

    /// The buckets `class` takes from, with how many tokens.
    fn buckets_for(&self, class: Class) -> impl Iterator<Item = (&Buckets, u64)> {
        let (a, b) = if class.telemetry {
            (
                self.telemetry_messages
                    .as_ref()
                    .map(|b| (b, class.messages)),
                self.telemetry_data_points
                    .as_ref()
                    .map(|b| (b, class.points)),
            )
        } else {
            (self.messages.as_ref().map(|b| (b, class.messages)), None)
        };
        a.into_iter().chain(b)
    }

    /// The same, to take from.
    fn for_class(&mut self, class: Class) -> impl Iterator<Item = (&mut Buckets, u64)> {
        let (a, b) = if class.telemetry {
            (
                self.telemetry_messages
                    .as_mut()
                    .map(|b| (b, class.messages)),
                self.telemetry_data_points
                    .as_mut()
                    .map(|b| (b, class.points)),
            )
        } else {
            (self.messages.as_mut().map(|b| (b, class.messages)), None)
        };
        a.into_iter().chain(b)
    }
}

/// Keeps a session's traffic inside its limits. Unlimited until
/// [`Pacer::new`] is given the server's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pacer {
    own: BucketSet,
    gateway: BucketSet,
}

impl Pacer {
    /// Full buckets at 80 % of `limits`.
    pub fn new(limits: &SessionLimits) -> Pacer {
        Pacer {
            own: BucketSet::new(&limits.own),
            gateway: BucketSet::new(&limits.gateway),
        }
    }

    fn get(&self, scope: Scope) -> &BucketSet {
        match scope {
            Scope::Own => &self.own,
            Scope::Gateway => &self.gateway,
        }
    }

    /// Whether a limit of `scope` needs a message's device entries or data
    /// points counted (which parses it).
    pub fn counts(&self, scope: Scope) -> bool {
        let set = self.get(scope);
        set.telemetry_data_points.is_some()
            || set.telemetry_messages.is_some()
            || (scope == Scope::Gateway && set.messages.is_some())
    }

    /// The most device entries one multi-device message of `scope` may
    /// carry: telemetry and attributes (`telemetry`), or claims.
    pub fn max_entries(&self, scope: Scope, telemetry: bool) -> Option<u64> {
        let set = self.get(scope);
        if telemetry {
            set.max_telemetry_entries
        } else {
            set.max_other_entries
        }
    }

    /// Whether any limit applies at all.
    pub fn is_limited(&self) -> bool {
        [&self.own, &self.gateway].iter().any(|s| {
            s.messages.is_some()
                || s.telemetry_messages.is_some()
                || s.telemetry_data_points.is_some()
        })
    }

    fn set(&mut self, scope: Scope) -> &mut BucketSet {
        match scope {
            Scope::Own => &mut self.own,
            Scope::Gateway => &mut self.gateway,
        }
    }

    /// When a message of `class` may go (`now` if it may now).
    pub fn ready_at(&self, now: Millis, class: Class) -> Millis {
        self.get(class.scope)
            .buckets_for(class)
            .map(|(b, n)| b.ready_at(now, n))
            .max()
            .unwrap_or(now)
    }

    /// A message of `class` goes now: take its tokens.
    pub fn take(&mut self, now: Millis, class: Class) {
        for (b, n) in self.set(class.scope).for_class(class) {
            b.take(now, n);
        }
    }

    /// The most data points one message of `scope` may carry, if limited.
    pub fn max_points(&self, scope: Scope) -> Option<u64> {
        match scope {
            Scope::Own => self.own.max_points,
            Scope::Gateway => self.gateway.max_points,
        }
    }

    /// How near the nearest limit is, from 0 (idle) to 1 (waiting), for
    /// each scope: `(own, gateway)`; `None` where nothing is limited.
    pub fn usage(&self, now: Millis) -> (Option<f64>, Option<f64>) {
        let usage = |set: &BucketSet| {
            [
                set.messages.as_ref(),
                set.telemetry_messages.as_ref(),
                set.telemetry_data_points.as_ref(),
            ]
            .into_iter()
            .flatten()
            .map(|b| b.usage(now))
            .reduce(f64::max)
        };
        (usage(&self.own), usage(&self.gateway))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits(gateway: Value) -> SessionLimits {
        SessionLimits::from_json(&json!({"gatewayRateLimits": gateway})).unwrap()
    }

    #[test]
    fn data_points_are_values_over_every_ts_entry_and_attribute_keys() {
        let telemetry = json!({
            "A": [{"ts": 1, "values": {"t": 1, "h": 2}}, {"ts": 2, "values": {"t": 3}}],
            "B": [{"p": 1, "q": 2, "metadata": {"connector": "x"}}]
        });
        assert_eq!(
            data_points("v1/gateway/telemetry", telemetry.to_string().as_bytes()),
            Some(5)
        );
        let attrs = json!({"A": {"fw": "1", "sn": "2"}, "B": {"x": 1}});
        assert_eq!(
            data_points("v1/gateway/attributes", attrs.to_string().as_bytes()),
            Some(3)
        );
        let own = json!([{"ts": 1, "values": {"a": 1}}, {"b": 1, "c": 2}]);
        assert_eq!(
            data_points("v1/devices/me/telemetry", own.to_string().as_bytes()),
            Some(3)
        );
        assert_eq!(data_points("v1/gateway/connect", b"{}"), None);
    }

    #[test]
    fn telemetry_takes_from_the_telemetry_buckets_and_other_messages_from_messages() {
        let mut p = Pacer::new(&limits(
            json!({"messages": "5:1", "telemetryMessages": "10:1", "telemetryDataPoints": "100:1"}),
        ));
        let t = Millis(0);
        let connect = Class::of("v1/gateway/connect", b"{\"device\":\"A\"}");
        for _ in 0..4 {
            assert_eq!(p.ready_at(t, connect), t);
            p.take(t, connect);
        }
        assert!(p.ready_at(t, connect) > t, "80 % of 5 is 4 per second");
        let telemetry = Class::of("v1/gateway/telemetry", br#"{"A":[{"v":1}]}"#);
        assert_eq!(p.ready_at(t, telemetry), t, "telemetry has its own buckets");
        let own = Class::of("v1/devices/me/rpc/request/1", b"{}");
        assert_eq!(
            p.ready_at(t, own),
            t,
            "the gateway's own traffic is not limited here"
        );
    }

    #[test]
    fn data_points_wait_for_their_bucket_at_eighty_percent() {
        let mut p = Pacer::new(&limits(json!({"telemetryDataPoints": "200:1"})));
        assert_eq!(p.max_points(Scope::Gateway), Some(160));
        assert_eq!(p.max_points(Scope::Own), None);
        let class = Class {
            scope: Scope::Gateway,
            telemetry: true,
            messages: 1,
            points: 100,
        };
        p.take(Millis(0), class);
        assert_eq!(
            p.ready_at(Millis(0), class),
            Millis(250),
            "40 more points at 160/s"
        );
        assert_eq!(
            p.usage(Millis(0)).1.map(|u| (u * 100.0).round()),
            Some(63.0)
        );
    }

    #[test]
    fn each_device_entry_of_a_gateway_message_is_a_telemetry_message_to_the_server() {
        let body = json!({"A": [{"v": 1}], "B": [{"v": 2}], "C": [{"v": 3}]});
        let class = Class::of("v1/gateway/telemetry", body.to_string().as_bytes());
        assert_eq!((class.messages, class.points), (3, 3));
        let claim = Class::of("v1/gateway/claim", br#"{"A":{},"B":{}}"#);
        assert_eq!((claim.telemetry, claim.messages), (false, 2));
        assert_eq!(
            Class::of("v1/gateway/connect", br#"{"device":"A"}"#).messages,
            1
        );
        let mut p = Pacer::new(&limits(json!({"telemetryMessages": "10:1"})));
        assert_eq!(p.max_entries(Scope::Gateway, true), Some(8));
        p.take(Millis(0), class);
        p.take(Millis(0), class);
        assert!(
            p.ready_at(Millis(0), class) > Millis(0),
            "6 of 8 taken: 3 more do not fit"
        );
    }

    #[test]
    fn an_unlimited_pacer_never_waits() {
        let mut p = Pacer::default();
        let class = Class::of("v1/gateway/telemetry", br#"{"A":[{"v":1}]}"#);
        for _ in 0..1000 {
            p.take(Millis(0), class);
        }
        assert_eq!(p.ready_at(Millis(0), class), Millis(0));
        assert_eq!(p.usage(Millis(0)), (None, None));
    }
}
