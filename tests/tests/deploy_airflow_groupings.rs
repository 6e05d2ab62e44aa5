//! The churn project's DAG with the two groupings that leave memory
//! datasets crossing tasks (`--group-by none`, one task per node, and
//! `--group-by namespace`, one per top-level namespace), persisted the way a
//! Kedro user persists them: a catch-all factory in an extra conf
//! environment. Each DAG runs under `airflow dags test` against a real
//! `mlflow server` into one run with one registered model, and predicts
//! what a single-process run predicts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tandem_test_support::airflow::{AirflowHome, airflow_bin};
use tandem_test_support::process::for_process;
use tandem_tests::{churn, ok, workspace_file};

use crate::deploy_airflow_mlflow::{
    assert_metrics_logged_once, assert_one_registered_version, load_parquet, runs_and_models,
    single_process_run, tracked_churn, unique,
};

/// The conf environment holding the factory.
const ENV: &str = "airflow";

/// Every dataset the catalog does not declare, as parquet: in churn's
/// pipelines those are the intermediate tables of the training and the
/// inference nodes (`customers_imputed`, `features`, `evaluation.*`,
/// `predictions`), all arrow tables; `params:` names never match a factory.
const FACTORY: &str = "\"{name}\":\n  type: pandas.ParquetDataset\n  \
                       filepath: data/02_intermediate/{name}.parquet\n";

/// The names of the datasets `FACTORY` persists in `__default__`, the ones
/// `deploy plan --group-by none` refuses without it.
const CROSSING: [&str; 6] = [
    "customers_imputed",
    "customers_scaled",
    "features",
    "evaluation.customers_imputed",
    "evaluation.customers_scaled",
    "evaluation.features",
];

/// `churn deploy <args> --json` in `project`: its JSON answer.
fn deploy_json(project: &Path, args: &[&str]) -> Value {
    let args = [&["deploy"][..], args, &["--json"]].concat();
    serde_json::from_str(&ok(&churn(&args, project))).unwrap()
}

/// Task id → its nodes, from a plan (or `deploy airflow`) answer.
fn tasks_of(plan: &Value) -> BTreeMap<String, Vec<String>> {
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let nodes = t["nodes"].as_array().unwrap();
            let nodes = nodes.iter().map(|n| n.as_str().unwrap().to_owned());
            (t["id"].as_str().unwrap().to_owned(), nodes.collect())
        })
        .collect()
}

/// The groups `grouping` makes of `nodes`: each node alone, or (namespace)
/// the nodes of one top-level namespace together.
fn expected_groups(grouping: &str, nodes: &BTreeSet<String>) -> BTreeSet<BTreeSet<String>> {
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for node in nodes {
        let key = match (grouping, node.split_once('.')) {
            ("namespace", Some((namespace, _))) => format!("ns:{namespace}"),
            _ => format!("node:{node}"),
        };
        groups.entry(key).or_default().insert(node.clone());
    }
    groups.into_values().collect()
}

