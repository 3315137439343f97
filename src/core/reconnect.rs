//! When to reconnect: the backoff, reset only by a session that lived.
//!
//! A server that accepts the connection and then closes it (ThingsBoard does
//! so for a message it rejects, for a rate limit, or when another client
//! takes the session over) must not be reconnected to once a second forever.
//! So the backoff is reset only when the session that just ended had been
//! up for [`Reconnect::STABLE_MS`]; shorter sessions back off further each
//! time. Sessions closed right after CONNACK (within
//! [`Reconnect::SHORT_MS`]) are counted in a row, so the caller can say what
//! that looks like (another client holding the credentials); a platform
//! that restarts now and then does not look like it.
//!
//! Pure: time and randomness are passed in.

use crate::core::backoff::Backoff;
use crate::core::time::Millis;

/// The reconnect policy of one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconnect {
    backoff: Backoff,
    /// When the current session was accepted, if it was.
    connected_at: Option<Millis>,
    /// Sessions in a row that ended within [`Reconnect::SHORT_MS`] of
    /// being accepted.
    short_sessions: u32,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect::new(Backoff::default())
    }
}

impl Reconnect {
    /// How long a session must have lived for its end to reset the backoff.
    pub const STABLE_MS: u64 = 30_000;

    /// A session that ends sooner than this after CONNACK was closed
    /// "right after" it.
    pub const SHORT_MS: u64 = 5_000;

    /// After this many sessions in a row closed right after CONNACK,
    /// reconnecting stops: the server keeps accepting and closing, which is
    /// what another client holding the same credentials looks like
    /// (ThingsBoard keeps one session per token), or a server that rejects
    /// what is sent.
    pub const SHORT_SESSIONS_LIMIT: u32 = 5;

    /// A policy over `backoff`.
    pub fn new(backoff: Backoff) -> Self {
        Reconnect {
            backoff,
            connected_at: None,
            short_sessions: 0,
        }
    }

    /// The person asked to connect: start afresh.
    pub fn restart(&mut self) {
        self.backoff.reset();
        self.connected_at = None;
        self.short_sessions = 0;
    }

    /// The server accepted the session at `now`.
    pub fn connected(&mut self, now: Millis) {
        self.connected_at.get_or_insert(now);
    }

    /// The connection ended at `now`: returns the delay before the next
    /// attempt, in ms (`random` in `[0, 1]` sets the jitter).
    pub fn closed(&mut self, now: Millis, random: f64) -> u64 {
        if let Some(since) = self.connected_at.take() {
            let lived = now.since(since);
            if lived >= Self::STABLE_MS {
                self.backoff.reset();
            }
            if lived < Self::SHORT_MS {
                self.short_sessions = self.short_sessions.saturating_add(1);
            } else {
                self.short_sessions = 0;
            }
        }
        self.backoff.next_delay(random)
    }

    /// The attempt the last delay was for, from 1.
    pub fn attempt(&self) -> u32 {
        self.backoff.attempt()
    }

    /// Whether to stop reconnecting: [`Reconnect::SHORT_SESSIONS_LIMIT`]
    /// short sessions in a row.
    pub fn should_give_up(&self) -> bool {
        self.short_sessions >= Self::SHORT_SESSIONS_LIMIT
    }

    /// Accepted sessions in a row that ended within [`Reconnect::SHORT_MS`].
    pub fn short_sessions(&self) -> u32 {
        self.short_sessions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_closed_right_after_connack_back_off_further_each_time() {
        let mut r = Reconnect::default();
        let mut t = Millis(0);
        let mut delays = Vec::new();
        for _ in 0..6 {
            r.connected(t);
            t = t.after_ms(200);
            let delay = r.closed(t, 1.0);
            delays.push(delay);
            t = t.after_ms(delay);
        }
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000]);
        assert_eq!(r.short_sessions(), 6);
        assert!(r.should_give_up());
    }

    #[test]
    fn a_session_that_lived_30_seconds_resets_the_backoff() {
        let mut r = Reconnect::default();
        r.connected(Millis(0));
        r.closed(Millis(100), 1.0);
        r.connected(Millis(2_000));
        r.closed(Millis(2_100), 1.0);
        assert_eq!(r.attempt(), 2);
        assert!(!r.should_give_up());
        r.connected(Millis(10_000));
        assert_eq!(r.closed(Millis(40_000), 1.0), 1_000);
        assert_eq!(r.attempt(), 1);
        assert_eq!(r.short_sessions(), 0);
    }

    #[test]
    fn sessions_that_lived_seconds_back_off_but_do_not_look_like_a_takeover() {
        // A platform that goes away every 10 s: the backoff grows (no
        // session lived 30 s), but reconnecting never stops.
        let mut r = Reconnect::default();
        let mut t = Millis(0);
        for _ in 0..8 {
            r.connected(t);
            t = t.after_ms(10_000);
            let delay = r.closed(t, 1.0);
            t = t.after_ms(delay);
            assert!(!r.should_give_up());
        }
        assert_eq!(r.short_sessions(), 0);
        assert!(r.attempt() >= 8);
    }

    #[test]
    fn failed_attempts_that_never_connect_back_off_but_are_not_short_sessions() {
        let mut r = Reconnect::default();
        let delays: Vec<u64> = (0..3).map(|i| r.closed(Millis(i * 1000), 1.0)).collect();
        assert_eq!(delays, [1_000, 2_000, 4_000]);
        assert_eq!(r.short_sessions(), 0);
    }

    #[test]
    fn restarting_by_hand_forgets_the_history() {
        let mut r = Reconnect::default();
        r.connected(Millis(0));
        r.closed(Millis(10), 1.0);
        r.restart();
        assert_eq!((r.attempt(), r.short_sessions()), (0, 0));
        assert_eq!(r.closed(Millis(20), 1.0), 1_000);
    }
}
