//! Telemetry element parsing (ThingsBoard's `JsonConverter.parseObject`).
//!
//! An element is a JSON object in one of two forms: with **both** `ts` and
//! `values` (timestamped), or flat (every key is a telemetry key, stamped with
//! the receive time). `{"values":{..}}` without `ts` is the flat form, so it
//! stores a key literally named `values` (contract §3.3).

use super::values::TbValue;
use serde_json::{Map, Value};

/// One parsed telemetry element.
#[derive(Debug, Clone, PartialEq)]
pub struct TsEntry {
    /// Explicit timestamp (epoch ms); `None` means "receive time".
    pub ts: Option<i64>,
    /// Typed key/values (`null` values are already skipped).
    pub values: Vec<(String, TbValue)>,
}

/// Latency metadata stripped from a gateway telemetry element (§3.9).
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// Connector name.
    pub connector: String,
    /// When the gateway received the data, epoch ms.
    pub received_ts: i64,
    /// When the gateway published it, epoch ms.
    pub published_ts: i64,
}

/// Parses one element. With `gateway` set, a top-level `metadata` object is
/// reserved: it is removed and returned, and anything else under that key
/// makes the element fail (§3.3 "Reserved key metadata").
pub fn parse_element(
    element: &Value,
    gateway: bool,
) -> Result<(TsEntry, Option<Metadata>), String> {
    let Value::Object(obj) = element else {
        return Err(format!("element {element} is not a JSON object"));
    };
    let mut obj = obj.clone();
    let metadata = if gateway {
        match obj.remove("metadata") {
            None => None,
            Some(m) => Some(parse_metadata(&m)?),
        }
    } else {
        None
    };
    let entry = if obj.contains_key("ts") && obj.contains_key("values") {
        let ts = parse_ts(&obj["ts"])?;
        let Value::Object(values) = &obj["values"] else {
            return Err(format!(
                "\"values\" is not a JSON object: {}",
                obj["values"]
            ));
        };
        TsEntry {
            ts: Some(ts),
            values: typed(values),
        }
    } else {
        TsEntry {
            ts: None,
            values: typed(&obj),
        }
    };
    Ok((entry, metadata))
}

/// Parses a device-level telemetry body: one element or an array of them.
pub fn parse_device_body(body: &Value) -> Result<Vec<TsEntry>, String> {
    match body {
        Value::Object(_) => Ok(vec![parse_element(body, false)?.0]),
        Value::Array(items) => items
            .iter()
            .map(|item| parse_element(item, false).map(|(entry, _)| entry))
            .collect(),
        other => Err(format!(
            "telemetry must be a JSON object or an array of objects, got {other}"
        )),
    }
}

/// Typed values of an object, `null`s skipped.
pub fn typed(obj: &Map<String, Value>) -> Vec<(String, TbValue)> {
    obj.iter()
        .filter_map(|(k, v)| TbValue::from_json(v).map(|tv| (k.clone(), tv)))
        .collect()
}

/// `ts` as Gson's `getAsLong`: a number (a fraction is truncated) or a
/// numeric string.
fn parse_ts(ts: &Value) -> Result<i64, String> {
    match ts {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| format!("\"ts\" {n} is not a long")),
        Value::String(s) => s
            .parse::<i64>()
            .map_err(|_| format!("\"ts\" {s:?} is not a number")),
        other => Err(format!("\"ts\" {other} is not a number")),
    }
}

fn parse_metadata(m: &Value) -> Result<Metadata, String> {
    let bad = || {
        format!(
            "\"metadata\" is reserved for {{\"connector\",\"receivedTs\",\"publishedTs\"}}, got {m}"
        )
    };
    let Value::Object(obj) = m else {
        return Err(bad());
    };
    let connector = obj
        .get("connector")
        .and_then(Value::as_str)
        .ok_or_else(bad)?;
    let received_ts = obj
        .get("receivedTs")
        .and_then(|v| parse_ts(v).ok())
        .ok_or_else(bad)?;
    let published_ts = obj
        .get("publishedTs")
        .and_then(|v| parse_ts(v).ok())
        .ok_or_else(bad)?;
    Ok(Metadata {
        connector: connector.to_string(),
        received_ts,
        published_ts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamped_and_flat_forms() {
        let (e, _) = parse_element(
            &json!({"ts": 1767225600000i64, "values": {"flow": 12.5, "running": true}}),
            true,
        )
        .unwrap();
        assert_eq!(e.ts, Some(1767225600000));
        assert_eq!(
            e.values,
            vec![
                ("flow".into(), TbValue::Double(12.5)),
                ("running".into(), TbValue::Bool(true))
            ]
        );
        let (e, _) = parse_element(&json!({"pressure": 3.1, "mode": "auto"}), true).unwrap();
        assert_eq!(e.ts, None);
        assert_eq!(e.values.len(), 2);
    }

    #[test]
    fn ts_as_numeric_string() {
        let (e, _) =
            parse_element(&json!({"ts": "1767225600000", "values": {"a": 1}}), true).unwrap();
        assert_eq!(e.ts, Some(1767225600000));
        assert!(parse_element(&json!({"ts": "soon", "values": {"a": 1}}), true).is_err());
        assert!(parse_element(&json!({"ts": 1, "values": 5}), true).is_err());
    }

    #[test]
    fn traps_are_stored_literally() {
        let (e, _) = parse_element(&json!({"values": {"a": 1}}), true).unwrap();
        assert_eq!(
            e.values,
            vec![("values".into(), TbValue::Json(json!({"a": 1})))]
        );
        let (mut e, _) = parse_element(&json!({"ts": 123, "temp": 1}), true).unwrap();
        assert_eq!(e.ts, None);
        // Key order follows serde_json's map order, which depends on features
        // unified across the workspace: compare sorted.
        e.values.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            e.values,
            vec![
                ("temp".into(), TbValue::Long(1)),
                ("ts".into(), TbValue::Long(123))
            ]
        );
    }

    #[test]
    fn metadata_is_reserved_on_gateway_telemetry() {
        let (e, m) = parse_element(
            &json!({"ts": 5, "values": {"a": 1},
                    "metadata": {"connector": "Modbus", "receivedTs": 1, "publishedTs": 2}}),
            true,
        )
        .unwrap();
        assert_eq!(e.values, vec![("a".into(), TbValue::Long(1))]);
        assert_eq!(m.unwrap().connector, "Modbus");
        assert!(parse_element(&json!({"metadata": 7, "a": 1}), true).is_err());
        // Device level: an ordinary key.
        let (e, m) = parse_element(&json!({"metadata": 7}), false).unwrap();
        assert!(m.is_none());
        assert_eq!(e.values, vec![("metadata".into(), TbValue::Long(7))]);
    }

    #[test]
    fn device_bodies() {
        assert_eq!(parse_device_body(&json!({"a": 1})).unwrap().len(), 1);
        assert_eq!(
            parse_device_body(&json!([{"a": 1}, {"ts": 1, "values": {"b": 2}}]))
                .unwrap()
                .len(),
            2
        );
        assert!(parse_device_body(&json!(5)).is_err());
        assert!(parse_device_body(&json!([1])).is_err());
    }
}
