//! A training run of a project in a git work tree, on a real `mlflow
//! server` and on MLflow's default SQLite store, read back with MLflow's own
//! Python client: the run has MLflow's provenance tags, and its logged
//! model what MLflow's `Model.log` gives one (the run's params, its metrics
//! linked to the model, provenance, `mlflow_version`, `model_id`, a
//! signature with outputs, `mlflow.modelVersions` once registered).

mod support;
mod tracking_support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow_array::RecordBatch;
use serde_json::{Map, Value, json};
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry, Parameters};
use tandem_mlflow_client::{MlflowClient, Run};
use tandem_pipeline_core::{Pipeline, node};
use tandem_pipeline_ml::{PipelineMl, PipelineMlOptions};
use tandem_pipeline_model::save_options;
use tandem_runners::{Hook, RunOptions, Runner, SequentialRunner};
use tandem_test_support::mlflow::server;
use tandem_tracking::provenance::{self, GitInfo};
use tandem_tracking::{
    MlflowConfig, MlflowHook, TrackingContext, TrackingProject, register_datasets,
};
use tracking_support::{logged_models, python, runs};

fn accuracy(train: &RecordBatch) -> f64 {
    train.num_rows() as f64 / 50.0
}

/// The demo PipelineMl whose training also logs an `accuracy` metric.
fn training_with_metric(options: PipelineMlOptions) -> PipelineMl {
    let ml = support::ml_pipeline(options.clone());
    let metric = Pipeline::new([node(accuracy, "train", "accuracy")
        .name("accuracy")
        .build()
        .unwrap()])
    .unwrap();
    let training = (ml.training().clone() + metric).unwrap();
    PipelineMl::new(training, ml.inference().clone(), "features", options).unwrap()
}

/// Makes `root` a git work tree on branch `main` with one commit, with
/// the git binary when there is one, else by writing `.git` by hand (a
/// loose ref, as `git commit` leaves it); returns the HEAD sha.
fn git_repo(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
    };
    std::fs::write(root.join("README.md"), "demo\n").unwrap();
    let made = git(&["init", "-q", "-b", "main"])
        .ok()
        .filter(|o| o.status.success())
        .and_then(|_| git(&["add", "README.md"]).ok())
        .and_then(|_| git(&["commit", "-q", "-m", "first"]).ok())
        .filter(|o| o.status.success())
        .and_then(|_| git(&["rev-parse", "HEAD"]).ok())
        .filter(|o| o.status.success());
    match made {
        Some(out) => String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        None => {
            let sha = "0123456789abcdef0123456789abcdef01234567";
            let dot_git = root.join(".git");
            std::fs::create_dir_all(dot_git.join("refs/heads")).unwrap();
            std::fs::write(dot_git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
            std::fs::write(dot_git.join("refs/heads/main"), format!("{sha}\n")).unwrap();
            sha.to_owned()
        }
    }
}

/// Trains the project at a fresh git work tree with `mlflow.yml` text
/// `yaml`; returns the project directory (kept for the local store).
fn train(yaml: &str, ml: &PipelineMl) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let sha = git_repo(dir.path());
    let config = MlflowConfig::from_yaml(yaml).unwrap();
    let context = TrackingContext::new();
    let mut registry = DatasetRegistry::with_builtins();
    let (root, factory_config) = (dir.path().to_owned(), config.clone());
    register_datasets(
        &mut registry,
        context.clone(),
        Arc::new(move || factory_config.client(&root, &Map::new())),
        support::functions(),
    );
    let mut entries = support::catalog_entries();
    entries.as_object_mut().unwrap().insert(
        "accuracy".to_owned(),
        json!({"type": "mlflow.MlflowMetricDataset"}),
    );
    let catalog = DataCatalog::from_config(
        entries.as_object().unwrap(),
        &Map::new(),
        &CatalogOptions::new(registry),
        dir.path(),
    )
    .unwrap();
    catalog.add_parameters(&Parameters::new(
        support::parameters().as_object().unwrap().clone(),
    ));
    support::write_raw(&catalog, 40);
    let project = TrackingProject {
        root: dir.path().to_owned(),
        credentials: Map::new(),
    };
    let hook = MlflowHook::new(
        config,
        project,
        "training",
        Some(ml.clone()),
        save_options!(),
    )
    .with_context(context);
    let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(hook)];
    SequentialRunner
        .run(ml.training(), &catalog, &hooks, &RunOptions::default())
        .unwrap();
    (dir, sha)
}

fn check_run_provenance(run: &Run, sha: &str) {
    assert_eq!(run.tag(provenance::USER), provenance::user().as_deref());
    let argv0 = std::env::args_os().next().unwrap();
    assert_eq!(
        run.tag(provenance::SOURCE_NAME),
        Some(argv0.to_string_lossy().as_ref())
    );
    assert_eq!(run.tag(provenance::SOURCE_TYPE), Some("LOCAL"));
    assert_eq!(run.tag(provenance::GIT_COMMIT), Some(sha));
    assert_eq!(run.tag(provenance::GIT_BRANCH), Some("main"));
    // No remote, no repoURL (as MLflow).
    assert_eq!(run.tag(provenance::GIT_REPO_URL), None);
}

