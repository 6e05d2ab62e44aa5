//! The `tandem` command line, as a library so that a project's own binary
//! gets the whole CLI with its own functions registered.
//!
//! ```no_run
//! use std::process::ExitCode;
//! use tandem_cli::{run_cli, FunctionRegistry};
//!
//! fn fit(x: &Vec<f64>) -> f64 {
//!     x.iter().sum::<f64>() / x.len() as f64
//! }
//!
//! fn main() -> ExitCode {
//!     let mut registry = FunctionRegistry::with_builtins();
//!     registry.register("my_project::fit", fit);
//!     run_cli(std::env::args_os(), registry)
//! }
//! ```
//!
//! Commands (see `tandem --help`):
//! - `tandem pipeline describe --spec FILE [filters] [--json]`: execution
//!   order, layers, free inputs and outputs, after `kedro run`-style filters.
//! - `tandem pipeline check --spec FILE [--json]`: resolves every function of
//!   the spec in the registry.

mod args;
mod commands;
mod render;

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

pub use tandem_pipeline_core::FunctionRegistry;

use crate::args::{Cli, Command, PipelineCommand};

/// Parses `args` (the first item is the program name, as in
/// [`std::env::args_os`]), runs the command with `registry` and returns the
/// process exit code: 0 on success, 1 when the command fails, 2 for unusable
/// arguments.
pub fn run_cli<I, T>(args: I, registry: FunctionRegistry) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return render::usage(&e),
    };
    ExitCode::from(run(
        &cli,
        &registry,
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
    ))
}

/// Runs a parsed command, writing results to `out` and errors to `err`.
fn run(cli: &Cli, registry: &FunctionRegistry, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let Command::Pipeline(command) = &cli.command;
    let (result, json) = match command {
        PipelineCommand::Describe(args) => (commands::describe(args), args.common.json),
        PipelineCommand::Check(args) => (commands::check(args, registry), args.common.json),
    };
    // If stderr is gone too there is nowhere to report; the exit code remains.
    match result {
        Ok(outcome) => match render::outcome(out, &outcome, json) {
            Ok(()) => 0,
            Err(e) => {
                let message = format!("cannot write the output: {e}");
                let _ = render::error(err, render::IO_ERROR, &message, json);
                1
            }
        },
        Err(e) => {
            let _ = render::error(err, e.kind(), &e, json);
            1
        }
    }
}
