//! The session's one error type.

use std::fmt;

/// Why the session failed or refused a request. Every variant reads as a
/// sentence a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The broker refused CONNECT with this return code.
    Refused {
        /// CONNACK return code.
        code: u8,
        /// Explanation in plain words.
        reason: String,
    },
    /// No CONNACK arrived within the connect timeout.
    ConnectTimeout,
    /// No PINGRESP arrived in time: the link is dead.
    KeepAliveTimeout,
    /// The server sent an MQTT 5 DISCONNECT and closed the connection.
    ServerDisconnected {
        /// Its reason code (0x8E: another client took the session over).
        reason: u8,
        /// Plain-words explanation from [`super::explain_reason`], with the
        /// server's own reason string if it sent one.
        explanation: String,
    },
    /// The broker sent bytes that are not valid MQTT.
    Malformed(String),
    /// The broker sent a packet larger than the maximum.
    PacketTooLarge {
        /// Its size in bytes.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// The broker sent a packet that makes no sense now (e.g. a second CONNACK).
    Protocol(String),
    /// The transport closed under us.
    TransportClosed(String),
    /// The request needs a connected session.
    NotConnected,
    /// An outgoing publish would exceed the maximum packet size.
    PublishTooLarge {
        /// Its encoded size.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// A topic or filter that MQTT does not allow (empty, or wildcards in a topic).
    InvalidTopic(String),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Refused { code, reason } => {
                write!(f, "connection refused (code {code}): {reason}")
            }
            SessionError::ConnectTimeout => {
                write!(f, "no answer to CONNECT in time: is this an MQTT endpoint?")
            }
            SessionError::KeepAliveTimeout => {
                write!(f, "no answer to ping in time: the connection is dead")
            }
            SessionError::ServerDisconnected {
                reason,
                explanation,
            } => write!(
                f,
                "the server closed the connection (reason {reason}): {explanation}"
            ),
            SessionError::Malformed(why) => write!(f, "malformed packet from the broker: {why}"),
            SessionError::PacketTooLarge { size, max } => {
                write!(
                    f,
                    "the broker sent a {size}-byte packet, over the {max}-byte maximum"
                )
            }
            SessionError::Protocol(why) => write!(f, "protocol error: {why}"),
            SessionError::TransportClosed(why) => write!(f, "connection closed: {why}"),
            SessionError::NotConnected => write!(f, "not connected"),
            SessionError::PublishTooLarge { size, max } => {
                write!(f, "message of {size} bytes is over the {max}-byte maximum")
            }
            SessionError::InvalidTopic(why) => write!(f, "invalid topic: {why}"),
        }
    }
}

impl std::error::Error for SessionError {}
