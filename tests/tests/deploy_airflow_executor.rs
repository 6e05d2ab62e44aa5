//! The churn project's DAG (`deploy airflow --group-by memory`) run the
//! way a deployment runs it: Apache Airflow 3.3.2's LocalExecutor, whose
//! worker processes report to an Execution API server on 127.0.0.1
//! (`airflow dags test --use-executor`), the datasets crossing tasks on
//! moto's S3 server (explicit keys and endpoint) and tracking on a real
//! `mlflow server`. One MLflow run holds every task's logging and one
//! registered model, which predicts what a single-process run predicts.

use serde_json::{Value, json};
use tandem_test_support::airflow::{AirflowHome, airflow_bin};
use tandem_test_support::gate::HANG_GUARD;
use tandem_test_support::http;
use tandem_test_support::process::for_process;
use tandem_test_support::s3_catalog::{s3_catalog, s3_paths};
use tandem_tests::moto::{SECRET, credentials, moto};

use crate::deploy_airflow_mlflow::{
    assert_one_finished_run_and_model, deploy_with, entry, load_parquet, single_process_run,
    tracked_churn, unique,
};

/// The conf environment holding the S3 catalog and its credentials.
const ENV: &str = "s3";

#[test]
fn the_local_executor_runs_every_task_into_one_mlflow_run_with_data_on_s3() {
    let scope = for_process();
    let work = scope.new_dir("deploy-airflow-executor").unwrap();
    let experiment = unique("airflow-executor-churn");
    let model_name = unique("airflow-executor-churn-model");
    let project = tracked_churn(&work, &experiment, &model_name);
    let bucket = moto().new_bucket();
    let conf = project.join("conf");
    let base = std::fs::read_to_string(conf.join("base/catalog.yml")).unwrap();
    let catalog = s3_catalog(&base, &bucket, "moto");
    std::fs::create_dir_all(conf.join(ENV)).unwrap();
    std::fs::write(conf.join(ENV).join("catalog.yml"), &catalog).unwrap();
    std::fs::write(
        conf.join(ENV).join("credentials.yml"),
        format!(
            "moto:\n  key: tandem-key-id\n  secret: {SECRET}\n  region_name: us-east-1\n  \
             client_kwargs:\n    endpoint_url: {}\n",
            moto().endpoint
        ),
    )
    .unwrap();

    let airflow = AirflowHome::create(airflow_bin(), &work.join("airflow"), &scope.janitor())
        .unwrap_or_else(|e| panic!("{e}"));
    let api = airflow
        .start_execution_api()
        .unwrap_or_else(|e| panic!("{e}"));
    let (file, tasks) = deploy_with(&project, &airflow, &["--env", ENV]);
    assert_eq!(tasks.len(), 10, "{tasks:?}");
    let dag_text = std::fs::read_to_string(&file).unwrap();
    assert!(!dag_text.contains(SECRET), "no credential in the DAG file");
    let dag_id = "churn_s3";
    assert_eq!(
        file.file_name().and_then(|n| n.to_str()),
        Some("churn_s3_dag.py")
    );

    let params = json!({"data_generation.n_customers": 400});
    airflow
        .dags_test_with_executor(&api, dag_id, &file, Some(&params))
        .unwrap_or_else(|e| panic!("{e}"));

    // Every task ran once, in a LocalExecutor worker (its try log is where
    // the executor's supervisor writes it), and succeeded.
    let states = airflow.task_states(dag_id).unwrap();
    let mut ids: Vec<&str> = states.iter().map(|(id, _, _)| id.as_str()).collect();
    let mut expected: Vec<&str> = tasks.iter().map(String::as_str).collect();
    expected.extend(["mlflow_close_run", "mlflow_open_run"]);
    ids.sort_unstable();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let runs_dir = airflow.logs_dir().join(format!("dag_id={dag_id}"));
    let run_dirs: Vec<_> = std::fs::read_dir(&runs_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", runs_dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(run_dirs.len(), 1, "one DAG run: {run_dirs:?}");
    for (id, tries, state) in &states {
        assert_eq!(state, "success", "task {id}: {states:?}");
        assert_eq!(*tries, 1, "task {id}: {states:?}");
        let log = run_dirs[0].join(format!("task_id={id}/attempt=1.log"));
        assert!(log.is_file(), "{} missing", log.display());
    }

    // One run, FINISHED, with the DAG run's params, each score logged
    // once, and one logged model, registered once.
    let run = assert_one_finished_run_and_model(&experiment, &model_name);

    // Every dataset of the catalog was persisted in the bucket, the
    // versioned model under the DAG run's id, and nothing on local disk.
    let listing = http::get(moto().port, &format!("/{bucket}?list-type=2"), HANG_GUARD)
        .unwrap()
        .text();
    for path in s3_paths(&catalog, &bucket) {
        assert!(
            listing.contains(&format!("<Key>{path}")),
            "{path} not in s3://{bucket}: {listing}"
        );
    }
    let version_id = entry(&run, "tags", "tandem.run_id")
        .and_then(Value::as_str)
        .unwrap();
    assert!(version_id.starts_with("manual__"), "{version_id}");
    let model_key = format!("data/06_models/churn_model.json/{version_id}/churn_model.json");
    assert!(
        listing.contains(&format!("<Key>{model_key}</Key>")),
        "{listing}"
    );
    assert!(!project.join("data").exists(), "no dataset on local disk");

    // The same project run in one process, on local files, predicts
    // exactly what the DAG run saved on S3.
    let predictions = format!("s3://{bucket}/data/07_model_output/test_predictions.parquet");
    let dag = load_parquet(&predictions, Some(credentials()));
    let single = single_process_run(&work, 400);
    let one = load_parquet(
        single
            .join("data/07_model_output/test_predictions.parquet")
            .to_str()
            .unwrap(),
        None,
    );
    assert!(dag.num_rows() > 0);
    assert_eq!(
        dag, one,
        "the DAG run's predictions equal a single process's"
    );
}
