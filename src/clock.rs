//! Seconds on a monotonic clock, natively and in the browser (where `std::time::Instant`
//! is not available on `wasm32-unknown-unknown`), for the timings a session reports.

/// Seconds since an arbitrary start; only differences mean anything.
#[cfg(not(target_arch = "wasm32"))]
pub fn seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Seconds since an arbitrary start; only differences mean anything.
#[cfg(target_arch = "wasm32")]
pub fn seconds() -> f64 {
    js_sys::Date::now() / 1000.0
}