/// Deploys the churn project (under `work/<grouping>`) with `grouping`
/// and the factory environment, runs its DAG with `airflow dags test`, and
/// asserts the plan, the task states and the one MLflow run. The project.
fn run_grouped(work: &Path, grouping: &str, all_nodes: &BTreeSet<String>) -> PathBuf {
    let scope = for_process();
    let dir = work.join(grouping);
    let experiment = unique(&format!("airflow-churn-group-{grouping}"));
    let model_name = unique(&format!("airflow-churn-group-{grouping}-model"));
    let project = tracked_churn(&dir, &experiment, &model_name);
    let env_dir = project.join("conf").join(ENV);
    std::fs::create_dir_all(&env_dir).unwrap();
    std::fs::write(env_dir.join("catalog.yml"), FACTORY).unwrap();
    let airflow = AirflowHome::create(airflow_bin(), &dir.join("airflow"), &scope.janitor())
        .unwrap_or_else(|e| panic!("{e}"));

    // Without the factory the plan refuses; with it, it groups as asked.
    let refused = churn(
        &["deploy", "plan", "--group-by", grouping, "--json"],
        &project,
    );
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("memory_dataset_crosses_tasks"),
        "{grouping}: {stderr}"
    );
    let source = ["--group-by", grouping, "--env", ENV];
    let plan = deploy_json(&project, &[&["plan"][..], &source].concat());
    let planned = tasks_of(&plan);
    let groups: BTreeSet<BTreeSet<String>> = planned
        .values()
        .map(|nodes| nodes.iter().cloned().collect())
        .collect();
    assert_eq!(groups, expected_groups(grouping, all_nodes), "{grouping}");
    let expected_count = if grouping == "none" { 17 } else { 14 };
    assert_eq!(planned.len(), expected_count, "{grouping}: {planned:?}");

    let dags = airflow.dags_dir();
    let written = deploy_json(
        &project,
        &[
            &["airflow"][..],
            &source,
            &["--retries", "1", "--retry-delay", "1", "-o"],
            &[dags.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(
        tasks_of(&written),
        planned,
        "the DAG's tasks are the plan's"
    );
    let file = PathBuf::from(written["file"].as_str().unwrap());
    let dag_id = written["name"].as_str().unwrap();
    assert_eq!(dag_id, "churn_airflow");

    let conf = json!({"data_generation.n_customers": 400});
    airflow
        .dags_test(dag_id, &file, Some(&conf))
        .unwrap_or_else(|e| panic!("{grouping}: {e}"));

    // Every task of the plan ran, once, and succeeded, the two around it too.
    let states = airflow.task_states(dag_id).unwrap();
    let ran: BTreeSet<&str> = states.iter().map(|(id, _, _)| id.as_str()).collect();
    let mut expected: BTreeSet<&str> = planned.keys().map(String::as_str).collect();
    expected.extend(["mlflow_open_run", "mlflow_close_run"]);
    assert_eq!(ran, expected, "{grouping}");
    for (id, tries, state) in &states {
        assert_eq!(state, "success", "{grouping}: task {id}: {states:?}");
        assert_eq!(*tries, 1, "{grouping}: task {id}: {states:?}");
    }

    // The datasets the plan refused without the factory went through its
    // parquet files.
    for name in CROSSING {
        let path = project.join(format!("data/02_intermediate/{name}.parquet"));
        assert!(path.is_file(), "{grouping}: {} missing", path.display());
    }

    // One run, FINISHED, each score logged once, one logged model,
    // registered once.
    let (runs, models) = runs_and_models(&experiment);
    assert_eq!(runs.len(), 1, "{grouping}: {runs:?}");
    let run_id = runs[0]["info"]["run_id"].as_str().unwrap();
    assert_eq!(runs[0]["info"]["status"], "FINISHED", "{}", runs[0]);
    assert_metrics_logged_once(run_id);
    assert_eq!(models.len(), 1, "{grouping}: {models:?}");
    assert_eq!(models[0]["info"]["source_run_id"], run_id);
    assert_eq!(models[0]["info"]["status"], "LOGGED_MODEL_READY");
    assert_one_registered_version(&model_name);
    project
}

#[test]
fn one_task_per_node_and_per_namespace_run_into_one_model_as_a_single_process_run() {
    let scope = for_process();
    let work = scope.new_dir("deploy-airflow-groupings").unwrap();

    // The pipeline's nodes, from the grouping that needs no factory.
    let memory = deploy_json(
        &workspace_file("examples/churn"),
        &["plan", "--group-by", "memory"],
    );
    let all_nodes: BTreeSet<String> = tasks_of(&memory).into_values().flatten().collect();
    assert_eq!(all_nodes.len(), 17, "{all_nodes:?}");

    let predictions = |root: &Path| {
        let path = root.join("data/07_model_output/test_predictions.parquet");
        load_parquet(path.to_str().unwrap(), None)
    };
    // A DAG run is not CPU-bound (Airflow's start-up and task polling), so
    // the two run side by side; a panic in either fails the test.
    let (single, projects) = std::thread::scope(|threads| {
        let runs: Vec<_> = ["none", "namespace"]
            .map(|grouping| {
                let (work, all_nodes) = (&work, &all_nodes);
                (
                    grouping,
                    threads.spawn(move || run_grouped(work, grouping, all_nodes)),
                )
            })
            .into_iter()
            .collect();
        let single = predictions(&single_process_run(&work, 400));
        let projects: Vec<_> = runs
            .into_iter()
            .map(|(grouping, run)| (grouping, run.join().unwrap()))
            .collect();
        (single, projects)
    });
    assert!(single.num_rows() > 0);
    for (grouping, project) in projects {
        assert_eq!(
            predictions(&project),
            single,
            "--group-by {grouping}: the DAG run's predictions equal the single-process run's"
        );
    }
}
