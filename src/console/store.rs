//! The console's state, kept outside Yew: events are applied here as they
//! arrive (bounded work, bounded memory) and the view renders a frame's worth
//! of changes at once.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::answers::{Answer, Outcome, SentReply};
use super::auto_reply::AutoReplies;
use super::log_filter::{LogIndex, LogQuery};
use super::removal::UndoRemoval;
use super::telemetry::TelemetryView;
use super::text::{clip, neutralize_bidi};
use crate::core::gateway::codec::AttributeResult;
use crate::core::gateway::model::{RPC_INBOX_BYTES, RPC_INBOX_CAPACITY, SHARED_TOTAL_BYTES};
use crate::core::gateway::GatewayEvent;
use crate::core::mqtt::{Direction, Event, PacketLog};
use crate::core::rate::Rate;
use crate::core::ring::Ring;
use crate::core::time::Millis;
use crate::core::weight::{bytes_in_words, json_weight, ENTRY_OVERHEAD};

/// How many packets the traffic log keeps at most.
pub const LOG_CAP: usize = 5_000;

/// What the packets the traffic log keeps may weigh together: their
/// payloads and topics plus [`LOG_ENTRY_OVERHEAD`] each. Wasm memory never
/// shrinks, so the log is bounded in bytes, not only in count.
pub const LOG_BYTE_CAP: usize = 16 * 1024 * 1024;

/// What one traffic-log entry costs besides its topic and payload.
pub const LOG_ENTRY_OVERHEAD: usize = 128;

/// How many attribute requests and client-side calls [`Store::answers`]
/// keeps at most.
pub const ANSWERS_CAP: usize = 500;

/// What the answers [`Store::answers`] keeps may weigh together (4 MiB):
/// an answer carries the server's values, which may be large.
pub const ANSWERS_BYTE_CAP: usize = 4 * 1024 * 1024;

/// How many RPC replies sent [`Store::replies`] keeps at most.
pub const REPLIES_CAP: usize = 1_000;

/// What the replies [`Store::replies`] keeps may weigh together (4 MiB): a
/// rule echoing the params sends back whatever the server sent.
pub const REPLIES_BYTE_CAP: usize = 4 * 1024 * 1024;

/// What one answer or reply costs besides its keys, names and JSON.
pub const ANSWER_OVERHEAD: usize = 128;

/// The most bytes of a notice's text, or of a rejection's reason, that are
/// kept (the rest is cut, saying how much): with at most 200 notices and
/// 500 rejections, those lists stay under 1 MiB whatever the platform says.
pub const NOTICE_TEXT_MAX: usize = 1_024;

impl Answer {
    /// What it weighs in memory, in bytes.
    pub fn weight(&self) -> usize {
        let outcome = match &self.outcome {
            Outcome::Found(values) => values
                .iter()
                .map(|(k, v)| ENTRY_OVERHEAD + k.len() + json_weight(v))
                .sum(),
            Outcome::Answered(value) => json_weight(value),
            Outcome::Pending | Outcome::NotFound | Outcome::TimedOut => 0,
        };
        ANSWER_OVERHEAD
            + self.device.as_ref().map_or(0, String::len)
            + self.method.as_ref().map_or(0, String::len)
            + self
                .keys
                .iter()
                .map(|k| ENTRY_OVERHEAD + k.len())
                .sum::<usize>()
            + outcome
    }
}

impl SentReply {
    /// What it weighs in memory, in bytes.
    pub fn weight(&self) -> usize {
        ANSWER_OVERHEAD + self.device.as_ref().map_or(0, String::len) + json_weight(&self.data)
    }
}

/// One line of the traffic log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Sequence number, from 1, for stable keys.
    pub seq: u64,
    /// Wall-clock time it was seen (ms since the epoch).
    pub time_ms: u64,
    /// The packet as the session logged it (its payload is shared, not copied).
    pub packet: PacketLog,
}

