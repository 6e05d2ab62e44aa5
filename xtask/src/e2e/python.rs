//! The Python virtualenvs, provisioned exactly as the test harnesses do so
//! that the e2e run and the tests share them and never disagree:
//!
//! - `<target>/py-mlflow`: MLflow, as `crates/mlflow-client/tests/harness.rs`
//!   (`venv_bin`) creates it: marker `.tandem-installed` holding [`MLFLOW`],
//!   lock `<target>/py-mlflow.lock`;
//! - `<target>/py-venv`: moto's S3 server and pyarrow, as
//!   `tests/src/python.rs` creates it: marker `.tandem-requirements` holding
//!   [`REQUIREMENTS`] joined by newlines, lock `<target>/py-venv.lock`.
//!
//! Each install happens under an exclusive lock on the lock file, so a test
//! process installing the same venv at the same time waits (and vice versa).
//! Keep the constants in step with those two files.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `MLFLOW` of crates/mlflow-client/tests/harness.rs.
pub const MLFLOW: &str = "mlflow[auth]==3.17.2";

/// `REQUIREMENTS` of tests/src/python.rs.
pub const REQUIREMENTS: &[&str] = &["moto[server]", "pyarrow"];

/// The MLflow venv's `bin/` directory, installed if missing.
pub fn mlflow_venv(target: &Path) -> Result<PathBuf, String> {
    provision(target, "py-mlflow", ".tandem-installed", &[MLFLOW])
}

/// The moto + pyarrow venv's `bin/` directory, installed if missing.
pub fn tools_venv(target: &Path) -> Result<PathBuf, String> {
    provision(target, "py-venv", ".tandem-requirements", REQUIREMENTS)
}

fn provision(
    target: &Path,
    name: &str,
    marker: &str,
    packages: &[&str],
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(target).map_err(|e| format!("create {}: {e}", target.display()))?;
    let lock_path = target.join(format!("{name}.lock"));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("lock {}: {e}", lock_path.display()))?;
    let venv = target.join(name);
    let marker = venv.join(marker);
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        eprintln!(
            "xtask e2e: installing {} into {}",
            packages.join(" "),
            venv.display()
        );
        if !venv.join("bin/python").is_file() {
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
        run(Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages))?;
        std::fs::write(&marker, &wanted).map_err(|e| format!("write {}: {e}", marker.display()))?;
    }
    // Dropping the file releases the lock (also when xtask dies).
    drop(lock);
    Ok(venv.join("bin"))
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{shown} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Runs `script` with `python` (`python -c script args...`) and returns
/// its standard output.
pub fn run_script(python: &Path, script: &str, args: &[&Path]) -> Result<String, String> {
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "python script failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
