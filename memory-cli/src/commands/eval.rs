//! `memory eval DATASET [--k 5,10] [--embedder NAME] [--fusion rrf|blend] [--json]`: measures
//! retrieval quality on a labelled dataset and prints a table (or JSON), with a progress bar
//! on stderr while it ingests and queries.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use memory_engine::EmbedderSpec;
use memory_engine::Fusion;
use memory_engine::eval::{self, EvalOptions, EvalPhase, EvalProgress, EvalReport, Metrics};

use crate::args::EvalArgs;
use crate::error::{CliError, Status};

/// The text weight of `--fusion blend` without `--text-weight`: neither side favoured.
const DEFAULT_TEXT_WEIGHT: f32 = 0.5;
/// The RRF constant when the default fusion is not RRF; the customary value.
const DEFAULT_RRF_K: f32 = 60.0;

/// Runs the evaluation and prints its report.
pub fn run(args: &EvalArgs, out: &mut dyn Write) -> Result<Status, CliError> {
    let ks = parse_ks(&args.ks)?;
    let fusion = parse_fusion(args)?;
    let embedder = EmbedderSpec::parse(&args.embedder, &args.models_dir)
        .map_err(|e| CliError::invalid_input(format!("--embedder: {}", e.message())))?;
    let options = EvalOptions { ks, embedder, fusion, index_dir: args.index_dir.clone() };
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
    // The engine sorts them; no further rules here.
    eval::normalized_ks(&ks).map_err(|_| bad())
}

/// `--fusion`, `--rrf-k` and `--text-weight` as one [`Fusion`]; a parameter of the other kind
/// is an error rather than silently ignored.
fn parse_fusion(args: &EvalArgs) -> Result<Fusion, CliError> {
    let default = Fusion::default();
    let blend = match args.fusion.as_deref().map(str::trim) {
        None => matches!(default, Fusion::Blend { .. }),
        Some("rrf") => false,
        Some("blend") => true,
        Some(other) => {
            return Err(CliError::invalid_input(format!("--fusion: expected rrf or blend, got {other:?}")));
        }
    };
    if blend {
        if args.rrf_k.is_some() {
            return Err(CliError::invalid_input("--rrf-k: only applies to --fusion rrf"));
        }
        let text_weight = match &args.text_weight {
            Some(text) => parse_number(text, "--text-weight", |w| (0.0..=1.0).contains(&w), "a number in 0..=1")?,
            None => match default {
                Fusion::Blend { text_weight } => text_weight,
                Fusion::Rrf { .. } => DEFAULT_TEXT_WEIGHT,
            },
        };
        Ok(Fusion::Blend { text_weight })
    } else {
        if args.text_weight.is_some() {
            return Err(CliError::invalid_input("--text-weight: only applies to --fusion blend"));
        }
        let k = match &args.rrf_k {
            Some(text) => parse_number(text, "--rrf-k", |k| k >= 0.0, "a number of at least 0")?,
            None => match default {
                Fusion::Rrf { k } => k,
                Fusion::Blend { .. } => DEFAULT_RRF_K,
            },
        };
        Ok(Fusion::Rrf { k })
    }
}

/// A finite number accepted by `ok`, or an error naming `flag` and `expected`.
fn parse_number(text: &str, flag: &str, ok: impl Fn(f32) -> bool, expected: &str) -> Result<f32, CliError> {
    text.trim()
        .parse::<f32>()
        .ok()
        .filter(|x| x.is_finite() && ok(*x))
        .ok_or_else(|| CliError::invalid_input(format!("{flag}: expected {expected}, got {text:?}")))
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
        "queries   {}, latency p50 {:.2} ms, p95 {:.2} ms (embedding + search)",
        report.queries, report.query_ms_p50, report.query_ms_p95
    )?;
    Ok(())
}
