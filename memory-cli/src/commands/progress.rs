//! The progress bar of a long engine operation (export, import, reindex, consolidate,
//! maintain), drawn on stderr for a person watching: never into a pipe or a log, never around
//! JSON.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether a bar may be drawn: not with `--json`, and only when stderr is a terminal.
pub fn visible(json: bool) -> bool {
    !json && std::io::stderr().is_terminal()
}

/// A count of things done (memories, episodes, job runs), out of `total` when it is known;
/// nothing when hidden.
#[derive(Debug)]
pub struct CountBar {
    bar: Option<ProgressBar>,
    unit: &'static str,
}

impl CountBar {
    /// A bar of memories labelled `prefix`, drawn only when `visible`.
    pub fn new(visible: bool, prefix: &'static str, total: Option<u64>) -> Self {
        CountBar::counting(visible, prefix, "memories", total)
    }

    /// A bar of `unit` (a plural noun) labelled `prefix`, drawn only when `visible`.
    pub fn counting(visible: bool, prefix: &'static str, unit: &'static str, total: Option<u64>) -> Self {
        if !visible {
            return CountBar { bar: None, unit };
        }
        let counter = CountBar { bar: Some(ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr())), unit };
        counter.style(total.is_some());
        if let Some(bar) = &counter.bar {
            bar.set_prefix(prefix);
        }
        if total.is_none() {
            // Keeps the spinner turning while the engine reads before it reports.
            if let Some(bar) = &counter.bar {
                bar.enable_steady_tick(Duration::from_millis(120));
            }
        }
        counter
    }

    fn style(&self, known: bool) {
        let Some(bar) = &self.bar else { return };
        let template = if known {
            format!("{{prefix:>9}} [{{bar:40}}] {{pos}}/{{len}} {} ({{elapsed}})", self.unit)
        } else {
            format!("{{prefix:>9}} {{spinner}} {{pos}} {} ({{elapsed}})", self.unit)
        };
        bar.set_style(ProgressStyle::with_template(&template).expect("the template is valid").progress_chars("=> "));
    }

    /// Sets the total once it is known (the bar stops spinning and fills instead).
    pub fn set_total(&self, total: u64) {
        if let Some(bar) = &self.bar
            && bar.length() != Some(total)
        {
            bar.disable_steady_tick();
            bar.set_length(total);
            self.style(true);
        }
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
