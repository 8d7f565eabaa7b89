//! What the peer benchmarks share: the best of a few timed runs on a pool of N threads.

use std::time::Instant;

/// Best `items` per second of `run` over `repeats` runs, on a pool of `threads`.
pub fn best_rate(threads: usize, repeats: usize, items: usize, run: impl Fn() + Sync) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    let best = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            pool.install(&run);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    items as f64 / best
}
