//! The MLflow hook and datasets against a real `mlflow server` on
//! 127.0.0.1 (tandem-test-support's `mlflow` module): one run per
//! training with params, tags, metrics and a logged, registered model that
//! MLflow's Python client reads; failures end runs FAILED; basic auth works
//! with the credentials `mlflow.yml` names.

mod support;
mod tracking_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use serde_json::{Map, Value, json};
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry, Parameters};
use tandem_mlflow_client::{MlflowClient, RunStatus};
use tandem_pipeline_core::{Pipeline, node};
use tandem_pipeline_ml::{PipelineMl, PipelineMlOptions};
use tandem_pipeline_model::{PipelineModel, save_options};
use tandem_runners::{Hook, RunOptions, Runner, SequentialRunner};
use tandem_test_support::mlflow::{ADMIN, ADMIN_PASSWORD, auth_server, server};
use tandem_tracking::{
    MlflowConfig, MlflowHook, TrackingContext, TrackingProject, register_datasets, tags,
};
use tracking_support::{assert_model_files, logged_models, params, python_model_info, runs};

/// A tracked project: its directory, `mlflow.yml` and credentials, and a
/// catalog whose MLflow datasets share the hook's context.
struct Tracked {
    dir: tempfile::TempDir,
    config: MlflowConfig,
    credentials: Map<String, Value>,
    context: TrackingContext,
    catalog: DataCatalog,
}

impl Tracked {
    fn new(yaml: &str, credentials: Value, extra_entries: Value) -> Tracked {
        let dir = tempfile::tempdir().unwrap();
        let config = MlflowConfig::from_yaml(yaml).unwrap();
        let credentials = credentials.as_object().unwrap().clone();
        let context = TrackingContext::new();
        let (root, factory_config, factory_credentials) =
            (dir.path().to_owned(), config.clone(), credentials.clone());
        let mut registry = DatasetRegistry::with_builtins();
        register_datasets(
            &mut registry,
            context.clone(),
            // What `tandem run` does: reads outside a run use mlflow.yml's client.
            Arc::new(move || factory_config.client(&root, &factory_credentials)),
            support::functions(),
        );
        let mut entries = support::catalog_entries();
        entries
            .as_object_mut()
            .unwrap()
            .extend(extra_entries.as_object().unwrap().clone());
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
        Tracked {
            dir,
            config,
            credentials,
            context,
            catalog,
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn client(&self) -> MlflowClient {
        self.config.client(self.root(), &self.credentials).unwrap()
    }

    fn run(
        &self,
        pipeline: &Pipeline,
        ml: Option<PipelineMl>,
    ) -> Result<(), tandem_runners::Error> {
        let project = TrackingProject {
            root: self.root().to_owned(),
            credentials: self.credentials.clone(),
        };
        let hook = MlflowHook::new(
            self.config.clone(),
            project,
            "training",
            ml,
            save_options!(),
        )
        .with_context(self.context.clone())
        .with_command_line("tandem run --pipeline training");
        let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(hook)];
        SequentialRunner
            .run(pipeline, &self.catalog, &hooks, &RunOptions::default())
            .map(|_| ())
    }
}

fn yaml(uri: &str, experiment: &str, credentials: Option<&str>) -> String {
    let credentials = credentials.map_or(String::new(), |c| format!("  credentials: {c}\n"));
    format!(
        "server:\n  mlflow_tracking_uri: {uri}\n{credentials}tracking:\n  experiment:\n    name: \
         {experiment}\n"
    )
}

fn accuracy(train: &RecordBatch) -> f64 {
    train.num_rows() as f64 / 50.0
}

const METRICS: &str = r#"{"accuracy": {"type": "mlflow.MlflowMetricDataset"}}"#;

/// The demo PipelineMl whose training also reports an accuracy metric.
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

#[test]
fn a_training_run_logs_params_metrics_tags_and_a_registered_model() {
    let server = server();
    let mut options = PipelineMlOptions::default();
    options.log_model.registered_model_name = Some("tandem-demo".to_owned());
    let ml = training_with_metric(options);
    // The registered name comes from the code (kedro-mlflow's
    // log_model_kwargs), the alias from mlflow.yml's `tracking.model`.
    let config = yaml(&server.uri, "server-training", None) + "  model:\n    aliases: [champion]\n";
    let tracked = Tracked::new(&config, json!({}), serde_json::from_str(METRICS).unwrap());
    tracked.run(ml.training(), Some(ml.clone())).unwrap();

    let client = tracked.client();
    let runs = runs(&client, "server-training");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.info.status, RunStatus::Finished);
    assert_eq!(params(run), BTreeMap::from([("l2", "0.1")]));
    assert_eq!(run.metric("accuracy"), Some(0.8));
    assert_eq!(run.tag(tags::PIPELINE), Some("training"));
    assert_eq!(run.tag(tags::VERSION), Some(env!("CARGO_PKG_VERSION")));