/// A message the server refused again and again, set aside so the rest
/// flows (see `core::mqtt`'s outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// When it was set aside (ms since the epoch).
    pub time_ms: u64,
    /// Its topic.
    pub topic: String,
    /// The last reason code (MQTT 5 PUBACK, or 128 for closes).
    pub reason: u8,
    /// Why, in words.
    pub explanation: String,
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
    /// Messages set aside after the server refused them, newest last.
    pub rejected: Ring<Rejection>,
    /// Whether the log is paused (packets are still counted, not kept).
    pub log_paused: bool,
    /// The packets of [`Store::log`] that pass the log's filter, kept up to
    /// date as packets arrive and drop (see [`Store::set_log_query`]).
    pub log_index: LogIndex,
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
    /// Own publishes that came back from a bridged broker and were ignored.
    pub echoes: u64,
    /// Telemetry sent, per device: latest values and chart series.
    pub telemetry: TelemetryView,
    /// The gateway's own telemetry, latest values.
    pub own_telemetry: TelemetryView,
    /// Attribute requests and client-side RPC calls, newest last (at most
    /// [`ANSWERS_CAP`] and [`ANSWERS_BYTE_CAP`]).
    pub answers: Ring<Answer>,
    /// RPC replies sent, newest last (at most [`REPLIES_CAP`] and
    /// [`REPLIES_BYTE_CAP`]).
    pub replies: Ring<SentReply>,
    /// Auto-reply rules in force.
    pub auto_replies: AutoReplies,
    /// The device whose page is open.
    pub selected: Option<String>,
    /// Devices ticked in the list, for actions on many at once.
    pub checked: BTreeSet<String>,
    /// The last bulk removal, while it can be undone.
    pub undo_removal: UndoRemoval,
    seq: u64,
}

/// The key own telemetry is kept under in [`Store::own_telemetry`].
pub const OWN: &str = "";

