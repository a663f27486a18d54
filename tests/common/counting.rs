//! A counting global allocator for memory tests: live bytes, the peak since
//! the last reset and the largest single allocation, counted per thread so
//! that tests running in parallel do not see each other's allocations.
//! Include it with `#[path = "common/counting.rs"] mod counting;`.
#![allow(dead_code, reason = "each test file uses part of it")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts every allocation of the current thread.
pub struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn grew(by: usize) {
    let live = LIVE.with(|l| {
        let v = l.get() + by as isize;
        l.set(v);
        v
    });
    PEAK.with(|p| p.set(p.get().max(live)));
}

fn shrank(by: usize) {
    LIVE.with(|l| l.set(l.get() - by as isize));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters only observe sizes (const-initialised thread locals, which
// never allocate).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        LARGEST.with(|m| m.set(m.get().max(layout.size())));
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        LARGEST.with(|m| m.set(m.get().max(layout.size())));
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            shrank(layout.size() - new_size);
        }
        LARGEST.with(|m| m.set(m.get().max(new_size)));
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Live heap bytes of this thread.
pub fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Runs `f` and returns (its result, peak growth over the live bytes at the
/// start, largest single allocation made meanwhile).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let base = live();
    PEAK.with(|p| p.set(base));
    LARGEST.with(|m| m.set(0));
    let out = f();
    let peak = PEAK.with(Cell::get) - base;
    (out, peak.max(0) as usize, LARGEST.with(Cell::get))
}
