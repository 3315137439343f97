//! Reading JSON fields with errors that name the field: `"data.method" is missing`.

use serde_json::{Map, Value};

use super::data::Attributes;

/// The JSON type of `v` in words, for error messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parse a payload as JSON.
pub(crate) fn parse(payload: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(payload).map_err(|e| format!("the payload is not valid JSON ({e})"))
}

/// Parse a payload as a JSON object.
pub(crate) fn parse_object(payload: &[u8]) -> Result<Map<String, Value>, String> {
    match parse(payload)? {
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "the payload must be a JSON object, got {}",
            kind(&other)
        )),
    }
}

/// The fields of one JSON object; `path` is how the object is named in
/// errors ("" for the top level, "data" for a nested one).
pub(crate) struct Fields<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: &'a str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Fields { map, path }
    }

    /// The dotted name of field `name`, e.g. `data.method`.
    pub(crate) fn name(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.path, name)
        }
    }

    fn required(&self, name: &str) -> Result<&'a Value, String> {
        self.map
            .get(name)
            .ok_or_else(|| format!("\"{}\" is missing", self.name(name)))
    }

    fn wrong(&self, name: &str, wanted: &str, got: &Value) -> String {
        format!(
            "\"{}\" must be {wanted}, got {}",
            self.name(name),
            kind(got)
        )
    }

    /// A required string.
    pub(crate) fn string(&self, name: &str) -> Result<&'a str, String> {
        match self.required(name)? {
            Value::String(s) => Ok(s),
            other => Err(self.wrong(name, "a string", other)),
        }
    }

    /// A required, non-empty string (device names).
    pub(crate) fn non_empty_string(&self, name: &str) -> Result<&'a str, String> {
        let s = self.string(name)?;
        if s.is_empty() {
            return Err(format!("\"{}\" is empty", self.name(name)));
        }
        Ok(s)
    }

    /// A required object.
    pub(crate) fn object(&self, name: &str) -> Result<&'a Attributes, String> {
        match self.required(name)? {
            Value::Object(m) => Ok(m),
            other => Err(self.wrong(name, "an object", other)),
        }
    }

    /// A required whole number that is not negative.
    pub(crate) fn u64(&self, name: &str) -> Result<u64, String> {
        let v = self.required(name)?;
        v.as_u64()
            .ok_or_else(|| self.wrong(name, "a whole number that is not negative", v))
    }

    /// An optional field: `None` when absent.
    pub(crate) fn optional(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }
}

/// A JSON array of strings, or a reason naming `name`.
pub(crate) fn strings(name: &str, v: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = v else {
        return Err(format!(
            "\"{name}\" must be an array of strings, got {}",
            kind(v)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "\"{name}[{i}]\" must be a string, got {}",
                kind(other)
            )),
        })
        .collect()
}
