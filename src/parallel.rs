//! Work spread over every core natively (rayon's pool: all cores, or `--threads N`), and done
//! in order in the browser, where one Web Worker holds one wasm instance. Results are always
//! assembled in input order and no computation depends on which thread ran it, so every
//! output is bit for bit the same whatever the thread count.

/// `f` over every item, in parallel where there are threads; results in `items`' order.
pub fn map_ordered<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync + Send,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        items.par_iter().map(f).collect()
    }
    #[cfg(target_arch = "wasm32")]
    {
        items.iter().map(f).collect()
    }
}

/// How many items to hand out at once so that every thread has work between progress
/// reports: a few per thread.
pub fn chunk_size() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        4 * rayon::current_num_threads()
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_order_of_the_items() {
        let items: Vec<u64> = (0..1000).collect();
        let squares = super::map_ordered(&items, |&i| i * i);
        assert_eq!(squares, items.iter().map(|i| i * i).collect::<Vec<_>>());
    }
}
