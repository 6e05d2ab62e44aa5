//! The MLflow datasets against MLflow's default local store (`mlflow.db`): what a tracked
//! run saves through them lands in the hook's run, and loads back from it
//! in a fresh catalog outside any run.

mod support;
mod tracking_support;

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use serde_json::{Map, Value, json};
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry, Parameters};
use tandem_pipeline_core::{Data, Pipeline, node};
use tandem_pipeline_ml::PipelineMlOptions;
use tandem_pipeline_model::PipelineModel;
use tandem_runners::{Hook, RunOptions, Runner, SequentialRunner};
use tandem_tracking::{ClientFactory, MlflowConfig, TrackingContext, register_datasets};
use tracking_support::{Project, runs};

const CONFIG: &str = "tracking:\n  experiment:\n    name: demo\n";

/// A client factory on the project's default store, the hook's.
fn clients(root: &Path) -> ClientFactory {
    let root = root.to_owned();
    Arc::new(move || MlflowConfig::default().client(&root, &Map::new()))
}

/// A catalog of the demo entries plus `extra`, with the MLflow datasets
/// sharing `context`.
fn catalog(root: &Path, context: &TrackingContext, extra: Value) -> DataCatalog {
    let mut registry = DatasetRegistry::with_builtins();
    register_datasets(
        &mut registry,
        context.clone(),
        clients(root),
        support::functions(),
    );
    let mut entries = support::catalog_entries();
    entries
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let catalog = DataCatalog::from_config(
        entries.as_object().unwrap(),
        &Map::new(),
        &CatalogOptions::new(registry),
        root,
    )
    .unwrap();
    catalog.add_parameters(&Parameters::new(
        support::parameters().as_object().unwrap().clone(),
    ));
    catalog
}

fn run(
    project: &Project,
    catalog: &DataCatalog,
    pipeline: &Pipeline,
    context: &TrackingContext,
    ml: Option<tandem_pipeline_ml::PipelineMl>,
) -> Result<(), tandem_runners::Error> {
    let hook = project
        .hook(CONFIG, "__default__", ml)
        .with_context(context.clone());
    let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(hook)];
    SequentialRunner
        .run(pipeline, catalog, &hooks, &RunOptions::default())
        .map(|_| ())
}

fn accuracy(train: &RecordBatch) -> f64 {
    train.num_rows() as f64 / 100.0
}

fn losses(_: &RecordBatch) -> Vec<f64> {
    vec![0.9, 0.5, 0.25]
}

fn report_metrics(_: &RecordBatch) -> Value {
    json!({"f1": 0.75, "recall": [0.5, 0.6], "precision": {"value": 0.8, "step": 3}})
}

fn report(train: &RecordBatch) -> String {
    format!("{} rows", train.num_rows())
}

fn tracked_entries() -> Value {
    json!({
        "accuracy": {"type": "mlflow.MlflowMetricDataset"},
        "loss": {"type": "mlflow.MlflowMetricHistoryDataset", "key": "train_loss"},
        "quality": {"type": "mlflow.MlflowMetricsHistoryDataset"},
        "report": {
            "type": "mlflow.MlflowArtifactDataset",
            "dataset": {"type": "TextDataset", "filepath": "data/08_reporting/report.txt"},
            "artifact_path": "reports",
        },
    })
}

fn reporting() -> Pipeline {
    Pipeline::new([
        node(accuracy, "train", "accuracy")
            .name("accuracy")
            .build()
            .unwrap(),
        node(losses, "train", "loss")
            .name("losses")
            .build()
            .unwrap(),
        node(report_metrics, "train", "quality")
            .name("quality")
            .build()
            .unwrap(),
        node(report, "train", "report")
            .name("report")
            .build()
            .unwrap(),
    ])
    .unwrap()
}

