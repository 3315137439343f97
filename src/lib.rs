//! browser-gateway: a ThingsBoard MQTT gateway that runs in a browser tab.
pub mod core;
