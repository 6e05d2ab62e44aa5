//! MLflow's own tools, for the tests that check MLflow runs tandem models:
//! the virtualenv `crates/mlflow-client/tests/harness.rs` provisions, with
//! the same directory, marker and lock file, so that whichever test
//! process comes first installs it and the others reuse it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::python::provision;

/// The release installed; the marker holds it, as the harness writes it.
const MLFLOW: &str = "mlflow[auth]==3.17.2";

/// Keeps MLflow from sending usage telemetry from the tests.
pub const NO_TELEMETRY: [(&str, &str); 2] = [
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "true"),
];

/// The venv's `bin/` directory (`mlflow`, `python`, `uvicorn`), installing
/// MLflow on first use.
///
/// # Panics
///
/// When `python3` is missing or the install fails.
pub fn mlflow_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| provision("py-mlflow", ".tandem-installed", &[MLFLOW]).join("bin"))
}

/// A command running `program` from the venv, with the venv first on
/// `PATH` (MLflow starts `uvicorn` by name) and telemetry off.
pub fn mlflow_command(program: &str) -> Command {
    let bin = mlflow_bin();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    let mut command = Command::new(bin.join(program));
    command
        .env(
            "PATH",
            std::env::join_paths(paths).expect("PATH entries join"),
        )
        .envs(NO_TELEMETRY)
        .stdin(Stdio::null());
    command
}
