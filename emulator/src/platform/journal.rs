//! The log of what the platform rejected, skipped, dropped or closed, with
//! what it did about it (the PUBACK code, a close), newest last.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many records are kept; older ones are dropped first.
pub const JOURNAL_CAP: usize = 1000;

/// Payload text kept per record, in characters.
const PAYLOAD_CAP: usize = 2000;

/// One rejected, skipped or dropped message, or a closed connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord {
    /// Emulator-wide sequence number, from 1.
    pub seq: u64,
    /// Receive time, epoch milliseconds.
    pub time: u64,
    /// The MQTT session it happened on (none for REST-side events).
    pub session: Option<u64>,
    /// The name of the session's device.
    pub device: Option<String>,
    /// MQTT topic the message came on (empty for connection events).
    pub topic: String,
    /// The payload as text (lossy UTF-8, truncated).
    pub payload: String,
    /// What is wrong with it.
    pub problem: String,
    /// What the platform did (`"PUBACK 131, connection closed"`, …).
    pub action: String,
    /// Whether the connection was closed for it.
    pub connection_closed: bool,
}

/// Bounded log of [`ErrorRecord`]s, oldest first.
#[derive(Debug, Default)]
pub struct Journal {
    records: VecDeque<ErrorRecord>,
    next_seq: u64,
}

impl Journal {
    /// Appends a record (its `seq` and payload text are set here) and returns it.
    pub fn record(&mut self, mut record: ErrorRecord, payload: &[u8]) -> &ErrorRecord {
        self.next_seq += 1;
        record.seq = self.next_seq;
        let text = String::from_utf8_lossy(payload);
        record.payload = if text.chars().count() > PAYLOAD_CAP {
            let cut: String = text.chars().take(PAYLOAD_CAP).collect();
            format!("{cut}…")
        } else {
            text.into_owned()
        };
        if self.records.len() == JOURNAL_CAP {
            self.records.pop_front();
        }
        self.records.push_back(record);
        self.records.back().expect("just pushed")
    }

    /// A journal holding `records` (oldest first) whose last sequence
    /// number was `last_seq`, as a state file held it.
    pub fn restore(records: Vec<ErrorRecord>, last_seq: u64) -> Journal {
        let skip = records.len().saturating_sub(JOURNAL_CAP);
        Journal {
            records: records.into_iter().skip(skip).collect(),
            next_seq: last_seq,
        }
    }

    /// The sequence number of the newest record ever made (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.next_seq
    }

    /// All kept records, oldest first.
    pub fn records(&self) -> impl Iterator<Item = &ErrorRecord> {
        self.records.iter()
    }

    /// Forgets every record (sequence numbers keep counting).
    pub fn clear(&mut self) {
        self.records.clear();
    }
}
