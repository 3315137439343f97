//! The durable outbox's journal: which uplinks wait for their
//! acknowledgement, as a list of changes the shell writes to storage
//! (IndexedDB), so a reload, a closed tab or a crash loses none of them.
//!
//! Every uplink the person or the simulator made is journaled: telemetry,
//! attributes, RPC replies and claims, attribute requests and client-side
//! RPC calls, the devices' and the gateway's own (a request kept across a
//! reload waits again for its answer, see `restored.rs`). Registrations are
//! not: the devices are kept with the page and registered again at every
//! CONNACK. Nor are the messages the gateway makes by itself
//! (`getSessionLimits` and keep-alives), which it makes again as needed.

use bytes::Bytes;

use crate::core::mqtt::PublishId;

/// One change to the durable outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalOp {
    /// An uplink waits: keep it (again under the same id: it changed, as
    /// when waiting telemetry is folded into it; it keeps its place).
    Put {
        /// Its publish id in this page.
        id: PublishId,
        /// Topic.
        topic: String,
        /// Payload.
        payload: Bytes,
    },
    /// The uplink is done with (acknowledged, rejected, or given up on).
    Delete {
        /// Its publish id in this page.
        id: PublishId,
    },
}

/// Whether an uplink on `topic` is kept in the durable outbox.
pub fn is_durable(topic: &str) -> bool {
    matches!(
        topic,
        "v1/gateway/telemetry"
            | "v1/gateway/attributes"
            | "v1/gateway/attributes/request"
            | "v1/gateway/rpc"
            | "v1/gateway/claim"
            | "v1/devices/me/telemetry"
            | "v1/devices/me/attributes"
            | "v1/devices/me/claim"
    ) || [
        "v1/devices/me/rpc/response/",
        "v1/devices/me/rpc/request/",
        "v1/devices/me/attributes/request/",
    ]
    .iter()
    .any(|prefix| topic.starts_with(prefix))
}

/// The journal, when the outbox is durable.
#[derive(Debug, Default)]
pub(super) struct Journal {
    on: bool,
    ops: Vec<JournalOp>,
}

impl Journal {
    /// Start or stop journaling (stopping forgets what was not taken).
    pub fn set(&mut self, on: bool) {
        self.on = on;
        if !on {
            self.ops.clear();
        }
    }

    /// Stop journaling for a while (the gateway's own messages); returns
    /// whether it was on, for [`Journal::resume`].
    pub fn pause(&mut self) -> bool {
        std::mem::replace(&mut self.on, false)
    }

    /// Journal again if it was on before [`Journal::pause`].
    pub fn resume(&mut self, on: bool) {
        self.on = on;
    }

    /// An uplink was accepted with `id`.
    pub fn put(&mut self, id: PublishId, topic: &str, payload: &Bytes) {
        if self.on && is_durable(topic) {
            self.ops.push(JournalOp::Put {
                id,
                topic: topic.to_string(),
                payload: payload.clone(),
            });
        }
    }

    /// The uplink `id` is done with.
    pub fn delete(&mut self, id: PublishId) {
        if self.on {
            self.ops.push(JournalOp::Delete { id });
        }
    }

    /// The changes since the last call, in order.
    pub fn take(&mut self) -> Vec<JournalOp> {
        std::mem::take(&mut self.ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uplinks_are_durable_registrations_are_not() {
        for topic in [
            "v1/gateway/telemetry",
            "v1/gateway/rpc",
            "v1/devices/me/rpc/response/7",
            "v1/devices/me/claim",
            "v1/gateway/attributes/request",
            "v1/devices/me/rpc/request/1",
            "v1/devices/me/attributes/request/2",
        ] {
            assert!(is_durable(topic), "{topic}");
        }
        for topic in ["v1/gateway/connect", "v1/gateway/disconnect"] {
            assert!(!is_durable(topic), "{topic}");
        }
    }

    #[test]
    fn nothing_is_journaled_until_the_outbox_is_durable() {
        let mut j = Journal::default();
        j.put(
            PublishId(1),
            "v1/gateway/telemetry",
            &Bytes::from_static(b"{}"),
        );
        j.delete(PublishId(1));
        assert!(j.take().is_empty());
        j.set(true);
        j.put(
            PublishId(2),
            "v1/gateway/telemetry",
            &Bytes::from_static(b"{}"),
        );
        j.delete(PublishId(2));
        assert_eq!(j.take().len(), 2);
        assert!(j.take().is_empty());
    }
}