/// MLflow's view of logged model `model_id`.
fn python_logged_model(tracking_uri: &str, model_id: &str) -> Value {
    python(
        tracking_uri,
        &format!(
            r#"
import json, mlflow
client = mlflow.MlflowClient()
model = client.get_logged_model({id})
info = mlflow.models.get_model_info("models:/" + {id})
found = mlflow.search_logged_models(
    experiment_ids=[model.experiment_id], filter_string="metrics.accuracy > 0.5", output_format="list"
)
print(json.dumps({{
    "params": model.params,
    "tags": model.tags,
    "metrics": [[m.key, m.value, m.step, m.model_id, m.run_id] for m in model.metrics],
    "mlflow_version": info.mlflow_version,
    "model_id": info.model_id,
    "model_uuid": info.model_uuid,
    "artifact_path": info.artifact_path,
    "outputs": info.signature.outputs.to_dict() if info.signature.outputs else None,
    "found": [m.model_id for m in found],
}}))
"#,
            id = json!(model_id)
        ),
    )
}

fn check_logged_model(v: &Value, run: &Run, sha: &str, model_id: &str, artifact_uri: &str) {
    let run_id = run.info.run_id.as_str();
    assert_eq!(v["params"], json!({"l2": "0.1"}));
    assert_eq!(v["tags"]["mlflow.source.type"], "LOCAL");
    assert_eq!(v["tags"]["mlflow.source.git.commit"], sha);
    assert_eq!(v["tags"]["mlflow.source.git.branch"], "main");
    assert_eq!(v["tags"]["mlflow.user"], json!(run.tag(provenance::USER)));
    assert_eq!(
        v["tags"]["mlflow.source.name"],
        json!(run.tag(provenance::SOURCE_NAME))
    );
    assert_eq!(
        v["metrics"],
        json!([["accuracy", 0.8, 0, model_id, run_id]])
    );
    assert_eq!(v["mlflow_version"], tandem_pipeline_model::MLFLOW_VERSION);
    assert_eq!(v["model_id"], model_id);
    assert_eq!(v["model_uuid"], model_id);
    assert_eq!(v["artifact_path"], artifact_uri);
    assert_eq!(
        v["outputs"],
        json!([
            {"type": "double", "name": "score", "required": true},
            {"type": "boolean", "name": "label", "required": true},
        ])
    );
    assert_eq!(v["found"], json!([model_id]));
}

fn only_run(client: &MlflowClient, experiment: &str) -> Run {
    let mut runs = runs(client, experiment);
    assert_eq!(runs.len(), 1);
    runs.remove(0)
}

#[test]
fn a_run_on_the_server_has_provenance_and_its_model_what_mlflow_gives_one() {
    let server = server();
    let experiment = format!("provenance-{}", std::process::id());
    let name = format!("tandem-provenance-{}", std::process::id());
    let mut options = PipelineMlOptions::default();
    options.log_model.registered_model_name = Some(name.clone());
    let ml = training_with_metric(options);
    let yaml = format!(
        "server:\n  mlflow_tracking_uri: {}\ntracking:\n  experiment:\n    name: {experiment}\n",
        server.uri
    );
    let (_dir, sha) = train(&yaml, &ml);
    assert_eq!(
        GitInfo::find(_dir.path()).map(|g| g.commit),
        Some(sha.clone())
    );

    let client =
        MlflowClient::new(tandem_mlflow_client::Config::default().with_tracking_uri(&server.uri))
            .unwrap();
    let run = only_run(&client, &experiment);
    check_run_provenance(&run, &sha);
    let models = logged_models(&client, &experiment);
    assert_eq!(models.len(), 1);
    let model = &models[0].info;
    let v = python_logged_model(&server.uri, &model.model_id);
    check_logged_model(&v, &run, &sha, &model.model_id, &model.artifact_uri);
    assert_eq!(
        v["tags"]["mlflow.modelVersions"],
        format!(r#"[{{"name": "{name}", "version": 1}}]"#)
    );
}

/// On MLflow's default store (no tracking URI: `<project>/mlflow.db`).
#[test]
fn a_run_on_the_default_store_has_provenance_and_its_model_what_mlflow_gives_one() {
    let ml = training_with_metric(PipelineMlOptions::default());
    let (dir, sha) = train("tracking:\n  experiment:\n    name: demo\n", &ml);
    assert!(dir.path().join("mlflow.db").is_file());
    let client = tandem_tracking::MlflowConfig::default()
        .client(dir.path(), &serde_json::Map::new())
        .unwrap();
    let run = only_run(&client, "demo");
    check_run_provenance(&run, &sha);
    let models = logged_models(&client, "demo");
    assert_eq!(models.len(), 1);
    let model = &models[0].info;
    let v = python_logged_model(&client.tracking_uri(), &model.model_id);
    check_logged_model(&v, &run, &sha, &model.model_id, &model.artifact_uri);
}

#[test]
fn a_resumed_run_gets_no_provenance_tags() {
    let ml = support::ml_pipeline(PipelineMlOptions::default());
    let store = tempfile::tempdir().unwrap();
    let client = MlflowClient::local(store.path()).unwrap();
    let experiment = client.get_or_create_experiment("demo").unwrap();
    let run_id = client
        .create_run(&tandem_mlflow_client::NewRun::new(
            &experiment.experiment_id,
        ))
        .unwrap()
        .info
        .run_id;
    let yaml = format!(
        "server:\n  mlflow_tracking_uri: {}\ntracking:\n  experiment:\n    name: demo\n  run:\n    id: {run_id}\n",
        store.path().display()
    );
    train(&yaml, &ml);
    let run = client.get_run(&run_id).unwrap();
    assert_eq!(run.tag(tandem_tracking::tags::PIPELINE), Some("training"));
    for key in [
        provenance::SOURCE_NAME,
        provenance::SOURCE_TYPE,
        provenance::GIT_COMMIT,
        provenance::GIT_BRANCH,
    ] {
        assert_eq!(run.tag(key), None, "{key}");
    }
}
