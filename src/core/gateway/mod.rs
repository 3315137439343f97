//! The ThingsBoard gateway API: codec, model and client.
pub mod codec;
pub mod model;
