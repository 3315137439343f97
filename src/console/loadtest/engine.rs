//! One run as a state machine, in the manner of a sans-IO protocol: the
//! caller drives it with [`Run::tick`] (every 100 ms or so, with the time
//! and what it observes of the gateway) and carries out the [`Action`] it
//! returns through the gateway's API; then it tells the run what came of
//! it ([`Run::on_sent`] or [`Run::on_send_failed`]) and, as the gateway
//! reports them, every acknowledgement, rejection and timeout of a publish.
//!
//! Phases: **registering** (the devices are connected, and so created, if
//! the run says so; the run waits for the session and for their
//! acknowledgements, 60 s at most), **warming up** (optional: one message
//! per device, outside the figures, 30 s at most for their
//! acknowledgements), **sending** (each tick sends every message due by
//! [`super::schedule::Schedule`], in one batch that the gateway coalesces
//! into as few publishes as the session limits allow), **draining**
//! (waiting for the last acknowledgements, `drainSecs` at most), then the
//! devices are removed if the run says so, and it is **done**.

use std::collections::HashMap;

use super::generator::Context;
use super::rng::Rng;
use super::settings::Plan;
use super::stats::{Latencies, Latency, Second, Series};
use super::summary::{Counts, Report, Summary};
use super::template::Payloads;
use crate::core::gateway::client::SentTelemetry;
use crate::core::gateway::codec::TelemetryBatch;
use crate::core::mqtt::PublishId;
use crate::core::time::Millis;

/// How long a run waits for its devices' registration.
pub const REGISTER_WAIT_MS: u64 = 60_000;
/// How long a run waits for its warm-up acknowledgements.
pub const WARM_UP_WAIT_MS: u64 = 30_000;
/// The most messages one tick hands over (a tab that was asleep catches up
/// over several ticks).
pub const MAX_PER_TICK: u64 = 20_000;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the session and the devices' registration.
    Registering,
    /// Sending one message per device, outside the figures.
    WarmingUp,
    /// Sending on schedule.
    Sending,
    /// Waiting for the last acknowledgements.
    Draining,
    /// Over.
    Done,
}

impl Phase {
    /// The phase in words.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Registering => "registering devices",
            Phase::WarmingUp => "warming up",
            Phase::Sending => "sending",
            Phase::Draining => "waiting for the last acknowledgements",
            Phase::Done => "done",
        }
    }
}

/// What the caller must do through the gateway.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Connect (register, and so create) these devices.
    Register {
        /// Their names.
        devices: Vec<String>,
        /// Their device profile.
        device_type: Option<String>,
    },
    /// `Gateway::send_telemetry_batch` this batch (written as JSON as it
    /// was generated), then tell [`Run::on_sent`] (or
    /// [`Run::on_send_failed`]).
    Send(TelemetryBatch),
    /// Remove these devices from the gateway.
    Remove(Vec<String>),
}

/// What the caller sees of the gateway at a tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    /// Whether the session is connected.
    pub connected: bool,
    /// How many of the run's devices the server acknowledged.
    pub registered: usize,
    /// Messages waiting in the gateway's outbox.
    pub outbox: usize,
    /// Whether messages are held back by the session limits (rate limits,
    /// the in-flight window, or the wait for `getSessionLimits`).
    pub held_by_limits: bool,
}

/// A publish waiting for its acknowledgement.
#[derive(Debug, Clone, Copy)]
struct Pending {
    at: Millis,
    entries: u64,
    points: u64,
    warm: bool,
}

/// The live figures of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Messages sent so far (warm-up apart).
    pub sent: Counts,
    /// Acknowledged so far.
    pub acked: Counts,
    /// Messages the run sends in all.
    pub total_messages: u64,
    /// Publishes without an answer yet.
    pub unanswered: usize,
    /// Ms since sending started (0 before).
    pub elapsed_ms: u64,
    /// PUBACK latency so far.
    pub latency: Latency,
    /// The last error, in words.
    pub last_error: Option<String>,
}

