//! Time as the caller tells it. The core never reads a clock (`std::time::Instant`
//! panics on wasm32): every method that needs the time takes a [`Millis`].

use std::ops::{Add, Sub};

/// A point in time, in milliseconds since an epoch the caller chooses
/// (`performance.now()` in the browser, a counter in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// The time `ms` milliseconds after this one.
    pub fn after_ms(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
    /// Milliseconds from `earlier` to `self`, 0 if `earlier` is later.
    pub fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<u64> for Millis {
    type Output = Millis;
    fn add(self, ms: u64) -> Millis {
        self.after_ms(ms)
    }
}

impl Sub for Millis {
    type Output = u64;
    fn sub(self, earlier: Millis) -> u64 {
        self.since(earlier)
    }
}
