//! The `{{project_name}}` binary: the tandem command line with this
//! project's pipelines registered.
//!
//! ```text
//! cargo run -- run                              # the __default__ pipeline
//! cargo run -- run --pipeline data_processing   # one pipeline
//! cargo run -- catalog list                     # the datasets
//! ```

use std::process::ExitCode;

#[expect(
    clippy::print_stderr,
    reason = "logging starts inside run_cli, after the app is built"
)]
fn main() -> ExitCode {
    match {{crate_name}}::app() {
        Ok(app) => tandem_cli::run_cli(std::env::args_os(), app),
        Err(e) => {
            // The pipelines are built from constants, so this only fires
            // after an edit that breaks them; say so instead of panicking.
            eprintln!("error: the {{project_name}} pipelines are invalid: {e}");
            ExitCode::FAILURE
        }
    }
}
