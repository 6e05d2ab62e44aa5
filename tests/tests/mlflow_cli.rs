//! MLflow tracking through the churn example's binary and the embedded
//! default store, MLflow's own `mlflow.db` at the project root: `mlflow
//! init` opts a project in, and a training run then is one FINISHED MLflow
//! run with its parameters, metrics and one logged model, which MLflow's
//! Python client (with no tracking URI, as `mlflow ui` in the project) and
//! `mlflow server` on that database read back.

use std::path::{Path, PathBuf};

use serde_json::json;
use tandem_tests::{churn, ok, workspace_file};

use crate::run_support::copy_dir;

const SMALL: &str = "data_generation.n_customers=600";

fn project() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    copy_dir(
        &workspace_file("examples/churn/conf"),
        &project.path().join("conf"),
    );
    project
}

/// Every file called `name` under `dir`.
fn find(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(find(&path, name));
        } else if entry.file_name() == name {
            found.push(path);
        }
    }
    found
}

#[test]
fn init_then_run_logs_one_run_and_one_model() {
    let project = project();
    let written = ok(&churn(&["mlflow", "init", "--json"], project.path()));
    let written: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert!(written["path"].as_str().unwrap().ends_with("mlflow.yml"));
    let config = project.path().join("conf/local/mlflow.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("long_params_strategy: fail"), "{text}");

    // A second init refuses to overwrite; --force does.
    let again = churn(&["mlflow", "init"], project.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    ok(&churn(&["mlflow", "init", "--force"], project.path()));

    ok(&churn(&["run", "--params", SMALL, "-q"], project.path()));
    assert!(project.path().join("mlflow.db").is_file());
    // Artifacts go where MLflow puts a SQLite store's: ./mlruns/<exp>/...,
    // with no file-store metadata that would switch MLflow's default.
    let mlruns = project.path().join("mlruns");
    assert!(find(&mlruns, "meta.yaml").is_empty());
    assert_eq!(find(&mlruns, "MLmodel").len(), 1);

    let seen = mlflow_reads(project.path());
    assert_eq!(seen["runs"], 1, "{seen}");
    assert_eq!(seen["status"], "FINISHED", "{seen}");
    assert_eq!(seen["pipeline_tag"], "__default__", "{seen}");
    assert_eq!(seen["source_type"], "LOCAL", "{seen}");
    assert!(seen["params"].as_u64().unwrap() > 0, "{seen}");
    let accuracy = seen["accuracy"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&accuracy), "{seen}");
    assert_eq!(seen["model_params"], seen["params"], "{seen}");
    assert_eq!(seen["model_accuracy"], seen["accuracy"], "{seen}");
    assert_eq!(seen["found"], json!([seen["model_id"]]), "{seen}");
    assert_eq!(seen["mlflow_version"], "3.17.2", "{seen}");
    assert_eq!(seen["info_model_id"], seen["model_id"], "{seen}");
    assert!(seen["artifacts"].as_u64().unwrap() > 0, "{seen}");
    // The ROC curve and confusion matrix nodes' images, logged by
    // `mlflow.MlflowArtifactDataset` wrapping `matplotlib.MatplotlibWriter`.
    assert_eq!(
        seen["plots"],
        json!([
            {"path": "plots/confusion_matrix.png", "png": true, "size": [500, 450]},
            {"path": "plots/roc_curve.png", "png": true, "size": [500, 500]},
        ]),
        "{seen}"
    );

    server_reads(project.path(), &seen);
}

/// What MLflow's Python client, started in `project` with no tracking URI
/// (so on MLflow's default, `./mlflow.db`, as `mlflow ui` would be), reads
/// of the project's experiment.
fn mlflow_reads(project: &Path) -> serde_json::Value {
    let script = r#"
import json, mlflow
c = mlflow.MlflowClient()
# `mlflow init` names the experiment after the project directory.
[exp] = [e for e in c.search_experiments() if e.name != "Default"]
runs = c.search_runs([exp.experiment_id])
run = runs[0]
models = mlflow.search_logged_models(experiment_ids=[exp.experiment_id], output_format="list")
model = models[0]
found = mlflow.search_logged_models(
    experiment_ids=[exp.experiment_id],
    filter_string="metrics.`metrics.accuracy` > 0.5",
    output_format="list",
)
info = mlflow.models.get_model_info("models:/" + model.model_id)
# The evaluation's images, as the run's artifacts hold them: the PNG
# signature, then IHDR's width and height.
plots = []
for f in c.list_artifacts(run.info.run_id, "plots"):
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path=f.path)
    data = open(local, "rb").read()
    plots.append({
        "path": f.path,
        "png": data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR",
        "size": [int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")],
    })
print(json.dumps({
    "plots": plots,
    "tracking_uri": mlflow.get_tracking_uri(),
    "experiment_name": exp.name,
    "runs": len(runs),
    "run_id": run.info.run_id,
    "experiment_id": exp.experiment_id,
    "status": run.info.status,
    "pipeline_tag": run.data.tags.get("tandem.pipeline"),
    "source_type": run.data.tags.get("mlflow.source.type"),
    "params": len(run.data.params),
    "accuracy": run.data.metrics.get("metrics.accuracy"),
    "model_id": model.model_id,
    "model_params": len(model.params),
    "model_accuracy": next((m.value for m in model.metrics if m.key == "metrics.accuracy"), None),
    "found": [m.model_id for m in found],
    "mlflow_version": info.mlflow_version,
    "info_model_id": info.model_id,
    "artifacts": len(mlflow.artifacts.list_artifacts(artifact_uri=model.artifact_location)),
}))
"#;
    let seen = default_store_python(project, script);
    let expected = format!(
        "sqlite:///{}",
        project.canonicalize().unwrap().join("mlflow.db").display()
    );
    assert_eq!(seen["tracking_uri"], expected.as_str(), "{seen}");
    seen
}

/// The JSON `script` prints, run by MLflow's Python client in `project`
/// with no tracking URI set: on MLflow's default store there.
fn default_store_python(project: &Path, script: &str) -> serde_json::Value {
    let output = tandem_test_support::mlflow::command("python")
        .args(["-c", script])
        .current_dir(project)
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLFLOW_ALLOW_FILE_STORE")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `mlflow server --backend-store-uri sqlite:///<project>/mlflow.db` on the
/// database tandem wrote: the experiment, the run with its metric and the
/// logged model, through its REST API.
fn server_reads(project: &Path, seen: &serde_json::Value) {
    use tandem_test_support::{http, mlflow, process};
    let scope = process::for_process();
    let server = mlflow::Server::start(
        tandem_test_support::python::mlflow_bin(),
        project,
        &scope.janitor(),
        &mlflow::Options::default(),
    )
    .unwrap();
    let get = |path: &str| {
        let response = http::get(server.port, path, std::time::Duration::from_secs(30)).unwrap();
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        serde_json::from_str::<serde_json::Value>(&response.text()).unwrap()
    };
    let name = seen["experiment_name"].as_str().unwrap();
    let experiment = get(&format!(
        "/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}"
    ));
    assert_eq!(
        experiment["experiment"]["experiment_id"],
        seen["experiment_id"]
    );
    let run_id = seen["run_id"].as_str().unwrap();
    let run = get(&format!("/api/2.0/mlflow/runs/get?run_id={run_id}"));
    assert_eq!(run["run"]["info"]["status"], "FINISHED", "{run}");
    let metrics = run["run"]["data"]["metrics"].as_array().unwrap();
    assert!(
        metrics.iter().any(|m| m["key"] == "metrics.accuracy"),
        "{run}"
    );
    let model_id = seen["model_id"].as_str().unwrap();
    let model = get(&format!("/api/2.0/mlflow/logged-models/{model_id}"));
    assert_eq!(model["model"]["info"]["source_run_id"], run_id, "{model}");
}

#[test]
fn without_mlflow_yml_a_run_is_not_tracked() {
    let project = project();
    // The example ships an mlflow.yml; a project without one is not tracked.
    std::fs::remove_file(project.path().join("conf/base/mlflow.yml")).unwrap();
    ok(&churn(&["run", "--params", SMALL, "-q"], project.path()));
    assert!(!project.path().join("mlruns").exists());
    assert!(!project.path().join("mlflow.db").exists());
    // The scores' MLflow dataset logged nothing, and the report is written.
    assert!(
        project
            .path()
            .join("data/08_reporting/metrics.json")
            .is_file()
    );
}

#[test]
fn a_misspelt_setting_fails_the_run_naming_it() {
    let project = project();
    std::fs::write(
        project.path().join("conf/local/mlflow.yml"),
        "tracking:\n  disable_traking:\n    pipelines: []\n",
    )
    .unwrap();
    let out = churn(&["run", "--params", SMALL, "-q", "--json"], project.path());
    assert_eq!(out.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "invalid_config");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disable_traking")
    );
}

/// kedro-mlflow's `server.credentials` exports the whole credentials entry
/// as environment variables for MLflow, so AWS keys and
/// `MLFLOW_S3_ENDPOINT_URL` reach its artifact store; with
/// `create_experiment_kwargs` putting the experiment's artifacts on S3
/// (moto here), the logged model lands in the bucket, and the secret shows
/// nowhere in the run's output.
#[test]
fn credentials_reach_the_artifact_store_as_kedro_mlflow_exports_them() {
    use tandem_tests::moto::{SECRET, moto};
    let project = project();
    let moto = moto();
    let bucket = moto.new_bucket();
    let local = project.path().join("conf/local");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(
        local.join("credentials.yml"),
        format!(
            "mlflow_s3:\n  AWS_ACCESS_KEY_ID: tandem-key-id\n  AWS_SECRET_ACCESS_KEY: {SECRET}\n  \
             AWS_DEFAULT_REGION: us-east-1\n  MLFLOW_S3_ENDPOINT_URL: {}\n",
            moto.endpoint
        ),
    )
    .unwrap();
    std::fs::write(
        local.join("mlflow.yml"),
        format!(
            "server:\n  credentials: mlflow_s3\ntracking:\n  experiment:\n    name: churn-s3\n    \
             create_experiment_kwargs:\n      artifact_location: s3://{bucket}/churn\n      \
             tags: {{team: ds, tier: 1}}\n"
        ),
    )
    .unwrap();
    let run = std::process::Command::new(tandem_tests::churn_bin())
        .args(["run", "--params", SMALL, "-v"])
        .current_dir(project.path())
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");

    let listing = tandem_test_support::http::get(
        moto.port,
        &format!("/{bucket}?list-type=2&prefix=churn/"),
        std::time::Duration::from_secs(10),
    )
    .unwrap()
    .text();
    assert!(listing.contains("/MLmodel</Key>"), "{listing}");

    let script = r#"
import json, mlflow
exp = mlflow.MlflowClient().get_experiment_by_name("churn-s3")
print(json.dumps({"location": exp.artifact_location, "tags": exp.tags}))
"#;
    let seen = default_store_python(project.path(), script);
    assert_eq!(seen["location"], format!("s3://{bucket}/churn"), "{seen}");
    assert_eq!(seen["tags"], json!({"team": "ds", "tier": "1"}), "{seen}");
}
