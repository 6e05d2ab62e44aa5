//! Project automation, run as `cargo xtask <task>`.
//!
//! - `ci`: formatting check, clippy with warnings denied, every test, the
//!   README's main job, then `e2e` (the command `.ci/run` and the README use).
//! - `e2e`: the maintainers' end-to-end run (issue #8, [`e2e`](mod@e2e)): the churn
//!   project trained with its data on a moto S3 server and tracking on an
//!   MLflow server, the logged model checked through MLflow's REST API and
//!   served by `churn`, the bundled `tandem` and `mlflow models serve`, which
//!   must answer the same requests alike; ends with a summary table.
//! - `e2e airflow`: the churn project deployed to Apache Airflow 3 and run
//!   with its LocalExecutor, data on moto S3, tracking on an MLflow server
//!   ([`e2e::run_airflow`]).
//! - `bench`: the criterion/divan benchmarks whose figures docs/benchmarks.md records.
//!
//! Kept light (serde_json and tandem-test-support without features, which
//! builds on std and serde_json alone) so it builds in seconds on a cold
//! machine.

mod e2e;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use tandem_test_support::cargo_build::{SUITE, build_binaries};
use tandem_test_support::python::{self, Venv};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci     cargo fmt --check, clippy -D warnings, all tests (Polars' apart), the README's main
         job, then e2e and e2e airflow (what CI runs)
  e2e    end-to-end: churn trained with data on a moto S3 server and tracking
         on an MLflow server (Python venvs under target/ are created if
         missing), the logged model checked over MLflow's REST API, served
         by churn, the bundled tandem and `mlflow models serve`, the same
         requests compared, `models predict` compared; prints a summary
  e2e airflow
         the same project deployed with `churn deploy airflow` and run by
         Apache Airflow 3's LocalExecutor (Execution API server on
         127.0.0.1), data on moto S3, tracking on an MLflow server; checks
         every task, the one FINISHED run and its registered model
  bench  run the benchmarks recorded in docs/benchmarks.md";

