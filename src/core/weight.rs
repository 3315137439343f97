//! What values weigh in memory, in bytes, for the collections bounded in
//! bytes (RPC inboxes, shared attributes, the console's answers and
//! replies). An estimate of the heap a value holds, close enough to bound
//! memory: wasm memory never shrinks, so every collection that grows with
//! what the server sends is bounded in bytes, not only in count.

use serde_json::Value;

/// What one JSON node costs besides its text: the `Value` itself.
pub const VALUE_OVERHEAD: usize = std::mem::size_of::<Value>();

/// What one key of a JSON object (or of a map the model keeps) costs
/// besides its text: its `String`, its hash and its slot in the index.
pub const ENTRY_OVERHEAD: usize = 48;

/// The bytes `value` holds: its strings and keys plus a fixed cost per node
/// and per key.
pub fn json_weight(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => VALUE_OVERHEAD,
        Value::String(s) => VALUE_OVERHEAD + s.len(),
        Value::Array(items) => VALUE_OVERHEAD + items.iter().map(json_weight).sum::<usize>(),
        Value::Object(map) => {
            VALUE_OVERHEAD
                + map
                    .iter()
                    .map(|(k, v)| ENTRY_OVERHEAD + k.len() + json_weight(v))
                    .sum::<usize>()
        }
    }
}

/// The size of `bytes` in words: "512 B", "64 KiB", "16 MiB" (rounded down).
pub fn bytes_in_words(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_weighs_at_least_its_text() {
        let big = json!({"blob": "x".repeat(64 * 1024), "list": [1, 2, "abc"]});
        let text = big.to_string().len();
        let weight = json_weight(&big);
        assert!(weight >= 64 * 1024 + 4 + 4, "{weight}");
        assert!(weight < text + 1024, "{weight} for {text} bytes of text");
        assert_eq!(json_weight(&json!(null)), VALUE_OVERHEAD);
    }

    #[test]
    fn sizes_read_in_the_largest_whole_unit() {
        assert_eq!(bytes_in_words(512), "512 B");
        assert_eq!(bytes_in_words(64 * 1024 + 5), "64 KiB");
        assert_eq!(bytes_in_words(16 * 1024 * 1024), "16 MiB");
    }
}
