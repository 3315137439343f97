//! Text from the platform as a person reads it: a one-line preview, pretty
//! JSON, and bidirectional controls made visible where platform text is
//! mixed into the page's own sentences.

use std::borrow::Cow;

/// Whether `c` changes the direction of the text around it: the embeddings,
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the marks
/// (U+200E, U+200F, U+061C).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `text` with every bidirectional control replaced by its visible name
/// (`[U+202E]`), so a device name or error text from the platform cannot
/// reorder the page's words around it (a right-to-left override would
/// reverse the rest of a notice). Borrowed when there is none.
pub fn neutralize_bidi(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_bidi_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_bidi_control(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` cut to at most `max` bytes (at a character boundary), saying how
/// much was left out: a notice or a reason from the platform is read, not
/// stored whole (a server's reason string may be 64 KiB).
pub fn clip(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let left_out = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!("… ({left_out} more bytes not kept)"));
    text
}

/// At most `max` characters of `payload` on one line, with `…` when cut.
/// Binary payloads show as their size.
pub fn payload_preview(payload: &[u8], max: usize) -> String {
    let Ok(text) = std::str::from_utf8(payload) else {
        return format!("<{} bytes of binary>", payload.len());
    };
    let out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = neutralize_bidi(&out).into_owned();
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
    #[test]
    fn long_text_is_clipped_at_a_character_boundary_saying_how_much() {
        assert_eq!(clip("short".into(), 10), "short");
        let long = format!("{}é{}", "a".repeat(9), "b".repeat(100));
        let clipped = clip(long, 10);
        assert_eq!(
            clipped,
            format!("{}… (102 more bytes not kept)", "a".repeat(9))
        );
    }

    use super::*;

    #[test]
    fn a_right_to_left_override_is_shown_by_name_and_cannot_reorder_the_sentence() {
        let name = "Pump \u{202E}7 gnilaeh";
        let shown = neutralize_bidi(name);
        assert_eq!(shown, "Pump [U+202E]7 gnilaeh");
        assert!(!shown.chars().any(is_bidi_control));
        for c in ['\u{202A}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}'] {
            assert!(!neutralize_bidi(&format!("a{c}b"))
                .chars()
                .any(is_bidi_control));
        }
    }

    #[test]
    fn text_without_controls_is_borrowed_unchanged() {
        assert!(matches!(
            neutralize_bidi("Pump 7 (عربى)"),
            Cow::Borrowed("Pump 7 (عربى)")
        ));
    }

    #[test]
    fn previews_show_bidi_controls_by_name() {
        assert_eq!(
            payload_preview("{\"d\":\"\u{202E}x\"}".as_bytes(), 40),
            "{\"d\":\"[U+202E]x\"}"
        );
    }

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
