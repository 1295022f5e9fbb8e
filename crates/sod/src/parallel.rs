//! Splitting work over the cores with scoped threads (no runtime, no pool).

use std::ops::Range;

/// How many threads to use: the available cores, at most 8.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// Below this many items one thread does it all: spawning costs more.
const SMALL: usize = 4096;

/// `work` over `0..n` split into contiguous ranges, one per thread; the
/// results concatenated in range order. A panic in a worker is re-raised.
pub(crate) fn map_ranges<T: Send>(
    n: usize,
    work: impl Fn(Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let threads = if n < SMALL { 1 } else { threads() };
    if threads == 1 {
        return work(0..n);
    }
    let chunk = n.div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let range = (i * chunk).min(n)..((i + 1) * chunk).min(n);
                scope.spawn(move || work(range))
            })
            .collect();
        let mut out = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        out
    })
}
