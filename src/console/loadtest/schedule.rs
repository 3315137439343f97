//! When each message of a run is due. Messages are numbered from 0 over the
//! whole run and go to the devices in turn (message `j` to device
//! `j mod N`), evenly spaced at the full rate `r` (messages per ms), so a
//! per-device rate of one message every 10 s for 1,000 devices sends 100
//! a second, 10 each 100 ms, never a burst of 1,000. With a ramp-up of `R`
//! ms the rate grows linearly from 0 to `r` over `R`: by time `t` the run
//! is due `r·t²/2R` messages during the ramp, `r·(t − R/2)` after it.

/// The timing of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Messages per ms at full rate.
    rate: f64,
    /// The ramp-up, in ms.
    ramp_ms: f64,
    /// Messages in the whole run.
    total: u64,
}

/// Rounding room, so a message due exactly at `t` counts as due at `t`.
const EPSILON: f64 = 1e-7;

impl Schedule {
    /// A run of `total` messages at `rate` messages/ms after `ramp_ms`.
    pub fn of_count(rate: f64, ramp_ms: f64, total: u64) -> Schedule {
        Schedule {
            rate,
            ramp_ms: ramp_ms.max(0.0),
            total,
        }
    }

    /// A run of every message due before `duration_ms`.
    pub fn of_duration(rate: f64, ramp_ms: f64, duration_ms: f64) -> Schedule {
        let open = Schedule::of_count(rate, ramp_ms, u64::MAX);
        let mut total = open.due_by(duration_ms);
        while total > 0 && open.offset_ms(total - 1) >= duration_ms - EPSILON {
            total -= 1;
        }
        Schedule { total, ..open }
    }

    /// Messages in the whole run.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many messages are due `t_ms` after the start (those with an
    /// offset at or before it), at most [`Schedule::total`].
    pub fn due_by(&self, t_ms: f64) -> u64 {
        if t_ms < 0.0 {
            return 0;
        }
        let (r, ramp) = (self.rate, self.ramp_ms);
        let last = if t_ms <= ramp {
            r * t_ms * t_ms / (2.0 * ramp)
        } else {
            r * (t_ms - ramp / 2.0)
        };
        let due = (last + EPSILON).floor();
        if due >= self.total as f64 {
            self.total
        } else {
            (due as u64 + 1).min(self.total)
        }
    }

    /// When message `j` is due, in ms after the start.
    pub fn offset_ms(&self, j: u64) -> f64 {
        let (r, ramp, j) = (self.rate, self.ramp_ms, j as f64);
        if j <= r * ramp / 2.0 {
            (2.0 * ramp * j / r).sqrt()
        } else {
            j / r + ramp / 2.0
        }
    }

    /// When the last message is due, in ms after the start.
    pub fn last_offset_ms(&self) -> f64 {
        self.total
            .checked_sub(1)
            .map(|j| self.offset_ms(j))
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Schedule;

    #[test]
    fn one_message_per_device_every_10_s_for_60_s_is_6_per_device_evenly_spread() {
        // 1,000 devices, one message each every 10 s: 0.1 per ms.
        let s = Schedule::of_duration(1000.0 / 10_000.0, 0.0, 60_000.0);
        assert_eq!(s.total(), 6_000);
        assert_eq!(s.due_by(0.0), 1);
        assert_eq!(s.due_by(99.0), 10);
        assert_eq!(s.due_by(100.0), 11);
        assert_eq!(s.due_by(59_990.0), 6_000);
        assert_eq!(s.due_by(1e9), 6_000);
        assert_eq!(s.offset_ms(1_000), 10_000.0);
        assert_eq!(s.last_offset_ms(), 59_990.0);
    }

    #[test]
    fn a_ramp_starts_slowly_and_reaches_the_full_rate() {
        // 10 per second, ramping over 10 s.
        let s = Schedule::of_count(0.01, 10_000.0, 1_000);
        // Half the full rate's messages during the ramp.
        assert_eq!(s.due_by(10_000.0), 51);
        assert!(s.due_by(5_000.0) < 15);
        // Then 10 a second.
        assert_eq!(s.due_by(20_000.0) - s.due_by(10_000.0), 100);
        for j in [0, 10, 50, 51, 200, 999] {
            let t = s.offset_ms(j);
            assert_eq!(s.due_by(t), j + 1, "message {j} at {t} ms");
            assert!(s.due_by(t - 0.01) <= j);
        }
        assert_eq!(s.due_by(1e12), 1_000);
    }

    #[test]
    fn offsets_only_grow() {
        let s = Schedule::of_duration(0.37, 1_234.0, 5_000.0);
        let mut last = -1.0;
        for j in 0..s.total() {
            let t = s.offset_ms(j);
            assert!(t > last);
            last = t;
        }
        assert!(last < 5_000.0);
        assert_eq!(s.due_by(5_000.0), s.total());
    }
}
