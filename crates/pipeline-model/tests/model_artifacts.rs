//! Artifact extraction: kedro-mlflow's catalog-extraction cases and the
//! three bugs tandem fixes (stale parameters, lost URL schemes, every
//! version of a versioned dataset shipped).

mod support;

use std::fs;

use serde_json::json;
use support::*;
use tandem_pipeline_core::{Data, Pipeline, node};
use tandem_pipeline_ml::{PipelineMlOptions, extract_artifacts, pipeline_ml_factory};
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};

#[test]
fn artifacts_are_the_inference_inputs_but_the_input() {
    let (_dir, catalog, ml) = trained(PipelineMlOptions::default());
    let artifacts = extract_artifacts(&ml, &catalog).unwrap();
    let names: Vec<&str> = artifacts.files.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["model", "scaler"]);
    assert_eq!(
        artifacts.parameters,
        [("threshold".to_owned(), json!(0.5))].into()
    );
    let model = &artifacts.files[0];
    assert_eq!(model.model_path(), "artifacts/model/model.msgpack");
    assert_eq!(model.entry["type"], "SerdeDataset");
    assert!(model.entry.get("versioned").is_none());
}

#[test]
fn parameters_are_read_from_the_catalog_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let params = json!({"l2": 0.1, "threshold": 7.5});
    let catalog = catalog(dir.path(), &catalog_entries(), &params, None);
    write_raw(&catalog, 20);
    let ml = ml_pipeline(PipelineMlOptions::default());
    train(&ml, &catalog);
    assert_eq!(
        extract_artifacts(&ml, &catalog).unwrap().parameters["threshold"],
        7.5
    );
}

#[test]
fn an_unpersisted_artifact_is_an_error_saying_how_to_persist_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = catalog_entries();
    entries.as_object_mut().unwrap().remove("scaler");
    let catalog = catalog(dir.path(), &entries, &parameters(), None);
    write_raw(&catalog, 20);
    let ml = ml_pipeline(PipelineMlOptions::default());
    train(&ml, &catalog);
    let err = save_model(&ml, &catalog, dir.path().join("model"), &save_options!()).unwrap_err();
    assert_eq!(err.kind(), "artifact_not_persisted");
    let message = err.to_string();
    assert!(
        message.contains("'scaler'") && message.contains("MemoryDataset"),
        "{message}"
    );
    assert!(message.contains("catalog entry"), "{message}");
    assert!(!dir.path().join("model").exists());
}

#[test]
fn a_missing_inference_input_is_dataset_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path(), &catalog_entries(), &parameters(), None);
    let r = functions();
    let f = |id: &str| r.get(id).unwrap().clone();
    // `unknown` is a training input, so the PipelineMl is valid...
    let training = Pipeline::new([
        node(f("demo.fit_scaler"), "train", "scaler")
            .build()
            .unwrap(),
        node(f("demo.scale"), ["unknown", "scaler"], "x")
            .build()
            .unwrap(),
    ])
    .unwrap();
    let inference = Pipeline::new([node(f("demo.scale"), ["features", "unknown"], "out")
        .build()
        .unwrap()])
    .unwrap();
    let ml = pipeline_ml_factory(training, inference, "features").unwrap();
    // ...but the catalog has no entry for it.
    let err = extract_artifacts(&ml, &catalog).unwrap_err();
    assert_eq!(err.kind(), "dataset_not_found");
    assert!(err.to_string().contains("'unknown'"), "{err}");
}

#[test]
fn an_artifact_training_has_not_produced_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path(), &catalog_entries(), &parameters(), None);
    let ml = ml_pipeline(PipelineMlOptions::default());
    let err = extract_artifacts(&ml, &catalog).unwrap_err();
    assert_eq!(err.kind(), "artifact_missing");
}

#[test]
fn a_shared_training_input_is_an_artifact() {
    // Inference reads a raw training input (kedro-mlflow #71).
    fn lookup(features: &arrow_array::RecordBatch, reference: &arrow_array::RecordBatch) -> i64 {
        (features.num_rows() + reference.num_rows()) as i64
    }
    let mut r = functions();
    r.register("demo.lookup", lookup);
    let inference = Pipeline::new([node(
        r.get("demo.lookup").unwrap().clone(),
        ["features", "train"],
        "n",
    )
    .build()
    .unwrap()])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("model");
    save_trained(&scaler_ml(inference), &parameters(), 12, &m);
    assert!(m.join("artifacts/train/train.parquet").is_file());
    let model = load(&m, &r);
    let n = model
        .predict(Data::new(table(3, false)), &no_params(), None)
        .unwrap();
    assert_eq!(*n.downcast_ref::<i64>().unwrap(), 15);
}