/// One run.
#[derive(Debug, Clone)]
pub struct Run {
    plan: Plan,
    payloads: Payloads,
    rng: Rng,
    phase: Phase,
    /// Whether the current phase's action was given.
    asked: bool,
    started: Millis,
    phase_since: Millis,
    /// When sending started: monotonic and wall-clock ms.
    t0: Option<(Millis, u64)>,
    /// The next message number.
    next: u64,
    /// The size of the batch last handed out (entries, points, warm-up).
    batch: (u64, u64, bool),
    pending: HashMap<PublishId, Pending>,
    sent: Counts,
    acked: Counts,
    rejected: Counts,
    timed_out: Counts,
    warm_sent: Counts,
    refused: u64,
    latencies: Latencies,
    series: Series,
    last_seen: Option<Millis>,
    limit_wait_ms: u64,
    max_outbox: usize,
    stopped: bool,
    last_error: Option<String>,
    last_event: Option<Millis>,
    ended: Option<Millis>,
}

impl Run {
    /// A run of `plan` starting at `now`, its payloads drawn from `seed`.
    pub fn new(plan: Plan, now: Millis, seed: u64) -> Result<Run, String> {
        let payloads = plan.settings.template.compile(plan.devices.len())?;
        Ok(Run {
            plan,
            payloads,
            rng: Rng::new(seed),
            phase: Phase::Registering,
            asked: false,
            started: now,
            phase_since: now,
            t0: None,
            next: 0,
            batch: (0, 0, false),
            pending: HashMap::new(),
            sent: Counts::default(),
            acked: Counts::default(),
            rejected: Counts::default(),
            timed_out: Counts::default(),
            warm_sent: Counts::default(),
            refused: 0,
            latencies: Latencies::default(),
            series: Series::default(),
            last_seen: None,
            limit_wait_ms: 0,
            max_outbox: 0,
            stopped: false,
            last_error: None,
            last_event: None,
            ended: None,
        })
    }

