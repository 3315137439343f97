//! The ThingsBoard gateway API: codec, model and client.
