//! The browser's clocks, read here and passed into the core as values.

use crate::core::time::Millis;

/// Monotonic milliseconds since the page loaded (`performance.now()`), for the
/// session's timers.
pub fn now() -> Millis {
    Millis(precise_ms().max(0.0) as u64)
}

/// `performance.now()` with its fraction, to time slices of work.
pub fn precise_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// Wall-clock milliseconds since the Unix epoch (`Date.now()`), for
/// timestamps a person reads or ThingsBoard stores.
pub fn epoch_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}
