//! The console's state, kept outside Yew: events are applied here as they
//! arrive (bounded work, bounded memory) and the view renders a frame's worth
//! of changes at once.

use bytes::Bytes;

use crate::core::mqtt::{Direction, Event, PacketLog};
use crate::core::rate::Rate;
use crate::core::ring::Ring;
use crate::core::time::Millis;

/// How many packets the traffic log keeps.
pub const LOG_CAP: usize = 5_000;

/// One line of the traffic log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Sequence number, from 1, for stable keys.
    pub seq: u64,
    /// Wall-clock time it was seen (ms since the epoch).
    pub time_ms: u64,
    /// In or out.
    pub direction: Direction,
    /// Packet type.
    pub kind: &'static str,
    /// Topic (PUBLISH) or filters (SUBSCRIBE).
    pub topic: String,
    /// QoS of a PUBLISH.
    pub qos: Option<u8>,
    /// Packet id.
    pub pkid: Option<u16>,
    /// DUP flag.
    pub dup: bool,
    /// Payload of a PUBLISH.
    pub payload: Bytes,
}

/// A notice for the person: an error or warning that should be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Sequence number, from 1.
    pub seq: u64,
    /// Wall-clock time (ms since the epoch).
    pub time_ms: u64,
    /// What happened, in words.
    pub text: String,
}

/// Everything the console shows, outside Yew state.
pub struct Store {
    /// The traffic log.
    pub log: Ring<LogEntry>,
    /// Whether the log is paused (packets are still counted, not kept).
    pub log_paused: bool,
    /// Errors and warnings, newest last.
    pub notices: Ring<Notice>,
    /// Why the last session ended, in words (cleared on connect).
    pub last_error: Option<String>,
    /// Whether the MQTT session is accepted now.
    pub connected: bool,
    /// PUBLISH packets received.
    pub rate_in: Rate,
    /// PUBLISH packets sent.
    pub rate_out: Rate,
    /// Errors seen.
    pub errors: u64,
    seq: u64,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            log: Ring::new(LOG_CAP),
            log_paused: false,
            notices: Ring::new(200),
            last_error: None,
            connected: false,
            rate_in: Rate::default(),
            rate_out: Rate::default(),
            errors: 0,
            seq: 0,
        }
    }
}

impl Store {
    /// Apply one session event seen at `now` (monotonic) and `epoch_ms` (wall clock).
    pub fn apply_session(&mut self, event: &Event, now: Millis, epoch_ms: u64) {
        match event {
            Event::Connected { .. } => {
                self.connected = true;
                self.last_error = None;
            }
            Event::Refused { code, reason } => {
                self.notice(epoch_ms, format!("refused (code {code}): {reason}"));
            }
            Event::Closed { error } => {
                self.connected = false;
                if let Some(error) = error {
                    self.last_error = Some(error.to_string());
                    if !matches!(error, crate::core::mqtt::SessionError::Refused { .. }) {
                        self.notice(epoch_ms, error.to_string());
                    }
                }
            }
            Event::AckTimedOut { topic, .. } => {
                self.notice(
                    epoch_ms,
                    format!("no PUBACK for a message on {topic}: it may not have arrived"),
                );
            }
            Event::Subscribed { results, .. } => {
                for r in results.iter().filter(|r| r.granted.is_none()) {
                    self.notice(
                        epoch_ms,
                        format!("the broker refused the subscription to {}", r.filter),
                    );
                }
            }
            Event::Packet(packet) => self.log_packet(packet, now, epoch_ms),
            Event::Message { .. } | Event::Acked(_) => {}
        }
    }

    /// Record a notice (an error the person should read).
    pub fn notice(&mut self, epoch_ms: u64, text: String) {
        self.errors += 1;
        self.seq += 1;
        self.notices.push(Notice {
            seq: self.seq,
            time_ms: epoch_ms,
            text,
        });
    }

    fn log_packet(&mut self, p: &PacketLog, now: Millis, epoch_ms: u64) {
        if p.kind == "PUBLISH" {
            match p.direction {
                Direction::In => self.rate_in.add(now, 1),
                Direction::Out => self.rate_out.add(now, 1),
            }
        }
        if self.log_paused {
            return;
        }
        self.seq += 1;
        self.log.push(LogEntry {
            seq: self.seq,
            time_ms: epoch_ms,
            direction: p.direction,
            kind: p.kind,
            topic: p.topic.clone(),
            qos: p.qos,
            pkid: p.pkid,
            dup: p.dup,
            payload: p.payload.clone(),
        });
    }
}
