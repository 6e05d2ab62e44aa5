//! Shared by the tracking tests: the demo PipelineMl project of
//! `support/`, the hook around a real training run, and MLflow's own
//! Python client from the venv tandem-test-support provisions under
//! `target/py-mlflow`.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tandem_catalog::DataCatalog;
use tandem_mlflow_client::{LoggedModel, LoggedModelQuery, MlflowClient, Run, RunQuery};
use tandem_pipeline_ml::PipelineMl;
use tandem_pipeline_model::save_options;
use tandem_runners::{Hook, RunOptions, Runner, SequentialRunner};
use tandem_test_support::mlflow;
use tandem_tracking::{MlflowConfig, MlflowHook, TrackingProject};

use crate::support;

/// A project directory with the demo catalog's raw data written.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub catalog: DataCatalog,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("tandem-tracking-")
            .tempdir()
            .unwrap();
        let catalog = fresh_catalog(dir.path());
        support::write_raw(&catalog, 40);
        Project { dir, catalog }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The hook for `pipeline_name` with `mlflow.yml` text `yaml`.
    pub fn hook(&self, yaml: &str, pipeline_name: &str, ml: Option<PipelineMl>) -> MlflowHook {
        let config = MlflowConfig::from_yaml(yaml).unwrap();
        let project = TrackingProject {
            root: self.root().to_owned(),
            credentials: serde_json::Map::new(),
        };
        MlflowHook::new(config, project, pipeline_name, ml, save_options!())
            .with_command_line("tandem run --pipeline training")
    }

    /// Runs `pipeline` with `hook` on the project's catalog.
    pub fn run(
        &self,
        pipeline: &tandem_pipeline_core::Pipeline,
        hook: MlflowHook,
    ) -> Result<(), tandem_runners::Error> {
        let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(hook)];
        SequentialRunner
            .run(pipeline, &self.catalog, &hooks, &RunOptions::default())
            .map(|_| ())
    }

    /// A client on the project's local store.
    pub fn local_client(&self) -> MlflowClient {
        MlflowClient::local(self.root().join("mlruns")).unwrap()
    }

    /// A client on the store a hook without a tracking URI uses: MLflow's
    /// default, `<root>/mlflow.db`.
    #[allow(dead_code, reason = "not every test binary reads the default store")]
    pub fn store_client(&self) -> MlflowClient {
        MlflowConfig::default()
            .client(self.root(), &serde_json::Map::new())
            .unwrap()
    }
}

/// A new catalog over the project's files (as a fresh process would build).
pub fn fresh_catalog(root: &Path) -> DataCatalog {
    support::catalog(
        root,
        &support::catalog_entries(),
        &support::parameters(),
        None,
    )
}

/// Every run of experiment `name` (deleted ones included? no: active only).
pub fn runs(client: &MlflowClient, experiment: &str) -> Vec<Run> {
    let Some(experiment) = client.get_experiment_by_name(experiment).unwrap() else {
        return Vec::new();
    };
    client
        .list_runs(&RunQuery::new([experiment.experiment_id]))
        .unwrap()
}

/// A run's params, by key.
pub fn params(run: &Run) -> BTreeMap<&str, &str> {
    run.data
        .params
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_str()))
        .collect()
}

/// Every logged model of experiment `name`.
pub fn logged_models(client: &MlflowClient, experiment: &str) -> Vec<LoggedModel> {
    let experiment = client.get_experiment_by_name(experiment).unwrap().unwrap();
    client
        .search_logged_models(
            &LoggedModelQuery {
                experiment_ids: vec![experiment.experiment_id],
                ..LoggedModelQuery::default()
            },
            None,
        )
        .unwrap()
        .items
}

/// Checks the files of a logged tandem model at `artifact_uri`.
pub fn assert_model_files(client: &MlflowClient, artifact_uri: &str) {
    let files: Vec<String> = client
        .list_artifacts_at(artifact_uri)
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    for expected in ["MLmodel", "input_example.json", "artifacts", "tandem"] {
        assert!(
            files.iter().any(|f| f.ends_with(expected)),
            "{expected}: {files:?}"
        );
    }
}

/// Runs `script` with the venv's Python (MLflow installed) against
/// `tracking_uri` and returns its stdout parsed as JSON.
pub fn python(tracking_uri: &str, script: &str) -> Value {
    let out = mlflow::command("python")
        .env("MLFLOW_TRACKING_URI", tracking_uri)
        // MLflow 3.17 refuses its file store unless opted in.
        .env("MLFLOW_ALLOW_FILE_STORE", "true")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("null");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// What MLflow's Python client sees of a logged model: its MLmodel
/// metadata (loaded with `mlflow.models.get_model_info`) and its run.
pub fn python_model_info(tracking_uri: &str, model_uri: &str) -> Value {
    python(
        tracking_uri,
        &format!(
            r#"
import json, mlflow
info = mlflow.models.get_model_info({uri})
sig = info.signature
print(json.dumps({{
    "flavors": sorted(info.flavors),
    "run_id": info.run_id,
    "inputs": [c["name"] for c in sig.inputs.to_dict()] if sig and sig.inputs else None,
    "params": [p.name for p in sig.params] if sig and sig.params else None,
    "example": info.saved_input_example_info,
}}))
"#,
            uri = json!(model_uri)
        ),
    )
}
