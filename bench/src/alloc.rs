//! A counting global allocator: [`System`] plus a few relaxed atomics.
//!
//! Counting is off by default, so the timed rounds pay one relaxed load per
//! allocation and nothing else. [`measure`] switches it on around one closure
//! and reports what that closure allocated. The process is single-threaded
//! while measuring, so the figures belong to the closure alone.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering::Relaxed};

/// The process's allocator: [`System`], counting while [`measure`] runs.
pub struct Counting;

static ENABLED: AtomicBool = AtomicBool::new(false);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static CALLS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

impl Counting {
    /// Record a new block of `size` bytes (or a block grown or shrunk by `delta`).
    fn record(size: usize, delta: isize) {
        if !ENABLED.load(Relaxed) {
            return;
        }
        ALLOCATED.fetch_add(size as u64, Relaxed);
        CALLS.fetch_add(1, Relaxed);
        let live = LIVE.fetch_add(delta, Relaxed) + delta;
        PEAK.fetch_max(live, Relaxed);
    }

    /// Record a freed block of `size` bytes.
    fn release(size: usize) {
        if ENABLED.load(Relaxed) {
            LIVE.fetch_sub(size as isize, Relaxed);
        }
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters have
// no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::record(layout.size(), layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::record(layout.size(), layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Self::release(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::record(new_size, new_size as isize - layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What one closure allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bytes requested from the allocator (a `realloc` counts its new size).
    pub allocated: u64,
    /// Calls to `alloc`, `alloc_zeroed` and `realloc`.
    pub calls: u64,
    /// The most bytes live at once above what was live when it started.
    pub peak_live: isize,
    /// Bytes still live when it returned (0 when it cleaned up after itself).
    pub live_after: isize,
}

/// Run `f` with counting on and return its result and what it allocated.
///
/// Not reentrant, and only meaningful while no other thread allocates.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    ALLOCATED.store(0, Relaxed);
    CALLS.store(0, Relaxed);
    LIVE.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    ENABLED.store(true, Relaxed);
    let result = f();
    ENABLED.store(false, Relaxed);
    let usage = Usage {
        allocated: ALLOCATED.load(Relaxed),
        calls: CALLS.load(Relaxed),
        peak_live: PEAK.load(Relaxed),
        live_after: LIVE.load(Relaxed),
    };
    (result, usage)
}
