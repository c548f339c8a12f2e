//! `memory eval DATASET [--k 5,10] [--embedder NAME] [--index-dir DIR] [--json]`: measures
//! what the engine's recall finds on a labelled dataset and prints a table (or JSON), with a
//! progress bar on stderr while it remembers and recalls.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use memory_engine::EmbedderSpec;
use memory_engine::eval::{self, EvalOptions, EvalPhase, EvalProgress, EvalReport, Metrics};

use crate::args::EvalArgs;
use crate::error::{CliError, Status};

/// Runs the evaluation and prints its report.
pub fn run(args: &EvalArgs, out: &mut dyn Write) -> Result<Status, CliError> {
    let ks = parse_ks(&args.ks)?;
    let embedder = EmbedderSpec::parse(&args.embedder, &args.models_dir)
        .map_err(|e| CliError::invalid_input(format!("--embedder: {}", e.message())))?;
    let options = EvalOptions { ks, embedder, index_dir: args.index_dir.clone() };
    // Drawn only for a person watching: never into a pipe or a log, never around JSON.
    let mut bar = PhaseBar::new(!args.json && std::io::stderr().is_terminal());
    let result = eval::run(&args.dataset, &options, &mut |p| bar.update(p));
    bar.clear();
    let report = result?;
    if args.json {
        super::write_json(out, &report)?;
    } else {
        write_table(out, &report)?;
    }
    Ok(Status::Success)
}

/// `--k 5,10,20` as numbers.
fn parse_ks(text: &str) -> Result<Vec<usize>, CliError> {
    let bad =
        || CliError::invalid_input(format!("--k: expected comma-separated whole numbers of at least 1, got {text:?}"));
    let ks = text
        .split(',')
        .map(|part| part.trim().parse::<usize>().ok().filter(|&k| k >= 1).ok_or_else(bad))
        .collect::<Result<Vec<_>, _>>()?;
    // The engine sorts them and knows the largest a recall allows.
    eval::normalized_ks(&ks).map_err(|e| CliError::invalid_input(format!("--k: {}", e.message())))
}

/// The progress bar of the current phase, or nothing when hidden.
#[derive(Debug)]
struct PhaseBar {
    visible: bool,
    bar: Option<ProgressBar>,
}

impl PhaseBar {
    fn new(visible: bool) -> Self {
        PhaseBar { visible, bar: None }
    }

    fn update(&mut self, progress: EvalProgress) {
        if !self.visible {
            return;
        }
        match progress {
            EvalProgress::Started { phase, total } => {
                self.clear();
                let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template("{prefix:>9} [{bar:40}] {pos}/{len} ({elapsed})")
                    .expect("the template is valid")
                    .progress_chars("=> ");
                bar.set_style(style);
                bar.set_prefix(match phase {
                    EvalPhase::Ingest => "ingesting",
                    EvalPhase::Query => "querying",
                });
                self.bar = Some(bar);
            }
            EvalProgress::Advanced { done, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(done as u64);
                }
            }
            EvalProgress::Finished { .. } => self.clear(),
            // The report names the embedder; nothing to draw before the first phase.
            EvalProgress::Ready { .. } => {}
        }
    }

    /// Removes the bar, so the report (or the error line) starts on a clean line.
    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The human-readable report: a header, one metrics row overall and per category, and the
/// size and timing lines.
fn write_table(out: &mut dyn Write, report: &EvalReport) -> Result<(), CliError> {
    let e = &report.embedder;
    writeln!(out, "embedder  {} ({} dimensions): {}", e.model_id, e.dimension, e.why)?;
    writeln!(out, "fusion    {}", report.fusion)?;
    writeln!(out)?;

    let width = report.by_category.keys().map(String::len).max().unwrap_or(0).max("category".len());
    let mut header = format!("{:<width$}  {:>7}", "category", "queries");
    for k in report.overall.ks() {
        header += &format!("  {:>9}  {:>6}", format!("recall@{k}"), format!("hit@{k}"));
    }
    header += &format!("  {:>5}", "MRR");
    writeln!(out, "{header}")?;
    let row = |name: &str, m: &Metrics| {
        let mut line = format!("{name:<width$}  {:>7}", m.queries());
        for &k in m.ks() {
            let recall = m.recall_at(k).unwrap_or_default();
            let hit = m.hit_at(k).unwrap_or_default();
            line += &format!("  {:>9}  {:>6}", format!("{recall:.3}"), format!("{hit:.3}"));
        }
        line + &format!("  {:>5}", format!("{:.3}", m.mrr()))
    };
    writeln!(out, "{}", row("overall", &report.overall))?;
    for (category, metrics) in &report.by_category {
        writeln!(out, "{}", row(category, metrics))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "memories  {} in {} collections, ingested in {:.2} s",
        report.memories, report.collections, report.ingest_s
    )?;
    writeln!(
        out,
        "queries   {}, latency p50 {:.2} ms, p95 {:.2} ms (a whole recall)",
        report.queries, report.query_ms_p50, report.query_ms_p95
    )?;
    Ok(())
}
