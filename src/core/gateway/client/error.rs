//! The client's one error type.

use std::fmt;

use crate::core::gateway::codec::CodecError;
use crate::core::gateway::model::ModelError;
use crate::core::mqtt::SessionError;

/// Why an API call was refused. Nothing was sent when a call returns one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// The message breaks the contract (empty name, reserved key, no keys...).
    Codec(CodecError),
    /// The session refused the publish (too large, not connected...).
    Session(SessionError),
    /// The model refused (deleted device, unknown RPC...).
    Model(ModelError),
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayError::Codec(e) => e.fmt(f),
            GatewayError::Session(e) => e.fmt(f),
            GatewayError::Model(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for GatewayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GatewayError::Codec(e) => Some(e),
            GatewayError::Session(e) => Some(e),
            GatewayError::Model(e) => Some(e),
        }
    }
}

impl From<CodecError> for GatewayError {
    fn from(e: CodecError) -> Self {
        GatewayError::Codec(e)
    }
}

impl From<SessionError> for GatewayError {
    fn from(e: SessionError) -> Self {
        GatewayError::Session(e)
    }
}

impl From<ModelError> for GatewayError {
    fn from(e: ModelError) -> Self {
        GatewayError::Model(e)
    }
}
