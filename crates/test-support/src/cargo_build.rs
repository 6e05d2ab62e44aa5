//! The one cargo command that builds the workspace binaries the tests and
//! `cargo xtask e2e` drive (`tandem`, `churn`, `tandem-demo`).
//!
//! Cargo unifies features over what one invocation builds. The test suite
//! is built by `cargo test` with [`SUITE`], which builds the test targets
//! and so turns on the dev-dependencies' features (the pondrs benchmark
//! peer, for one, turns on `log/std` and regex's defaults). A plain
//! `cargo build -p tandem-cli` would then compile most of the graph a
//! second time with fewer features: minutes on a two-core CI machine, once
//! per binary. [`build_binaries`] uses the suite's selection plus
//! `--bins --tests`, so after `cargo test` it only links the binaries cargo
//! test does not build itself, and its artifacts are the ones the suite
//! already has.
//!
//! ```
//! let command = tandem_test_support::cargo_build::build_binaries("cargo".as_ref());
//! let args: Vec<_> = command.get_args().collect();
//! assert_eq!(args[0], "build");
//! assert!(args.contains(&"--tests".as_ref()));
//! ```

use std::ffi::OsStr;
use std::process::Command;

/// The packages the test suite builds and runs: the workspace without
/// tandem-polars, whose `polars` feature of the pipeline crates is built
/// and tested on its own (`cargo test -p tandem-polars`).
pub const SUITE: &[&str] = &["--workspace", "--exclude", "tandem-polars"];

/// `cargo build` of every binary in the workspace with the features the
/// test suite's build gives them (see the module docs). Callers add the
/// profile, target directory, working directory and output handling.
pub fn build_binaries(cargo: &OsStr) -> Command {
    let mut command = Command::new(cargo);
    command.arg("build").args(SUITE).args(["--bins", "--tests"]);
    command
}
