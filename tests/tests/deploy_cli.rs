//! `deploy plan|airflow|argo` on the churn example's training pipeline and
//! its own conf, with each grouping.

use std::path::Path;

use serde_json::{Value, json};
use tandem_tests::{churn, churn_bin, ok, workspace_file};

use crate::run_support::copy_dir;

/// The churn conf, plus an environment `persisted` whose catch-all pattern
/// persists every dataset the catalog does not name.
fn project() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    copy_dir(
        &workspace_file("examples/churn/conf"),
        &project.path().join("conf"),
    );
    let env = project.path().join("conf/persisted");
    std::fs::create_dir_all(&env).unwrap();
    std::fs::write(
        env.join("catalog.yml"),
        "\"{name}\":\n  type: json.JSONDataset\n  filepath: data/intermediate/{name}.json\n",
    )
    .unwrap();
    project
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn failed_json(output: &std::process::Output) -> Value {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    json_of(&String::from_utf8_lossy(&output.stderr))
}

fn task_ids(plan: &Value) -> Vec<&str> {
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect()
}

const PLAN: [&str; 5] = ["deploy", "plan", "--pipeline", "training", "--json"];

#[test]
fn memory_datasets_crossing_tasks_are_refused_by_name() {
    let project = project();
    let none = failed_json(&churn(&PLAN, project.path()));
    assert_eq!(none["error"]["kind"], "memory_dataset_crosses_tasks");
    let message = none["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("'features' (encode -> fit_model)"),
        "{message}"
    );
    assert!(message.contains("'evaluation.features'"), "{message}");
    assert!(message.contains("factory pattern") && message.contains("--group-by memory"));

    // Grouping by namespace keeps the evaluation namespace's memory
    // datasets inside its task; the others still cross.
    let args = [&PLAN[..], &["--group-by", "namespace"]].concat();
    let namespace = failed_json(&churn(&args, project.path()));
    let message = namespace["error"]["message"].as_str().unwrap();
    assert!(message.contains("'customers_imputed'"), "{message}");
    assert!(!message.contains("evaluation."), "{message}");
}

#[test]
fn memory_grouping_joins_the_nodes_memory_datasets_join() {
    let project = project();
    let args = [&PLAN[..], &["--group-by", "memory"]].concat();
    let plan = json_of(&ok(&churn(&args, project.path())));
    assert_eq!(plan["group_by"], "memory");
    assert_eq!(plan["pipeline"], "training");
    let ids = task_ids(&plan);
    assert_eq!(ids.len(), 9, "{plan}");
    let fit = &plan["tasks"][3];
    assert_eq!(fit["id"], "impute-fit-scaler-scale-encode-fit-model");
    assert_eq!(
        fit["nodes"],
        json!(["impute", "fit_scaler", "scale", "encode", "fit_model"])
    );
    assert_eq!(
        fit["dependencies"],
        json!(["split-customers", "fit-encoder", "fit-imputer"])
    );
    assert_eq!(plan["tasks"][8]["id"], "track-metrics");
    assert_eq!(plan["tasks"][8]["dependencies"], json!(["evaluate"]));
    // The figure nodes read the persisted test predictions and labels.
    assert_eq!(plan["tasks"][7]["id"], "plot-roc-curve");

    // The text form is a table of the same tasks.
    let text = ok(&churn(
        &["deploy", "plan", "-p", "training", "-g", "memory"],
        project.path(),
    ));
    assert!(
        text.starts_with("Pipeline 'training' in 9 task(s), --group-by memory:"),
        "{text}"
    );
    assert!(text.contains("track-metrics"), "{text}");
}

#[test]
fn persisted_intermediates_allow_one_task_per_node_or_per_namespace() {
    let project = project();
    let args = [&PLAN[..], &["--env", "persisted"]].concat();
    let plan = json_of(&ok(&churn(&args, project.path())));
    assert_eq!(task_ids(&plan).len(), 16, "{plan}");
    let ids = task_ids(&plan);
    assert!(ids.contains(&"evaluation-predict"), "{ids:?}");
    let args = [&PLAN[..], &["--env", "persisted", "-g", "namespace"]].concat();
    let plan = json_of(&ok(&churn(&args, project.path())));
    let ids = task_ids(&plan);
    assert_eq!(ids.len(), 13, "{ids:?}");
    let evaluation = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "evaluation")
        .unwrap();
    assert_eq!(evaluation["nodes"].as_array().unwrap().len(), 4);
}