#[test]
fn every_dataset_logs_into_the_hooks_run_and_loads_back_from_it() {
    let project = Project::new();
    let context = TrackingContext::new();
    let catalog = catalog(project.root(), &context, tracked_entries());
    run(&project, &catalog, &reporting(), &context, None).unwrap();

    let client = project.store_client();
    let runs = runs(&client, "demo");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let run_id = &run.info.run_id;
    assert_eq!(run.metric("accuracy"), Some(0.4));
    let history: Vec<(i64, f64)> = client
        .metric_history(run_id, "train_loss")
        .unwrap()
        .iter()
        .map(|m| (m.step, m.value))
        .collect();
    assert_eq!(history, [(0, 0.9), (1, 0.5), (2, 0.25)]);
    assert_eq!(run.metric("quality.f1"), Some(0.75));
    assert_eq!(run.metric("quality.precision"), Some(0.8));
    let artifacts = client.list_artifacts(run_id, Some("reports")).unwrap();
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0].path, "reports/report.txt");

    // A fresh catalog outside any run reads the run back by id.
    std::fs::remove_file(project.root().join("data/08_reporting/report.txt")).unwrap();
    let reader = catalog_reading(project.root(), run_id);
    assert_eq!(
        *reader
            .load("accuracy")
            .unwrap()
            .downcast_ref::<f64>()
            .unwrap(),
        0.4
    );
    assert_eq!(
        *reader
            .load("loss")
            .unwrap()
            .downcast_ref::<Vec<f64>>()
            .unwrap(),
        vec![0.9, 0.5, 0.25]
    );
    assert_eq!(
        *reader
            .load("quality")
            .unwrap()
            .downcast_ref::<Value>()
            .unwrap(),
        json!({
            "f1": [{"value": 0.75, "step": 0}],
            "precision": [{"value": 0.8, "step": 3}],
            "recall": [{"value": 0.5, "step": 0}, {"value": 0.6, "step": 1}],
        })
    );
    assert_eq!(
        *reader
            .load("report")
            .unwrap()
            .downcast_ref::<String>()
            .unwrap(),
        "40 rows"
    );
    assert!(reader.exists("accuracy").unwrap());
}

/// The tracked entries again, each reading run `run_id`.
fn catalog_reading(root: &Path, run_id: &str) -> DataCatalog {
    let mut entries = tracked_entries();
    for entry in entries.as_object_mut().unwrap().values_mut() {
        entry["run_id"] = run_id.into();
    }
    catalog(root, &TrackingContext::new(), entries)
}

/// With tracking off there is no active run, and the datasets are
/// deactivated as kedro-mlflow's are: saves log nothing (the wrapped
/// dataset of an artifact still writes its file), and no store is created.
#[test]
fn saving_without_an_active_run_logs_nothing() {
    let project = Project::new();
    let catalog = catalog(project.root(), &TrackingContext::new(), tracked_entries());
    for (name, data) in [
        ("accuracy", Data::new(0.5_f64)),
        ("loss", Data::new(vec![1.0_f64])),
        ("quality", Data::json(json!({"f1": 0.5}))),
        ("report", Data::new("text".to_owned())),
    ] {
        catalog.save(name, data).unwrap();
    }
    assert!(!catalog.exists("accuracy").unwrap());
    assert_eq!(
        std::fs::read_to_string(project.root().join("data/08_reporting/report.txt")).unwrap(),
        "text"
    );
    assert!(!project.root().join("mlflow.db").exists());
    assert!(!project.root().join("mlruns").exists());
    // Reading still needs a run: there is nothing to read otherwise.
    let err = catalog.load("accuracy").unwrap_err().to_string();
    assert!(
        err.contains("dataset 'accuracy' needs an active MLflow run"),
        "{err}"
    );
}

fn one_loss(_: &RecordBatch) -> f64 {
    0.5
}

