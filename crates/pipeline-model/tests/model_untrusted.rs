//! A model directory is untrusted input: every file it names must stay
//! inside it, symlinks included, before anything is read.

mod support;

use std::fs;
use std::path::Path;

use support::*;
use tandem_pipeline_ml::PipelineMlOptions;
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};

/// A saved demo model under `root/model`.
fn saved(root: &Path) -> std::path::PathBuf {
    let (_training, catalog, ml) = trained(PipelineMlOptions::default());
    let dir = root.join("model");
    save_model(&ml, &catalog, &dir, &save_options!()).unwrap();
    dir
}

fn load(dir: &Path) -> Result<PipelineModel, tandem_pipeline_model::Error> {
    PipelineModel::load(dir, &functions(), &LoadOptions::default())
}

#[test]
fn the_saved_model_loads_before_it_is_tampered_with() {
    let root = tempfile::tempdir().unwrap();
    load(&saved(root.path())).unwrap();
}

#[cfg(unix)]
#[test]
fn an_artifact_that_is_a_symlink_to_a_file_outside_is_refused() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    let artifact = dir.join("artifacts/scaler/scaler.json");
    // The outside file holds the very bytes of the artifact: only the link
    // itself can make the load fail.
    let outside = root.path().join("outside.json");
    fs::copy(&artifact, &outside).unwrap();
    fs::remove_file(&artifact).unwrap();
    symlink(&outside, &artifact).unwrap();
    let err = load(&dir).unwrap_err();
    assert_eq!(err.kind(), "invalid_model", "{err}");
    assert!(err.to_string().contains("scaler"), "{err}");
}

#[cfg(unix)]
#[test]
fn an_artifact_folder_that_is_a_symlink_outside_is_refused() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    let folder = dir.join("artifacts/scaler");
    let outside = root.path().join("elsewhere");
    fs::rename(&folder, &outside).unwrap();
    symlink(&outside, &folder).unwrap();
    let err = load(&dir).unwrap_err();
    assert_eq!(err.kind(), "invalid_model", "{err}");
}

#[cfg(unix)]
#[test]
fn a_symlink_that_stays_inside_the_model_is_followed() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    let artifact = dir.join("artifacts/scaler/scaler.json");
    let moved = dir.join("artifacts/scaler/fitted.json");
    fs::rename(&artifact, &moved).unwrap();
    symlink("fitted.json", &artifact).unwrap();
    load(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn the_pipeline_spec_may_not_be_a_symlink_outside() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    let spec = dir.join("tandem/pipeline.yml");
    let outside = root.path().join("pipeline.yml");
    fs::rename(&spec, &outside).unwrap();
    symlink(&outside, &spec).unwrap();
    assert_eq!(load(&dir).unwrap_err().kind(), "invalid_model");
}

/// A parquet artifact whose dictionary page claims a billion values (a
/// fuzz finding that made the parquet reader reserve 2.5 GB): the model's
/// artifacts go through the catalog's hardened reader, so loading the
/// model refuses it instead of allocating.
#[test]
fn a_hostile_parquet_artifact_is_refused_at_load() {
    let root = tempfile::tempdir().unwrap();
    let dir = saved(root.path());
    let hostile = include_bytes!("../../catalog/tests/files/hostile/dictionary-page-count.parquet");
    fs::write(dir.join("artifacts/scaler/scaler.parquet"), hostile).unwrap();
    let catalog_file = dir.join("tandem/catalog.yml");
    let mut catalog = yaml(&catalog_file);
    catalog["scaler"] = serde_json::json!({
        "type": "ParquetDataset",
        "filepath": "artifacts/scaler/scaler.parquet",
    });
    fs::write(&catalog_file, catalog.to_string()).unwrap();
    let err = load(&dir).unwrap_err();
    assert_eq!(err.kind(), "format", "{err}");
    let message = err.to_string();
    // The structure check refused it, before any decoding.
    assert!(
        message.contains("scaler") && message.contains("a dictionary page of"),
        "{message}"
    );
}
