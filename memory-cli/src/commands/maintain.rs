//! `memory maintain [--status]`, as the operator: one maintenance cycle with a progress bar of
//! its job runs and a table of how each ended, or the latest record of every job.

use std::io::Write;

use memory_core::Job;
use memory_server::dto::{JobRunDto, MaintainBody};

use super::backend::Backend;
use super::home::Acting;
use super::parse;
use super::progress::{self, CountBar};
use crate::args::{GlobalArgs, MaintainArgs};
use crate::error::{CliError, Status, plural};

/// `memory maintain`: a failed run is a negative answer (exit 1).
pub fn run(
    args: &MaintainArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let namespace = args.namespace.as_deref().map(|n| parse::namespace("--namespace", n)).transpose()?;
    let namespace = namespace.map(|n| n.to_string());
    if args.status {
        let backend = Backend::open(global, Acting::Operator, err)?;
        let result = backend.maintenance_status(namespace.as_deref()).and_then(|list| {
            if global.json {
                super::write_json(out, &list)?;
            } else if list.runs.is_empty() {
                writeln!(out, "no maintenance has run yet")?;
            } else {
                write_runs(out, &list.runs, true)?;
            }
            Ok(Status::Success)
        });
        return backend.close(result, err);
    }
    let mut body = MaintainBody { namespace, ..MaintainBody::default() };
    if !args.jobs.is_empty() {
        let jobs: Vec<Job> = args.jobs.iter().map(|j| parse::text_enum("--job", j)).collect::<Result<_, _>>()?;
        body.jobs = Some(jobs.iter().map(ToString::to_string).collect());
    }
    if let Some(b) = &args.budget {
        body.budget = Some(parse::whole("--budget", b, 1, u64::from(u32::MAX))? as usize);
    }
    let backend = Backend::open(global, Acting::Operator, err)?;
    let bar = CountBar::counting(progress::visible(global.json), "maintain", "job runs", None);
    let mut done = 0;
    let result = backend.maintain(&body, &mut |_, total| {
        done += 1;
        bar.set_total(total as u64);
        bar.set(done);
    });
    bar.clear();
    let result = result.and_then(|report| {
        if global.json {
            super::write_json(out, &report)?;
        } else {
            write_runs(out, &report.runs, false)?;
            let count = |status: &str| report.runs.iter().filter(|r| r.status == status).count();
            let mut summary = format!(
                "{}: {} ran, {} skipped, {} failed",
                plural(report.runs.len(), "job run"),
                count("ran"),
                count("skipped"),
                report.failed
            );
            if report.deferred > 0 {
                summary.push_str(&format!("; {} left for a later cycle", plural(report.deferred, "namespace")));
            }
            writeln!(out, "{summary}")?;
        }
        Ok(if report.failed > 0 { Status::Negative } else { Status::Success })
    });
    backend.close(result, err)
}

/// A table of job, namespace, status (and when it finished) and what it did or why it did not
/// run.
fn write_runs(out: &mut dyn Write, runs: &[JobRunDto], finished: bool) -> Result<(), CliError> {
    let rows = runs
        .iter()
        .map(|r| {
            // What it did: the counts that are not zero.
            let done: Vec<String> = r.counts.iter().filter(|(_, v)| **v > 0).map(|(k, v)| format!("{k}={v}")).collect();
            let detail = match &r.reason {
                Some(reason) => reason.clone(),
                None if done.is_empty() => "nothing to do".to_owned(),
                None => done.join(", "),
            };
            let mut row = vec![r.job.clone(), r.namespace.clone(), r.status.clone()];
            if finished {
                row.push(r.finished_at.clone());
            }
            row.push(detail);
            row
        })
        .collect();
    let header: &[&str] = if finished {
        &["JOB", "NAMESPACE", "STATUS", "FINISHED", "DETAIL"]
    } else {
        &["JOB", "NAMESPACE", "STATUS", "DETAIL"]
    };
    super::write_table(out, "", header, rows)
}
