//! A run's figures per second since its start, and PUBACK latency
//! percentiles (nearest rank over every acknowledged publish), kept in
//! histograms so that a run of any length takes bounded memory.

use hdrhistogram::Histogram;
use serde::Serialize;

/// The percentile `q` (0..=100) of `sorted` by nearest rank; `None` when
/// empty.
pub fn percentile(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// p50, p95, p99 and the largest of `samples`, in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// Median.
    pub p50: Option<u32>,
    /// 95th percentile.
    pub p95: Option<u32>,
    /// 99th percentile.
    pub p99: Option<u32>,
    /// The largest.
    pub max: Option<u32>,
    /// The mean, rounded.
    pub mean: Option<u32>,
    /// How many publishes were measured.
    pub samples: usize,
}

impl Latency {
    /// The percentiles of `samples`.
    pub fn of(samples: &[u32]) -> Latency {
        let mut all = Latencies::default();
        for &s in samples {
            all.record(s);
        }
        all.summary()
    }
}

/// Latencies recorded one by one, as a histogram (HdrHistogram, 3
/// significant digits: exact up to 2 047 ms, within 0.1 % above), so memory
/// does not grow with the number of publishes: a run of a day at thousands
/// of publishes a second keeps kilobytes, not a sample each. The mean is
/// exact.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
    sum: u64,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            // Auto-resizing: it grows with the largest latency seen (about
            // 57 KiB for 100 s), never with the count.
            histogram: Histogram::new(3).unwrap_or_else(|_| unreachable!("3 digits are valid")),
            sum: 0,
        }
    }
}

impl Latencies {
    /// Record one latency, in ms.
    pub fn record(&mut self, ms: u32) {
        let ms64 = u64::from(ms);
        // It grows to take any u32; should it not, the largest it takes.
        if self.histogram.record(ms64).is_err() {
            self.histogram.saturating_record(ms64);
        }
        self.sum += ms64;
    }

    /// How many were recorded.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// Whether none was recorded.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// Their percentiles, largest and mean.
    pub fn summary(&self) -> Latency {
        if self.is_empty() {
            return Latency::default();
        }
        let n = self.histogram.len();
        let at = |q: f64| Some(self.histogram.value_at_quantile(q).min(u32::MAX as u64) as u32);
        Latency {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: Some(self.histogram.max().min(u32::MAX as u64) as u32),
            mean: Some((self.sum as f64 / n as f64).round() as u32),
            samples: n as usize,
        }
    }
}

/// One second of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Second {
    /// Seconds since the run started.
    pub second: u64,
    /// Data points handed to the gateway.
    pub sent_points: u64,
    /// Data points the server acknowledged.
    pub acked_points: u64,
    /// Data points the server refused (error PUBACK after the retries).
    pub rejected_points: u64,
    /// Data points of publishes never acknowledged in time.
    pub timed_out_points: u64,
    /// Batches the gateway refused (e.g. the outbox was full).
    pub errors: u64,
    /// The most messages seen waiting in the outbox.
    pub outbox: usize,
    /// Milliseconds spent with messages held back by the session limits.
    pub limit_wait_ms: u64,
    /// PUBACK latency of the publishes acknowledged in this second.
    pub latency: Latency,
}

/// What is measured per second, as it comes in. The latencies of the
/// second that is going on are kept in a histogram; a second that is over
/// keeps only its percentiles.
#[derive(Debug, Clone, Default)]
pub struct Series {
    seconds: Vec<Second>,
    /// The second latencies are recorded for now, and their histogram.
    current: Option<(usize, Latencies)>,
}

/// The most seconds kept (a day).
const MAX_SECONDS: u64 = 86_400;

impl Series {
    /// The second at `ms` since the start, created (with the seconds
    /// before it) if new.
    pub fn at(&mut self, ms: u64) -> &mut Second {
        let second = (ms / 1000).min(MAX_SECONDS);
        while self.seconds.len() as u64 <= second {
            let next = self.seconds.len() as u64;
            self.seconds.push(Second {
                second: next,
                ..Second::default()
            });
        }
        &mut self.seconds[second as usize]
    }

    /// Record one acknowledgement's latency at `ms` since the start (`ms`
    /// never goes back; one that did would count in the second going on).
    pub fn latency(&mut self, ms: u64, latency_ms: u32) {
        self.at(ms);
        let second = (ms / 1000).min(MAX_SECONDS) as usize;
        match &mut self.current {
            Some((current, latencies)) if *current >= second => latencies.record(latency_ms),
            _ => {
                // A new second: the one before keeps its percentiles only.
                if let Some((done, latencies)) = self.current.take() {
                    self.seconds[done].latency = latencies.summary();
                }
                let mut latencies = Latencies::default();
                latencies.record(latency_ms);
                self.current = Some((second, latencies));
            }
        }
    }

    /// Every second so far, each with its latency percentiles.
    pub fn seconds(&self) -> Vec<Second> {
        let mut seconds = self.seconds.clone();
        if let Some((current, latencies)) = &self.current {
            seconds[*current].latency = latencies.summary();
        }
        seconds
    }

    /// The last `n` seconds (for live sparklines), without latency.
    pub fn recent(&self, n: usize) -> &[Second] {
        &self.seconds[self.seconds.len().saturating_sub(n)..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let samples: Vec<u32> = (1..=100).rev().collect();
        let l = Latency::of(&samples);
        assert_eq!(
            (l.p50, l.p95, l.p99, l.max),
            (Some(50), Some(95), Some(99), Some(100))
        );
        assert_eq!(l.mean, Some(51));
        assert_eq!(Latency::of(&[7]).p99, Some(7));
        assert_eq!(Latency::of(&[]), Latency::default());
    }

    #[test]
    fn seconds_are_made_as_time_passes_and_keep_their_latencies() {
        let mut s = Series::default();
        s.latency(400, 5);
        s.at(2_500).sent_points += 3;
        s.latency(2_600, 40);
        s.latency(2_700, 20);
        let rows = s.seconds();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].sent_points, 3);
        assert_eq!(rows[2].latency.p50, Some(20));
        assert_eq!(rows[0].latency.max, Some(5));
        assert_eq!(rows[1].latency.samples, 0);
        assert_eq!(s.recent(2).len(), 2);
        s.latency(3_100, 7);
        assert_eq!(s.seconds()[2].latency.samples, 2, "second 2 is kept");
        assert_eq!(s.seconds()[3].latency.max, Some(7));
    }

    #[test]
    fn latencies_take_bounded_memory_and_keep_their_percentiles() {
        let mut all = Latencies::default();
        // A million publishes between 1 ms and 10 s.
        for n in 0..1_000_000u32 {
            all.record(1 + ((u64::from(n) * 7_919) % 10_000) as u32);
        }
        let l = all.summary();
        assert_eq!(l.samples, 1_000_000);
        // Within HdrHistogram's 0.1 % of the exact nearest-rank figures.
        let near = |got: Option<u32>, exact: f64| {
            let got = f64::from(got.unwrap());
            (got - exact).abs() <= exact * 0.001 + 1.0
        };
        assert!(near(l.p50, 5_000.0), "{l:?}");
        assert!(near(l.p99, 9_900.0), "{l:?}");
        assert!(near(l.max, 10_000.0), "{l:?}");
        assert_eq!(l.mean, Some(5_001));
        // What it holds does not grow with the count.
        let size = std::mem::size_of::<u64>() * all.histogram.distinct_values();
        assert!(size < 64 * 1024, "{size} bytes");
    }
}