    let models = logged_models(&client, "server-training");
    assert_eq!(models.len(), 1);
    let model = &models[0].info;
    assert_eq!(
        model.source_run_id.as_deref(),
        Some(run.info.run_id.as_str())
    );
    assert_model_files(&client, &model.artifact_uri);
    let info = python_model_info(&server.uri, &format!("models:/{}", model.model_id));
    assert_eq!(info["flavors"], json!(["python_function", "tandem"]));
    assert_eq!(info["run_id"], json!(run.info.run_id));
    assert_eq!(info["inputs"], json!(["x1", "x2"]));
    assert_eq!(info["example"]["artifact_path"], "input_example.json");

    let versions = client
        .search_model_versions(Some("name='tandem-demo'"))
        .unwrap();
    assert_eq!(versions.len(), 1);
    let champion = client
        .get_model_version_by_alias("tandem-demo", "champion")
        .unwrap();
    assert_eq!(champion.version, versions[0].version);

    // The registry dataset loads the registered version in a fresh catalog.
    let reader = Tracked::new(
        &yaml(&server.uri, "server-training", None),
        json!({}),
        json!({"champion": {
            "type": "mlflow.MlflowModelRegistryDataset",
            "model_name": "tandem-demo",
            "alias": "champion",
        }}),
    );
    let loaded = reader.catalog.load("champion").unwrap();
    let loaded = loaded.downcast_ref::<Arc<PipelineModel>>().unwrap();
    let predicted = loaded
        .predict(reader.catalog.load("features").unwrap(), &Map::new(), None)
        .unwrap();
    let expected = support::in_process(&ml, &tracked.catalog);
    assert_eq!(support::labels(&predicted), support::labels(&expected));
}

fn failing(_: &RecordBatch) -> Result<f64, String> {
    Err("the data is cursed".to_owned())
}

#[test]
fn a_failing_run_ends_failed_on_the_server() {
    let server = server();
    let tracked = Tracked::new(
        &yaml(&server.uri, "server-failing", None),
        json!({}),
        serde_json::from_str(METRICS).unwrap(),
    );
    let pipeline = Pipeline::new([node(failing, "train", "accuracy")
        .name("boom")
        .build()
        .unwrap()])
    .unwrap();
    tracked.run(&pipeline, None).unwrap_err();
    let runs = runs(&tracked.client(), "server-failing");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].info.status, RunStatus::Failed);
    assert!(runs[0].tag(tags::ERROR).unwrap().contains("cursed"));
    assert!(tracked.context.active().is_none());
}

#[test]
fn basic_auth_uses_the_credentials_mlflow_yml_names() {
    let server = auth_server();
    let credentials = json!({"mlflow_admin": {"username": ADMIN, "password": ADMIN_PASSWORD}});
    let tracked = Tracked::new(
        &yaml(&server.uri, "server-auth", Some("mlflow_admin")),
        credentials,
        serde_json::from_str(METRICS).unwrap(),
    );
    let pipeline = Pipeline::new([node(accuracy, "train", "accuracy")
        .name("accuracy")
        .build()
        .unwrap()])
    .unwrap();
    tracked.run(&pipeline, None).unwrap();
    let runs = runs(&tracked.client(), "server-auth");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].info.status, RunStatus::Finished);
    assert_eq!(runs[0].metric("accuracy"), Some(0.8));

    // Without the credentials the same server refuses to start a run.
    let anonymous = Tracked::new(
        &yaml(&server.uri, "server-auth", None),
        json!({}),
        serde_json::from_str(METRICS).unwrap(),
    );
    let err = anonymous.run(&pipeline, None).unwrap_err().to_string();
    assert!(!err.contains(ADMIN_PASSWORD), "{err}");
}
