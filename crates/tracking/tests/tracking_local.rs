//! The MLflow hook against the local `mlruns` store, read back with
//! tandem's client and with MLflow's own Python client. Ports the
//! behaviours of kedro-mlflow's `test_hook_pipeline_ml.py`.

mod support;
mod tracking_support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::{functions, ml_pipeline, pipelines};
use tandem_mlflow_client::RunStatus;
use tandem_pipeline_core::{Pipeline, node};
use tandem_pipeline_ml::{LogModelOptions, PipelineMl, PipelineMlOptions, pipeline_ml_factory};
use tandem_pipeline_model::save_options;
use tandem_tracking::{MlflowConfig, log_pipeline_model, tags};
use tracking_support::{
    Project, assert_model_files, fresh_catalog, logged_models, params, python_model_info, runs,
};

/// An mlflow.yml on the project's `mlruns` file store.
fn config(extra: &str) -> String {
    format!("{MLRUNS}tracking:\n  experiment:\n    name: demo\n{extra}")
}

const MLRUNS: &str = "server:\n  mlflow_tracking_uri: mlruns\n";

#[test]
fn a_training_run_logs_one_run_with_params_tags_and_one_model() {
    let project = Project::new();
    let ml = ml_pipeline(PipelineMlOptions::default());
    let hook = project.hook(&config(""), "training", Some(ml.clone()));
    project.run(ml.training(), hook).unwrap();

    let client = project.local_client();
    let runs = runs(&client, "demo");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.info.status, RunStatus::Finished);
    assert_eq!(run.info.run_name, "training");
    // Training consumes params:l2 only; inference's threshold is not a run param.
    assert_eq!(params(run), BTreeMap::from([("l2", "0.1")]));
    assert_eq!(run.tag(tags::PIPELINE), Some("training"));
    assert_eq!(
        run.tag(tags::COMMAND),
        Some("tandem run --pipeline training")
    );
    assert_eq!(run.tag(tags::VERSION), Some(env!("CARGO_PKG_VERSION")));
    assert!(run.tag(tags::RUN_ID).is_some());

    let models = logged_models(&client, "demo");
    assert_eq!(models.len(), 1);
    let model = &models[0].info;
    assert_eq!(model.name, "model");
    assert_eq!(
        model.source_run_id.as_deref(),
        Some(run.info.run_id.as_str())
    );
    assert_model_files(&client, &model.artifact_uri);

    let info = python_model_info(
        &client.tracking_uri(),
        &format!("models:/{}", model.model_id),
    );
    assert_eq!(info["flavors"], json!(["python_function", "tandem"]));
    assert_eq!(info["run_id"], json!(run.info.run_id));
    assert_eq!(info["inputs"], json!(["x1", "x2"]));
    // kedro-mlflow adds a `runner` param; tandem's runner is not one.
    assert_eq!(info["params"], json!(["threshold"]));
    assert_eq!(info["example"]["artifact_path"], "input_example.json");
}

#[test]
fn a_plain_pipeline_logs_a_run_but_no_model() {
    let project = Project::new();
    let ml = ml_pipeline(PipelineMlOptions::default());
    let plain: Pipeline = ml.training().clone();
    project
        .run(&plain, project.hook(&config(""), "__default__", None))
        .unwrap();
    let client = project.local_client();
    assert_eq!(runs(&client, "demo").len(), 1);
    assert!(logged_models(&client, "demo").is_empty());
}

#[test]
fn the_model_name_and_signature_options_are_used() {
    let project = Project::new();
    let options = PipelineMlOptions {
        log_model: LogModelOptions {
            name: "churn".into(),
            signature: tandem_pipeline_ml::SignatureChoice::None,
            ..LogModelOptions::default()
        },
        ..PipelineMlOptions::default()
    };
    let (name, info) = trained_model_info(&project, &ml_pipeline(options));
    assert_eq!(name, "churn");
    assert_eq!(info["inputs"], json!(null));
}

/// Runs `ml`'s training under the hook; the name of the model it logged
/// to experiment `demo`, and what MLflow's Python client reads of it.
fn trained_model_info(project: &Project, ml: &PipelineMl) -> (String, Value) {
    project
        .run(
            ml.training(),
            project.hook(&config(""), "training", Some(ml.clone())),
        )
        .unwrap();
    let client = project.local_client();
    let models = logged_models(&client, "demo");
    assert_eq!(models.len(), 1);
    let info = python_model_info(
        &client.tracking_uri(),
        &format!("models:/{}", models[0].info.model_id),
    );
    (models[0].info.name.clone(), info)
}

