//! The ThingsBoard gateway API: codec, model and client.
pub mod client;
pub mod codec;
pub mod model;

pub use client::{Gateway, GatewayError, GatewayEvent};
