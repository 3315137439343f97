//! Values a person types in a key/value row, read the way ThingsBoard would
//! store them: numbers, booleans, JSON objects and arrays, else text.

use serde_json::Value;

/// Read one typed value: `12.5` → number, `true` → boolean, `{"a":1}` →
/// object, `"quoted"` → that string, anything else → the text as typed.
pub fn typed_value(text: &str) -> Value {
    let t = text.trim();
    if t == "true" || t == "false" {
        return Value::Bool(t == "true");
    }
    if let Ok(n) = t.parse::<i64>() {
        return Value::from(n);
    }
    if let Ok(f) = t.parse::<f64>() {
        if f.is_finite() {
            return Value::from(f);
        }
    }
    if t.starts_with(['{', '[', '"']) {
        if let Ok(v) = serde_json::from_str(t) {
            return v;
        }
    }
    Value::String(text.to_string())
}

/// Key/value rows as an object; empty keys are skipped, a repeated key is an error.
pub fn rows_to_object(rows: &[(String, String)]) -> Result<serde_json::Map<String, Value>, String> {
    let mut map = serde_json::Map::new();
    for (k, v) in rows {
        let k = k.trim();
        if k.is_empty() {
            continue;
        }
        if map.insert(k.to_string(), typed_value(v)).is_some() {
            return Err(format!("key \"{k}\" appears twice"));
        }
    }
    if map.is_empty() {
        return Err("add at least one key".into());
    }
    Ok(map)
}

/// Raw JSON a person typed, which must be an object.
pub fn json_object(text: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Object(map)) if !map.is_empty() => Ok(map),
        Ok(Value::Object(_)) => Err("the object is empty: add at least one key".into()),
        Ok(_) => Err("this must be a JSON object, like {\"temperature\": 21.5}".into()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_values_become_numbers_booleans_json_or_text() {
        assert_eq!(typed_value("12"), json!(12));
        assert_eq!(typed_value(" 12.5 "), json!(12.5));
        assert_eq!(typed_value("true"), json!(true));
        assert_eq!(typed_value("{\"a\":1}"), json!({"a": 1}));
        assert_eq!(typed_value("\"007\""), json!("007"));
        assert_eq!(typed_value("auto"), json!("auto"));
        assert_eq!(typed_value("NaN"), json!("NaN"));
    }

    #[test]
    fn rows_make_an_object_and_a_repeated_key_is_refused() {
        let rows = vec![("t".to_string(), "1".to_string()), ("".into(), "x".into())];
        assert_eq!(
            rows_to_object(&rows).unwrap(),
            *json!({"t": 1}).as_object().unwrap()
        );
        let twice = vec![("t".to_string(), "1".to_string()), ("t".into(), "2".into())];
        assert!(rows_to_object(&twice).unwrap_err().contains("twice"));
        assert!(rows_to_object(&[]).unwrap_err().contains("at least one"));
    }

    #[test]
    fn raw_json_must_be_a_non_empty_object() {
        assert!(json_object("{\"a\":1}").is_ok());
        assert!(json_object("[1]").unwrap_err().contains("JSON object"));
        assert!(json_object("{}").unwrap_err().contains("empty"));
        assert!(json_object("{a}")
            .unwrap_err()
            .starts_with("not valid JSON"));
    }
}
