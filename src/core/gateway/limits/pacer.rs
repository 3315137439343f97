//! Token buckets for every limit of a session, and which of them a message
//! takes from.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
            // One pass, no JSON value built: device entries and their points.
            let counted = serde_json::from_slice::<Devices>(payload).ok();
            let (devices, points) = match counted {
                Some(Devices(Some(counts))) => counts,
                _ => (1, 0),
            };
            class.messages = devices.max(1);
            if telemetry {
                class.points = points;
            }
        } else if telemetry {
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
    if per_device {
        return Some(match serde_json::from_slice::<Devices>(payload) {
            Ok(Devices(Some((_, points)))) => points,
            _ => 0,
        });
    }
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

/// A multi-device message counted as it is read, without building its
/// JSON value: `Some((devices, points))` for an object (its members, and
/// the [`entry_points`] of their values summed), `None` for any other
/// value. The same figures as reading the [`Value`], but for a payload that
/// repeats a key (which the gateway never writes): read into a `Value`, the
/// later one replaces the earlier; here both count.
struct Devices(Option<(u64, u64)>);

/// [`entry_points`] of one value, counted as it is read.
struct EntryPoints(u64);

/// The members of an object (`Some`), or `None` for any other value.
struct Members(Option<u64>);

/// An object key, as far as [`entry_points`] tells keys apart.
enum Key {
    Ts,
    Values,
    Metadata,
    Other,
}

/// A visitor for what every value that is not an array or object gives.
macro_rules! scalars {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

impl<'de> Deserialize<'de> for Devices {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Devices;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            scalars!(Devices(None));
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Devices, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Devices(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Devices, A::Error> {
                let (mut devices, mut points) = (0, 0);
                while map.next_key::<IgnoredAny>()?.is_some() {
                    devices += 1;
                    points += map.next_value::<EntryPoints>()?.0;
                }
                Ok(Devices(Some((devices, points))))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for EntryPoints {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EntryPoints;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            scalars!(EntryPoints(0));
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntryPoints, A::Error> {
                let mut points = 0;
                while let Some(EntryPoints(p)) = seq.next_element()? {
                    points += p;
                }
                Ok(EntryPoints(points))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EntryPoints, A::Error> {
                // `{"ts", "values": {..}}`: its values; else its keys but
                // `metadata`.
                let (mut keys, mut ts, mut values) = (0, false, None);
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Ts => {
                            ts = true;
                            map.next_value::<IgnoredAny>()?;
                        }
                        Key::Values => values = map.next_value::<Members>()?.0,
                        Key::Metadata => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                    keys += 1;
                }
                Ok(EntryPoints(match (ts, values) {
                    (true, Some(values)) => values,
                    _ => keys,
                }))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            scalars!(Members(None));
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Members, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Members(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut n = 0;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Members(Some(n)))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "ts" => Key::Ts,
                    "values" => Key::Values,
                    "metadata" => Key::Metadata,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(V)
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

    /// What `Class::counted` gave when it read the payload into a `Value`
    /// (c994f52): (messages, points) of a multi-device message.
    fn counted_from_value(topic: &str, payload: &[u8]) -> (u64, u64) {
        let value = serde_json::from_slice::<Value>(payload).ok();
        let messages = value
            .as_ref()
            .and_then(|v| v.as_object().map(|devices| devices.len() as u64))
            .unwrap_or(1)
            .max(1);
        let points = if is_upload(topic) {
            value
                .as_ref()
                .and_then(|v| v.as_object())
                .map(|devices| devices.values().map(entry_points).sum())
                .unwrap_or(0)
        } else {
            0
        };
        (messages, points)
    }

    #[test]
    fn a_multi_device_message_is_counted_as_reading_its_value_counts_it() {
        let payloads = [
            json!({"A": [{"ts": 1, "values": {"a": 1, "b": [1, {"c": 2}]}}, {"x": 1, "metadata": {"m": 1}}],
                   "B": {"ts": 2, "values": {"v": 1}}, "C": {"ts": 3, "values": 7, "k": 1},
                   "D": [[{"a": 1}, {"b": 2, "c": 3}], 5, "s", null, true], "E": {"metadata": 1},
                   "F": {"values": {"a": 1}}, "G": [], "H": {}, "I\"é": {"ts": {"values": 1}, "values": {}}})
            .to_string(),
            json!({"Dev": [{"ts": 1_767_225_600_000u64, "values": {"k0": 21.5, "k1": -3.25e-7, "k2": "x\ny"}}]})
                .to_string(),
            r#"{"A":[{"t\u0073":1,"values":{"a":1,"b":2}}],"B":{"metadat\u0061":1,"z":2}}"#.into(),
            json!([{"A": 1}]).to_string(),
            json!("text").to_string(),
            "{}".into(),
            r#"{"A": [1, 2"#.into(),
            "not json".into(),
            r#"{"A": 1} trailing"#.into(),
        ];
        for topic in [
            "v1/gateway/telemetry",
            "v1/gateway/attributes",
            "v1/gateway/claim",
        ] {
            for payload in &payloads {
                let class = Class::of(topic, payload.as_bytes());
                assert_eq!(
                    (class.messages, class.points),
                    counted_from_value(topic, payload.as_bytes()),
                    "{topic} {payload}"
                );
                if is_upload(topic) {
                    assert_eq!(
                        data_points(topic, payload.as_bytes()),
                        Some(counted_from_value(topic, payload.as_bytes()).1),
                        "{topic} {payload}"
                    );
                }
            }
        }
        let class = Class::of("v1/gateway/telemetry", payloads[0].as_bytes());
        assert_eq!((class.messages, class.points), (9, 3 + 1 + 3 + 3 + 1));
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
