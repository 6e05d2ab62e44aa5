//! A DAG that `tandem deploy airflow` wrote, run by Apache Airflow 3.3.2
//! (`airflow dags test`, SQLite metadata, no examples): the cars fixture's
//! spec pipelines of builtin:identity nodes on CSV, parquet and JSON
//! datasets, one task (one process) per node, with a DAG run's params.

use serde_json::json;
use tandem_test_support::airflow::{AirflowHome, airflow_bin};
use tandem_test_support::process::for_process;
use tandem_tests::{ok, tandem_bin, workspace_file};

use crate::run_support::copy_dir;

#[test]
fn airflow_runs_every_task_of_the_generated_dag() {
    let scope = for_process();
    let work = scope.new_dir("deploy-airflow").unwrap();
    let project = work.join("cars project");
    copy_dir(&workspace_file("tests/fixtures/cars_project"), &project);
    let airflow = AirflowHome::create(airflow_bin(), &work.join("airflow"), &scope.janitor())
        .unwrap_or_else(|e| panic!("{e}"));

    let out = std::process::Command::new(tandem_bin())
        .args([
            "deploy",
            "airflow",
            "--spec",
            "pipelines.yml",
            "--json",
            "-o",
        ])
        .arg(airflow.dags_dir())
        .current_dir(&project)
        .output()
        .unwrap();
    let written: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(written["name"], "tandem");
    let tasks: Vec<&str> = written["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(tasks.len(), 6, "{written}");

    let file = airflow.dags_dir().join("tandem_dag.py");
    let conf = json!({"report.title": "Trucks", "report.threshold": 0.75});
    airflow
        .dags_test("tandem", &file, Some(&conf))
        .unwrap_or_else(|e| panic!("{e}"));

    let states = airflow.task_states("tandem").unwrap();
    let mut ids: Vec<&str> = states.iter().map(|(id, _, _)| id.as_str()).collect();
    let mut expected = tasks.clone();
    expected.sort_unstable();
    ids.sort_unstable();
    assert_eq!(ids, expected);
    for (id, _, state) in &states {
        assert_eq!(state, "success", "task {id}: {states:?}");
    }

    // Each task read what the one before it persisted, in another process.
    for output in [
        "data/03_primary/cars_back.csv",
        "data/05_model_input/prices.csv",
        "data/06_copies/local_prices.csv",
        "data/04_feature/model_input.parquet",
    ] {
        assert!(project.join(output).is_file(), "{output} missing");
    }
    let cars = std::fs::read_to_string(project.join("data/01_raw/cars.csv")).unwrap();
    let back = std::fs::read_to_string(project.join("data/03_primary/cars_back.csv")).unwrap();
    assert_eq!(back.lines().count(), cars.lines().count());
    // The DAG run's params reached the task; the list param kept its conf value.
    let params = std::fs::read_to_string(project.join("data/08_reporting/params.json")).unwrap();
    let params: serde_json::Value = serde_json::from_str(&params).unwrap();
    assert_eq!(
        params,
        json!({"title": "Trucks", "threshold": 0.75, "columns": ["id", "price"]})
    );
}
