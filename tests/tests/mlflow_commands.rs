//! `tandem mlflow experiments|runs|artifacts|modelify` through the churn
//! example's binary against local stores (MLflow's default `mlflow.db`): what a tracked training
//! run left is listed and shown, artifacts round-trip, and a trained
//! PipelineMl is logged as a model from a fresh process and predicts.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use tandem_tests::{churn, churn_bin, ok, workspace_file};

use crate::run_support::copy_dir;

/// The churn project, trained once with tracking (its conf/base has an
/// mlflow.yml) into its ./mlflow.db (artifacts in ./mlruns), shared by the
/// tests that only read it.
fn trained() -> &'static Path {
    static PROJECT: OnceLock<tempfile::TempDir> = OnceLock::new();
    PROJECT
        .get_or_init(|| {
            let project = tempfile::tempdir().unwrap();
            copy_dir(
                &workspace_file("examples/churn/conf"),
                &project.path().join("conf"),
            );
            let small = "data_generation.n_customers=600";
            ok(&churn(&["run", "--params", small, "-q"], project.path()));
            project
        })
        .path()
}

fn ok_json(output: &Output) -> Value {
    serde_json::from_str(&ok(output)).unwrap()
}

/// The `{"error": {"kind", "message"}}` of a command that exited 1.
fn failed_json(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stderr).unwrap()
}

/// The one run the training left.
fn training_run(project: &Path) -> Value {
    let runs = ok_json(&churn(
        &["mlflow", "runs", "list", "--experiment", "churn", "--json"],
        project,
    ));
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

#[test]
fn experiments_are_listed_and_created() {
    let dir = tempfile::tempdir().unwrap();
    let created = ok_json(&churn(
        &["mlflow", "experiments", "create", "tuning", "--json"],
        dir.path(),
    ));
    assert_eq!(created["name"], "tuning");
    let id = created["experiment_id"].as_str().unwrap().to_owned();
    // MLflow's default store, in the current directory.
    assert!(dir.path().join("mlflow.db").is_file());
    assert!(
        !dir.path()
            .join("mlruns")
            .join(&id)
            .join("meta.yaml")
            .exists()
    );

    let listed = ok_json(&churn(
        &["mlflow", "experiments", "list", "--json"],
        dir.path(),
    ));
    let names: Vec<&str> = listed["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"tuning"), "{names:?}");
    let table = ok(&churn(&["mlflow", "experiments", "list"], dir.path()));
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("tuning"))
    );

    // A taken name fails with the client's kind.
    let again = churn(
        &["mlflow", "experiments", "create", "tuning", "--json"],
        dir.path(),
    );
    assert_eq!(failed_json(&again)["error"]["kind"], "already_exists");
}

#[test]
fn tracking_uri_overrides_the_project_store() {
    let dir = tempfile::tempdir().unwrap();
    ok(&churn(
        &[
            "mlflow",
            "experiments",
            "create",
            "elsewhere",
            "--tracking-uri",
            "other-store",
        ],
        dir.path(),
    ));
    assert!(dir.path().join("other-store").is_dir());
    assert!(!dir.path().join("mlruns").exists());
    // MLFLOW_TRACKING_URI is the default, and --tracking-uri beats it.
    let listed = Command::new(churn_bin())
        .args(["mlflow", "experiments", "list", "--json"])
        .current_dir(dir.path())
        .env("MLFLOW_TRACKING_URI", dir.path().join("other-store"))
        .output()
        .unwrap();
    assert!(ok(&listed).contains("elsewhere"));
    let overridden = Command::new(churn_bin())
        .args(["mlflow", "experiments", "list", "--json"])
        .args(["--tracking-uri", "third-store"])
        .current_dir(dir.path())
        .env("MLFLOW_TRACKING_URI", dir.path().join("other-store"))
        .output()
        .unwrap();
    assert!(!ok(&overridden).contains("elsewhere"));
}

