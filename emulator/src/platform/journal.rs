//! The log of messages ThingsBoard would reject, skip or drop.
//!
//! The emulator sits behind a broker, so it cannot send the PUBACK reason
//! codes or close the connection the way ThingsBoard would. Instead every such
//! message is recorded with what ThingsBoard would have done (contract §4).

use serde::Serialize;
use std::collections::VecDeque;

/// How many records are kept; older ones are dropped first.
pub const JOURNAL_CAP: usize = 1000;

/// Payload text kept per record, in characters.
const PAYLOAD_CAP: usize = 2000;

/// What real ThingsBoard does with a message (contract §4, §7, §3.6, §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Body is not valid JSON on a gateway topic.
    NotJson,
    /// Valid JSON of the wrong shape, a missing required field or no valid
    /// entries: PUBACK 131 and the connection is closed.
    Rejected,
    /// One device's values could not be converted: that device's part is lost.
    ConversionFailed,
    /// One entry is skipped with a warning, the rest is processed.
    Skipped,
    /// An RPC reply that matches no request waiting for one.
    Stale,
    /// The packet is larger than ThingsBoard's decoder accepts.
    TooLarge,
    /// Invalid payload on a device-level (`v1/devices/me/...`) topic.
    DeviceLevelInvalid,
    /// Device-level RPC reply that is not JSON: the REST caller gets HTTP 406.
    NotAcceptable,
    /// Accepted, but answered in a surprising way (e.g. `keys: []`).
    Discouraged,
}

impl Outcome {
    /// What ThingsBoard would do, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Outcome::NotJson => {
                "MQTT 5: PUBACK 153 (PAYLOAD_FORMAT_INVALID), the connection stays open; \
                 MQTT 3.1.1: the connection would be closed; nothing is stored"
            }
            Outcome::Rejected => {
                "PUBACK 131 (IMPLEMENTATION_SPECIFIC_ERROR) and the connection would be closed"
            }
            Outcome::ConversionFailed => {
                "that device's data is dropped; MQTT 5: PUBACK 153, \
                 MQTT 3.1.1: the connection would be closed"
            }
            Outcome::Skipped => {
                "entry skipped with a warning; the rest of the message is processed"
            }
            Outcome::Stale => "reply dropped as stale (PUBACK 0, no error for the gateway)",
            Outcome::TooLarge => {
                "packet over 65536 bytes: decoder failure, the connection would be closed \
                 (MALFORMED_PACKET on MQTT 5); nothing is stored"
            }
            Outcome::DeviceLevelInvalid => {
                "rejected: the connection would be closed (or PUBACK 153 if the profile's \
                 'send PUBACK on validation failure' is on)"
            }
            Outcome::NotAcceptable => "the REST caller of the RPC gets HTTP 406",
            Outcome::Discouraged => "accepted, but the answer is surprising: avoid",
        }
    }

    /// Whether ThingsBoard would close the gateway's connection (assuming MQTT 5).
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            Outcome::Rejected | Outcome::TooLarge | Outcome::DeviceLevelInvalid
        )
    }
}

/// One rejected, skipped or dropped message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord {
    /// Emulator-wide sequence number, from 1.
    pub seq: u64,
    /// Receive time, epoch milliseconds.
    pub time: u64,
    /// MQTT topic the message came on.
    pub topic: String,
    /// The payload as text (lossy UTF-8, truncated).
    pub payload: String,
    /// What is wrong with it.
    pub problem: String,
    /// What ThingsBoard would do about it.
    pub thingsboard: &'static str,
    /// Whether ThingsBoard would close the connection (the emulator then
    /// deregisters every sub-device, as ThingsBoard does on a closed session).
    pub connection_closed: bool,
}

/// Bounded log of [`ErrorRecord`]s, oldest first.
#[derive(Debug, Default)]
pub struct Journal {
    records: VecDeque<ErrorRecord>,
    next_seq: u64,
}

impl Journal {
    /// Appends a record and returns it.
    pub fn record(
        &mut self,
        time: u64,
        topic: &str,
        payload: &[u8],
        problem: String,
        outcome: Outcome,
    ) -> &ErrorRecord {
        self.next_seq += 1;
        let text = String::from_utf8_lossy(payload);
        let payload = if text.chars().count() > PAYLOAD_CAP {
            let cut: String = text.chars().take(PAYLOAD_CAP).collect();
            format!("{cut}…")
        } else {
            text.into_owned()
        };
        if self.records.len() == JOURNAL_CAP {
            self.records.pop_front();
        }
        self.records.push_back(ErrorRecord {
            seq: self.next_seq,
            time,
            topic: topic.to_string(),
            payload,
            problem,
            thingsboard: outcome.describe(),
            connection_closed: outcome.closes_connection(),
        });
        self.records.back().expect("just pushed")
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
