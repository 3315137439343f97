//! Formatting for display: times, payload previews, pretty JSON.

/// Local wall-clock time `HH:MM:SS.mmm` of `epoch_ms`.
pub fn clock_time(epoch_ms: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(epoch_ms as f64));
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds(),
        d.get_milliseconds()
    )
}

pub use crate::console::text::{payload_preview, pretty_payload};

/// How long ago, from milliseconds: "now", "12 s ago", "3 min ago", "2 h ago".
pub fn ago(ms: u64) -> String {
    match ms / 1000 {
        0 => "now".into(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s => format!("{} h ago", s / 3600),
    }
}

/// The wall-clock time (epoch ms) of a monotonic time from the core.
pub fn wall_of(t: crate::core::time::Millis) -> u64 {
    let (mono, wall) = (crate::shell::clock::now(), crate::shell::clock::epoch_ms());
    wall.saturating_sub(mono.since(t))
}
