//! Splitting a tick's work into slices that keep the main thread free.
//!
//! A simulator tick or a load-test tick can mean tens of thousands of data
//! points to generate, encode and write; done in one go, it is a long task
//! (over 50 ms) that freezes the page. Instead the caller works in slices:
//! each slice does chunks of work until its time budget is spent, then
//! yields to the browser (input, rendering, socket events) and goes on in
//! the next task. [`Pacer`] decides how many items the next chunk takes, from
//! the cost per item it has measured, so a chunk fits well inside the
//! budget whatever the payload's size; [`Slice`] says when a slice's time is
//! up. Both are pure: the time is handed in, in ms.

/// The time budget of one slice, in ms: well under the 50 ms of a long
/// task, and short enough that a frame (16.7 ms at 60 Hz) still gets its
/// turn between slices.
pub const SLICE_BUDGET_MS: f64 = 8.0;

/// What one chunk aims to cost, in ms: a fraction of the slice's budget,
/// so a slice rarely overruns it by more than one chunk.
pub const CHUNK_TARGET_MS: f64 = 2.0;

/// Sizes chunks of work from the measured cost per item.
#[derive(Debug, Clone, PartialEq)]
pub struct Pacer {
    /// The ms per item measured so far (a moving average).
    per_item_ms: Option<f64>,
    /// The target cost of a chunk, ms.
    target_ms: f64,
    /// The fewest and most items in a chunk.
    min: usize,
    max: usize,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new(CHUNK_TARGET_MS, 1, 5_000)
    }
}

impl Pacer {
    /// A pacer aiming at chunks of `target_ms`, of `min..=max` items.
    pub fn new(target_ms: f64, min: usize, max: usize) -> Self {
        let min = min.max(1);
        Pacer {
            per_item_ms: None,
            target_ms,
            min,
            max: max.max(min),
        }
    }

    /// How many items the next chunk takes: before anything is measured,
    /// the fewest, so the first chunk cannot be long.
    pub fn chunk(&self) -> usize {
        match self.per_item_ms {
            None => self.min,
            Some(per) if per <= 0.0 => self.max,
            Some(per) => ((self.target_ms / per).floor() as usize).clamp(self.min, self.max),
        }
    }

    /// A chunk of `items` took `ms`.
    pub fn record(&mut self, items: usize, ms: f64) {
        if items == 0 || !ms.is_finite() || ms < 0.0 {
            return;
        }
        let per = ms / items as f64;
        self.per_item_ms = Some(match self.per_item_ms {
            None => per,
            // Rises at once (a slow chunk must not be repeated), falls slowly.
            Some(old) if per > old => per,
            Some(old) => old * 0.75 + per * 0.25,
        });
    }
}

/// One slice: started at a time, with a budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slice {
    started_ms: f64,
    budget_ms: f64,
}

impl Slice {
    /// A slice starting at `now_ms` with `budget_ms`.
    pub fn new(now_ms: f64, budget_ms: f64) -> Self {
        Slice {
            started_ms: now_ms,
            budget_ms,
        }
    }

    /// Whether another chunk may start at `now_ms`.
    pub fn has_time(&self, now_ms: f64) -> bool {
        now_ms - self.started_ms < self.budget_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_chunk_is_the_smallest_then_chunks_fit_the_target() {
        let mut p = Pacer::new(2.0, 10, 1_000);
        assert_eq!(p.chunk(), 10);
        p.record(10, 0.5); // 0.05 ms per item: 40 fit in 2 ms
        assert_eq!(p.chunk(), 40);
    }

    #[test]
    fn chunks_stay_within_their_bounds() {
        let mut p = Pacer::new(2.0, 10, 100);
        p.record(10, 0.0);
        assert_eq!(p.chunk(), 100);
        let mut p = Pacer::new(2.0, 10, 100);
        p.record(10, 100.0); // 10 ms per item
        assert_eq!(p.chunk(), 10);
    }

    #[test]
    fn a_slow_chunk_shrinks_the_next_at_once_and_a_fast_one_grows_it_slowly() {
        let mut p = Pacer::new(2.0, 1, 10_000);
        p.record(100, 1.0); // 0.01 ms per item → 200
        assert_eq!(p.chunk(), 200);
        p.record(200, 8.0); // 0.04 → 50 at once
        assert_eq!(p.chunk(), 50);
        p.record(50, 0.5); // 0.01: the average falls to 0.0325 → 61
        assert_eq!(p.chunk(), 61);
    }

    #[test]
    fn nothing_measured_from_an_empty_or_nonsense_chunk() {
        let mut p = Pacer::new(2.0, 5, 100);
        p.record(0, 3.0);
        p.record(10, f64::NAN);
        p.record(10, -1.0);
        assert_eq!(p, Pacer::new(2.0, 5, 100));
    }

    #[test]
    fn a_slice_has_time_until_its_budget_is_spent() {
        let s = Slice::new(100.0, 8.0);
        assert!(s.has_time(100.0));
        assert!(s.has_time(107.9));
        assert!(!s.has_time(108.0));
    }
}
