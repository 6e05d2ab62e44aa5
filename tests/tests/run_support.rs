//! Shared by the `tandem run` and `tandem catalog` tests: a fresh copy of the
//! cars fixture project per test (runs write into its data/ directory), and
//! running a binary inside it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tandem_tests::{Run, churn, demo_bin, ok, tandem_bin, workspace_file};

/// The fixture every run test copies.
pub(crate) const FIXTURE: &str = "tests/fixtures/cars_project";

/// The raw table the conversions start from.
pub(crate) const CARS_CSV: &str = "data/01_raw/cars.csv";

/// A private copy of the cars project.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// Copies the fixture into a new temporary directory.
    pub(crate) fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&workspace_file(FIXTURE), dir.path());
        Project { dir }
    }

    /// The project root (the parent of conf/).
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path under the project root.
    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    /// A file under the project root, as text.
    pub(crate) fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative))
            .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
    }

    /// Writes a file under the project root, creating directories.
    pub(crate) fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `tandem` with `args`, run from the project root.
    pub(crate) fn tandem<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Run {
        output(self.command(tandem_bin()).args(args))
    }

    /// `tandem-demo` (the example project binary) with `args`.
    pub(crate) fn demo<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Run {
        output(self.command(demo_bin()).args(args))
    }

    /// A command for `bin` in the project root, with no logging or
    /// environment settings inherited from the test's environment.
    pub(crate) fn command(&self, bin: &Path) -> Command {
        let mut command = Command::new(bin);
        command
            .current_dir(self.root())
            .env_remove("RUST_LOG")
            .env_remove("TANDEM_ENV")
            .env_remove("KEDRO_ENV")
            .env_remove("NO_COLOR");
        command
    }

    /// `tandem run --spec pipelines.yml --json` plus `args`; the summary,
    /// after checking the run succeeded and left stderr empty.
    pub(crate) fn run_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["run", "--spec", "pipelines.yml", "--json"];
        all.extend_from_slice(args);
        let run = self.tandem(&all);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stderr.is_empty(), "{run:?}");
        run.stdout_json()
    }
}

/// Runs `command` and collects what it printed.
pub(crate) fn output(command: &mut Command) -> Run {
    let output = command.output().expect("the binary can be started");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The names of the nodes a `--json` summary reports as run, in order.
pub(crate) fn node_names(summary: &Value) -> Vec<String> {
    summary["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {summary}"))
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `names`, sorted, for comparing runs whose completion order may vary.
pub(crate) fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// The `{"error": {...}}` object of a `--json` failure, after checking it
/// exited with `code` and printed nothing on stdout.
pub(crate) fn json_failure(run: &Run, code: i32) -> Value {
    assert_eq!(run.code, code, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let value: Value = serde_json::from_str(&run.stderr)
        .unwrap_or_else(|e| panic!("stderr is not one JSON value ({e}):\n{run:?}"));
    value["error"].clone()
}

/// Copies a directory tree (fixtures into a scratch project).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A churn project trained on 600 customers, without tracking (no
/// `mlflow.yml`: a tracked run would also log a model), its model saved by
/// `models save` to `<project>/model`, the churn binary embedded in it.
pub(crate) fn trained_churn() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    let cwd = project.path();
    copy_dir(&workspace_file("examples/churn/conf"), &cwd.join("conf"));
    std::fs::remove_file(cwd.join("conf/base/mlflow.yml")).unwrap();
    ok(&churn(
        &["run", "--params", "data_generation.n_customers=600", "-q"],
        cwd,
    ));
    ok(&churn(
        &["models", "save", "--pipeline", "training", "-o", "model"],
        cwd,
    ));
    project
}
