//! SIGTERM or Ctrl-C (SIGINT) during a tracked `tandem run` ends the MLflow
//! run FAILED (as kedro-mlflow does for an interrupted run) and the
//! process exits 143 or 130, the codes a shell reports for those signals.
//!
//! The test binary plays the project binary: run again with
//! `TANDEM_SIGNAL_TEST_PROJECT` set, it hands a pipeline whose node never
//! returns to `run_cli`, like a project's own `main`.

#![cfg(unix)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tandem_cli::App;
use tandem_mlflow_client::{MlflowClient, RunQuery, RunStatus};
use tandem_pipeline_core::{Pipeline, node};

const CHILD: &str = "TANDEM_SIGNAL_TEST_PROJECT";

/// A node that only a signal ends. It marks that it started (so the
/// tracking hook's `before_pipeline_run` is done) in the project root.
fn forever(x: &i64) -> i64 {
    if let Some(root) = std::env::var_os(CHILD) {
        std::fs::write(Path::new(&root).join("node-started"), "").unwrap();
    }
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if *x < 0 {
            return *x;
        }
    }
}

fn project_binary(root: &Path) -> ! {
    let pipeline = Pipeline::new([node(forever, "params:x", "y")
        .name("forever")
        .build()
        .unwrap()])
    .unwrap();
    let app = App::new()
        .function("signal_test::forever", forever)
        .pipeline("__default__", pipeline);
    let conf = root.join("conf");
    let code = tandem_cli::run_cli(["tandem", "run", "--conf", conf.to_str().unwrap()], app);
    // ExitCode has no accessor; a normal end is not what this test expects.
    let _ = code;
    std::process::exit(3)
}

fn write_project(root: &Path) {
    let base = root.join("conf/base");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("parameters.yml"), "x: 1\n").unwrap();
    std::fs::write(base.join("catalog.yml"), "{}\n").unwrap();
    std::fs::write(
        base.join("mlflow.yml"),
        "server:\n  mlflow_tracking_uri: mlruns\ntracking:\n  experiment:\n    name: signals\n",
    )
    .unwrap();
}

#[test]
fn sigterm_ends_a_tracked_run_failed_and_exits_143() {
    if let Some(root) = std::env::var_os(CHILD) {
        project_binary(Path::new(&root));
    }
    interrupt_a_tracked_run(
        "sigterm_ends_a_tracked_run_failed_and_exits_143",
        rustix::process::Signal::TERM,
        143,
        "interrupted by SIGTERM",
    );
}

#[test]
fn sigint_ends_a_tracked_run_failed_and_exits_130() {
    if let Some(root) = std::env::var_os(CHILD) {
        project_binary(Path::new(&root));
    }
    interrupt_a_tracked_run(
        "sigint_ends_a_tracked_run_failed_and_exits_130",
        rustix::process::Signal::INT,
        130,
        "interrupted by SIGINT",
    );
}

/// Runs this test binary again as the project (`test` names the test that
/// does), sends `signal` once the tracked run is RUNNING, and checks the
/// exit code and the run's end.
fn interrupt_a_tracked_run(test: &str, signal: rustix::process::Signal, code: i32, error: &str) {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture"])
        .env(CHILD, dir.path())
        .env_remove("MLFLOW_TRACKING_URI")
        .spawn()
        .unwrap();

    // Wait until the node runs and (polling the store) the run is RUNNING.
    let store = dir.path().join("mlruns");
    let running = (0..2400).find_map(|_| {
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended by itself: {status}");
        }
        if !dir.path().join("node-started").exists() {
            return None;
        }
        let client = MlflowClient::local(&store).ok()?;
        let exp = client.get_experiment_by_name("signals").ok()??;
        let runs = client.list_runs(&RunQuery::new([exp.experiment_id])).ok()?;
        let run = runs.into_iter().next()?;
        (run.info.status == RunStatus::Running).then_some(run.info.run_id)
    });
    let Some(run_id) = running else {
        let _ = child.kill();
        panic!("the run never became RUNNING");
    };

    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, signal).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(code), "{status}");
    let run = MlflowClient::local(&store)
        .unwrap()
        .get_run(&run_id)
        .unwrap();
    assert_eq!(run.info.status, RunStatus::Failed);
    assert!(run.info.end_time.is_some());
    assert_eq!(run.tag("tandem.error"), Some(error));
}
