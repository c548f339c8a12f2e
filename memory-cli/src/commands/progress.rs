//! The progress bar of a long engine operation (export, import, reindex), drawn on stderr for a
//! person watching: never into a pipe or a log, never around JSON.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether a bar may be drawn: not with `--json`, and only when stderr is a terminal.
pub fn visible(json: bool) -> bool {
    !json && std::io::stderr().is_terminal()
}

/// A count of memories done, out of `total` when it is known; nothing when hidden.
#[derive(Debug)]
pub struct CountBar {
    bar: Option<ProgressBar>,
}

impl CountBar {
    /// A bar labelled `prefix`, drawn only when `visible`.
    pub fn new(visible: bool, prefix: &'static str, total: Option<u64>) -> Self {
        if !visible {
            return CountBar { bar: None };
        }
        let (bar, template) = match total {
            Some(total) => (
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
                "{prefix:>9} [{bar:40}] {pos}/{len} memories ({elapsed})",
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                "{prefix:>9} {spinner} {pos} memories ({elapsed})",
            ),
        };
        bar.set_style(ProgressStyle::with_template(template).expect("the template is valid").progress_chars("=> "));
        bar.set_prefix(prefix);
        if total.is_none() {
            // Keeps the spinner turning while the engine reads before it reports.
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        CountBar { bar: Some(bar) }
    }

    /// Moves the bar to `done`.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// Removes the bar, so the report (or the error line) starts on a clean line.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