/// The DAG file parses as Python and each task runs the churn binary.
fn python_parses(file: &Path) {
    let out = std::process::Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn airflow_writes_one_dag_file_per_pipeline_and_env() {
    let project = project();
    let dags = project.path().join("dags");
    let out = ok(&churn(
        &[
            "deploy", "airflow", "-p", "training", "-g", "memory", "-o", "dags", "--json",
        ],
        project.path(),
    ));
    let written = json_of(&out);
    assert_eq!(written["name"], "churn_training");
    let file = dags.join("churn_training_dag.py");
    assert_eq!(written["file"], json!("dags/churn_training_dag.py"));
    let source = std::fs::read_to_string(&file).unwrap();
    python_parses(&file);
    assert!(
        source.contains("from airflow.sdk import DAG, Param"),
        "{source}"
    );
    assert!(source.contains("schedule=None"));
    assert!(source.contains("\"retries\": 1, \"retry_delay\": timedelta(seconds=300)"));
    // The 9 plan tasks, and the shared MLflow run's first and final tasks
    // (the churn conf has an mlflow.yml).
    assert_eq!(source.matches("BashOperator(").count(), 11);
    for task in ["mlflow_open_run", "mlflow_close_run", "on_task_failure"] {
        assert!(source.contains(task), "{task}: {source}");
    }
    let exe = churn_bin().to_string_lossy().into_owned();
    assert!(
        source.contains(&format!("'{exe}' run --pipeline 'training' --nodes")),
        "{source}"
    );
    let conf = std::path::absolute(project.path().join("conf")).unwrap();
    assert!(
        source.contains(&format!("--conf' '{}'", conf.display())),
        "{source}"
    );
    assert!(
        source.contains("\"seed\": Param(42, type=\"integer\")"),
        "{source}"
    );

    // Another env is another file and DAG id; the command is configurable.
    let written = json_of(&ok(&churn(
        &[
            "deploy",
            "airflow",
            "-p",
            "training",
            "--env",
            "persisted",
            "-o",
            "dags",
            "--command",
            "docker run --rm churn:1 churn",
            "--retries",
            "3",
            "--json",
        ],
        project.path(),
    )));
    assert_eq!(written["name"], "churn_persisted_training");
    let source = std::fs::read_to_string(dags.join("churn_persisted_training_dag.py")).unwrap();
    // 16 plan tasks (one per node) and the shared run's two.
    assert_eq!(source.matches("BashOperator(").count(), 18);
    assert!(
        source.contains("docker run --rm churn:1 churn mlflow runs create"),
        "{source}"
    );
    assert!(
        source.contains("docker run --rm churn:1 churn run --pipeline"),
        "{source}"
    );
    assert!(source.contains("'--env' 'persisted'"), "{source}");
    assert!(source.contains("\"retries\": 3"));
}

#[test]
fn argo_writes_a_workflow_with_one_task_per_group() {
    let project = project();
    ok(&churn(
        &[
            "deploy",
            "argo",
            "-p",
            "training",
            "-g",
            "memory",
            "-o",
            ".",
            "--image",
            "registry.example/churn:1.0",
        ],
        project.path(),
    ));
    let manifest = std::fs::read_to_string(project.path().join("churn-training.yaml")).unwrap();
    assert!(manifest.contains("kind: Workflow"), "{manifest}");
    assert!(
        manifest.contains("registry.example/churn:1.0"),
        "{manifest}"
    );
    assert_eq!(
        manifest.matches("template: tandem-run").count(),
        9,
        "{manifest}"
    );
    ok(&churn(
        &[
            "deploy", "argo", "-p", "training", "-g", "memory", "-o", "wf.yaml",
        ],
        project.path(),
    ));
    let named = std::fs::read_to_string(project.path().join("wf.yaml")).unwrap();
    assert!(named.contains("churn:latest"), "{named}");
}

#[test]
fn help_teaches_with_examples() {
    for command in ["plan", "airflow", "argo"] {
        let help = ok(&churn(&["deploy", command, "--help"], Path::new(".")));
        assert!(help.contains("Examples:"), "{command}: {help}");
        assert!(help.contains("--group-by"), "{command}: {help}");
    }
    let bad = churn(&["deploy", "plan", "--group-by", "nodes"], Path::new("."));
    assert_eq!(bad.status.code(), Some(2));
}

/// The cars fixture in a temp directory: a spec, its conf and its raw data.
fn cars_project() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    copy_dir(
        &workspace_file("tests/fixtures/cars_project"),
        project.path(),
    );
    project
}

#[test]
fn spec_pipelines_deploy_with_their_spec_files_and_params() {
    let project = cars_project();
    let out = std::process::Command::new(tandem_tests::tandem_bin())
        .args([
            "deploy",
            "airflow",
            "--spec",
            "pipelines.yml",
            "-p",
            "__default__",
            "-g",
            "namespace",
            "-o",
            "dags",
            "--json",
        ])
        .current_dir(project.path())
        .output()
        .unwrap();
    let written = json_of(&ok(&out));
    assert_eq!(written["name"], "tandem");
    assert_eq!(task_ids(&written), ["echo-params", "ingest", "features"]);
    assert_eq!(written["tasks"][2]["dependencies"], json!(["ingest"]));
    let source = std::fs::read_to_string(project.path().join("dags/tandem_dag.py")).unwrap();
    python_parses(&project.path().join("dags/tandem_dag.py"));
    let spec = std::path::absolute(project.path().join("pipelines.yml")).unwrap();
    assert!(
        source.contains(&format!("'--spec' '{}'", spec.display())),
        "{source}"
    );
    assert!(source.contains("max_active_runs=3"), "{source}");
    // report.title and report.threshold are params; report.columns (a list) is not.
    assert!(
        source.contains("\"report.title\": Param(\"Cars\", type=\"string\", pattern=\"^[^,]*$\")")
    );
    assert!(source.contains("\"report.threshold\": Param(0.5, type=\"number\")"));
    assert!(!source.contains("report.columns"), "{source}");
}
