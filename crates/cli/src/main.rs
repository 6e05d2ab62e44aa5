//! The stock `tandem` binary: the CLI with tandem's builtin functions and
//! dataset types.
//!
//! A project builds its own binary the same way, registering its functions,
//! pipelines, dataset types and hooks in an [`tandem_cli::App`] before calling
//! [`tandem_cli::run_cli`].

use std::process::ExitCode;

use tandem_cli::App;

// A run allocates and frees small strings, vectors and maps per node, and
// exits soon after: mimalloc's thread-local free lists make both cheaper
// than glibc's (docs/benchmarks.md has the whole-process figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tandem_cli::run_cli(std::env::args_os(), App::default())
}
