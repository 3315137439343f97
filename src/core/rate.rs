//! Messages per second, counted in whole-second buckets of caller-supplied time.

use crate::core::time::Millis;

/// Counts events and reports how many happened in the last complete second.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rate {
    total: u64,
    second: u64,
    in_second: u64,
    last_second: u64,
}

impl Rate {
    /// Record `n` events at `now`.
    pub fn add(&mut self, now: Millis, n: u64) {
        self.roll(now);
        self.in_second += n;
        self.total += n;
    }

    /// Events in the last complete second before `now`. Reading changes
    /// nothing (a view may call it while it renders).
    pub fn per_second(&self, now: Millis) -> u64 {
        let second = now.0 / 1000;
        if second == self.second {
            self.last_second
        } else if second == self.second + 1 {
            self.in_second
        } else {
            0
        }
    }

    /// All events ever recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    fn roll(&mut self, now: Millis) {
        let second = now.0 / 1000;
        if second == self.second {
            return;
        }
        self.last_second = if second == self.second + 1 {
            self.in_second
        } else {
            0
        };
        self.in_second = 0;
        self.second = second;
    }
}

#[cfg(test)]
mod tests {
    use super::Rate;
    use crate::core::time::Millis;

    #[test]
    fn reports_the_count_of_the_last_whole_second() {
        let mut rate = Rate::default();
        rate.add(Millis(1_000), 3);
        rate.add(Millis(1_900), 2);
        assert_eq!(rate.per_second(Millis(2_100)), 5);
        assert_eq!(rate.per_second(Millis(3_100)), 0);
        assert_eq!(rate.total(), 5);
    }

    #[test]
    fn a_gap_of_several_seconds_reads_as_zero() {
        let mut rate = Rate::default();
        rate.add(Millis(1_000), 7);
        assert_eq!(rate.per_second(Millis(5_000)), 0);
    }
}