#[test]
fn metric_dataset_steps_follow_its_save_args() {
    let project = Project::new();
    let context = TrackingContext::new();
    let entries = json!({
        "accuracy": {"type": "mlflow.MlflowMetricDataset", "key": "acc", "save_args": {"step": 4}},
        "loss": {"type": "mlflow.MlflowMetricDataset", "save_args": {"mode": "append"}},
    });
    let catalog = catalog(project.root(), &context, entries);
    let pipeline = Pipeline::new([
        node(accuracy, "train", "accuracy")
            .name("acc")
            .build()
            .unwrap(),
        node(one_loss, "train", "loss")
            .name("loss")
            .build()
            .unwrap(),
    ])
    .unwrap();
    run(&project, &catalog, &pipeline, &context, None).unwrap();
    let client = project.store_client();
    let run_id = runs(&client, "demo")[0].info.run_id.clone();
    // Resuming the same run appends one step after the last.
    let resume = format!("{CONFIG}  run:\n    id: {run_id}\n");
    let hook = project
        .hook(&resume, "__default__", None)
        .with_context(context.clone());
    let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(hook)];
    SequentialRunner
        .run(&pipeline, &catalog, &hooks, &RunOptions::default())
        .unwrap();

    let steps = |key: &str| -> Vec<(i64, f64)> {
        let mut history: Vec<(i64, f64)> = client
            .metric_history(&run_id, key)
            .unwrap()
            .iter()
            .map(|m| (m.step, m.value))
            .collect();
        history.sort_by_key(|(step, _)| *step);
        history
    };
    assert_eq!(steps("acc"), [(4, 0.4), (4, 0.4)]);
    assert_eq!(steps("loss"), [(0, 0.5), (1, 0.5)]);
}

#[test]
fn unknown_settings_fail_when_the_catalog_is_built() {
    let project = Project::new();
    let mut registry = DatasetRegistry::with_builtins();
    register_datasets(
        &mut registry,
        TrackingContext::new(),
        clients(project.root()),
        support::functions(),
    );
    for entry in [
        json!({"type": "mlflow.MlflowMetricDataset", "kee": "typo"}),
        json!({"type": "mlflow.MlflowArtifactDataset", "dataset": {"filepath": "x.txt"}}),
        json!({"type": "mlflow.MlflowModelRegistryDataset", "model_name": "m", "alias": "a", "version": "1"}),
    ] {
        let err = DataCatalog::from_config(
            json!({"x": entry}).as_object().unwrap(),
            &Map::new(),
            &CatalogOptions::new(registry.clone()),
            project.root(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_config", "{err}");
    }
}

fn pass(model: Data) -> Data {
    model
}

#[test]
fn model_tracking_dataset_loads_the_logged_model_and_logs_it_again() {
    let project = Project::new();
    let context = TrackingContext::new();
    let training = catalog(project.root(), &context, json!({}));
    let ml = support::ml_pipeline(PipelineMlOptions::default());
    run(
        &project,
        &training,
        ml.training(),
        &context,
        Some(ml.clone()),
    )
    .unwrap();
    let client = project.store_client();
    let trained = runs(&client, "demo")[0].info.run_id.clone();
    let expected = support::in_process(&ml, &training);

    let entries = json!({
        "trained": {"type": "mlflow.MlflowModelTrackingDataset", "run_id": trained},
        "copy": {"type": "mlflow.MlflowModelTrackingDataset", "name": "copy"},
    });
    let context = TrackingContext::new();
    let models = catalog(project.root(), &context, entries);
    let model = models.load("trained").unwrap();
    let model = model.downcast_ref::<Arc<PipelineModel>>().unwrap();
    let features = models.load("features").unwrap();
    let predicted = model.predict(features, &Map::new(), None).unwrap();
    assert_eq!(support::labels(&predicted), support::labels(&expected));

    let copy =
        Pipeline::new([node(pass, "trained", "copy").name("copy").build().unwrap()]).unwrap();
    run(&project, &models, &copy, &context, None).unwrap();
    let copied = runs(&client, "demo")
        .into_iter()
        .find(|r| r.info.run_id != trained)
        .unwrap();
    let loaded = catalog(
        project.root(),
        &TrackingContext::new(),
        json!({"copy": {
            "type": "mlflow.MlflowModelTrackingDataset",
            "name": "copy",
            "run_id": copied.info.run_id,
        }}),
    )
    .load("copy")
    .unwrap();
    assert!(loaded.downcast_ref::<Arc<PipelineModel>>().is_ok());
}
