//! The ThingsBoard gateway API: codec, model and client.
pub mod codec;
