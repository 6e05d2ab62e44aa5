//! The `churn` binary: the tandem CLI with the churn project registered.
//!
//! ```text
//! churn run --conf examples/churn/conf                     # generate data, train, evaluate
//! churn run --conf examples/churn/conf --pipeline training # train on the existing raw data
//! ```

use std::process::ExitCode;

#[expect(
    clippy::print_stderr,
    reason = "logging starts inside run_cli, after the app is built"
)]
fn main() -> ExitCode {
    match churn::app() {
        Ok(app) => tandem_cli::run_cli(std::env::args_os(), app),
        Err(e) => {
            // The pipelines are built from constants, so this only fires
            // after an edit that breaks them; say so instead of panicking.
            eprintln!("error: the churn pipelines are invalid: {e}");
            ExitCode::FAILURE
        }
    }
}
