//! The controller's load-test side: a 100 ms timer drives the pure engine
//! ([`crate::console::loadtest`]), whose actions go through the gateway's
//! API (`connect_device`, `send_telemetry_batch`, `remove_device`), and
//! the gateway's acknowledgements are handed back to it from `drain`.
//! Scenarios are exported, imported and read from the page's link here.

use std::cell::Ref;

use super::slices::Work;
use super::Controller;
use crate::console::auto_reply::AutoReplies;
use crate::console::loadtest::{Action, LoadTests, Observed, RunSettings, Scenario};
use crate::console::slices::{Slice, Slices};
use crate::console::workspace::Workspace;
use crate::core::gateway::model::DeviceState;
use crate::core::gateway::GatewayEvent;
use crate::core::mqtt::Event;
use crate::shell::clock::{epoch_ms, now};
use crate::shell::location;

/// How often the engine is driven.
const TICK_MS: u32 = 100;

impl Controller {
    /// The load tests: runs, the one going, the reports.
    pub fn loadtest(&self) -> Ref<'_, LoadTests> {
        self.loadtest.borrow()
    }

    /// Change the runs (the form writes here on every change).
    pub fn update_loadtest(&self, f: impl FnOnce(&mut LoadTests)) {
        f(&mut self.loadtest.borrow_mut());
        self.request_render();
    }

    /// Start the runs at `indices`, one after another.
    pub fn start_runs(&self, indices: &[usize]) -> Result<(), String> {
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        self.loadtest.borrow_mut().start(indices, now(), seed)?;
        if self.loadtest_timer.borrow().is_none() {
            let me = self.me.borrow().clone();
            let timer = gloo::timers::callback::Interval::new(TICK_MS, move || {
                if let Some(c) = me.upgrade() {
                    c.run_slice(Work::LoadTest);
                }
            });
            *self.loadtest_timer.borrow_mut() = Some(timer);
        }
        self.run_slice(Work::LoadTest);
        Ok(())
    }

    /// Stop the run going and forget the queue.
    pub fn stop_runs(&self) {
        self.loadtest.borrow_mut().stop(now());
        self.request_render();
    }

    /// What the engine needs to see of the gateway.
    fn observe(&self) -> Observed {
        let devices: Vec<String> = self
            .loadtest
            .borrow()
            .current()
            .map(|(_, run)| run.plan().devices.clone())
            .unwrap_or_default();
        self.link.read(|g| {
            let registered = devices
                .iter()
                .filter(|d| {
                    g.model()
                        .devices()
                        .get(d)
                        .is_some_and(|d| d.state == DeviceState::Connected)
                })
                .count();
            let outbox = g.offline_len();
            Observed {
                connected: g.is_connected(),
                registered,
                outbox,
                held_by_limits: g.is_connected()
                    && (g.awaiting_limits() || outbox > 0 || g.session().queued_len() > 0),
            }
        })
    }

    /// One turn of the engine, handing out at most `max` messages: carry
    /// out its action, if any. Returns how many messages went and whether
    /// more are due now (the tick's work goes on in the next chunk; see
    /// `controller/slices.rs`).
    pub(super) fn loadtest_chunk(&self, max: usize) -> (usize, bool) {
        let seen = self.observe();
        let action = self
            .loadtest
            .borrow_mut()
            .tick_at_most(now(), epoch_ms(), seen, max as u64);
        let mut items = 0;
        match action {
            Some(Action::Register {
                devices,
                device_type,
            }) => {
                let t = now();
                let failed = self.link.with(|g| {
                    devices
                        .iter()
                        .filter_map(|d| g.connect_device(t, d, device_type.as_deref()).err())
                        .count()
                });
                if failed > 0 {
                    self.store_mut().notice(
                        epoch_ms(),
                        format!("load test: {failed} device(s) could not be registered"),
                    );
                }
            }
            Some(Action::Send(batch)) => {
                items = batch.entries() as usize;
                let t = now();
                let sent = self.link.with(|g| g.send_telemetry_batch(t, &batch));
                let mut tests = self.loadtest.borrow_mut();
                match sent {
                    Ok(sent) => tests.on_sent(t, &sent),
                    Err(e) => tests.on_send_failed(t, e.to_string()),
                }
            }
            Some(Action::Remove(devices)) => {
                let t = now();
                self.link.with(|g| {
                    for d in &devices {
                        let _ = g.remove_device(t, d);
                    }
                });
                self.persist_journal();
            }
            None => {}
        }
        if !self.loadtest.borrow().is_active() {
            self.loadtest_timer.borrow_mut().take();
        }
        // A tick sends for many devices: their counters, the run's figures
        // and the status line change; nothing else.
        self.mark(Slices::of(&[
            Slice::LoadTest,
            Slice::Devices,
            Slice::Status,
        ]));
        (
            items,
            items > 0 && self.loadtest.borrow().backlog(now()) > 0,
        )
    }

    /// Hand a gateway event to the load test (from `drain`): what became
    /// of each call's data.
    pub(super) fn loadtest_event(&self, event: &GatewayEvent) {
        let GatewayEvent::Settled(e) = event else {
            return;
        };
        let t = now();
        match e {
            Event::Acked(id) => self.loadtest.borrow_mut().on_acked(t, *id),
            Event::Rejected {
                id, explanation, ..
            } => self.loadtest.borrow_mut().on_rejected(t, *id, explanation),
            Event::AckTimedOut { id, .. } => self.loadtest.borrow_mut().on_timed_out(t, *id),
            _ => {}
        }
    }

    /// The scenario of this page now: its runs, devices and rules.
    pub fn scenario(&self) -> Scenario {
        Scenario::new(
            self.loadtest.borrow().runs().to_vec(),
            self.link
                .read(|g| Workspace::devices_of(g.model().devices())),
            self.store().auto_replies.rules().to_vec(),
        )
    }

    /// Take a scenario in: its runs replace the runs, its rules the rules,
    /// and its devices are added (those already here are kept as they are).
    pub fn load_scenario(&self, scenario: Scenario) {
        let t = now();
        let failed = self.link.with(|g| {
            let mut failed = 0;
            for d in &scenario.devices {
                if g.model().devices().get(&d.name).is_some() {
                    continue;
                }
                match g.connect_device(t, &d.name, d.device_type.as_deref()) {
                    Ok(_) if !d.registered => {
                        let _ = g.disconnect_device(t, &d.name);
                    }
                    Ok(_) => {}
                    Err(_) => failed += 1,
                }
            }
            failed
        });
        {
            let mut store = self.store_mut();
            let mut rules = AutoReplies::default();
            for rule in scenario.rules.iter().cloned() {
                rules.add(rule);
            }
            store.auto_replies = rules;
            let text = format!("scenario loaded: {}", scenario.describe());
            store.inform(epoch_ms(), text);
            if failed > 0 {
                let text = format!("{failed} device(s) of the scenario could not be added");
                store.notice(epoch_ms(), text);
            }
        }
        self.loadtest.borrow_mut().set_runs(scenario.runs);
        self.save_workspace();
        self.request_render();
    }

    /// The scenario the page's link carried, waiting for the person's yes
    /// or no (or why it could not be read).
    pub fn scenario_offer(&self) -> Option<Result<Scenario, String>> {
        self.scenario_offer.borrow().clone()
    }

    /// Read the link's `#scenario=` (at start).
    pub(super) fn read_scenario_link(&self) {
        *self.scenario_offer.borrow_mut() = Scenario::from_fragment(&location::hash());
    }

    /// The person answered the link's offer: load it, or not. Either way
    /// the fragment leaves the address bar, so a reload does not ask again.
    pub fn answer_scenario_offer(&self, load: bool) {
        let offer = self.scenario_offer.borrow_mut().take();
        if let (true, Some(Ok(scenario))) = (load, offer) {
            self.load_scenario(scenario);
        }
        location::clear_hash();
        self.request_render();
    }

    /// The link that opens this page with its scenario.
    pub fn scenario_link(&self) -> String {
        format!(
            "{}#{}",
            location::without_hash(),
            self.scenario().to_fragment()
        )
    }

    /// The runs kept in the workspace (for `save_workspace`).
    pub(super) fn saved_runs(&self) -> Vec<RunSettings> {
        self.loadtest.borrow().runs().to_vec()
    }
}
