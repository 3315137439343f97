//! Codec tests: every example of the contract, both directions, and every
//! malformed case.
mod downlink;
mod echo;
mod topics;
mod uplink;

use serde_json::Value;

use super::{Attributes, Encoded};

/// A JSON object literal as an attribute map.
pub(super) fn attrs(v: Value) -> Attributes {
    match v {
        Value::Object(m) => m,
        other => panic!("test literal is not an object: {other}"),
    }
}

/// The payload of an encoded message, parsed back.
pub(super) fn body(e: &Encoded) -> Value {
    serde_json::from_slice(&e.payload).expect("encoder wrote invalid JSON")
}
