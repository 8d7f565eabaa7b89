//! Progress reporting for long steps, independent of how it is shown (a terminal bar in the
//! CLI, a message to the page from a Web Worker).

/// One update: `done` of `total` units of the named step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    pub step: &'a str,
    pub done: usize,
    pub total: usize,
}

/// Receives progress updates. Closures work: `&mut |p: Progress| ...`.
pub trait ProgressSink {
    fn update(&mut self, progress: Progress<'_>);
}

impl<F: FnMut(Progress<'_>)> ProgressSink for F {
    fn update(&mut self, progress: Progress<'_>) {
        self(progress)
    }
}

/// A sink that drops every update.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn update(&mut self, _: Progress<'_>) {}
}
