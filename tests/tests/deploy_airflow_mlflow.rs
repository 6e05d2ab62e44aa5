//! One MLflow run across the tasks of an Airflow DAG run: the churn
//! project's `__default__` PipelineMl (data generation and training),
//! deployed with `--group-by memory` and run by Apache Airflow 3.3.2
//! (`airflow dags test`), tracked on a real `mlflow server` with a
//! registered model name. The DAG's first task opens the run, every task
//! joins it through `MLFLOW_RUN_ID` and saves under the DAG run's id, the
//! final task logs the model once and ends the run; a task failing for
//! good ends it FAILED through the failure callback.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tandem_test_support::airflow::{AirflowHome, airflow_bin};
use tandem_test_support::gate::HANG_GUARD;
use tandem_test_support::http;
use tandem_test_support::mlflow::server;
use tandem_test_support::process::for_process;
use tandem_tests::{churn_bin, ok, workspace_file};

use crate::run_support::copy_dir;

/// A name no other test (or earlier run) uses on the shared server.
pub(crate) fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The churn project under `dir`, tracked on the shared server in
/// `experiment`, registering its model as `model_name`.
pub(crate) fn tracked_churn(dir: &Path, experiment: &str, model_name: &str) -> PathBuf {
    let project = dir.join("churn");
    copy_dir(
        &workspace_file("examples/churn/conf"),
        &project.join("conf"),
    );
    std::fs::write(
        project.join("conf/base/mlflow.yml"),
        format!(
            "server:\n  mlflow_tracking_uri: {}\n\
             tracking:\n  experiment:\n    name: {experiment}\n  \
             model:\n    registered_model_name: {model_name}\n",
            server().uri
        ),
    )
    .unwrap();
    project
}

/// `churn deploy airflow --group-by memory` into the home's DAG folder,
/// retrying a failed task once after 1 s: the DAG file and its task ids.
fn deploy(project: &Path, airflow: &AirflowHome) -> (PathBuf, Vec<String>) {
    deploy_with(project, airflow, &[])
}

