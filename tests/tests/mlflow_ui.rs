//! `tandem mlflow ui`: MLflow's own UI started on the project's store, as
//! `kedro mlflow ui` does, with mlflow.yml's `ui:` address; the command to
//! run when MLflow is not installed; the server's URL for a server.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use tandem_test_support::{http, mlflow, process};
use tandem_tests::{churn, churn_bin, ok, workspace_file};

use crate::run_support::copy_dir;

fn project() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    copy_dir(
        &workspace_file("examples/churn/conf"),
        &project.path().join("conf"),
    );
    project
}

/// `churn mlflow ui ...` in `dir` with `path` as PATH.
fn ui(dir: &Path, args: &[&str], path: &str) -> Output {
    Command::new(churn_bin())
        .args(["mlflow", "ui"])
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap()
}

#[test]
fn without_mlflow_installed_the_command_is_printed() {
    let project = project();
    let out = ui(project.path(), &["--json"], "/usr/bin:/bin");
    let printed: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let db = project.path().join("mlflow.db");
    assert_eq!(
        printed["command"],
        format!(
            "mlflow ui --backend-store-uri sqlite:///{} --host 127.0.0.1 --port 5000",
            db.display()
        )
    );
    // mlflow.yml's `ui:` and the flags choose the address; a file store
    // needs MLflow's opt-in variable.
    std::fs::write(
        project.path().join("conf/local/mlflow.yml"),
        "ui:\n  port: \"5123\"\n  host: 127.0.0.2\n",
    )
    .unwrap();
    let out = ui(
        project.path(),
        &["--tracking-uri", "runs", "--host", "127.0.0.3"],
        "/usr/bin:/bin",
    );
    let text = ok(&out);
    let store = project.path().join("runs");
    assert!(
        text.contains(&format!(
            "MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri {} --host 127.0.0.3 \
             --port 5123",
            store.display()
        )),
        "{text}"
    );
    let out = ui(
        project.path(),
        &["--tracking-uri", "http://127.0.0.1:5999", "--json"],
        "/usr/bin:/bin",
    );
    let printed: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(printed["url"], "http://127.0.0.1:5999");
}

/// The real MLflow UI, started by tandem on a trained project's store,
/// serves the run tandem logged.
#[test]
fn mlflow_ui_serves_the_projects_runs() {
    let project = project();
    ok(&churn(
        &["run", "--params", "data_generation.n_customers=300", "-q"],
        project.path(),
    ));
    let scope = process::for_process();
    let port = process::free_port().unwrap().to_string();
    let bin = tandem_test_support::python::mlflow_bin();
    let mut command = Command::new(churn_bin());
    command
        .args(["mlflow", "ui", "--port", &port])
        .current_dir(project.path())
        .env("PATH", tandem_test_support::python::with_path(bin))
        .envs(mlflow::NO_TELEMETRY)
        .env_remove("MLFLOW_TRACKING_URI");
    let mut service = process::Service::spawn(
        "tandem mlflow ui",
        command,
        &project.path().join("ui.log"),
        &scope.janitor(),
    )
    .unwrap();
    let port: u16 = port.parse().unwrap();
    service
        .wait_ready(Duration::from_secs(180), || {
            http::get(port, "/health", Duration::from_secs(5)).is_ok_and(|r| r.status == 200)
        })
        .unwrap();
    let response = http::get(
        port,
        "/api/2.0/mlflow/experiments/get-by-name?experiment_name=churn",
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response.text().contains("\"churn\""), "{}", response.text());
}
