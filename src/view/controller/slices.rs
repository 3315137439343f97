//! The controller's work in slices: a simulator tick or a load-test tick
//! is done in chunks, as many as fit in one slice's time budget
//! ([`SLICE_BUDGET_MS`]); what is left goes on in the next task
//! ([`next_task`]), after the browser has painted, handled input and read
//! the socket. Each slice's publishes are written together at its end (the
//! link flushes once per task), and the view still renders at most once
//! per animation frame. The sizing and timing are pure
//! ([`crate::console::slicing`]).

use std::cell::{Cell, RefCell};

use super::Controller;
use crate::console::slicing::{Pacer, Slice, SLICE_BUDGET_MS};
use crate::shell::clock::precise_ms;
use crate::shell::next_task::next_task;

/// Work that is done in slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Work {
    /// The simulator's tick (items: devices).
    Simulator,
    /// The load test's tick (items: messages).
    LoadTest,
}

/// A kind of work's chunk sizing, and whether its next slice is scheduled.
#[derive(Default)]
pub(super) struct Sliced {
    pacer: RefCell<Pacer>,
    scheduled: Cell<bool>,
}

impl Controller {
    fn sliced(&self, work: Work) -> &Sliced {
        match work {
            Work::Simulator => &self.sim_slices,
            Work::LoadTest => &self.loadtest_slices,
        }
    }

    /// Do `work` in chunks until it is done or this slice's time is up;
    /// then, if some is left, go on in the next task.
    pub(super) fn run_slice(&self, work: Work) {
        let slice = Slice::new(precise_ms(), SLICE_BUDGET_MS);
        loop {
            let max = self.sliced(work).pacer.borrow().chunk();
            let t = precise_ms();
            let (items, more) = match work {
                Work::Simulator => self.simulator_chunk(max),
                Work::LoadTest => self.loadtest_chunk(max),
            };
            self.sliced(work)
                .pacer
                .borrow_mut()
                .record(items, precise_ms() - t);
            if !more {
                return;
            }
            if !slice.has_time(precise_ms()) {
                break;
            }
        }
        let sliced = self.sliced(work);
        if sliced.scheduled.replace(true) {
            return;
        }
        let me = self.me.borrow().clone();
        next_task(move || {
            if let Some(c) = me.upgrade() {
                c.sliced(work).scheduled.set(false);
                c.run_slice(work);
            }
        });
    }
}
