//! A model's catalog is untrusted: it is built from tandem's own file
//! dataset types only (never the loading application's), and every value
//! naming a file must stay inside the model; URLs and credentials are
//! refused. Each case is a saved model rewritten the way a hostile one
//! would be.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::*;
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetConfig, DatasetRegistry};
use tandem_pipeline_ml::PipelineMlOptions;
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};

fn saved(root: &Path) -> PathBuf {
    let (_training, catalog, ml) = trained(PipelineMlOptions::default());
    let dir = root.join("model");
    save_model(&ml, &catalog, &dir, &save_options!()).unwrap();
    dir
}

/// Replaces the `scaler` entry of the model's catalog with `entry`.
fn rewrite_scaler(dir: &Path, entry: Value) {
    let file = dir.join("tandem/catalog.yml");
    let mut catalog = yaml(&file);
    catalog["scaler"] = entry;
    fs::write(&file, catalog.to_string()).unwrap();
}

/// The load error of the model in `dir`, which must be `invalid_model`
/// and mention each of `needles`.
fn refused(dir: &Path, needles: &[&str]) -> String {
    let err = PipelineModel::load(dir, &functions(), &LoadOptions::default()).unwrap_err();
    let message = err.to_string();
    assert_eq!(err.kind(), "invalid_model", "{message}");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
    message
}

#[test]
fn a_dataset_type_outside_tandems_file_datasets_is_refused_naming_model_dataset_and_type() {
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    for type_name in [
        "tracking.MlflowArtifactDataset",
        "my_project.RemoteTable",
        "pickle.PickleDataset",
    ] {
        rewrite_scaler(
            &dir,
            json!({"type": type_name, "filepath": "artifacts/scaler/scaler.json"}),
        );
        let message = refused(&dir, &["scaler", type_name, "may not use"]);
        assert!(message.contains(&dir.display().to_string()), "{message}");
    }
}

#[test]
fn kedro_names_of_tandems_types_are_allowed() {
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    rewrite_scaler(
        &dir,
        json!({"type": "kedro_datasets.SerdeDataset", "filepath": "artifacts/scaler/scaler.json"}),
    );
    PipelineModel::load(&dir, &functions(), &LoadOptions::default()).unwrap();
}

#[test]
fn every_path_like_key_must_stay_inside_the_model() {
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    let outside = root.path().join("secret.json");
    fs::write(&outside, "{}").unwrap();
    let outside = outside.display().to_string();
    let cases = [
        json!({"type": "SerdeDataset", "filepath": outside}),
        json!({"type": "SerdeDataset", "filepath": "../secret.json"}),
        json!({"type": "SerdeDataset", "filepath": "artifacts/scaler/scaler.json", "path": "../x"}),
        json!({"type": "SerdeDataset", "filepath": "artifacts/scaler/scaler.json",
               "load_args": {"schema_path": outside}}),
        json!({"type": "SerdeDataset", "filepath": "artifacts/scaler/scaler.json",
               "save_args": {"nested": {"cache_dir": "/tmp"}}}),
        json!({"type": "SerdeDataset", "filepath": "artifacts/scaler/scaler.json",
               "load_args": {"model_path": ["artifacts/ok.json", "/etc/passwd"]}}),
        json!({"type": "SerdeDataset", "filepath": null}),
    ];
    for entry in cases {
        rewrite_scaler(&dir, entry.clone());
        refused(&dir, &["scaler", "inside"]);
    }
}

#[test]
fn urls_and_credentials_are_refused_wherever_they_appear() {
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    rewrite_scaler(
        &dir,
        json!({"type": "SerdeDataset", "filepath": "s3://bucket/scaler.json"}),
    );
    refused(&dir, &["scaler", "s3://bucket/scaler.json"]);
    rewrite_scaler(
        &dir,
        json!({"type": "SerdeDataset", "filepath": "artifacts/scaler/scaler.json",
               "load_args": {"endpoint": "http://127.0.0.1:9/x"}}),
    );
    refused(&dir, &["scaler", "endpoint", "URL"]);
    rewrite_scaler(
        &dir,
        json!({"type": "SerdeDataset", "filepath": "artifacts/scaler/scaler.json",
               "credentials": "prod_s3"}),
    );
    refused(&dir, &["scaler", "credentials"]);
}

#[cfg(unix)]
#[test]
fn a_nested_path_through_a_symlink_outside_is_refused() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    fs::write(root.path().join("secret.json"), "{}").unwrap();
    symlink(root.path(), dir.join("artifacts/up")).unwrap();
    rewrite_scaler(
        &dir,
        json!({"type": "SerdeDataset", "filepath": "artifacts/scaler/scaler.json",
               "load_args": {"schema_path": "artifacts/up/secret.json"}}),
    );
    refused(&dir, &["scaler", "schema_path"]);
}

/// A project may register its own dataset types for training, but an
/// artifact of such a type cannot go into a model: the save fails, naming
/// the dataset and its type, instead of writing a model no one can load.
#[test]
fn saving_an_artifact_of_a_projects_own_type_fails() {
    let (training, catalog, ml) = trained(PipelineMlOptions::default());
    let mut registry = DatasetRegistry::with_builtins();
    registry.register("project.ScalerDataset", |config: &DatasetConfig| {
        let builtin = DatasetConfig {
            type_name: "SerdeDataset".to_owned(),
            ..config.clone()
        };
        DatasetRegistry::with_builtins().build(&builtin)
    });
    let mut entries = catalog_entries();
    entries["scaler"]["type"] = json!("project.ScalerDataset");
    let project = DataCatalog::from_config(
        entries.as_object().unwrap(),
        &serde_json::Map::new(),
        &CatalogOptions::new(registry),
        training.path(),
    )
    .unwrap();
    project.add_parameters(&tandem_catalog::Parameters::new(
        parameters().as_object().unwrap().clone(),
    ));
    drop(catalog);
    let dir = training.path().join("model");
    let err = save_model(&ml, &project, &dir, &save_options!()).unwrap_err();
    assert_eq!(err.kind(), "invalid_model", "{err}");
    let message = err.to_string();
    assert!(
        message.contains("scaler") && message.contains("project.ScalerDataset"),
        "{message}"
    );
    assert!(!dir.exists(), "no half model is left");
}
