//! A Python virtual environment with the tools the interop and S3 tests
//! need (pyarrow, moto's S3 server), created on first use.
//!
//! The venv lives at `<target dir>/py-venv`, so `cargo clean` removes it and
//! every checkout has its own. Creating it is idempotent: a marker file
//! records the packages installed, and an exclusive lock on
//! `<target dir>/py-venv.lock` makes concurrent test processes wait for the
//! one that installs (the OS drops the lock if that process dies).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// What the venv must contain; changing it re-runs the install.
const REQUIREMENTS: &[&str] = &["moto[server]", "pyarrow"];

/// The directory holding the test executables' build outputs (`target/`),
/// whatever `CARGO_TARGET_DIR` says.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    // `<target>/<profile>/deps/<test>-<hash>`
    exe.ancestors()
        .nth(3)
        .expect("test executables live in <target>/<profile>/deps")
        .to_path_buf()
}

/// The venv directory, created and filled on first use.
///
/// # Panics
///
/// When `python3` is missing or `pip install` fails; the message says which.
pub fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| provision("py-venv", ".tandem-requirements", REQUIREMENTS))
}

/// `<target dir>/<name>`, a venv holding `requirements`, installed unless
/// its `marker` file already lists them (one per line), under the lock
/// `<target dir>/<name>.lock`. The MLflow venv ([`crate::mlflow_venv`]) is
/// provisioned the same way, with the names the mlflow-client harness uses.
///
/// # Panics
///
/// When `python3` is missing or `pip install` fails; the message says which.
pub(crate) fn provision(name: &str, marker: &str, requirements: &[&str]) -> PathBuf {
    let target = target_dir();
    std::fs::create_dir_all(&target).expect("the target directory can be created");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(target.join(format!("{name}.lock")))
        .expect("the venv lock file can be opened");
    lock.lock().expect("the venv lock can be taken");
    let venv = target.join(name);
    let marker = venv.join(marker);
    let wanted = requirements.join("\n");
    if !std::fs::read_to_string(&marker).is_ok_and(|installed| installed == wanted) {
        if !python_in(&venv).is_file() {
            run_checked(
                Command::new("python3").args(["-m", "venv"]).arg(&venv),
                "python3 -m venv",
            );
        }
        run_checked(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(requirements),
            "pip install",
        );
        std::fs::write(&marker, wanted).expect("the venv marker can be written");
    }
    drop(lock);
    venv
}

fn python_in(venv: &Path) -> PathBuf {
    venv.join("bin/python")
}

fn run_checked(command: &mut Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what} could not be started: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A program installed in the venv (`moto_server`, ...).
pub fn venv_bin(name: &str) -> PathBuf {
    venv().join("bin").join(name)
}

/// Runs `script` with the venv's Python and `args`; returns its output.
///
/// # Panics
///
/// When Python cannot be started or the script fails; the message carries
/// its stdout and stderr.
pub fn run_python<S: AsRef<std::ffi::OsStr>>(
    script: &str,
    args: impl IntoIterator<Item = S>,
) -> Output {
    let output = Command::new(python_in(venv()))
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the venv's python can be started");
    assert!(
        output.status.success(),
        "python failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