#[test]
fn a_versioned_artifact_contributes_exactly_the_version_this_run_saved() {
    let dir = tempfile::tempdir().unwrap();
    let ml = ml_pipeline(PipelineMlOptions::default());
    let v1 = "2026-01-01T00.00.00.000Z";
    let v2 = "2026-01-02T00.00.00.000Z";
    let first = catalog(
        dir.path(),
        &catalog_entries(),
        &json!({"l2": 0.1, "threshold": 0.5}),
        Some(v1),
    );
    write_raw(&first, 30);
    train(&ml, &first);
    // A later run fits a different model (another l2) into a newer version.
    let second = catalog(
        dir.path(),
        &catalog_entries(),
        &json!({"l2": 50.0, "threshold": 0.5}),
        Some(v2),
    );
    train(&ml, &second);
    let versions = dir.path().join("data/06_models/model.msgpack");
    let v1_bytes = fs::read(versions.join(v1).join("model.msgpack")).unwrap();
    let v2_bytes = fs::read(versions.join(v2).join("model.msgpack")).unwrap();
    assert_ne!(v1_bytes, v2_bytes);

    // The first run's catalog packs its own version, not the latest.
    let m1 = dir.path().join("model-1");
    save_model(&ml, &first, &m1, &save_options!()).unwrap();
    assert_eq!(fs::read_dir(m1.join("artifacts/model")).unwrap().count(), 1);
    assert_eq!(
        fs::read(m1.join("artifacts/model/model.msgpack")).unwrap(),
        v1_bytes
    );

    // A catalog that saved nothing packs what a load reads: the latest.
    let fresh = catalog(dir.path(), &catalog_entries(), &parameters(), None);
    let latest = dir.path().join("model-latest");
    save_model(&ml, &fresh, &latest, &save_options!()).unwrap();
    assert_eq!(
        fs::read(latest.join("artifacts/model/model.msgpack")).unwrap(),
        v2_bytes
    );

    // The packed model predicts with the first run's fit: what a catalog
    // pinned to v1 computes, and what the first run's own catalog computes
    // (a run reads back the version it saved), unlike a fresh catalog,
    // which reads the latest.
    let mut options =
        tandem_catalog::CatalogOptions::new(tandem_catalog::DatasetRegistry::with_builtins());
    options
        .load_versions
        .insert("model".to_owned(), v1.to_owned());
    let pinned = tandem_catalog::DataCatalog::from_config(
        catalog_entries().as_object().unwrap(),
        &serde_json::Map::new(),
        &options,
        dir.path(),
    )
    .unwrap();
    pinned.add_parameters(&tandem_catalog::Parameters::new(
        parameters().as_object().unwrap().clone(),
    ));
    let model = PipelineModel::load(&m1, &functions(), &LoadOptions::default()).unwrap();
    let out = model
        .predict(first.load("features").unwrap(), &no_params(), None)
        .unwrap();
    assert_eq!(batch(&out), batch(&in_process(&ml, &pinned)));
    assert_eq!(batch(&out), batch(&in_process(&ml, &first)));
    assert_ne!(batch(&out), batch(&in_process(&ml, &fresh)));
}

#[test]
fn an_object_store_artifact_is_packed_from_its_url() {
    // kedro-mlflow resolves `s3://bucket/x` to the local path `/bucket/x`.
    let dir = tempfile::tempdir().unwrap();
    let bucket = format!("memory://artifacts-{}", std::process::id());
    let mut entries = catalog_entries();
    entries["scaler"] =
        json!({"type": "SerdeDataset", "filepath": format!("{bucket}/models/scaler.json")});
    let catalog = catalog(dir.path(), &entries, &parameters(), None);
    write_raw(&catalog, 25);
    let ml = ml_pipeline(PipelineMlOptions::default());
    train(&ml, &catalog);
    assert!(!dir.path().join("models").exists());
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let packed: serde_json::Value =
        serde_json::from_slice(&fs::read(m.join("artifacts/scaler/scaler.json")).unwrap()).unwrap();
    assert_eq!(packed["columns"], json!(["x1", "x2"]));
    let model = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap();
    let out = model
        .predict(catalog.load("features").unwrap(), &no_params(), None)
        .unwrap();
    assert_eq!(batch(&out), batch(&in_process(&ml, &catalog)));
}
