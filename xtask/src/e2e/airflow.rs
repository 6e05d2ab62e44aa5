//! `cargo xtask e2e airflow`: the churn project deployed to Apache Airflow
//! 3 (issue #17) and run as a deployment runs it.
//!
//! 1. Provision the MLflow, moto and Airflow venvs and build `churn`.
//! 2. Start moto's S3 server and `mlflow server` on free loopback ports
//!    (as [`super::run`] does), an `AIRFLOW_HOME` with a migrated SQLite
//!    database, and Airflow's Execution API server on a free loopback port
//!    ([`tandem_test_support::airflow`]).
//! 3. Write the e2e project (data on S3, tracking on the server,
//!    [`super::project`]), then `churn deploy airflow --group-by memory`.
//! 4. Run the DAG once with the LocalExecutor (`airflow dags test
//!    --use-executor`): every task a worker process of its own.
//! 5. Check every task succeeded, the one FINISHED MLflow run with its
//!    params and metrics, its logged model, the registered version and
//!    alias ([`super::mlflow`]), and the datasets in the bucket; print the
//!    summary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tandem_test_support::airflow::{AIRFLOW_VENV, AirflowHome, ExecutionApi};
use tandem_test_support::mlflow::Server as MlflowServer;
use tandem_test_support::moto::{Moto, NO_CLOUD};
use tandem_test_support::process::JanitorHandle;
use tandem_test_support::python::{self, MLFLOW_VENV, TOOLS_VENV};

use super::summary::Summary;
use super::{mlflow, project};

/// The deployed DAG's tasks retry once, soon: a retry must not hide a
/// failure for long, and a task that fails twice fails the scenario.
const RETRY_DELAY_SECONDS: &str = "5";

/// Runs the Airflow scenario from the workspace at `root`.
pub fn run(root: &Path) -> Result<(), String> {
    super::scenario("cargo xtask e2e airflow", |summary| {
        super::with_teardown::<Stack>(
            "tandem-e2e-airflow",
            summary,
            |work, janitor, stack, summary| steps(root, work, janitor, stack, summary),
        );
    })
}

/// What is running; dropped (stopped) at teardown, the API server first.
#[derive(Default)]
struct Stack {
    api: Option<ExecutionApi>,
    moto: Option<Moto>,
    mlflow: Option<MlflowServer>,
}

/// What `deploy airflow --json` wrote.
struct Deployed {
    file: PathBuf,
    dag_id: String,
    tasks: usize,
}

const AFTER_RUN: &[&str] = &[
    "airflow: every task succeeded",
    "mlflow: run FINISHED with params and metrics",
    "mlflow: logged model with the run's params, metrics, provenance",
    "mlflow: registered version, alias",
    "s3: datasets in the bucket",
];

