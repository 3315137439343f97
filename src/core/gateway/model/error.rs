//! Why the model refuses an action.

use std::fmt;

/// A request the model cannot honour, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// The server deleted this device; publishing to it would create it anew.
    DeviceDeleted {
        /// The device's name.
        device: String,
    },
    /// No device of that name is registered.
    UnknownDevice {
        /// The name asked for.
        device: String,
    },
    /// No RPC request with this id is in the inbox (never received, or
    /// dropped from the bounded inbox).
    UnknownRpc {
        /// The device, or `None` for the gateway itself.
        device: Option<String>,
        /// The request id.
        id: u64,
    },
    /// This RPC request was already answered.
    RpcAlreadyReplied {
        /// The device, or `None` for the gateway itself.
        device: Option<String>,
        /// The request id.
        id: u64,
    },
}

fn target(device: &Option<String>) -> String {
    match device {
        Some(d) => format!("device {d:?}"),
        None => "the gateway".to_string(),
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::DeviceDeleted { device } => write!(
                f,
                "device {device:?} was deleted on the server; remove it first to create it again"
            ),
            ModelError::UnknownDevice { device } => {
                write!(f, "no device named {device:?} is registered")
            }
            ModelError::UnknownRpc { device, id } => write!(
                f,
                "{} has no RPC request with id {id} in the inbox",
                target(device)
            ),
            ModelError::RpcAlreadyReplied { device, id } => write!(
                f,
                "the RPC request {id} to {} was already answered",
                target(device)
            ),
        }
    }
}

impl std::error::Error for ModelError {}
