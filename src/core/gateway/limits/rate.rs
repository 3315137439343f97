//! ThingsBoard's rate limits: `"10:1,300:60"` means at most 10 per second
//! and 300 per minute, all windows at once. Each window is a token bucket
//! with greedy refill (bucket4j's `Bandwidth.simple`, which ThingsBoard
//! uses): capacity `count`, refilled continuously at `count` per `seconds`.

use crate::core::time::Millis;

/// One `count:seconds` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Tokens the bucket holds when full.
    pub capacity: u64,
    /// Time to refill an empty bucket, in ms.
    pub period_ms: u64,
}

/// A rate limit: every window must have room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    windows: Vec<Window>,
}

impl RateLimit {
    /// Parses ThingsBoard's `count:seconds[,count:seconds…]`. Errors name
    /// the part that is wrong.
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let mut windows = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (count, seconds) = part
                .split_once(':')
                .ok_or_else(|| format!("{part:?} is not count:seconds"))?;
            let capacity: u64 = count
                .trim()
                .parse()
                .map_err(|_| format!("{count:?} in {part:?} is not a whole number"))?;
            let seconds: u64 = seconds
                .trim()
                .parse()
                .map_err(|_| format!("{seconds:?} in {part:?} is not a whole number of seconds"))?;
            if capacity == 0 || seconds == 0 {
                return Err(format!("{part:?}: count and seconds must be above 0"));
            }
            windows.push(Window {
                capacity,
                period_ms: seconds.saturating_mul(1000),
            });
        }
        if windows.is_empty() {
            return Err(format!("{text:?} has no count:seconds window"));
        }
        Ok(RateLimit { windows })
    }

    /// The same limit with every count scaled by `factor` (rounded down,
    /// at least 1): the gateway keeps to 80 % of the server's limits, as
    /// ThingsBoard's SDK does, so clock drift and bursts stay inside.
    pub fn scaled(&self, factor: f64) -> RateLimit {
        RateLimit {
            windows: self
                .windows
                .iter()
                .map(|w| Window {
                    capacity: ((w.capacity as f64 * factor).floor() as u64).max(1),
                    period_ms: w.period_ms,
                })
                .collect(),
        }
    }

    /// The windows, as parsed.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The most one message may take at once (the smallest capacity).
    pub fn burst(&self) -> u64 {
        self.windows
            .iter()
            .map(|w| w.capacity)
            .min()
            .unwrap_or(u64::MAX)
    }
}

/// Token buckets for one [`RateLimit`], full at the start.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    buckets: Vec<(Window, f64)>,
    last: Option<Millis>,
}

impl Buckets {
    /// Full buckets for `limit`.
    pub fn new(limit: &RateLimit) -> Buckets {
        Buckets {
            buckets: limit
                .windows()
                .iter()
                .map(|w| (*w, w.capacity as f64))
                .collect(),
            last: None,
        }
    }

    /// The tokens of each bucket at `now` (refilled since the last take).
    fn levels(&self, now: Millis) -> impl Iterator<Item = (Window, f64)> + '_ {
        let elapsed = self.last.map_or(0, |last| now.since(last)) as f64;
        self.buckets.iter().map(move |(w, tokens)| {
            let rate = w.capacity as f64 / w.period_ms as f64;
            (*w, (*tokens + elapsed * rate).min(w.capacity as f64))
        })
    }

    /// When `n` tokens will be there in every bucket (`now` if they are).
    /// `n` above a bucket's capacity waits for that bucket to be full.
    pub fn ready_at(&self, now: Millis, n: u64) -> Millis {
        let mut wait_ms = 0u64;
        for (w, tokens) in self.levels(now) {
            let need = (n.min(w.capacity)) as f64;
            if tokens < need {
                let rate = w.capacity as f64 / w.period_ms as f64;
                wait_ms = wait_ms.max(((need - tokens) / rate).ceil() as u64);
            }
        }
        now.after_ms(wait_ms)
    }

    /// Take `n` tokens from every bucket (call when [`Buckets::ready_at`]
    /// is due; more than a bucket holds leaves it in debt).
    pub fn take(&mut self, now: Millis, n: u64) {
        let levels: Vec<f64> = self.levels(now).map(|(_, t)| t - n as f64).collect();
        for ((_, tokens), level) in self.buckets.iter_mut().zip(levels) {
            *tokens = level;
        }
        self.last = Some(self.last.map_or(now, |last| last.max(now)));
    }

    /// How full the fullest-used bucket is: 0 idle, 1 no room left.
    pub fn usage(&self, now: Millis) -> f64 {
        self.levels(now)
            .map(|(w, tokens)| 1.0 - (tokens / w.capacity as f64))
            .fold(0.0, f64::max)
            .clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thingsboard_rate_limit_strings_parse_into_windows() {
        let limit = RateLimit::parse("10:1, 300:60").unwrap();
        assert_eq!(
            limit.windows(),
            &[
                Window {
                    capacity: 10,
                    period_ms: 1_000
                },
                Window {
                    capacity: 300,
                    period_ms: 60_000
                }
            ]
        );
        assert_eq!(limit.burst(), 10);
    }

    #[test]
    fn malformed_rate_limits_are_refused_with_the_part_named() {
        for (text, part) in [
            ("10", "\"10\""),
            ("a:1", "\"a\""),
            ("10:0", "\"10:0\""),
            ("", "no count"),
        ] {
            let e = RateLimit::parse(text).unwrap_err();
            assert!(e.contains(part), "{text:?}: {e}");
        }
    }

    #[test]
    fn eighty_percent_of_a_limit_rounds_down_but_keeps_at_least_one() {
        let limit = RateLimit::parse("10:1,1:60").unwrap().scaled(0.8);
        assert_eq!(limit.windows()[0].capacity, 8);
        assert_eq!(limit.windows()[1].capacity, 1);
    }

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_refills_at_the_rate() {
        let mut b = Buckets::new(&RateLimit::parse("8:1").unwrap());
        let t = Millis(1_000);
        for _ in 0..8 {
            assert_eq!(b.ready_at(t, 1), t);
            b.take(t, 1);
        }
        assert_eq!(b.ready_at(t, 1), Millis(1_125), "one token per 125 ms");
        assert_eq!(b.ready_at(t, 4), Millis(1_500));
        assert_eq!(b.ready_at(Millis(1_125), 1), Millis(1_125));
    }

    #[test]
    fn every_window_must_have_room() {
        let mut b = Buckets::new(&RateLimit::parse("10:1,12:60").unwrap());
        let t = Millis(0);
        b.take(t, 10);
        // The minute window is nearly empty too: 2.2 left a second later,
        // refilled at one token per 5 s.
        assert_eq!(b.ready_at(Millis(1_000), 2), Millis(1_000));
        b.take(Millis(1_000), 2);
        assert_eq!(b.ready_at(Millis(1_000), 1), Millis(5_000));
    }

    #[test]
    fn more_than_a_bucket_holds_waits_for_a_full_bucket_and_leaves_a_debt() {
        let mut b = Buckets::new(&RateLimit::parse("100:1").unwrap());
        b.take(Millis(0), 50);
        assert_eq!(b.ready_at(Millis(0), 500), Millis(500));
        b.take(Millis(500), 500);
        assert_eq!(b.ready_at(Millis(500), 1), Millis(4_510));
        assert!(b.usage(Millis(500)) >= 1.0);
    }
}