fn steps(
    root: &Path,
    work: &Path,
    janitor: &JanitorHandle,
    stack: &mut Stack,
    summary: &mut Summary,
) {
    let target = python::target_dir();
    let mlflow_bin = super::provision(&MLFLOW_VENV, &target, summary);
    let tools_bin = super::provision(&TOOLS_VENV, &target, summary);
    let airflow_bin = super::provision(&AIRFLOW_VENV, &target, summary);
    let (Some(mlflow_bin), Some(tools_bin), Some(airflow_bin)) =
        (mlflow_bin, tools_bin, airflow_bin)
    else {
        return;
    };
    let bin_dir = target.join("debug");
    let built = summary.step(
        super::BUILD_STEP,
        |_| format!("{}/churn", bin_dir.display()),
        || super::build(root, &bin_dir),
    );
    if built.is_none() {
        return;
    }
    let churn = bin_dir.join("churn");

    (stack.moto, stack.mlflow) =
        super::start_servers(work, janitor, &tools_bin, &mlflow_bin, summary);
    let airflow = summary.step(
        "airflow db migrate (SQLite, no examples)",
        |a: &AirflowHome| a.database().display().to_string(),
        || AirflowHome::create(&airflow_bin, &work.join("airflow"), janitor),
    );
    let (Some(moto), Some(mlflow_server), Some(airflow)) = (&stack.moto, &stack.mlflow, airflow)
    else {
        return;
    };
    stack.api = summary.step(
        "start airflow api-server --apps execution",
        |api: &ExecutionApi| api.url.clone(),
        || airflow.start_execution_api(),
    );
    let Some(api) = &stack.api else {
        return;
    };
    let deployed = summary.step(
        "churn deploy airflow --env e2e --group-by memory",
        |d: &Deployed| format!("{} tasks in {}", d.tasks, d.file.display()),
        || {
            let conf = project::create(
                &root.join("examples/churn/conf"),
                work,
                &moto.endpoint,
                &mlflow_server.uri,
            )?;
            deploy(&churn, &conf, &airflow.dags_dir(), &work.join("project"))
        },
    );
    let Some(deployed) = deployed else {
        return;
    };
    let ran = summary.step(
        "airflow dags test --use-executor (LocalExecutor)",
        |_| format!("task logs: {}", airflow.logs_dir().display()),
        || airflow.dags_test_with_executor(api, &deployed.dag_id, &deployed.file, None),
    );
    if ran.is_none() {
        summary.skip(AFTER_RUN, "the DAG run failed");
        return;
    }
    summary.step(
        AFTER_RUN[0],
        |n: &usize| format!("{n} tasks (the plan's and the run's open/close), one try each"),
        || check_tasks(&airflow, &deployed),
    );
    let port = mlflow_server.port;
    let run = summary.step(
        AFTER_RUN[1],
        |(_, text): &(mlflow::TrainingRun, String)| text.clone(),
        || mlflow::check_run(port, project::EXPERIMENT),
    );
    let run = run.map(|(run, _)| run);
    let model = run.as_ref().and_then(|run| {
        summary.step(
            AFTER_RUN[2],
            |m: &mlflow::LoggedModel| format!("{} at {}", m.model_id, m.artifact_uri),
            || mlflow::check_logged_model(port, run),
        )
    });
    match (&run, &model) {
        (Some(run), Some(model)) => {
            summary.step(
                AFTER_RUN[3],
                |v: &String| format!("{}: version {v}, @{}", project::MODEL_NAME, project::ALIAS),
                || mlflow::check_registry(port, project::MODEL_NAME, project::ALIAS, run, model),
            );
        }
        _ => summary.skip(&[AFTER_RUN[3]], "no run or logged model"),
    }
    summary.step(
        AFTER_RUN[4],
        |keys: &Vec<String>| format!("{} objects in s3://{}", keys.len(), project::BUCKET),
        || super::check_bucket(moto, work),
    );
}

/// `churn deploy airflow` of the e2e project into `dags`, each task
/// retried once.
fn deploy(churn: &Path, conf: &Path, dags: &Path, project: &Path) -> Result<Deployed, String> {
    let output = Command::new(churn)
        .args(["deploy", "airflow", "--conf"])
        .arg(conf)
        .args(["--env", project::ENV, "--group-by", "memory"])
        .args(["--retries", "1", "--retry-delay", RETRY_DELAY_SECONDS])
        .args(["--json", "-o"])
        .arg(dags)
        .current_dir(project)
        .env_remove("MLFLOW_TRACKING_URI")
        .envs(NO_CLOUD)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", churn.display()))?;
    if !output.status.success() {
        return Err(format!(
            "churn deploy airflow failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let written: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("deploy airflow --json: {e}"))?;
    let text = |key: &str| {
        written[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no {key} in {written}"))
    };
    Ok(Deployed {
        file: PathBuf::from(text("file")?),
        dag_id: text("name")?,
        tasks: written["tasks"].as_array().map_or(0, Vec::len),
    })
}

/// Every task of the DAG (the plan's two more) ran once and succeeded,
/// each in a LocalExecutor worker (which logs each try to a file; a run in
/// the CLI's process logs to its stdout). Returns the number of tasks.
fn check_tasks(airflow: &AirflowHome, deployed: &Deployed) -> Result<usize, String> {
    let states = airflow.task_states(&deployed.dag_id)?;
    if states.len() != deployed.tasks + 2 {
        return Err(format!(
            "{} task instances, expected the plan's {} and mlflow_open_run, mlflow_close_run: \
             {states:?}",
            states.len(),
            deployed.tasks
        ));
    }
    let runs = airflow
        .logs_dir()
        .join(format!("dag_id={}", deployed.dag_id));
    let run_dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
        .map_err(|e| format!("read {}: {e}", runs.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let [run_dir] = run_dirs.as_slice() else {
        return Err(format!("expected one DAG run's logs: {run_dirs:?}"));
    };
    for (task, tries, state) in &states {
        if state != "success" || *tries != 1 {
            return Err(format!(
                "task {task}: {state} after {tries} tries: {states:?}"
            ));
        }
        let log = run_dir.join(format!("task_id={task}/attempt=1.log"));
        if !log.is_file() {
            return Err(format!("no worker log {}", log.display()));
        }
    }
    Ok(states.len())
}
