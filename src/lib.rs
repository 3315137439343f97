//! browser-gateway: a ThingsBoard MQTT gateway that runs in a browser tab.
//!
//! Three layers, each in its own module:
//! - [`core`]: the pure core (MQTT session, gateway codec, gateway model),
//!   plain Rust with no browser APIs, tested natively.
//! - [`console`]: the console's state (traffic log, counters, notices), plain
//!   Rust the view renders, tested natively.
//! - `shell` (wasm32 only): the thin browser shell: WebSocket, timers, storage.
//! - `view` (wasm32 only): the Yew components a person uses.
pub mod console;
pub mod core;
#[cfg(target_arch = "wasm32")]
pub mod shell;
#[cfg(target_arch = "wasm32")]
pub mod view;
