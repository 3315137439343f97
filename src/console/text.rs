//! Payloads as text a person reads: a one-line preview and pretty JSON.

/// At most `max` characters of `payload` on one line, with `…` when cut.
/// Binary payloads show as their size.
pub fn payload_preview(payload: &[u8], max: usize) -> String {
    let Ok(text) = std::str::from_utf8(payload) else {
        return format!("<{} bytes of binary>", payload.len());
    };
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// `payload` pretty-printed if it is JSON, else as text (or its size if binary).
pub fn pretty_payload(payload: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_default(),
        Err(_) => match std::str::from_utf8(payload) {
            Ok(text) => text.to_string(),
            Err(_) => format!("<{} bytes of binary>", payload.len()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_payload_is_cut_with_an_ellipsis_and_newlines_flattened() {
        assert_eq!(payload_preview(b"ab\ncdef", 4), "ab c…");
        assert_eq!(payload_preview(b"abc", 4), "abc");
    }

    #[test]
    fn binary_payloads_show_their_size() {
        assert_eq!(payload_preview(&[0xff, 0xfe], 10), "<2 bytes of binary>");
        assert_eq!(pretty_payload(&[0xff]), "<1 bytes of binary>");
    }

    #[test]
    fn json_is_pretty_printed_and_other_text_kept() {
        assert_eq!(pretty_payload(br#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_payload(b"not json"), "not json");
    }
}
