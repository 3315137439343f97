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
