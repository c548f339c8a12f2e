//! The `memory` command-line program; the only crate that knows argv and terminals (SPEC 8).
//!
//! This file only wires things together: [`args`] parses argv, [`commands`] runs one command
//! writing to stdout and stderr, and [`error`] turns the outcome into an exit code.

mod args;
mod commands;
mod error;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

/// A server's many threads allocate and free small objects all the time (request bodies, rows,
/// DTOs); mimalloc's per-thread heaps do that without glibc's arena locks and consolidation.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with code 0, usage errors to stderr with 2;
            // printing can fail on a closed pipe, which is no reason to panic.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    // `memory mcp` speaks the protocol on stdout from the runtime's own threads, so the main
    // thread must not hold stdout's lock; it prints nothing else there.
    let mut out: Box<dyn Write> =
        if matches!(cli.command, args::Command::Mcp) { Box::new(io::sink()) } else { Box::new(io::stdout().lock()) };
    // Stderr stays unlocked: other threads write to it too (a progress bar's ticker, a server's
    // warnings), and would wait forever for a lock this thread held until the end.
    let mut err = io::stderr();
    let result = commands::run(cli, &mut out, &mut err).and_then(|status| {
        out.flush()?;
        Ok(status)
    });
    match result {
        Ok(status) => ExitCode::from(status.exit_code()),
        // The reader went away (`memory ... | head`): there is no one left to tell.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            let _ = e.report(&mut err);
            ExitCode::from(e.exit_code())
        }
    }
}
