//! Typed telemetry and attribute values, as ThingsBoard stores them.
//!
//! ThingsBoard converts every JSON value it receives into a typed key/value
//! entry (contract §3.3, "Value typing"): booleans, longs, doubles, strings and
//! JSON. Numeric strings are cast to numbers because `JSON_TYPE_CAST_ENABLED`
//! is on by default.
//!
//! Approximation: ThingsBoard decides between long and double from the
//! number's *text* (`2.0` is a double, `1e3` a long, a decimal with more than
//! 16 fractional digits a string). serde_json does not keep the text of JSON
//! numbers, so here a JSON integer that fits an `i64` is a long, a bigger
//! unsigned integer becomes a string, and every other JSON number is a double.
//! Numeric *strings* follow ThingsBoard's rule exactly.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One stored value, typed the way ThingsBoard types it. In a state file
/// (`--state`) it is written as a one-key object naming its type:
/// `{"LONG":7}`, `{"DOUBLE":1.5}` (`"NaN"`, `"Infinity"` or `"-Infinity"`
/// for what JSON numbers cannot hold), `{"BOOLEAN":true}`, `{"STRING":"x"}`,
/// `{"JSON":{..}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Stored", from = "Stored")]
pub enum TbValue {
    /// `BOOLEAN`
    Bool(bool),
    /// `LONG`
    Long(i64),
    /// `DOUBLE`
    Double(f64),
    /// `STRING`
    Str(String),
    /// `JSON` (objects and arrays)
    Json(Value),
}

impl TbValue {
    /// Converts a received JSON value. `None` for `null`, which ThingsBoard skips.
    pub fn from_json(value: &Value) -> Option<TbValue> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(b) => TbValue::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    TbValue::Long(i)
                } else if let Some(u) = n.as_u64() {
                    // Too big for a long: stored as a string (type cast on).
                    TbValue::Str(u.to_string())
                } else {
                    TbValue::Double(n.as_f64().unwrap_or(0.0))
                }
            }
            Value::String(s) => {
                if is_parsable_number(s) {
                    numeric_from_text(s)
                } else {
                    TbValue::Str(s.clone())
                }
            }
            Value::Array(_) | Value::Object(_) => TbValue::Json(value.clone()),
        })
    }

    /// The value as ThingsBoard writes it into JSON it sends (attribute
    /// pushes, attribute responses, strict-typed REST answers).
    pub fn to_json(&self) -> Value {
        match self {
            TbValue::Bool(b) => Value::Bool(*b),
            TbValue::Long(i) => Value::from(*i),
            TbValue::Double(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            TbValue::Str(s) => Value::String(s.clone()),
            TbValue::Json(v) => v.clone(),
        }
    }

    /// The value as the REST timeseries API returns it by default
    /// (`useStrictDataTypes=false`): always a string, doubles as Java prints them.
    pub fn to_tb_string(&self) -> String {
        match self {
            TbValue::Bool(b) => b.to_string(),
            TbValue::Long(i) => i.to_string(),
            TbValue::Double(f) => java_double_string(*f),
            TbValue::Str(s) => s.clone(),
            TbValue::Json(v) => v.to_string(),
        }
    }
}

/// [`TbValue`] as a state file holds it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Stored {
    Boolean(bool),
    Long(i64),
    Double(Double),
    String(String),
    Json(Value),
}

impl From<TbValue> for Stored {
    fn from(v: TbValue) -> Stored {
        match v {
            TbValue::Bool(b) => Stored::Boolean(b),
            TbValue::Long(i) => Stored::Long(i),
            TbValue::Double(f) => Stored::Double(Double(f)),
            TbValue::Str(s) => Stored::String(s),
            TbValue::Json(v) => Stored::Json(v),
        }
    }
}

impl From<Stored> for TbValue {
    fn from(v: Stored) -> TbValue {
        match v {
            Stored::Boolean(b) => TbValue::Bool(b),
            Stored::Long(i) => TbValue::Long(i),
            Stored::Double(Double(f)) => TbValue::Double(f),
            Stored::String(s) => TbValue::Str(s),
            Stored::Json(v) => TbValue::Json(v),
        }
    }
}

/// A double as JSON: a number when finite (serde_json writes the shortest
/// text that reads back to the same bits), else Java's name for it (JSON
/// has no NaN or infinity, and serde_json would write `null`).
struct Double(f64);

impl Serialize for Double {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_str(&java_double_string(self.0))
        }
    }
}

impl<'de> Deserialize<'de> for Double {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Double, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Number(f) => Ok(Double(f)),
            Repr::Text(t) => match t.as_str() {
                "NaN" => Ok(Double(f64::NAN)),
                "Infinity" => Ok(Double(f64::INFINITY)),
                "-Infinity" => Ok(Double(f64::NEG_INFINITY)),
                other => Err(serde::de::Error::custom(format!(
                    "{other:?} is not a double (a number, \"NaN\", \"Infinity\" or \"-Infinity\")"
                ))),
            },
        }
    }
}

/// Apache commons-lang3 `NumberUtils.isParsable`, which ThingsBoard uses to
/// decide whether a string is cast: an optional `-`, digits and at most one
/// `.`, not ending with `.`. Exponents and `+` are not accepted.
pub fn is_parsable_number(s: &str) -> bool {
    if s.is_empty() || s.ends_with('.') {
        return false;
    }
    let body = s.strip_prefix('-').unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let mut points = 0;
    for c in body.chars() {
        if c == '.' {
            points += 1;
            if points > 1 {
                return false;
            }
        } else if !c.is_ascii_digit() {
            return false;
        }
    }
    true
}

