//! The session's timers: a small table indexed by [`Timer`].

use crate::core::time::Millis;

/// One of the session's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// CONNACK must arrive before this.
    Connect = 0,
    /// Send PINGREQ at this time (half the keepalive after the last send).
    Ping = 1,
    /// PINGRESP must arrive before this.
    PingResp = 2,
}

const COUNT: usize = 3;

/// When each timer expires, if it is armed.
#[derive(Debug, Default, Clone)]
pub(crate) struct Timers {
    at: [Option<Millis>; COUNT],
}

impl Timers {
    /// Arm `timer` to expire at `at`.
    pub fn set(&mut self, timer: Timer, at: Millis) {
        self.at[timer as usize] = Some(at);
    }

    /// Disarm `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.at[timer as usize] = None;
    }

    /// When `timer` expires, if armed.
    pub fn get(&self, timer: Timer) -> Option<Millis> {
        self.at[timer as usize]
    }

    /// Disarm every timer.
    pub fn stop_all(&mut self) {
        self.at = [None; COUNT];
    }

    /// Whether `timer` is armed and expired at `now`.
    pub fn is_due(&self, timer: Timer, now: Millis) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    /// The earliest armed timer.
    pub fn next(&self) -> Option<Millis> {
        self.at.iter().flatten().min().copied()
    }
}
