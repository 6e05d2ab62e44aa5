//! The stock `tandem` binary: the CLI with only the builtin functions.
//!
//! A project builds its own binary the same way, registering its functions
//! before calling [`tandem_cli::run_cli`].

use std::process::ExitCode;

use tandem_cli::FunctionRegistry;

fn main() -> ExitCode {
    tandem_cli::run_cli(std::env::args_os(), FunctionRegistry::with_builtins())
}