#[test]
fn runs_are_listed_and_shown_after_a_tracked_run() {
    let project = trained();
    let run = training_run(project);
    let run_id = run["info"]["run_id"].as_str().unwrap();
    assert_eq!(run["info"]["status"], "FINISHED");

    // All experiments by default; by id as well as by name.
    let all = ok_json(&churn(&["mlflow", "runs", "list", "--json"], project));
    assert_eq!(all["runs"].as_array().unwrap().len(), 1);
    let experiment_id = run["info"]["experiment_id"].as_str().unwrap();
    let by_id = ok_json(&churn(
        &[
            "mlflow",
            "runs",
            "list",
            "--experiment-id",
            experiment_id,
            "--json",
        ],
        project,
    ));
    assert_eq!(by_id["runs"][0]["info"]["run_id"], run_id);
    let table = ok(&churn(&["mlflow", "runs", "list"], project));
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(run_id) && l.contains("FINISHED"))
    );

    let shown = ok_json(&churn(
        &["mlflow", "runs", "show", run_id, "--json"],
        project,
    ));
    assert_eq!(shown["info"]["run_id"], run_id);
    assert!(!shown["data"]["params"].as_array().unwrap().is_empty());
    let text = ok(&churn(&["mlflow", "runs", "show", run_id], project));
    assert!(text.contains("status: FINISHED"), "{text}");
    assert!(text.contains("tandem.pipeline"), "{text}");

    let unknown = churn(
        &[
            "mlflow",
            "runs",
            "show",
            "0123456789abcdef0123456789abcdef",
            "--json",
        ],
        project,
    );
    let error = failed_json(&unknown);
    assert_eq!(error["error"]["kind"], "not_found");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("0123456789abcdef0123456789abcdef"),
        "{message}"
    );

    let no_experiment = churn(
        &["mlflow", "runs", "list", "--experiment", "chrun", "--json"],
        project,
    );
    let error = failed_json(&no_experiment);
    assert_eq!(error["error"]["kind"], "not_found");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("churn")
    );
}

#[test]
fn artifacts_round_trip() {
    let project = trained();
    let run = training_run(project);
    let run_id = run["info"]["run_id"].as_str().unwrap();
    let local = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(local.path().join("reports/deep")).unwrap();
    std::fs::write(local.path().join("reports/a.txt"), "alpha").unwrap();
    std::fs::write(local.path().join("reports/deep/b.txt"), "beta").unwrap();
    std::fs::write(local.path().join("notes.txt"), "notes").unwrap();

    let file = ok_json(&churn(
        &[
            "mlflow",
            "artifacts",
            "log",
            local.path().join("notes.txt").to_str().unwrap(),
            "--run-id",
            run_id,
            "--json",
        ],
        project,
    ));
    assert_eq!(file["files"], 1);
    assert_eq!(file["artifact_path"], "notes.txt");
    let dir = ok(&churn(
        &[
            "mlflow",
            "artifacts",
            "log",
            local.path().join("reports").to_str().unwrap(),
            "--run-id",
            run_id,
            "--artifact-path",
            "reports",
        ],
        project,
    ));
    assert_eq!(
        dir.trim(),
        format!("logged 2 files to runs:/{run_id}/reports")
    );

    let listed = ok_json(&churn(
        &[
            "mlflow",
            "artifacts",
            "list",
            "--run-id",
            run_id,
            "--artifact-path",
            "reports",
            "--json",
        ],
        project,
    ));
    let mut paths: Vec<(String, bool)> = listed["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_owned(), f["is_dir"] == true))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            ("reports/a.txt".to_owned(), false),
            ("reports/deep".to_owned(), true)
        ]
    );
    let table = ok(&churn(
        &["mlflow", "artifacts", "list", "--run-id", run_id],
        project,
    ));
    assert!(table.lines().any(|l| l == "reports/"), "{table}");

    let dst = tempfile::tempdir().unwrap();
    let downloaded = ok_json(&churn(
        &[
            "mlflow",
            "artifacts",
            "download",
            "--run-id",
            run_id,
            "--artifact-path",
            "reports",
            "-o",
            dst.path().to_str().unwrap(),
            "--json",
        ],
        project,
    ));
    let path = Path::new(downloaded["path"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(path.join("a.txt")).unwrap(),
        "alpha"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("deep/b.txt")).unwrap(),
        "beta"
    );

    let missing = churn(
        &[
            "mlflow",
            "artifacts",
            "list",
            "--run-id",
            "0123456789abcdef0123456789abcdef",
            "--json",
        ],
        project,
    );
    assert_eq!(failed_json(&missing)["error"]["kind"], "not_found");
}

#[test]
fn modelify_logs_a_trained_pipeline_that_predicts() {
    let project = trained();
    let logged = ok_json(&churn(
        &[
            "mlflow",
            "modelify",
            "--pipeline",
            "training",
            "--input-name",
            "customers",
            "--infer-signature",
            "--infer-input-example",
            "--json",
        ],
        project,
    ));
    assert_eq!(logged["name"], "model-training");
    assert_eq!(logged["run_id"], Value::Null);
    let model_id = logged["model_id"].as_str().unwrap();
    assert_eq!(logged["model_uri"], format!("models:/{model_id}"));
    assert!(logged["mlmodel"]["signature"]["inputs"].is_string());
    assert_eq!(
        logged["mlmodel"]["saved_input_example_info"]["pandas_orient"],
        "split"
    );

    let dst = tempfile::tempdir().unwrap();
    let model = ok_json(&churn(
        &[
            "mlflow",
            "artifacts",
            "download",
            "--uri",
            logged["model_uri"].as_str().unwrap(),
            "-o",
            dst.path().to_str().unwrap(),
            "--json",
        ],
        project,
    ));
    let model = Path::new(model["path"].as_str().unwrap());
    let example: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("input_example.json")).unwrap())
            .unwrap();
    assert_eq!(example["data"].as_array().unwrap().len(), 1);
    let out = ok_json(&churn(
        &[
            "models",
            "predict",
            "-m",
            model.to_str().unwrap(),
            "-i",
            model.join("serving_input_example.json").to_str().unwrap(),
        ],
        project,
    ));
    assert_eq!(out["predictions"].as_array().unwrap().len(), 1);
}

