//! Reconnect delays: exponential backoff with jitter, from 1 s up to 60 s.
//!
//! Pure: the caller supplies the randomness (`Math.random()` in the browser,
//! fixed numbers in tests) and does the waiting.
//!
//! ```
//! use browser_gateway::core::backoff::Backoff;
//! let mut backoff = Backoff::default();
//! assert_eq!(backoff.next_delay(0.5), 1_000); // first retry after 1 s
//! let second = backoff.next_delay(0.5);       // then between 1 s and 2 s
//! assert!((1_000..=2_000).contains(&second));
//! backoff.reset();                            // after a good connection
//! assert_eq!(backoff.attempt(), 0);
//! ```

/// Delays between reconnect attempts: the ceiling doubles with every attempt
/// from `min_ms` up to `max_ms`, and each delay is "equal jitter": half the
/// ceiling fixed plus a random part of the other half, never under `min_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    min_ms: u64,
    max_ms: u64,
    attempt: u32,
}

impl Default for Backoff {
    /// From [`Backoff::DEFAULT_MIN_MS`] to [`Backoff::DEFAULT_MAX_MS`].
    fn default() -> Self {
        Backoff::new(Backoff::DEFAULT_MIN_MS, Backoff::DEFAULT_MAX_MS)
    }
}

impl Backoff {
    /// The shortest delay by default: 1 s.
    pub const DEFAULT_MIN_MS: u64 = 1_000;
    /// The longest delay by default: 60 s.
    pub const DEFAULT_MAX_MS: u64 = 60_000;

    /// Delays from `min_ms` (at least 1 ms) up to `max_ms` (at least `min_ms`).
    pub fn new(min_ms: u64, max_ms: u64) -> Self {
        let min_ms = min_ms.max(1);
        Backoff {
            min_ms,
            max_ms: max_ms.max(min_ms),
            attempt: 0,
        }
    }

    /// The delay before the next attempt, in ms, and count the attempt.
    /// `random` is a number in `0.0..1.0` from the caller (values outside are
    /// clamped, NaN counts as 0). The result lies between half the current
    /// ceiling and the ceiling, and within `min_ms..=max_ms`.
    pub fn next_delay(&mut self, random: f64) -> u64 {
        let ceiling = self.ceiling();
        let random = if random.is_nan() {
            0.0
        } else {
            random.clamp(0.0, 1.0)
        };
        let fixed = ceiling - ceiling / 2;
        let jitter = ((ceiling / 2) as f64 * random) as u64;
        self.attempt = self.attempt.saturating_add(1);
        (fixed + jitter).clamp(self.min_ms, self.max_ms)
    }

    /// Start again from the shortest delay (call after a successful connect).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// How many delays have been handed out since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// `min_ms` doubled once per attempt so far, capped at `max_ms`.
    fn ceiling(&self) -> u64 {
        let factor = 1u64.checked_shl(self.attempt.min(63)).unwrap_or(u64::MAX);
        self.min_ms.saturating_mul(factor).min(self.max_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_delay_is_the_minimum_whatever_the_randomness() {
        for random in [0.0, 0.5, 0.999] {
            assert_eq!(Backoff::default().next_delay(random), 1_000);
        }
    }

    #[test]
    fn the_ceiling_doubles_with_each_attempt() {
        let mut backoff = Backoff::default();
        let tops: Vec<u64> = (0..7).map(|_| backoff.next_delay(1.0)).collect();
        assert_eq!(tops, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000]);
    }

    #[test]
    fn jitter_keeps_each_delay_between_half_the_ceiling_and_the_ceiling() {
        let mut low = Backoff::default();
        let mut mid = Backoff::default();
        for _ in 0..4 {
            low.next_delay(0.0);
            mid.next_delay(0.5);
        }
        // Fifth attempt: ceiling 16 s.
        assert_eq!(low.next_delay(0.0), 8_000);
        assert_eq!(mid.next_delay(0.5), 12_000);
    }

    #[test]
    fn delays_never_exceed_the_maximum_even_after_many_attempts() {
        let mut backoff = Backoff::default();
        for _ in 0..200 {
            assert!(backoff.next_delay(0.999) <= 60_000);
        }
        assert_eq!(backoff.attempt(), 200);
        assert_eq!(backoff.next_delay(1.0), 60_000);
    }

    #[test]
    fn reset_starts_again_from_the_minimum() {
        let mut backoff = Backoff::default();
        for _ in 0..5 {
            backoff.next_delay(0.7);
        }
        backoff.reset();
        assert_eq!(backoff.attempt(), 0);
        assert_eq!(backoff.next_delay(0.7), 1_000);
    }

    #[test]
    fn out_of_range_or_nan_randomness_is_clamped() {
        let mut a = Backoff::default();
        let mut b = Backoff::default();
        a.next_delay(0.0);
        b.next_delay(0.0);
        assert_eq!(a.next_delay(f64::NAN), 1_000);
        assert_eq!(b.next_delay(7.0), 2_000);
    }

    #[test]
    fn a_maximum_below_the_minimum_is_raised_to_it() {
        let mut backoff = Backoff::new(5_000, 10);
        assert_eq!(backoff.next_delay(0.3), 5_000);
        assert_eq!(backoff.next_delay(0.3), 5_000);
    }
}