/// [`deploy`] with more `deploy airflow` arguments (`--command ...`).
pub(crate) fn deploy_with(
    project: &Path,
    airflow: &AirflowHome,
    extra: &[&str],
) -> (PathBuf, Vec<String>) {
    let out = std::process::Command::new(churn_bin())
        .args([
            "deploy",
            "airflow",
            "--group-by",
            "memory",
            "--retries",
            "1",
            "--retry-delay",
            "1",
            "--json",
            "-o",
        ])
        .arg(airflow.dags_dir())
        .args(extra)
        .current_dir(project)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    let written: Value = serde_json::from_str(&ok(&out)).unwrap();
    let tasks = written["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let file = PathBuf::from(written["file"].as_str().unwrap());
    (file, tasks)
}

/// `POST /api/2.0/mlflow/<path>` on the shared server: the JSON answer.
fn post(path: &str, body: &Value) -> Value {
    let reply = http::send_json(
        server().port,
        "POST",
        &format!("/api/2.0/mlflow/{path}"),
        body,
        HANG_GUARD,
    )
    .unwrap();
    reply.ok_json().unwrap()
}

pub(crate) fn get(path: &str) -> Value {
    let reply = http::get(
        server().port,
        &format!("/api/2.0/mlflow/{path}"),
        HANG_GUARD,
    )
    .unwrap();
    reply.ok_json().unwrap()
}

fn experiment_id(name: &str) -> String {
    get(&format!("experiments/get-by-name?experiment_name={name}"))["experiment"]["experiment_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every run and every logged model of the experiment.
pub(crate) fn runs_and_models(experiment: &str) -> (Vec<Value>, Vec<Value>) {
    let ids = json!([experiment_id(experiment)]);
    let runs = post("runs/search", &json!({ "experiment_ids": ids }));
    let models = post("logged-models/search", &json!({ "experiment_ids": ids }));
    (
        runs["runs"].as_array().cloned().unwrap_or_default(),
        models["models"].as_array().cloned().unwrap_or_default(),
    )
}

pub(crate) fn entry<'a>(run: &'a Value, section: &str, key: &str) -> Option<&'a Value> {
    run["data"][section]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .map(|t| &t["value"])
}

fn states(airflow: &AirflowHome) -> Vec<(String, i64, String)> {
    airflow.task_states("churn").unwrap()
}

/// A test's own churn project and Airflow home under a fresh work
/// directory, tracked in an experiment and registering a model of its own.
struct Setup {
    work: PathBuf,
    experiment: String,
    model_name: String,
    project: PathBuf,
    airflow: AirflowHome,
}

fn setup(name: &str) -> Setup {
    let scope = for_process();
    let work = scope
        .new_dir(&format!("deploy-airflow-mlflow-{name}"))
        .unwrap();
    let experiment = unique(&format!("airflow-churn-{name}"));
    let model_name = unique(&format!("airflow-churn-{name}-model"));
    let project = tracked_churn(&work, &experiment, &model_name);
    let airflow = AirflowHome::create(airflow_bin(), &work.join("airflow"), &scope.janitor())
        .unwrap_or_else(|e| panic!("{e}"));
    Setup {
        work,
        experiment,
        model_name,
        project,
        airflow,
    }
}

/// Asserts `model_name` has exactly one registered version.
pub(crate) fn assert_one_registered_version(model_name: &str) {
    let versions = get(&format!(
        "model-versions/search?filter=name%20%3D%20%27{model_name}%27"
    ));
    assert_eq!(
        versions["model_versions"].as_array().map(Vec::len),
        Some(1),
        "{versions}"
    );
}

/// Asserts each of churn's scores has one point in `run`'s history.
pub(crate) fn assert_metrics_logged_once(run: &str) {
    for metric in ["metrics.accuracy", "metrics.roc_auc"] {
        let history = get(&format!(
            "metrics/get-history?run_id={run}&metric_key={metric}"
        ));
        assert_eq!(
            history["metrics"].as_array().map(Vec::len),
            Some(1),
            "{metric} logged once: {history}"
        );
    }
}

/// Asserts `experiment` holds exactly one run, FINISHED, with the DAG
/// run's params (`n_customers: 400`), churn's scores each logged once and
/// one ready logged model, registered once as `model_name` from that run;
/// returns the run.
pub(crate) fn assert_one_finished_run_and_model(experiment: &str, model_name: &str) -> Value {
    let (runs, models) = runs_and_models(experiment);
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = runs[0].clone();
    let run_id = run["info"]["run_id"].as_str().unwrap();
    assert_eq!(run["info"]["status"], "FINISHED", "{run}");
    let generation = entry(&run, "params", "data_generation").unwrap();
    assert!(
        generation.as_str().unwrap().contains("'n_customers': 400"),
        "the DAG run's params: {generation}"
    );
    assert_eq!(entry(&run, "params", "test_size"), Some(&json!("0.2")));
    for metric in ["metrics.accuracy", "metrics.roc_auc", "metrics.f1"] {
        assert!(entry(&run, "metrics", metric).is_some(), "{metric}: {run}");
    }
    assert_metrics_logged_once(run_id);
    assert_eq!(models.len(), 1, "{models:?}");
    let model = &models[0]["info"];
    assert_eq!(model["source_run_id"], run_id);
    assert_eq!(model["status"], "LOGGED_MODEL_READY");
    assert_eq!(model["name"], "model");
    let version = get(&format!("model-versions/get?name={model_name}&version=1"));
    assert_eq!(version["model_version"]["run_id"], run_id, "{version}");
    assert_one_registered_version(model_name);
    run
}

#[test]
fn one_mlflow_run_holds_every_task_and_one_registered_model() {
    let Setup {
        experiment,
        model_name,
        project,
        airflow,
        ..
    } = setup("one-run");
    let (file, tasks) = deploy(&project, &airflow);
    assert_eq!(tasks.len(), 10, "{tasks:?}");

    let conf = json!({"data_generation.n_customers": 400});
    airflow
        .dags_test("churn", &file, Some(&conf))
        .unwrap_or_else(|e| panic!("{e}"));

    // Every task succeeded, the two around the plan included.
    let states = states(&airflow);
    let mut ids: Vec<&str> = states.iter().map(|(id, _, _)| id.as_str()).collect();
    let mut expected: Vec<&str> = tasks.iter().map(String::as_str).collect();
    expected.extend(["mlflow_close_run", "mlflow_open_run"]);
    ids.sort_unstable();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    for (id, _, state) in &states {
        assert_eq!(state, "success", "task {id}: {states:?}");
    }

    // Exactly one run, FINISHED, holding the params, the metrics the last
    // plan task logged, and one logged model, registered once.
    let run = assert_one_finished_run_and_model(&experiment, &model_name);
    assert_eq!(run["info"]["run_name"], "__default__");

    // Every task saved under the DAG run's id (its `:` and `+` made `.` and
    // `_`), and the model was logged from that version.
    let version_id = entry(&run, "tags", "tandem.run_id")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    assert!(version_id.starts_with("manual__"), "{version_id}");
    assert!(!version_id.contains(':') && !version_id.contains('+'));
    let versions_dir = project.join("data/06_models/churn_model.json");
    let saved: Vec<String> = std::fs::read_dir(&versions_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(saved, [version_id], "one version, the DAG run's");
}

#[test]
fn a_task_failing_for_good_leaves_the_run_failed_and_no_model() {
    let Setup {
        experiment,
        project,
        airflow,
        ..
    } = setup("fail");
    let (file, _) = deploy(&project, &airflow);

    // split_customers refuses a test_size outside (0, 1), on every try.
    let conf = json!({"data_generation.n_customers": 300, "test_size": 1.5});
    let failed = airflow.dags_test("churn", &file, Some(&conf));
    assert!(failed.is_err(), "the DAG run must fail");

    let states = states(&airflow);
    let state = |id: &str| {
        states
            .iter()
            .find(|(task, _, _)| task == id)
            .unwrap_or_else(|| panic!("{id}: {states:?}"))
            .clone()
    };
    assert_eq!(state("mlflow_open_run").2, "success");
    assert_eq!(state("generate-customers").2, "success");
    // Retried once (the first failure did not end the run), then failed.
    assert_eq!(state("split-customers").1, 2, "{states:?}");
    assert_eq!(state("split-customers").2, "failed");
    assert_eq!(state("mlflow_close_run").2, "upstream_failed");

    let (runs, models) = runs_and_models(&experiment);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["info"]["status"], "FAILED", "{}", runs[0]);
    assert!(entry(&runs[0], "tags", "tandem.error").is_some());
    assert!(models.is_empty(), "{models:?}");
}

/// A `--command` wrapper of the project binary whose first try of the task
/// running `fit_model` exits 3: before the binary runs, or with `save_first`
/// after it ran (its exit status written to the marker), so the task's
/// versioned `model` is saved under the DAG run's id when the try fails.
/// The wrapper and the marker the failure leaves.
fn failing_once(work: &Path, save_first: bool) -> (PathBuf, PathBuf) {
    let marker = work.join("fit_model-failed-once");
    let wrapper = work.join("flaky-churn.sh");
    let (churn, flag) = (churn_bin().display().to_string(), marker.display());
    let fail = if save_first {
        format!("'{churn}' \"$@\"; echo $? > '{flag}'")
    } else {
        format!("touch '{flag}'")
    };
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh
             case \"$*\" in *fit_model*)
               if [ ! -e '{flag}' ]; then {fail}; echo 'injected failure' >&2; exit 3; fi;;
             esac
             exec '{churn}' \"$@\"
"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    (wrapper, marker)
}

/// Runs the DAG with the task running `fit_model` failing once (see
/// [`failing_once`]) and asserts what a retry must leave: every task
/// succeeded, one of them on try 2; one run, FINISHED, with one model,
/// registered once, and each metric logged once. The run's MLflow id.
fn run_failing_once(setup: &Setup, save_first: bool) -> String {
    let (wrapper, marker) = failing_once(&setup.work, save_first);
    let (file, tasks) = deploy_with(
        &setup.project,
        &setup.airflow,
        &["--command", wrapper.to_str().unwrap()],
    );
    let conf = json!({"data_generation.n_customers": 400});
    setup
        .airflow
        .dags_test("churn", &file, Some(&conf))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(marker.exists(), "the failure was injected");
    if save_first {
        let status = std::fs::read_to_string(&marker).unwrap();
        assert_eq!(status.trim(), "0", "the failed try ran every node first");
    }

    let states = states(&setup.airflow);
    for (id, _, state) in &states {
        assert_eq!(state, "success", "task {id}: {states:?}");
    }
    let retried: Vec<_> = states.iter().filter(|(_, tries, _)| *tries == 2).collect();
    assert_eq!(retried.len(), 1, "one task ran twice: {states:?}");
    assert!(tasks.contains(&retried[0].0), "{retried:?}");

    let (runs, models) = runs_and_models(&setup.experiment);
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run_id = runs[0]["info"]["run_id"].as_str().unwrap().to_owned();
    assert_eq!(runs[0]["info"]["status"], "FINISHED", "{}", runs[0]);
    assert_eq!(models.len(), 1, "{models:?}");
    assert_one_registered_version(&setup.model_name);
    assert_metrics_logged_once(&run_id);
    run_id
}

#[test]
fn a_task_failing_once_is_retried_and_the_run_ends_with_one_model_as_a_single_process_run() {
    let setup = setup("flaky");
    run_failing_once(&setup, false);

    // The same project run in one process, with the same seed and
    // parameters, predicts exactly what the DAG run did.
    let predictions = |root: &Path| {
        let path = root.join("data/07_model_output/test_predictions.parquet");
        load_parquet(path.to_str().unwrap(), None)
    };
    let single = single_process_run(&setup.work, 400);
    let (dag, one) = (predictions(&setup.project), predictions(&single));
    assert!(dag.num_rows() > 0);
    assert_eq!(
        dag, one,
        "the DAG run's predictions equal the single-process run's"
    );
}

#[test]
fn a_task_failing_after_saving_its_versioned_model_is_retried_into_the_same_version() {
    let setup = setup("saved-then-failed");
    let run_id = run_failing_once(&setup, true);

    // The retry replaced the failed try's model in place: still one
    // version, the DAG run's.
    let run = get(&format!("runs/get?run_id={run_id}"));
    let version_id = entry(&run["run"], "tags", "tandem.run_id")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    let saved: Vec<String> =
        std::fs::read_dir(setup.project.join("data/06_models/churn_model.json"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    assert_eq!(saved, [version_id], "one version, the DAG run's");
}

/// `churn run` of a fresh copy of the example project under
/// `<work>/single` (local files, no server), with `n_customers`: the
/// reference a DAG run's results are compared with. Returns its root.
pub(crate) fn single_process_run(work: &Path, n_customers: u32) -> PathBuf {
    let single = work.join("single");
    copy_dir(&workspace_file("examples/churn/conf"), &single.join("conf"));
    let out = std::process::Command::new(churn_bin())
        .args(["run", "--params"])
        .arg(format!("data_generation.n_customers={n_customers}"))
        .current_dir(&single)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    ok(&out);
    single
}

/// The parquet file at `filepath` (a path or URL) as one table.
pub(crate) fn load_parquet(
    filepath: &str,
    credentials: Option<tandem_catalog::Credentials>,
) -> arrow_array::RecordBatch {
    let options = json!({ "filepath": filepath });
    let mut config = tandem_catalog::DatasetConfig::new(
        "test_predictions",
        "pandas.ParquetDataset",
        options.as_object().unwrap().clone(),
    );
    config.credentials = credentials;
    tandem_catalog::DatasetRegistry::with_builtins()
        .build(&config)
        .unwrap()
        .load()
        .unwrap()
        .into_value::<arrow_array::RecordBatch>()
        .unwrap()
}

/// `churn <args>` in `project` with `MLFLOW_RUN_ID` set to `run` (when
/// given), as an Airflow task runs it: its stdout.
fn churn_task(project: &Path, run: Option<&str>, args: &[&str]) -> String {
    let mut command = std::process::Command::new(churn_bin());
    command
        .args(args)
        .current_dir(project)
        .env("NO_COLOR", "1")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("TANDEM_RUN_ID");
    match run {
        Some(run) => command.env("MLFLOW_RUN_ID", run),
        None => command.env_remove("MLFLOW_RUN_ID"),
    };
    ok(&command.output().unwrap())
}

#[test]
fn retried_tasks_log_nothing_twice_and_the_final_task_one_model() {
    let scope = for_process();
    let work = scope.new_dir("deploy-shared-run-retries").unwrap();
    let experiment = unique("shared-churn");
    let model_name = unique("shared-churn-model");
    let project = tracked_churn(&work, &experiment, &model_name);
    let scoped = [
        "--run-id",
        "dag-run-1",
        "--params",
        "data_generation.n_customers=300",
    ];

    let create = [&["mlflow", "runs", "create"][..], &scoped].concat();
    let out = churn_task(&project, None, &create);
    let run = out.lines().last().unwrap().trim().to_owned();
    assert_eq!(run.len(), 32, "the run id alone on the last line: {out:?}");

    // The memory groups of `deploy plan --group-by memory`, each in a
    // process of its own; an encoder, the model's and the metrics tasks run
    // twice, as a retry of a try that failed after saving and logging would
    // (the model's task rewrites its versioned `model` under the run id).
    let tasks = [
        "generate_customers",
        "split_customers",
        "fit_encoder",
        "fit_encoder",
        "fit_imputer",
        "impute,fit_scaler,scale,encode,fit_model",
        "impute,fit_scaler,scale,encode,fit_model",
        "evaluation.impute,evaluation.scale,evaluation.encode,evaluation.predict",
        "evaluate",
        "track_metrics",
        "track_metrics",
    ];
    for nodes in tasks {
        let args = [&["run", "-q", "--nodes", nodes][..], &scoped].concat();
        churn_task(&project, Some(&run), &args);
    }
    let (runs, models) = runs_and_models(&experiment);
    assert_eq!(runs.len(), 1, "the tasks created no run: {runs:?}");
    assert_eq!(
        runs[0]["info"]["status"], "RUNNING",
        "left open by the tasks"
    );
    assert!(models.is_empty(), "only the final task logs the model");

    // The final task, retried: one model, one registered version.
    let end = [&["mlflow", "runs", "end", &run][..], &scoped].concat();
    let first = churn_task(&project, None, &end);
    assert!(
        first.contains(&format!("registered: {model_name} version 1")),
        "{first}"
    );
    let second = churn_task(&project, None, &end);
    assert!(!second.contains("logged"), "{second}");

    let (runs, models) = runs_and_models(&experiment);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["info"]["status"], "FINISHED");
    assert_eq!(models.len(), 1, "{models:?}");
    assert_metrics_logged_once(&run);
    assert_one_registered_version(&model_name);

    // Every task read and wrote the one version.
    let saved = std::fs::read_dir(project.join("data/06_models/churn_model.json"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    assert_eq!(saved, ["dag-run-1"]);

    // The failure path needs nothing but the run id and the conf.
    let failed = churn_task(
        &project,
        None,
        &[
            "mlflow", "runs", "end", &run, "--status", "FAILED", "--reason", "boom",
        ],
    );
    assert!(failed.contains("FAILED"), "{failed}");
    let (runs, _) = runs_and_models(&experiment);
    assert_eq!(runs[0]["info"]["status"], "FAILED");
    assert_eq!(
        entry(&runs[0], "tags", "tandem.error").and_then(Value::as_str),
        Some("boom")
    );
}