fn main() -> ExitCode {
    let task = env::args().nth(1);
    let result = match task.as_deref() {
        Some("ci") => ci(),
        Some("e2e") => match env::args().nth(2).as_deref() {
            None => e2e(),
            Some("airflow") => e2e_airflow(),
            Some(other) => {
                eprintln!("unknown e2e scenario {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        Some("bench") => bench(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("unknown task {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(step) => {
            eprintln!("xtask: `{step}` failed");
            ExitCode::FAILURE
        }
    }
}

fn ci() -> Result<(), String> {
    // The venvs install (uv: network and disk, little CPU) while the
    // checks compile; the tests then find them ready.
    let venvs = std::thread::spawn(|| {
        let target = python::target_dir();
        python::suite_venvs()
            .iter()
            .try_for_each(|venv| venv.provision(&target).map(drop))
    });
    cargo(&["fmt", "--all", "--check"])?;
    // Polars is checked and tested on its own: in one invocation with the
    // rest, cargo would turn pipeline-core's `polars` feature on for every
    // crate, and the binaries the tests build would then rebuild the whole
    // stack a second time.
    cargo(
        &[
            &["clippy"],
            SUITE,
            &["--all-targets", "--", "-D", "warnings"],
        ]
        .concat(),
    )?;
    cargo(&[
        "clippy",
        "-p",
        "tandem-polars",
        "-p",
        "tandem-cli",
        "--features",
        "tandem-cli/polars",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    venvs
        .join()
        .map_err(|_| "provisioning the test venvs panicked".to_owned())?
        .map_err(|e| format!("provisioning the test venvs: {e}"))?;
    cargo(&[&["test"], SUITE, &["--no-fail-fast"]].concat())?;
    cargo(&["test", "-p", "tandem-polars"])?;
    main_job()?;
    e2e()?;
    e2e_airflow()
}

fn e2e() -> Result<(), String> {
    e2e::run(&workspace_root())
}

fn e2e_airflow() -> Result<(), String> {
    e2e::run_airflow(&workspace_root())
}

fn bench() -> Result<(), String> {
    cargo(&["bench", "-p", "tandem-pipeline-core", "--bench", "pipeline"])?;
    cargo(&["bench", "-p", "tandem-runners", "--bench", "runners"])?;
    cargo(&["bench", "-p", "tandem-pipeline-model", "--bench", "predict"])?;
    cargo(&["bench", "-p", "tandem-sql", "--bench", "sql"])?;
    cargo(&[
        "run",
        "--release",
        "--quiet",
        "-p",
        "tandem-runners",
        "--example",
        "memory_chain",
        "--",
        "1024",
    ])?;
    kedro_side_by_side()?;
    serving_side_by_side()
}

/// `tandem models serve` and `mlflow models serve` on the churn model under
/// wrk; the script fails when wrk or the MLflow venv is missing.
fn serving_side_by_side() -> Result<(), String> {
    let script = workspace_root().join("scripts/bench_serving.sh");
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .map_err(|e| format!("scripts/bench_serving.sh ({e})"))?;
    if status.success() {
        Ok(())
    } else {
        Err("scripts/bench_serving.sh".to_owned())
    }
}

/// Kedro's figures for the same runner pipelines and the whole-process run,
/// with Kedro 1.7 from a virtualenv under target/ (created when missing).
fn kedro_side_by_side() -> Result<(), String> {
    const KEDRO_VENV: Venv = Venv::new("py-kedro", ".tandem-installed", &["kedro==1.7.0"]);
    let root = workspace_root();
    // A benchmark without its anchor is not a benchmark: fail, do not skip.
    let bin = KEDRO_VENV
        .provision(&python::target_dir())
        .map_err(|e| format!("a virtualenv with kedro 1.7.0 ({e})"))?;
    let python = bin.join("python");
    let status = Command::new(&python)
        .arg(root.join("scripts/bench_kedro.py"))
        .args(["1000", "2000"])
        .status()
        .map_err(|e| format!("scripts/bench_kedro.py ({e})"))?;
    if !status.success() {
        return Err("scripts/bench_kedro.py".to_owned());
    }
    whole_process_run(&bin)
}

/// `tandem run` on chains of 1,000 to 1,000,000 identity nodes as a whole
/// release process, beside `kedro run` on the same chain (scripts/bench_run.py).
fn whole_process_run(kedro_bin: &Path) -> Result<(), String> {
    let root = workspace_root();
    cargo(&[
        "build",
        "--release",
        "--quiet",
        "-p",
        "tandem-cli",
        "--bin",
        "tandem",
    ])?;
    let tandem = python::target_dir().join("release").join("tandem");
    let status = Command::new(kedro_bin.join("python"))
        .arg(root.join("scripts/bench_run.py"))
        .arg("--tandem")
        .arg(&tandem)
        .arg("--kedro")
        .arg(kedro_bin.join("kedro"))
        .args([
            "--sizes",
            "1000,10000,100000,1000000",
            "--kedro-sizes",
            "1000",
        ])
        .status()
        .map_err(|e| format!("scripts/bench_run.py ({e})"))?;
    if status.success() {
        Ok(())
    } else {
        Err("scripts/bench_run.py".to_owned())
    }
}

/// The README's main job, so CI proves the documented command works:
/// `cargo run -p churn -- run --conf examples/churn/conf`, on the binary
/// the test suite's build made (`cargo run -p churn` would first rebuild
/// much of the graph with churn's features alone; see
/// `tandem_test_support::cargo_build`).
fn main_job() -> Result<(), String> {
    let cargo_bin = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let shown = "cargo build --workspace --bins --tests && target/debug/churn run --conf examples/churn/conf -q";
    eprintln!("xtask: running `{shown}`");
    let built = build_binaries(&cargo_bin)
        .arg("--quiet")
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("{shown} ({e})"))?;
    if !built.success() {
        return Err(shown.to_owned());
    }
    let churn = python::target_dir().join("debug").join("churn");
    let status = Command::new(&churn)
        .args(["run", "--conf", "examples/churn/conf", "-q"])
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("{} ({e})", churn.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(shown.to_owned())
    }
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let shown = format!("cargo {}", args.join(" "));
    eprintln!("xtask: running `{shown}`");
    let status = Command::new(cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("{shown} ({e})"))?;
    if status.success() { Ok(()) } else { Err(shown) }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
