//! A run's figures per second since its start, and PUBACK latency
//! percentiles (nearest rank over every acknowledged publish).

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
    /// The percentiles of `samples` (sorted here).
    pub fn of(samples: &[u32]) -> Latency {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let mean = (!sorted.is_empty()).then(|| {
            let sum: u64 = sorted.iter().map(|&s| s as u64).sum();
            (sum as f64 / sorted.len() as f64).round() as u32
        });
        Latency {
            p50: percentile(&sorted, 50.0),
            p95: percentile(&sorted, 95.0),
            p99: percentile(&sorted, 99.0),
            max: sorted.last().copied(),
            mean,
            samples: sorted.len(),
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

/// What is measured per second, as it comes in.
#[derive(Debug, Clone, Default)]
pub struct Series {
    seconds: Vec<Second>,
    latencies: Vec<Vec<u32>>,
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
            self.latencies.push(Vec::new());
        }
        &mut self.seconds[second as usize]
    }

    /// Record one acknowledgement's latency at `ms` since the start.
    pub fn latency(&mut self, ms: u64, latency_ms: u32) {
        self.at(ms);
        let second = (ms / 1000).min(MAX_SECONDS) as usize;
        self.latencies[second].push(latency_ms);
    }

    /// Every second so far, each with its latency percentiles.
    pub fn seconds(&self) -> Vec<Second> {
        self.seconds
            .iter()
            .zip(&self.latencies)
            .map(|(s, l)| Second {
                latency: Latency::of(l),
                ..s.clone()
            })
            .collect()
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
        s.at(2_500).sent_points += 3;
        s.latency(2_600, 40);
        s.latency(2_700, 20);
        s.latency(400, 5);
        let rows = s.seconds();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].sent_points, 3);
        assert_eq!(rows[2].latency.p50, Some(20));
        assert_eq!(rows[0].latency.max, Some(5));
        assert_eq!(rows[1].latency.samples, 0);
        assert_eq!(s.recent(2).len(), 2);
    }
}