impl Default for Store {
    fn default() -> Self {
        Store {
            log: Ring::with_byte_cap(LOG_CAP, LOG_BYTE_CAP),
            rejected: Ring::new(500),
            log_paused: false,
            log_index: LogIndex::default(),
            notices: Ring::new(200),
            last_error: None,
            connected: false,
            rate_in: Rate::default(),
            rate_out: Rate::default(),
            errors: 0,
            echoes: 0,
            telemetry: TelemetryView::default(),
            own_telemetry: TelemetryView::default(),
            answers: Ring::with_byte_cap(ANSWERS_CAP, ANSWERS_BYTE_CAP),
            replies: Ring::with_byte_cap(REPLIES_CAP, REPLIES_BYTE_CAP),
            auto_replies: AutoReplies::default(),
            selected: None,
            checked: BTreeSet::new(),
            undo_removal: UndoRemoval::default(),
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
                    if let crate::core::mqtt::SessionError::Refused { reason, .. } = error {
                        self.last_error = Some(format!("refused: {reason}"));
                    }
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
            Event::Rejected {
                topic,
                reason,
                explanation,
                ..
            } => {
                self.rejected.push(Rejection {
                    time_ms: epoch_ms,
                    topic: topic.clone(),
                    reason: *reason,
                    explanation: clip(explanation.clone(), NOTICE_TEXT_MAX),
                });
                self.notice(
                    epoch_ms,
                    format!("the server rejected a message on {topic}: {explanation}"),
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

    /// Apply one gateway event seen at `now` (monotonic) and `epoch_ms` (wall clock).
    pub fn apply_gateway(&mut self, event: &GatewayEvent, now: Millis, epoch_ms: u64) {
        match event {
            GatewayEvent::Session(e) => self.apply_session(e, now, epoch_ms),
            GatewayEvent::AttributeResponse { id, result, .. } => {
                let outcome = match result {
                    AttributeResult::Found(values) => Outcome::Found(values.clone()),
                    AttributeResult::NotFound => Outcome::NotFound,
                };
                self.finish(*id, false, outcome, epoch_ms);
            }
            GatewayEvent::AttributeRequestTimedOut {
                id, device, keys, ..
            } => {
                self.finish(*id, false, Outcome::TimedOut, epoch_ms);
                self.notice(
                    epoch_ms,
                    format!(
                        "no answer in time to the attribute request for {device} ({})",
                        keys.join(", ")
                    ),
                );
            }
            GatewayEvent::OwnAttributeResponse { id, client, shared } => {
                let mut all = client.clone();
                all.extend(shared.iter().map(|(k, v)| (k.clone(), v.clone())));
                let outcome = if all.is_empty() {
                    Outcome::NotFound
                } else {
                    Outcome::Found(all)
                };
                self.finish(*id, false, outcome, epoch_ms);
            }
            GatewayEvent::OwnAttributeRequestTimedOut { id } => {
                self.finish(*id, false, Outcome::TimedOut, epoch_ms);
            }
            // The message's own outcome (Session) is what the log, the
            // rejected list and the notices show.
            GatewayEvent::Settled(_) => {}
            GatewayEvent::RequestRestored { id, kind } => {
                if let Some(answer) = Answer::restored(*id, kind, epoch_ms) {
                    self.request_sent(answer);
                }
            }
            GatewayEvent::OwnRpcResponse { id, response, .. } => {
                self.finish(*id, true, Outcome::Answered(response.clone()), epoch_ms);
            }
            GatewayEvent::OwnRpcCallTimedOut { id, .. } => {
                self.finish(*id, true, Outcome::TimedOut, epoch_ms);
            }
            GatewayEvent::DeviceRenamed { old, new } => {
                self.telemetry.rename(old, Some(new));
                if self.selected.as_deref() == Some(old.as_str()) {
                    self.selected = Some(new.clone());
                }
                if self.checked.remove(old) {
                    self.checked.insert(new.clone());
                }
            }
            GatewayEvent::DeviceDeleted { device } => {
                self.notice(
                    epoch_ms,
                    format!("the server deleted device {device}; its publishes are refused"),
                );
            }
            GatewayEvent::DisconnectNotice {
                device,
                reason,
                explanation,
            } => {
                self.notice(
                    epoch_ms,
                    format!("the server disconnected {device} (reason {reason}): {explanation}"),
                );
            }
            GatewayEvent::DecodeError(e) => {
                self.notice(epoch_ms, format!("bad message from the platform: {e}"))
            }
            GatewayEvent::SubscriptionRefused { filter } => self.notice(
                epoch_ms,
                format!("the broker refused the subscription to {filter}"),
            ),
            GatewayEvent::EchoIgnored { .. } => self.echoes += 1,
            GatewayEvent::Failed { action, error } => {
                self.notice(epoch_ms, format!("{action}: {error}"))
            }
            GatewayEvent::RpcExpired { device, id, method } => self.notice(
                epoch_ms,
                format!("RPC {method} (id {id}) to {device} expired without a reply"),
            ),
            GatewayEvent::DeviceRegistered { .. }
            | GatewayEvent::SharedAttributes { .. }
            | GatewayEvent::RpcRequest { .. }
            | GatewayEvent::OwnSharedAttributes { .. }
            | GatewayEvent::OwnRpcRequest { .. }
            | GatewayEvent::OwnRpcExpired { .. }
            | GatewayEvent::SessionLimits(_) => {}
            GatewayEvent::SessionLimitsUnreadable { reason } => self.notice(
                epoch_ms,
                format!("the server's session limits could not be read ({reason}): traffic is not paced"),
            ),
            GatewayEvent::BridgeState { up: false } => self.notice(
                epoch_ms,
                "the broker's bridge to ThingsBoard is down: messages wait in the broker; every \
                 device will be registered again when it is back"
                    .into(),
            ),
            GatewayEvent::BridgeState { up: true } => {}
            // Said once; the status bar counts every drop.
            GatewayEvent::OutboxDropped { count, total } if count == total => self.notice(
                epoch_ms,
                "the outbox is full (10 000 messages or 32 MiB wait to be sent): the oldest \
                 give way to the newest, and the status bar counts what was dropped"
                    .into(),
            ),
            GatewayEvent::OutboxDropped { .. } => {}
            // Said once per inbox; its RPC tab counts every drop.
            GatewayEvent::RpcInboxDropped { own, count, total } if count == total => {
                let whose = if *own { "the gateway's own" } else { "the devices'" };
                self.notice(
                    epoch_ms,
                    format!(
                        "{whose} RPC inbox is full ({RPC_INBOX_CAPACITY} requests or {} of \
                         params): the oldest answered or expired requests (else the oldest) give \
                         way to the newest, and the RPC tab counts what was dropped",
                        bytes_in_words(RPC_INBOX_BYTES)
                    ),
                )
            }
            GatewayEvent::RpcInboxDropped { .. } => {}
            // Said once; a device's Attributes tab says when its were forgotten.
            GatewayEvent::SharedAttributesForgotten { devices, total }
                if devices.len() as u64 == *total =>
            {
                self.notice(
                    epoch_ms,
                    format!(
                        "the devices' shared attributes weigh more than {} together: those of \
                         the devices updated longest ago are forgotten (first {}); request them \
                         again from a device's Attributes tab",
                        bytes_in_words(SHARED_TOTAL_BYTES),
                        names_in_words(devices, 5)
                    ),
                )
            }
            GatewayEvent::SharedAttributesForgotten { .. } => {}
            GatewayEvent::SessionLimitsUnanswered { kept } => self.notice(
                epoch_ms,
                if *kept {
                    "the server did not answer getSessionLimits in time: the limits it gave \
                     before still pace the traffic"
                        .into()
                } else {
                    "the server did not answer getSessionLimits in time (ThingsBoard before 3.8 \
                     does not): traffic is not paced"
                        .into()
                },
            ),
        }
    }

    /// Record that an attribute request (`call` false) or client-side call
    /// (`call` true) was sent.
    pub fn request_sent(&mut self, mut answer: Answer) {
        answer.outcome = Outcome::Pending;
        let weight = answer.weight();
        self.answers.push_weighed(answer, weight);
    }

    /// Record a reply sent to an RPC.
    pub fn reply_sent(&mut self, reply: SentReply) {
        let weight = reply.weight();
        self.replies.push_weighed(reply, weight);
    }

    /// The reply sent to RPC `id` of `device`, if any.
    pub fn reply_to(&self, device: Option<&str>, id: u64) -> Option<&SentReply> {
        self.replies
            .iter()
            .rev()
            .find(|r| r.id == id && r.device.as_deref() == device)
    }

    fn finish(&mut self, id: u32, call: bool, outcome: Outcome, epoch_ms: u64) {
        let Some(index) = self
            .answers
            .iter()
            .rposition(|a| a.id == id && a.method.is_some() == call)
        else {
            return;
        };
        if let Some(a) = self.answers.get_mut(index) {
            a.outcome = outcome;
            a.done_ms = Some(epoch_ms);
            let weight = a.weight();
            self.answers.reweigh(index, weight);
        }
    }

    /// Record a notice that is not an error (something the person should
    /// know); it is not counted with the errors.
    pub fn inform(&mut self, epoch_ms: u64, text: String) {
        self.notice(epoch_ms, text);
        self.errors = self.errors.saturating_sub(1);
    }

    /// Record a notice (an error the person should read).
    pub fn notice(&mut self, epoch_ms: u64, text: String) {
        self.errors += 1;
        self.seq += 1;
        // Notices mix the page's words with names and errors from the
        // platform: a bidirectional control in those would reorder the
        // whole sentence.
        let text = match neutralize_bidi(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(shown) => shown,
        };
        let text = clip(text, NOTICE_TEXT_MAX);
        self.notices.push(Notice {
            seq: self.seq,
            time_ms: epoch_ms,
            text,
        });
    }

    /// Filter the traffic log by `query` (the log is scanned once, now;
    /// afterwards only arriving packets are tested).
    pub fn set_log_query(&mut self, query: LogQuery) {
        self.log_index.set_query(query, &self.log);
    }

    /// Forget every packet of the traffic log.
    pub fn clear_log(&mut self) {
        self.log.clear();
        self.log_index.rebuild(&self.log);
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
        let weight = p.payload.len() + p.topic.len() + LOG_ENTRY_OVERHEAD;
        self.log.push_weighed(
            LogEntry {
                seq: self.seq,
                time_ms: epoch_ms,
                packet: p.clone(),
            },
            weight,
        );
        self.log_index.update(&self.log);
    }
}

/// Up to `most` of `names`, then how many more: "A, B and 3 more".
fn names_in_words(names: &[String], most: usize) -> String {
    let shown = names[..names.len().min(most)].join(", ");
    match names.len().saturating_sub(most) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::mqtt::Direction;
    use bytes::Bytes;

    fn publish_in(size: usize) -> Event {
        Event::Packet(PacketLog {
            direction: Direction::In,
            kind: "PUBLISH",
            topic: "v1/gateway/rpc".into(),
            qos: Some(1),
            pkid: Some(1),
            dup: false,
            payload: Bytes::from(vec![b'x'; size]),
            reasons: Bytes::new(),
        })
    }

    #[test]
    fn the_traffic_log_keeps_the_newest_16_mib_of_large_messages() {
        let mut store = Store::default();
        for i in 0..1_000u64 {
            store.apply_session(&publish_in(62 * 1024), Millis(i), i);
        }
        let kept = store.log.len();
        assert!(
            store.log.bytes() <= LOG_BYTE_CAP,
            "{} bytes",
            store.log.bytes()
        );
        assert!((250..=270).contains(&kept), "kept {kept} packets of 62 KiB");
        assert_eq!(store.log.dropped(), 1_000 - kept as u64);
        assert_eq!(
            store.log.last().map(|e| e.seq),
            Some(1_000),
            "the newest stays"
        );
    }

    #[test]
    fn the_traffic_log_keeps_at_most_5000_small_messages() {
        let mut store = Store::default();
        for i in 0..6_000u64 {
            store.apply_session(&publish_in(10), Millis(i), i);
        }
        assert_eq!(store.log.len(), LOG_CAP);
        assert_eq!(store.log.dropped(), 1_000);
    }

    #[test]
    fn a_huge_reason_from_the_server_is_kept_clipped_in_the_rejected_list_and_the_notices() {
        use crate::core::mqtt::{Event, PublishId};
        let mut store = Store::default();
        let reason = "x".repeat(64 * 1024);
        for n in 0..600 {
            store.apply_gateway(
                &GatewayEvent::Session(Event::Rejected {
                    id: PublishId(n),
                    topic: "v1/gateway/telemetry".into(),
                    reason: 0x99,
                    explanation: reason.clone(),
                }),
                Millis(0),
                0,
            );
        }
        let kept: usize = store
            .rejected
            .iter()
            .map(|r| r.explanation.len())
            .sum::<usize>()
            + store.notices.iter().map(|n| n.text.len()).sum::<usize>();
        assert!(kept < 1024 * 1024, "{kept} bytes kept");
        let last = store.rejected.iter().last().unwrap();
        assert!(
            last.explanation.ends_with("more bytes not kept)"),
            "{}",
            &last.explanation[1000..]
        );
    }

    #[test]
    fn a_refused_message_that_carried_several_calls_is_one_row_and_one_notice() {
        use crate::core::mqtt::{Event, PublishId};
        let rejected = |id| Event::Rejected {
            id: PublishId(id),
            topic: "v1/gateway/telemetry".into(),
            reason: 0x97,
            explanation: "quota exceeded".into(),
        };
        let mut store = Store::default();
        // What the gateway tells when a message carrying calls 1, 2 and 3
        // (folded telemetry) is refused: the message, then each call.
        store.apply_gateway(&GatewayEvent::Session(rejected(1)), Millis(0), 0);
        for id in [1, 2, 3] {
            store.apply_gateway(&GatewayEvent::Settled(rejected(id)), Millis(0), 0);
        }
        assert_eq!(store.rejected.len(), 1);
        assert_eq!(store.notices.len(), 1);
    }

    #[test]
    fn a_full_rpc_inbox_is_told_once_per_inbox() {
        let mut store = Store::default();
        for (own, count, total) in [(false, 1, 1), (false, 3, 4), (true, 2, 2), (true, 1, 3)] {
            store.apply_gateway(
                &GatewayEvent::RpcInboxDropped { own, count, total },
                Millis(0),
                0,
            );
        }
        let texts: Vec<&str> = store.notices.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].starts_with("the devices' RPC inbox is full (256 requests or 4 MiB"));
        assert!(texts[1].starts_with("the gateway's own RPC inbox is full"));
    }

    #[test]
    fn forgotten_shared_attributes_are_told_once_naming_a_few_devices() {
        let mut store = Store::default();
        let names = |n: usize| (0..n).map(|i| format!("D{i}")).collect::<Vec<_>>();
        store.apply_gateway(
            &GatewayEvent::SharedAttributesForgotten {
                devices: names(7),
                total: 7,
            },
            Millis(0),
            0,
        );
        store.apply_gateway(
            &GatewayEvent::SharedAttributesForgotten {
                devices: names(1),
                total: 8,
            },
            Millis(0),
            0,
        );
        let texts: Vec<&str> = store.notices.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert!(
            texts[0].contains("more than 16 MiB together"),
            "{}",
            texts[0]
        );
        assert!(
            texts[0].contains("(first D0, D1, D2, D3, D4 and 2 more)"),
            "{}",
            texts[0]
        );
    }

    #[test]
    fn answers_and_replies_with_large_values_stay_within_their_bytes() {
        use crate::core::gateway::codec::AttributeScope;
        let mut store = Store::default();
        let blob = serde_json::json!({"blob": "x".repeat(64 * 1024)});
        for id in 0..2_000u32 {
            store.request_sent(Answer {
                id,
                device: Some("Pump 7".into()),
                scope: Some(AttributeScope::Client),
                keys: vec!["blob".into()],
                method: None,
                outcome: Outcome::Pending,
                sent_ms: 0,
                done_ms: None,
            });
            let found = AttributeResult::Found(blob.as_object().unwrap().clone());
            store.apply_gateway(
                &GatewayEvent::AttributeResponse {
                    id,
                    device: "Pump 7".into(),
                    scope: AttributeScope::Client,
                    keys: vec!["blob".into()],
                    result: found,
                },
                Millis(0),
                0,
            );
            store.reply_sent(SentReply {
                device: Some("Pump 7".into()),
                id: id.into(),
                data: blob.clone(),
                auto: true,
                at_ms: 0,
            });
            assert!(
                store.answers.bytes() <= ANSWERS_BYTE_CAP,
                "{}",
                store.answers.bytes()
            );
            assert!(
                store.replies.bytes() <= REPLIES_BYTE_CAP,
                "{}",
                store.replies.bytes()
            );
        }
        assert!(
            store.answers.len() < 64,
            "{} answers of 64 KiB",
            store.answers.len()
        );
        assert_eq!(store.answers.dropped(), 2_000 - store.answers.len() as u64);
        assert!(
            matches!(
                store.answers.last().map(|a| &a.outcome),
                Some(Outcome::Found(_))
            ),
            "the newest answer is kept, answered"
        );
        assert!(
            store.replies.len() < 64,
            "{} replies of 64 KiB",
            store.replies.len()
        );
        assert!(store.reply_to(Some("Pump 7"), 1_999).is_some());
    }
}
