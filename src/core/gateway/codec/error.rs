//! The codec's one error type: which topic, and why, in words.

use std::fmt;

/// A message that could not be encoded or decoded. `topic` is the MQTT topic
/// it was for; `reason` says what is wrong in a user's words, naming the JSON
/// field in quotes (e.g. `"data.method" is missing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    /// The topic the message was published on, or was to be published on.
    pub topic: String,
    /// What is wrong with it.
    pub reason: String,
}

impl CodecError {
    /// An error about a message on `topic`.
    pub fn new(topic: impl Into<String>, reason: impl Into<String>) -> Self {
        CodecError {
            topic: topic.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.topic, self.reason)
    }
}

impl std::error::Error for CodecError {}
