//! The traffic log's filter, kept as an index of the matching packets.
//!
//! The log holds up to 5 000 packets. Rescanning all of their payloads on
//! every frame is what made typing in the filter slow; instead the index is
//! brought up to date as packets arrive (each new packet is tested once) and
//! as the oldest are dropped (their indices fall off the front). Only a
//! change of the filter itself rescans the log, once.
//!
//! Packets are named by their *absolute* position: the ring's
//! [`Ring::dropped`] count plus their index in the ring. That name stays the
//! same while older packets are dropped, so the index never needs renumbering.

use std::collections::VecDeque;

use super::store::LogEntry;
use crate::core::mqtt::Direction;
use crate::core::ring::Ring;

/// Which way the packets shown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirectionFilter {
    /// Both ways.
    #[default]
    All,
    /// From the server.
    In,
    /// To the server.
    Out,
}

impl DirectionFilter {
    /// The filter named by a `<select>` value ("in", "out", anything else: all).
    pub fn from_value(value: &str) -> Self {
        match value {
            "in" => DirectionFilter::In,
            "out" => DirectionFilter::Out,
            _ => DirectionFilter::All,
        }
    }

    /// The `<select>` value of this filter.
    pub fn value(self) -> &'static str {
        match self {
            DirectionFilter::All => "all",
            DirectionFilter::In => "in",
            DirectionFilter::Out => "out",
        }
    }
}

/// What the log is filtered by: a direction, and text found (in any case)
/// in the topic or the payload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogQuery {
    /// The text as typed.
    pub text: String,
    /// The direction.
    pub direction: DirectionFilter,
}

/// The indices of the packets that pass a [`LogQuery`], kept up to date.
#[derive(Debug, Clone, Default)]
pub struct LogIndex {
    query: LogQuery,
    /// The text in lower case, as compared.
    needle: String,
    /// Absolute positions of the matching packets, oldest first.
    matched: VecDeque<u64>,
    /// The absolute position of the next packet to test.
    scanned: u64,
}

impl LogIndex {
    /// The query in force.
    pub fn query(&self) -> &LogQuery {
        &self.query
    }

    /// Filter by `query` from now on: the log is scanned once, now.
    pub fn set_query(&mut self, query: LogQuery, log: &Ring<LogEntry>) {
        if query == self.query {
            return;
        }
        self.needle = query.text.to_lowercase();
        self.query = query;
        self.rebuild(log);
    }

    /// Scan the whole log again (after it was cleared, or the query changed).
    pub fn rebuild(&mut self, log: &Ring<LogEntry>) {
        self.matched.clear();
        self.scanned = log.dropped();
        self.update(log);
    }

    /// Catch up with `log`: forget the packets it dropped, test the ones it
    /// gained. Costs the number of packets that changed, not the log's size.
    pub fn update(&mut self, log: &Ring<LogEntry>) {
        let start = log.dropped();
        let end = start + log.len() as u64;
        if end < self.scanned {
            // The log was cleared (its counters start again).
            self.matched.clear();
            self.scanned = start;
        }
        while self.matched.front().is_some_and(|&a| a < start) {
            self.matched.pop_front();
        }
        self.scanned = self.scanned.max(start);
        for absolute in self.scanned..end {
            let passes = log
                .get((absolute - start) as usize)
                .is_some_and(|e| self.passes(e));
            if passes {
                self.matched.push_back(absolute);
            }
        }
        self.scanned = end;
    }

    /// How many packets pass.
    pub fn len(&self) -> usize {
        self.matched.len()
    }

    /// Whether no packet passes.
    pub fn is_empty(&self) -> bool {
        self.matched.is_empty()
    }

    /// The `row`-th passing packet, newest first, as an index into `log`.
    pub fn newest_first(&self, row: usize, log: &Ring<LogEntry>) -> Option<usize> {
        let at = self.matched.len().checked_sub(row + 1)?;
        let absolute = *self.matched.get(at)?;
        let index = absolute.checked_sub(log.dropped())? as usize;
        (index < log.len()).then_some(index)
    }

    /// Whether `entry` passes the query.
    pub fn passes(&self, entry: &LogEntry) -> bool {
        let direction = match self.query.direction {
            DirectionFilter::All => true,
            DirectionFilter::In => entry.packet.direction == Direction::In,
            DirectionFilter::Out => entry.packet.direction == Direction::Out,
        };
        direction
            && (self.needle.is_empty()
                || contains_folded(entry.packet.topic.as_bytes(), &self.needle)
                || contains_folded(&entry.packet.payload, &self.needle))
    }
}