/// Training whose `input_name` is an intermediate memory dataset: the
/// runner releases it, yet the signature is still inferred from it
/// (kedro-mlflow fails with "Data for MemoryDataset has not been saved yet").
fn released_input_pipeline() -> PipelineMl {
    let (training, inference) = pipelines("examples", "examples");
    let copy = Pipeline::new([node(
        functions().get("builtin:identity").cloned().unwrap(),
        "train",
        "examples",
    )
    .name("copy")
    .build()
    .unwrap()])
    .unwrap();
    pipeline_ml_factory((copy + training).unwrap(), inference, "examples").unwrap()
}

#[test]
fn the_signature_comes_from_input_data_the_runner_released() {
    let project = Project::new();
    let (_, info) = trained_model_info(&project, &released_input_pipeline());
    assert_eq!(info["inputs"], json!(["x1", "x2", "y"]));
}

fn failing(_: &arrow_array::RecordBatch) -> Result<f64, String> {
    Err("the data is cursed".to_owned())
}

#[test]
fn a_failing_node_ends_the_run_failed_with_the_error() {
    let project = Project::new();
    let pipeline =
        Pipeline::new([node(failing, "train", "out").name("boom").build().unwrap()]).unwrap();
    let err = project
        .run(&pipeline, project.hook(&config(""), "__default__", None))
        .unwrap_err();
    let runs = runs(&project.local_client(), "demo");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].info.status, RunStatus::Failed);
    let tag = runs[0].tag(tags::ERROR).unwrap();
    assert!(tag.contains("cursed"), "{tag} / {err}");
}

/// A dataset whose load panics (a bug in a project's dataset type).
#[derive(Debug)]
struct PanickingDataset;

impl tandem_catalog::Dataset for PanickingDataset {
    fn load(&self) -> Result<tandem_pipeline_core::Data, tandem_catalog::Error> {
        panic!("the reader has a bug")
    }
    fn save(&self, _: tandem_pipeline_core::Data) -> Result<(), tandem_catalog::Error> {
        Ok(())
    }
    fn exists(&self) -> Result<bool, tandem_catalog::Error> {
        Ok(true)
    }
    fn describe(&self) -> tandem_catalog::DatasetDescription {
        tandem_catalog::DatasetDescription::default()
    }
}

#[test]
fn a_panicking_dataset_ends_the_run_failed_not_running() {
    let project = Project::new();
    project
        .catalog
        .insert("train", std::sync::Arc::new(PanickingDataset));
    let pipeline =
        Pipeline::new([node(failing, "train", "out").name("reads").build().unwrap()]).unwrap();
    let err = project
        .run(&pipeline, project.hook(&config(""), "__default__", None))
        .unwrap_err();
    assert_eq!(
        err.failure().unwrap().cause.kind(),
        "dataset_panicked",
        "{err}"
    );
    let runs = runs(&project.local_client(), "demo");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].info.status, RunStatus::Failed);
    let tag = runs[0].tag(tags::ERROR).unwrap();
    assert!(tag.contains("reader has a bug"), "{tag}");
}

#[test]
fn a_model_that_cannot_be_packed_fails_the_run() {
    let project = Project::new();
    let ml = ml_pipeline(PipelineMlOptions::default());
    // The scaler only in memory: training works, packing the model cannot.
    project.catalog.insert(
        "scaler",
        std::sync::Arc::new(tandem_catalog::MemoryDataset::new(None)),
    );
    let err = project
        .run(
            ml.training(),
            project.hook(&config(""), "training", Some(ml.clone())),
        )
        .unwrap_err();
    assert!(err.to_string().contains("scaler"), "{err}");
    let runs = runs(&project.local_client(), "demo");
    assert_eq!(runs[0].info.status, RunStatus::Failed);
    assert!(runs[0].tag(tags::ERROR).unwrap().contains("not persisted"));
}

#[test]
fn disabled_tracking_creates_nothing() {
    let project = Project::new();
    let ml = ml_pipeline(PipelineMlOptions::default());
    let yaml = config("  disable_tracking:\n    pipelines: [training]\n");
    project
        .run(
            ml.training(),
            project.hook(&yaml, "training", Some(ml.clone())),
        )
        .unwrap();
    assert!(!project.root().join("mlruns").exists());
    assert!(!project.root().join("mlflow.db").exists());
}

