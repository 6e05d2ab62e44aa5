//! Helpers for the workspace integration tests: build the `tandem` binary
//! (and the `tandem-demo` example binary) once, run it, and read what it
//! printed.
//!
//! Cargo only hands a binary's path (`CARGO_BIN_EXE_<name>`) to integration
//! tests of the same package, and this package sits outside `tandem-cli` so
//! that it tests the binary the way a user runs it. So the first test that
//! needs a binary builds all three, once, into the same target directory and
//! profile as the running test executable, with the test suite's own package
//! and target selection (`tandem_test_support::cargo_build`): after `cargo
//! test` that only links what is missing, where `cargo build -p tandem-cli`
//! would recompile much of the graph with other features. This does not
//! deadlock: `cargo test` releases its build-directory lock before it runs
//! the test executables, so the nested build can take it (checked with both a
//! fresh and an up-to-date target directory).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tandem_test_support::cargo_build::build_binaries;

/// The workspace root, where `examples/` lives.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace root")
}

/// A path under the workspace root.
pub fn workspace_file(relative: &str) -> PathBuf {
    workspace_root().join(relative)
}

/// The `tandem` binary, built on first use.
///
/// # Panics
///
/// When the build fails; the panic message carries cargo's output.
pub fn tandem_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| built_binary("tandem"))
}

/// The `tandem-demo` example binary (a project binary built on the
/// `tandem-cli` library), built on first use like [`tandem_bin`].
///
/// # Panics
///
/// When the build fails; the panic message carries cargo's output.
pub fn demo_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| built_binary("tandem-demo"))
}

/// The `churn` example project's binary, built on first use like [`tandem_bin`].
///
/// # Panics
///
/// When the build fails; the panic message carries cargo's output.
pub fn churn_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| built_binary("churn"))
}

/// Runs the churn binary in `cwd` with `args`, colours off and no tracking
/// URI from the environment (each test picks its own store).
pub fn churn(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(churn_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("churn starts")
}

/// The stdout of a command that must have succeeded.
///
/// # Panics
///
/// When it failed; the message carries its exit code and both streams.
pub fn ok(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// `<profile dir>/<bin>`, after the one build of every workspace binary.
fn built_binary(bin: &str) -> PathBuf {
    let path = binaries_dir().join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "cargo built no binary at {}",
        path.display()
    );
    path
}

/// Builds the workspace's binaries once (see the crate docs); the profile
/// directory they are in.
fn binaries_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // The test executable is `<target>/<profile dir>/deps/integration-<hash>`.
        let exe = std::env::current_exe().expect("the test executable has a path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executables live in <target>/<profile>/deps");
        let target_dir = profile_dir
            .parent()
            .expect("a profile directory has a parent");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_owned(),
            Some(other) => other.to_owned(),
        };
        // Cargo sets CARGO for the processes it runs; the fallbacks cover
        // running the test executable by hand.
        let cargo = std::env::var_os("CARGO")
            .or_else(|| option_env!("CARGO").map(OsString::from))
            .unwrap_or_else(|| OsString::from("cargo"));
        let output = build_binaries(&cargo)
            .arg("--quiet")
            .arg("--profile")
            .arg(&profile)
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(workspace_root())
            .output()
            .expect("cargo can be started");
        assert!(
            output.status.success(),
            "building the workspace binaries failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        profile_dir.to_path_buf()
    })
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output parsed as exactly one JSON value.
    ///
    /// # Panics
    ///
    /// When stdout is not one JSON value.
    pub fn stdout_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}):\n{self:?}"))
    }

    /// The `(kind, message)` of a `--json` error on stderr.
    ///
    /// # Panics
    ///
    /// When stderr is not `{"error": {"kind": ..., "message": ...}}`.
    pub fn json_error(&self) -> (String, String) {
        let value: serde_json::Value = serde_json::from_str(&self.stderr)
            .unwrap_or_else(|e| panic!("stderr is not one JSON value ({e}):\n{self:?}"));
        let field = |name: &str| {
            value["error"][name]
                .as_str()
                .unwrap_or_else(|| panic!("no error.{name} string in {value}"))
                .to_owned()
        };
        (field("kind"), field("message"))
    }
}

/// Runs `tandem` with `args` from the workspace root.
///
/// # Panics
///
/// When the binary cannot be built or started.
pub fn tandem<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Run {
    let output = Command::new(tandem_bin())
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("the tandem binary can be started");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub mod moto;

/// The user guide's Rust samples (docs/guide/*.md), compiled and run as
/// doctests; tests/tests/guide_samples.rs checks that every page holding a
/// `rust` block is listed here.
#[cfg(doctest)]
mod guide {
    #[doc = include_str!("../../docs/guide/kedro-mapping.md")]
    struct KedroMapping;
}
