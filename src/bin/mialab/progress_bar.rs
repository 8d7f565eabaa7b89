//! A terminal progress bar for the library's progress updates; hidden when stderr is not
//! a terminal so that logs and CI output stay clean.

use indicatif::{ProgressBar, ProgressStyle};
use mialab::progress::{Progress, ProgressSink};
use std::io::IsTerminal;

pub struct TerminalProgress {
    bar: ProgressBar,
    step: String,
}

impl TerminalProgress {
    pub fn new(quiet: bool) -> TerminalProgress {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        TerminalProgress {
            bar,
            step: String::new(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl ProgressSink for TerminalProgress {
    fn update(&mut self, p: Progress<'_>) {
        if self.step != p.step || p.done < self.bar.position() as usize {
            self.step = p.step.to_string();
            self.bar.set_message(self.step.clone());
            self.bar.reset();
        }
        self.bar.set_length(p.total as u64);
        self.bar.set_position(p.done as u64);
    }
}