/// ThingsBoard's `buildNumericKeyValueProto` for a parsable numeric string:
/// with a `.` it is a double (or a string beyond 16 fractional digits),
/// otherwise a long (or a string when it does not fit a long).
fn numeric_from_text(s: &str) -> TbValue {
    if let Some((_, fraction)) = s.split_once('.') {
        if fraction.len() <= 16 {
            if let Ok(f) = s.parse::<f64>() {
                return TbValue::Double(f);
            }
        }
        TbValue::Str(plain_decimal(s))
    } else {
        match s.parse::<i64>() {
            Ok(i) => TbValue::Long(i),
            Err(_) => TbValue::Str(plain_decimal(s)),
        }
    }
}

/// `BigDecimal.toPlainString()` for the shapes `is_parsable_number` accepts:
/// leading zeros of the integer part removed, a missing integer part written `0`.
fn plain_decimal(s: &str) -> String {
    let (sign, body) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    match frac {
        Some(f) => format!("{sign}{int}.{f}"),
        None => format!("{sign}{int}"),
    }
}

/// Java's `Double.toString`: plain with at least one fractional digit for
/// 1e-3 ≤ |x| < 1e7, otherwise computerized scientific notation (`1.0E7`).
pub fn java_double_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if f == 0.0 || (1e-3..1e7).contains(&abs) {
        // Rust's Debug form is the shortest round-trip text and keeps ".0".
        return format!("{f:?}");
    }
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_are_typed() {
        assert_eq!(TbValue::from_json(&json!(true)), Some(TbValue::Bool(true)));
        assert_eq!(TbValue::from_json(&json!(42)), Some(TbValue::Long(42)));
        assert_eq!(TbValue::from_json(&json!(-7)), Some(TbValue::Long(-7)));
        assert_eq!(
            TbValue::from_json(&json!(12.5)),
            Some(TbValue::Double(12.5))
        );
        assert_eq!(
            TbValue::from_json(&json!(18446744073709551615u64)),
            Some(TbValue::Str("18446744073709551615".into()))
        );
        assert_eq!(TbValue::from_json(&json!(null)), None);
        assert_eq!(
            TbValue::from_json(&json!({"on": "06:00"})),
            Some(TbValue::Json(json!({"on": "06:00"})))
        );
        assert_eq!(
            TbValue::from_json(&json!([1, 2])),
            Some(TbValue::Json(json!([1, 2])))
        );
        assert_eq!(
            TbValue::from_json(&json!("auto")),
            Some(TbValue::Str("auto".into()))
        );
    }

    #[test]
    fn numeric_strings_are_cast() {
        assert_eq!(
            TbValue::from_json(&json!("00123")),
            Some(TbValue::Long(123))
        );
        assert_eq!(TbValue::from_json(&json!("-5")), Some(TbValue::Long(-5)));
        assert_eq!(
            TbValue::from_json(&json!("1.50")),
            Some(TbValue::Double(1.5))
        );
        assert_eq!(TbValue::from_json(&json!(".5")), Some(TbValue::Double(0.5)));
        assert_eq!(
            TbValue::from_json(&json!("99999999999999999999")),
            Some(TbValue::Str("99999999999999999999".into()))
        );
        assert_eq!(
            TbValue::from_json(&json!("0.12345678901234567")),
            Some(TbValue::Str("0.12345678901234567".into()))
        );
        // Not parsable by NumberUtils.isParsable: stay strings.
        for s in ["1e3", "+1", "1.", "-", "1.2.3", "", " 1", "P7-0042"] {
            assert_eq!(TbValue::from_json(&json!(s)), Some(TbValue::Str(s.into())));
        }
    }

    #[test]
    fn values_keep_their_type_and_bits_through_a_state_file() {
        let values = [
            TbValue::Bool(true),
            TbValue::Long(i64::MIN),
            TbValue::Double(0.1 + 0.2),
            TbValue::Double(2.0),
            TbValue::Double(f64::INFINITY),
            TbValue::Double(f64::NEG_INFINITY),
            TbValue::Str("12".into()),
            TbValue::Json(json!({"a": [1, 2.5]})),
        ];
        let text = serde_json::to_string(&values).unwrap();
        assert!(
            text.starts_with(r#"[{"BOOLEAN":true},{"LONG":-9223372036854775808},"#),
            "{text}"
        );
        let back: Vec<TbValue> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, values);
        let nan: TbValue = serde_json::from_str(r#"{"DOUBLE":"NaN"}"#).unwrap();
        assert!(matches!(nan, TbValue::Double(f) if f.is_nan()));
        assert_eq!(
            serde_json::from_str::<TbValue>(r#"{"DOUBLE":2}"#).unwrap(),
            TbValue::Double(2.0)
        );
        for bad in [
            r#"{"DOUBLE":"many"}"#,
            r#"{"LONG":"7"}"#,
            r#"{"DATE":1}"#,
            "7",
        ] {
            assert!(serde_json::from_str::<TbValue>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rest_strings_follow_java() {
        assert_eq!(TbValue::Double(12.5).to_tb_string(), "12.5");
        assert_eq!(TbValue::Double(2.0).to_tb_string(), "2.0");
        assert_eq!(TbValue::Double(1e7).to_tb_string(), "1.0E7");
        assert_eq!(TbValue::Double(1.5e-4).to_tb_string(), "1.5E-4");
        assert_eq!(TbValue::Long(7).to_tb_string(), "7");
        assert_eq!(TbValue::Bool(false).to_tb_string(), "false");
        assert_eq!(TbValue::Json(json!({"a": 1})).to_tb_string(), r#"{"a":1}"#);
    }
}