    /// The plan it follows.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether it is over.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    fn enter(&mut self, phase: Phase, now: Millis) {
        self.phase = phase;
        self.phase_since = now;
        self.asked = false;
    }

    fn ms(&self, now: Millis) -> u64 {
        now.since(self.started)
    }

    fn observe(&mut self, now: Millis, seen: &Observed) {
        if let Some(last) = self.last_seen {
            // Registration is the gateway's own traffic, not the run's.
            let measured = matches!(
                self.phase,
                Phase::WarmingUp | Phase::Sending | Phase::Draining
            );
            if seen.held_by_limits && measured {
                let waited = now.since(last);
                self.limit_wait_ms += waited;
                self.series.at(self.ms(now)).limit_wait_ms += waited;
            }
        }
        self.last_seen = Some(now);
        self.max_outbox = self.max_outbox.max(seen.outbox);
        let second = self.series.at(self.ms(now));
        second.outbox = second.outbox.max(seen.outbox);
    }

    /// Call every 100 ms or so (and after the caller carried out the last
    /// action): `now` is monotonic, `wall` ms since the epoch (the
    /// timestamps of the data). Returns what to do now, if anything.
    pub fn tick(&mut self, now: Millis, wall: u64, seen: Observed) -> Option<Action> {
        self.tick_at_most(now, wall, seen, MAX_PER_TICK)
    }

    /// [`Run::tick`], handing out at most `max` messages (at least one) in
    /// an [`Action::Send`], so a caller can split a tick's work into slices
    /// (see [`crate::console::slicing`]): the rest stays due, and
    /// [`Run::backlog`] says how much.
    pub fn tick_at_most(
        &mut self,
        now: Millis,
        wall: u64,
        seen: Observed,
        max: u64,
    ) -> Option<Action> {
        let max = max.clamp(1, MAX_PER_TICK);
        self.observe(now, &seen);
        let n = self.plan.devices.len();
        loop {
            match self.phase {
                Phase::Registering => {
                    let create = self.plan.settings.create_devices;
                    if create && !self.asked {
                        self.asked = true;
                        return Some(Action::Register {
                            devices: self.plan.devices.clone(),
                            device_type: Some(self.plan.settings.device_type.trim())
                                .filter(|t| !t.is_empty())
                                .map(str::to_string),
                        });
                    }
                    let ready = seen.connected && (!create || seen.registered >= n);
                    let late = now.since(self.phase_since) >= REGISTER_WAIT_MS;
                    if !ready && !late {
                        return None;
                    }
                    if !ready {
                        self.last_error = Some(format!(
                            "{} of {n} devices registered after {} s; sending anyway",
                            seen.registered,
                            REGISTER_WAIT_MS / 1000
                        ));
                    }
                    let next = if self.plan.settings.warm_up {
                        Phase::WarmingUp
                    } else {
                        Phase::Sending
                    };
                    self.enter(next, now);
                }
                Phase::WarmingUp => {
                    if !self.asked {
                        self.asked = true;
                        return Some(self.warm_up_batch(wall));
                    }
                    let warm_waiting = self.pending.values().any(|p| p.warm);
                    if warm_waiting && now.since(self.phase_since) < WARM_UP_WAIT_MS {
                        return None;
                    }
                    self.enter(Phase::Sending, now);
                }
                Phase::Sending => {
                    let (t0, wall0) = *self.t0.get_or_insert((now, wall));
                    let total = self.plan.schedule.total();
                    if self.stopped || self.next >= total {
                        self.enter(Phase::Draining, now);
                        continue;
                    }
                    let due = self.plan.schedule.due_by(now.since(t0) as f64);
                    let upto = due.min(self.next + max);
                    if upto <= self.next {
                        return None;
                    }
                    return Some(self.batch(upto, wall0));
                }
                Phase::Draining => {
                    let drain_ms = self.plan.settings.drain_secs.saturating_mul(1000);
                    if !self.pending.is_empty() && now.since(self.phase_since) < drain_ms {
                        return None;
                    }
                    self.ended = Some(now);
                    self.enter(Phase::Done, now);
                    if self.plan.settings.remove_devices {
                        return Some(Action::Remove(self.plan.devices.clone()));
                    }
                }
                Phase::Done => return None,
            }
        }
    }

    /// Messages due by `now` and not handed out yet (0 outside sending).
    pub fn backlog(&self, now: Millis) -> u64 {
        match (self.phase, self.t0) {
            (Phase::Sending, Some((t0, _))) if !self.stopped => self
                .plan
                .schedule
                .due_by(now.since(t0) as f64)
                .min(self.plan.schedule.total())
                .saturating_sub(self.next),
            _ => 0,
        }
    }

    fn warm_up_batch(&mut self, wall: u64) -> Action {
        let mut batch = TelemetryBatch::new();
        for (i, device) in self.plan.devices.iter().enumerate() {
            let ctx = Context {
                device,
                n: 0,
                ts: wall,
            };
            let (payloads, rng) = (&mut self.payloads, &mut self.rng);
            batch.timed(device, wall, |values| payloads.write(i, &ctx, rng, values));
        }
        let entries = batch.entries();
        self.batch = (entries, batch.points(), true);
        Action::Send(batch)
    }

    /// Messages `next..upto`: message `j` goes to device `j mod N` with
    /// the timestamp it is due at, so no device has two at one time.
    fn batch(&mut self, upto: u64, wall0: u64) -> Action {
        let n = self.plan.devices.len() as u64;
        let mut batch = TelemetryBatch::new();
        for j in self.next..upto {
            let index = (j % n) as usize;
            let device = &self.plan.devices[index];
            let ts = wall0 + self.plan.schedule.offset_ms(j).floor() as u64;
            let ctx = Context {
                device,
                n: j / n,
                ts,
            };
            let (payloads, rng) = (&mut self.payloads, &mut self.rng);
            batch.timed(device, ts, |values| {
                payloads.write(index, &ctx, rng, values)
            });
        }
        let entries = upto - self.next;
        self.next = upto;
        self.batch = (entries, batch.points(), false);
        Action::Send(batch)
    }

    /// The gateway took the last [`Action::Send`] batch as these publishes.
    pub fn on_sent(&mut self, now: Millis, sent: &[SentTelemetry]) {
        let warm = self.batch.2;
        let ms = self.ms(now);
        for s in sent {
            self.pending.insert(
                s.id,
                Pending {
                    at: now,
                    entries: s.entries,
                    points: s.points,
                    warm,
                },
            );
            if warm {
                self.warm_sent.add(s.entries, s.points);
            } else {
                self.sent.add(s.entries, s.points);
                self.series.at(ms).sent_points += s.points;
            }
        }
        self.last_event = Some(now);
    }

    /// The gateway refused the last [`Action::Send`] batch (`error` says
    /// why): its messages are counted as refused, and the run goes on.
    pub fn on_send_failed(&mut self, now: Millis, error: String) {
        self.refused += self.batch.0;
        self.series.at(self.ms(now)).errors += 1;
        self.last_error = Some(error);
    }

    /// The server acknowledged publish `id`. Returns whether it was one of
    /// this run's.
    pub fn on_acked(&mut self, now: Millis, id: PublishId) -> bool {
        let Some(p) = self.pending.remove(&id) else {
            return false;
        };
        self.last_event = Some(now);
        if p.warm {
            return true;
        }
        let latency = now.since(p.at).min(u32::MAX as u64) as u32;
        self.acked.add(p.entries, p.points);
        self.latencies.record(latency);
        let ms = self.ms(now);
        self.series.latency(ms, latency);
        self.series.at(ms).acked_points += p.points;
        true
    }

    /// The server refused publish `id` (after the gateway's retries).
    pub fn on_rejected(&mut self, now: Millis, id: PublishId, why: &str) -> bool {
        let Some(p) = self.pending.remove(&id) else {
            return false;
        };
        if !p.warm {
            self.rejected.add(p.entries, p.points);
            self.series.at(self.ms(now)).rejected_points += p.points;
        }
        self.last_error = Some(why.to_string());
        true
    }

    /// Publish `id` got no acknowledgement in time.
    pub fn on_timed_out(&mut self, now: Millis, id: PublishId) -> bool {
        let Some(p) = self.pending.remove(&id) else {
            return false;
        };
        if !p.warm {
            self.timed_out.add(p.entries, p.points);
            self.series.at(self.ms(now)).timed_out_points += p.points;
        }
        self.last_error = Some("a publish got no acknowledgement in time".into());
        true
    }

    /// Stop sending (what was sent is still waited for).
    pub fn stop(&mut self, now: Millis) {
        self.stopped = true;
        if matches!(self.phase, Phase::Registering | Phase::WarmingUp) {
            self.enter(Phase::Draining, now);
        }
    }

    /// The live figures.
    pub fn progress(&self, now: Millis) -> Progress {
        Progress {
            phase: self.phase,
            sent: self.sent,
            acked: self.acked,
            total_messages: self.plan.schedule.total(),
            unanswered: self.pending.len(),
            elapsed_ms: self
                .t0
                .map(|(t0, _)| self.ended.unwrap_or(now).since(t0))
                .unwrap_or(0),
            latency: self.latencies.summary(),
            last_error: self.last_error.clone(),
        }
    }

    /// The last `n` seconds, for live sparklines.
    pub fn recent(&self, n: usize) -> &[Second] {
        self.series.recent(n)
    }

    /// The summary (final once [`Run::is_done`]).
    pub fn summary(&self, now: Millis) -> Summary {
        let mut unanswered = Counts::default();
        for p in self.pending.values().filter(|p| !p.warm) {
            unanswered.add(p.entries, p.points);
        }
        let end = match (self.pending.is_empty(), self.last_event) {
            (true, Some(last)) => last,
            _ => self.ended.unwrap_or(now),
        };
        let (duration_ms, started_at) = match self.t0 {
            Some((t0, wall0)) => (end.since(t0), wall0),
            None => (0, 0),
        };
        let per_second = |x: u64| {
            if duration_ms == 0 {
                0.0
            } else {
                x as f64 * 1000.0 / duration_ms as f64
            }
        };
        Summary {
            name: self.plan.settings.title(),
            template: self.plan.settings.template.label().into(),
            devices: self.plan.devices.len(),
            started_at,
            duration_ms,
            sent: self.sent,
            acked: self.acked,
            rejected: self.rejected,
            timed_out: self.timed_out,
            unanswered,
            refused_messages: self.refused,
            latency_ms: self.latencies.summary(),
            points_per_second: per_second(self.acked.points),
            messages_per_second: per_second(self.acked.messages),
            limit_wait_ms: self.limit_wait_ms,
            max_outbox: self.max_outbox,
            warm_up: self.plan.settings.warm_up.then_some(self.warm_sent),
            stopped: self.stopped,
            last_error: self.last_error.clone(),
        }
    }

    /// The summary and every second.
    pub fn report(&self, now: Millis) -> Report {
        Report {
            summary: self.summary(now),
            series: self.series.seconds(),
        }
    }
}