#[test]
fn registering_on_the_local_store_fails_before_training() {
    let project = Project::new();
    let options = PipelineMlOptions {
        log_model: LogModelOptions {
            registered_model_name: Some("churn".into()),
            ..LogModelOptions::default()
        },
        ..PipelineMlOptions::default()
    };
    let ml = ml_pipeline(options);
    let err = project
        .run(
            ml.training(),
            project.hook(&config(""), "training", Some(ml.clone())),
        )
        .unwrap_err();
    assert!(err.to_string().contains("model registry"), "{err}");
    assert!(
        !project.catalog.exists("scaler").unwrap(),
        "training must not run"
    );
    assert!(runs(&project.local_client(), "demo").is_empty());
}

#[test]
fn long_params_follow_the_configured_strategy() {
    let project = Project::new();
    let long = "x".repeat(7000);
    project
        .catalog
        .add_parameters(&tandem_catalog::Parameters::new(
            json!({"l2": 0.1, "notes": long})
                .as_object()
                .unwrap()
                .clone(),
        ));
    fn fit(_: &f64, notes: String) -> usize {
        notes.len()
    }
    let pipeline = Pipeline::new([node(fit, ["params:l2", "params:notes"], "n")
        .name("fit")
        .build()
        .unwrap()])
    .unwrap();
    let err = project
        .run(&pipeline, project.hook(&config(""), "p", None))
        .unwrap_err();
    assert!(err.to_string().contains("'notes'"), "{err}");
    let yaml = config("  params:\n    long_params_strategy: tag\n");
    project
        .run(&pipeline, project.hook(&yaml, "p", None))
        .unwrap();
    let runs = runs(&project.local_client(), "demo");
    let finished = runs
        .iter()
        .find(|r| r.info.status == RunStatus::Finished)
        .unwrap();
    assert_eq!(finished.tag("notes").map(str::len), Some(7000));
    assert_eq!(finished.param("notes"), None);
    assert!(runs.iter().any(|r| r.info.status == RunStatus::Failed));
}

/// What `mlflow experiments delete` does to the file store.
fn delete_experiment(mlruns: &std::path::Path, id: &str) {
    let trashed = mlruns.join(".trash").join(id);
    std::fs::create_dir_all(mlruns.join(".trash")).unwrap();
    std::fs::rename(mlruns.join(id), &trashed).unwrap();
    let meta = trashed.join("meta.yaml");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, text.replace("\"active\"", "\"deleted\"")).unwrap();
}

#[test]
fn a_deleted_experiment_is_restored() {
    let project = Project::new();
    let client = project.local_client();
    let id = client.create_experiment("demo", None, &[]).unwrap();
    let mlruns = project.root().join("mlruns");
    delete_experiment(&mlruns, &id);
    let ml = ml_pipeline(PipelineMlOptions::default());
    project
        .run(ml.training(), project.hook(&config(""), "training", None))
        .unwrap();
    let experiment = client.get_experiment(&id).unwrap();
    assert!(!experiment.is_deleted());
    assert_eq!(runs(&client, "demo").len(), 1);

    delete_experiment(&mlruns, &id);
    let yaml = config("").replace(
        "name: demo\n",
        "name: demo\n    restore_if_deleted: false\n",
    );
    let err = project
        .run(ml.training(), project.hook(&yaml, "training", None))
        .unwrap_err();
    assert!(err.to_string().contains("deleted"), "{err}");
}

#[test]
fn an_already_trained_pipeline_is_logged_without_a_run() {
    let project = Project::new();
    let ml = ml_pipeline(PipelineMlOptions::default());
    support::train(&ml, &project.catalog);
    // A fresh process: a new catalog over the same files.
    let catalog = fresh_catalog(project.root());
    let client = project.local_client();
    let experiment = client.get_or_create_experiment("demo").unwrap();
    let logged = log_pipeline_model(
        &client,
        &experiment.experiment_id,
        None,
        &ml,
        &catalog,
        &save_options!(),
    )
    .unwrap();
    let id = logged.model_id.unwrap();
    assert_eq!(logged.model_uri, format!("models:/{id}"));
    assert!(runs(&client, "demo").is_empty());
    let info = python_model_info(&client.tracking_uri(), &logged.model_uri);
    assert_eq!(info["inputs"], json!(["x1", "x2"]));
    assert_eq!(
        MlflowConfig::default().experiment_name(project.root()),
        project.root().file_name().unwrap().to_string_lossy()
    );
}
