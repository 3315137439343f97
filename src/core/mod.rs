//! The pure core: plain Rust with no browser APIs, tested natively with `cargo test`.
//!
//! - [`time`]: the caller-supplied clock ([`time::Millis`]); the core never reads a clock.
//! - [`mqtt`]: the sans-IO MQTT 3.1.1 session over mqttbytes.
//! - [`backoff`]: reconnect delays with jitter.
//! - [`protocol`]: the trait a transport driver runs a sans-IO endpoint through.
//! - [`ring`] and [`rate`]: bounded histories and per-second counters for the console.
//! - [`weight`]: what JSON values weigh in memory, for collections bounded in bytes.
//! - [`gateway`]: the ThingsBoard gateway codec, model and client API over the session.
pub mod backoff;
pub mod gateway;
pub mod mqtt;
pub mod protocol;
pub mod rate;
pub mod reconnect;
pub mod ring;
pub mod time;
pub mod weight;
