//! The runs of a scenario and the queue that runs them one after another,
//! keeping each finished run's report.

use std::collections::VecDeque;

use super::engine::{Action, Observed, Run};
use super::settings::RunSettings;
use super::summary::Report;
use crate::core::gateway::client::SentTelemetry;
use crate::core::mqtt::PublishId;
use crate::core::time::Millis;

/// The most reports kept (the oldest go first).
pub const MAX_REPORTS: usize = 50;

/// The load-test side of the console.
#[derive(Debug, Clone)]
pub struct LoadTests {
    runs: Vec<RunSettings>,
    queue: VecDeque<usize>,
    current: Option<(usize, Run)>,
    reports: Vec<Report>,
    seed: u64,
}

impl Default for LoadTests {
    fn default() -> Self {
        LoadTests {
            runs: vec![RunSettings::default()],
            queue: VecDeque::new(),
            current: None,
            reports: Vec::new(),
            seed: 0,
        }
    }
}

impl LoadTests {
    /// The scenario's runs, in order.
    pub fn runs(&self) -> &[RunSettings] {
        &self.runs
    }

    /// Replace the runs (an imported scenario); at least one is kept.
    pub fn set_runs(&mut self, runs: Vec<RunSettings>) {
        self.runs = if runs.is_empty() {
            vec![RunSettings::default()]
        } else {
            runs
        };
    }

    /// Change run `index`.
    pub fn update(&mut self, index: usize, settings: RunSettings) {
        if let Some(run) = self.runs.get_mut(index) {
            *run = settings;
        }
    }

    /// Add a run at the end; returns its index.
    pub fn add(&mut self, settings: RunSettings) -> usize {
        self.runs.push(settings);
        self.runs.len() - 1
    }

    /// Remove run `index` (the last one is kept, reset).
    pub fn remove(&mut self, index: usize) {
        if index < self.runs.len() {
            self.runs.remove(index);
        }
        if self.runs.is_empty() {
            self.runs.push(RunSettings::default());
        }
    }

    /// Queue the runs at `indices` (all checked first: one bad run queues
    /// none) and start the first if none runs. `seed` varies the payloads.
    pub fn start(&mut self, indices: &[usize], now: Millis, seed: u64) -> Result<(), String> {
        for &i in indices {
            let run = self.runs.get(i).ok_or("no such run")?;
            run.plan()
                .map_err(|e| format!("run {} ({}): {e}", i + 1, run.title()))?;
        }
        self.seed = seed;
        self.queue.extend(indices);
        if self.current.is_none() {
            self.start_next(now);
        }
        Ok(())
    }

    fn start_next(&mut self, now: Millis) {
        while let Some(i) = self.queue.pop_front() {
            let Some(plan) = self.runs.get(i).and_then(|r| r.plan().ok()) else {
                continue;
            };
            self.seed = self.seed.wrapping_add(1);
            if let Ok(run) = Run::new(plan, now, self.seed) {
                self.current = Some((i, run));
                return;
            }
        }
    }

    /// Whether a run is going (or queued).
    pub fn is_active(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// The run going, with its index in [`LoadTests::runs`].
    pub fn current(&self) -> Option<(usize, &Run)> {
        self.current.as_ref().map(|(i, r)| (*i, r))
    }

    /// Messages of the run going that are due and not handed out yet.
    pub fn backlog(&self, now: Millis) -> u64 {
        self.current.as_ref().map_or(0, |(_, r)| r.backlog(now))
    }

    /// How many runs wait in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Drive the current run (see [`Run::tick`]); a finished run's report
    /// is kept and the next queued run starts.
    pub fn tick(&mut self, now: Millis, wall: u64, seen: Observed) -> Option<Action> {
        self.tick_at_most(now, wall, seen, super::engine::MAX_PER_TICK)
    }

    /// [`LoadTests::tick`] handing out at most `max` messages (see
    /// [`Run::tick_at_most`]).
    pub fn tick_at_most(
        &mut self,
        now: Millis,
        wall: u64,
        seen: Observed,
        max: u64,
    ) -> Option<Action> {
        let (_, run) = self.current.as_mut()?;
        let action = run.tick_at_most(now, wall, seen, max);
        if run.is_done() {
            let report = run.report(now);
            self.reports.push(report);
            if self.reports.len() > MAX_REPORTS {
                self.reports.remove(0);
            }
            self.current = None;
            self.start_next(now);
        }
        action
    }

    /// See [`Run::on_sent`].
    pub fn on_sent(&mut self, now: Millis, sent: &[SentTelemetry]) {
        if let Some((_, run)) = self.current.as_mut() {
            run.on_sent(now, sent);
        }
    }

    /// See [`Run::on_send_failed`].
    pub fn on_send_failed(&mut self, now: Millis, error: String) {
        if let Some((_, run)) = self.current.as_mut() {
            run.on_send_failed(now, error);
        }
    }

    /// See [`Run::on_acked`].
    pub fn on_acked(&mut self, now: Millis, id: PublishId) {
        if let Some((_, run)) = self.current.as_mut() {
            run.on_acked(now, id);
        }
    }

    /// See [`Run::on_rejected`].
    pub fn on_rejected(&mut self, now: Millis, id: PublishId, why: &str) {
        if let Some((_, run)) = self.current.as_mut() {
            run.on_rejected(now, id, why);
        }
    }

    /// See [`Run::on_timed_out`].
    pub fn on_timed_out(&mut self, now: Millis, id: PublishId) {
        if let Some((_, run)) = self.current.as_mut() {
            run.on_timed_out(now, id);
        }
    }

    /// Stop the current run and forget the queue.
    pub fn stop(&mut self, now: Millis) {
        self.queue.clear();
        if let Some((_, run)) = self.current.as_mut() {
            run.stop(now);
        }
    }

    /// Every finished run's report, oldest first.
    pub fn reports(&self) -> &[Report] {
        &self.reports
    }

    /// Forget the reports.
    pub fn clear_reports(&mut self) {
        self.reports.clear();
    }
}