#[test]
fn modelify_into_a_run_without_signature_or_example() {
    let project = trained();
    let run = training_run(project);
    let run_id = run["info"]["run_id"].as_str().unwrap();
    let text = ok(&churn(
        &[
            "mlflow",
            "modelify",
            "-p",
            "training",
            "-i",
            "customers",
            "--run-id",
            run_id,
            "--model-name",
            "churn-v2",
            "--copy-mode",
            "deepcopy",
        ],
        project,
    ));
    assert!(
        text.starts_with("Model 'churn-v2' logged with model_id 'm-"),
        "{text}"
    );
    assert!(text.contains(&format!("run: {run_id}")), "{text}");
    let uri = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("uri: "))
        .unwrap();
    let dst = tempfile::tempdir().unwrap();
    ok(&churn(
        &[
            "mlflow",
            "artifacts",
            "download",
            "--uri",
            uri,
            "-o",
            dst.path().to_str().unwrap(),
        ],
        project,
    ));
    let mlmodel = std::fs::read_to_string(dst.path().join("MLmodel")).unwrap();
    assert!(!mlmodel.contains("signature:"), "{mlmodel}");
    assert!(!mlmodel.contains("saved_input_example_info"), "{mlmodel}");
    assert!(mlmodel.contains("copy_mode: deepcopy"), "{mlmodel}");
    assert!(mlmodel.contains(run_id), "{mlmodel}");
    assert!(!dst.path().join("input_example.json").exists());
}

#[test]
fn modelify_rejects_training_only_inputs_and_registers_where_a_registry_is() {
    let project = trained();
    // `raw_customers` is a training input, which kedro-mlflow accepts.
    let out = churn(
        &[
            "mlflow",
            "modelify",
            "-p",
            "training",
            "-i",
            "raw_customers",
            "--json",
        ],
        project,
    );
    let error = failed_json(&out);
    assert_eq!(error["error"]["kind"], "invalid_input_name");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("raw_customers"), "{message}");
    for input in ["customers", "model", "scaler"] {
        assert!(message.contains(input), "{input} missing from: {message}");
    }

    // Registration needs a model registry: the default SQLite store has
    // one, the mlruns file store has none.
    let registered = ok_json(&churn(
        &[
            "mlflow",
            "modelify",
            "-p",
            "training",
            "-i",
            "customers",
            "--registered-model-name",
            "churn-modelified",
            "--json",
        ],
        project,
    ));
    let version = &registered["registered_model"];
    assert_eq!(version["name"], "churn-modelified", "{registered}");
    assert_eq!(version["version"].to_string().trim_matches('"'), "1");
    let file_store = tempfile::tempdir().unwrap();
    let out = churn(
        &[
            "mlflow",
            "modelify",
            "-p",
            "training",
            "-i",
            "customers",
            "--registered-model-name",
            "churn",
            "--tracking-uri",
            file_store.path().to_str().unwrap(),
            "--json",
        ],
        project,
    );
    let error = failed_json(&out);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs a model registry"),
        "{error}"
    );
}

/// Every file below `dir`, as paths relative to it.
fn files_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    found
}

#[test]
fn tracked_runs_embed_the_executable_unless_mlflow_yml_says_not_to() {
    let logged = files_below(&trained().join("mlruns"));
    assert!(
        logged.iter().any(|f| f.ends_with("bin/churn.zst")),
        "{logged:#?}"
    );

    let project = tempfile::tempdir().unwrap();
    let conf = project.path().join("conf");
    copy_dir(&workspace_file("examples/churn/conf"), &conf);
    let mlflow_yml = conf.join("base/mlflow.yml");
    let text = std::fs::read_to_string(&mlflow_yml).unwrap();
    assert!(text.contains("embed_executable: true"), "{text}");
    std::fs::write(
        &mlflow_yml,
        text.replace("embed_executable: true", "embed_executable: false"),
    )
    .unwrap();
    let small = "data_generation.n_customers=300";
    ok(&churn(&["run", "--params", small, "-q"], project.path()));
    let logged = files_below(&project.path().join("mlruns"));
    assert!(logged.iter().any(|f| f.ends_with("MLmodel")), "{logged:#?}");
    assert!(!logged.iter().any(|f| f.contains("/bin/")), "{logged:#?}");
}