/// Whether `haystack` contains `needle` (already in lower case), in any case.
/// ASCII needles are compared byte by byte without allocating (payloads need
/// not be UTF-8); others on the lower-cased text.
fn contains_folded(haystack: &[u8], needle: &str) -> bool {
    if needle.is_ascii() {
        let needle = needle.as_bytes();
        return haystack.len() >= needle.len()
            && haystack
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle));
    }
    std::str::from_utf8(haystack).is_ok_and(|text| text.to_lowercase().contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::mqtt::PacketLog;
    use bytes::Bytes;

    fn entry(seq: u64, direction: Direction, topic: &str, payload: &str) -> LogEntry {
        LogEntry {
            seq,
            time_ms: seq,
            packet: PacketLog {
                direction,
                kind: "PUBLISH",
                topic: topic.into(),
                qos: Some(1),
                pkid: Some(1),
                dup: false,
                payload: Bytes::from(payload.to_string()),
                reasons: Bytes::new(),
            },
        }
    }

    fn shown(index: &LogIndex, log: &Ring<LogEntry>) -> Vec<u64> {
        (0..index.len())
            .map(|row| log.get(index.newest_first(row, log).unwrap()).unwrap().seq)
            .collect()
    }

    fn query(text: &str, direction: DirectionFilter) -> LogQuery {
        LogQuery {
            text: text.into(),
            direction,
        }
    }

    #[test]
    fn the_filter_ignores_case_in_topics_and_payloads() {
        let mut log = Ring::new(10);
        log.push(entry(
            1,
            Direction::Out,
            "v1/gateway/connect",
            r#"{"device":"Pump 7"}"#,
        ));
        log.push(entry(
            2,
            Direction::In,
            "v1/gateway/rpc",
            r#"{"device":"Boiler"}"#,
        ));
        log.push(entry(
            3,
            Direction::Out,
            "v1/Gateway/telemetry",
            r#"{"PUMP 7":[]}"#,
        ));
        log.push(entry(
            4,
            Direction::Out,
            "v1/gateway/attributes",
            r#"{"Ärger":1}"#,
        ));
        let mut index = LogIndex::default();
        index.set_query(query("pump 7", DirectionFilter::All), &log);
        assert_eq!(shown(&index, &log), vec![3, 1], "newest first");
        index.set_query(query("GATEWAY/T", DirectionFilter::All), &log);
        assert_eq!(shown(&index, &log), vec![3]);
        index.set_query(query("ärger", DirectionFilter::All), &log);
        assert_eq!(shown(&index, &log), vec![4], "non-ASCII text folds too");
        index.set_query(query("", DirectionFilter::In), &log);
        assert_eq!(shown(&index, &log), vec![2]);
        index.set_query(query("", DirectionFilter::Out), &log);
        assert_eq!(shown(&index, &log), vec![4, 3, 1]);
    }

    #[test]
    fn arriving_packets_are_tested_once_and_dropped_ones_fall_off() {
        let mut log = Ring::new(4);
        let mut index = LogIndex::default();
        index.set_query(query("x", DirectionFilter::All), &log);
        for seq in 1..=3 {
            log.push(entry(
                seq,
                Direction::In,
                "t",
                if seq % 2 == 1 { "x" } else { "y" },
            ));
            index.update(&log);
        }
        assert_eq!(shown(&index, &log), vec![3, 1]);
        // Three more arrive between two frames; the ring drops 1 and 2.
        for seq in 4..=6 {
            log.push(entry(seq, Direction::In, "t", "X"));
        }
        index.update(&log);
        assert_eq!(shown(&index, &log), vec![6, 5, 4, 3]);
        // Nothing new: nothing changes.
        index.update(&log);
        assert_eq!(index.len(), 4);
    }

    #[test]
    fn the_index_agrees_with_a_full_scan_however_packets_arrive() {
        let mut log = Ring::with_byte_cap(50, 400);
        let mut index = LogIndex::default();
        index.set_query(query("dev-3", DirectionFilter::Out), &log);
        for seq in 1..=500u64 {
            let direction = if seq % 3 == 0 {
                Direction::In
            } else {
                Direction::Out
            };
            let payload = format!("{{\"DEV-{}\":{seq}}}", seq % 7);
            log.push_weighed(
                entry(seq, direction, "v1/gateway/telemetry", &payload),
                10 + (seq % 13) as usize,
            );
            if seq % 11 == 0 {
                index.update(&log);
                let full: Vec<u64> = log
                    .iter()
                    .rev()
                    .filter(|e| index.passes(e))
                    .map(|e| e.seq)
                    .collect();
                assert_eq!(shown(&index, &log), full, "after packet {seq}");
            }
        }
    }

    #[test]
    fn a_cleared_log_empties_the_index() {
        let mut log = Ring::new(10);
        let mut index = LogIndex::default();
        for seq in 1..=5 {
            log.push(entry(seq, Direction::In, "t", "p"));
        }
        index.update(&log);
        assert_eq!(index.len(), 5);
        log.clear();
        log.push(entry(9, Direction::In, "t", "p"));
        index.update(&log);
        assert_eq!(shown(&index, &log), vec![9]);
    }
}
