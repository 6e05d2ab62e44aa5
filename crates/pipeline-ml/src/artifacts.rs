//! Artifact extraction: what a training run hands to inference.
//!
//! The artifacts of a [`PipelineMl`] are its inference inputs other than
//! `input_name`. After training, each is either a `params:` value, read from
//! the catalog, or a persisted dataset, whose exact bytes are packed. Three
//! kedro-mlflow bugs are fixed here:
//! - parameters are read from the catalog and written to the model, which
//!   uses them (kedro-mlflow keeps a stale pickled value);
//! - files are read through their [`Location`], so `s3://` or `memory://`
//!   artifacts work (kedro-mlflow resolves them as local paths);
//! - a versioned dataset contributes the one version this run saved (or
//!   the one a load would read), not its whole version directory.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tandem_catalog::{DataCatalog, EntryDescription, Location};

use crate::error::Error;
use crate::pipeline_ml::PipelineMl;

/// The artifacts of one training run, ready to pack.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// Persisted datasets, sorted by name.
    pub files: Vec<FileArtifact>,
    /// `params:` values by parameter name (the dataset name without `params:`).
    pub parameters: BTreeMap<String, Value>,
}

/// One persisted artifact.
#[derive(Clone, Debug)]
pub struct FileArtifact {
    /// The dataset name.
    pub name: String,
    /// The file or object to pack: for a versioned dataset, one version.
    pub location: Location,
    /// The catalog entry the model uses: the same type and settings, with
    /// `filepath` inside the model and no versioning or credentials.
    pub entry: Map<String, Value>,
}

impl FileArtifact {
    /// The artifact's path inside the model directory,
    /// `artifacts/<name>/<basename>`.
    pub fn model_path(&self) -> String {
        let basename = match self.location.basename() {
            "" => self.name.as_str(),
            base => base,
        };
        format!("{ARTIFACTS_DIR}/{}/{basename}", self.name)
    }
}

/// The model directory's folder the artifacts are copied into.
pub const ARTIFACTS_DIR: &str = "artifacts";

/// Entry keys that only make sense where training ran.
const DROPPED_KEYS: &[&str] = &["credentials", "versioned", "version", "metadata", "fs_args"];

/// Extracts the artifacts of `ml` from the catalog a training run used (or
/// one built from the same configuration afterwards).
///
/// Errors: a missing entry (`dataset_not_found`), an artifact that lives
/// only in memory (`artifact_not_persisted`), one that is not a file
/// (`artifact_not_file`), one with no data yet (`artifact_missing`), a
/// parameter that is not JSON (`unserializable`).
pub fn extract_artifacts(ml: &PipelineMl, catalog: &DataCatalog) -> Result<Artifacts, Error> {
    let mut files = Vec::new();
    let mut parameters = BTreeMap::new();
    for name in ml.artifacts() {
        if let Some(parameter) = name.strip_prefix("params:") {
            parameters.insert(parameter.to_owned(), parameter_value(catalog, name)?);
        } else {
            files.push(file_artifact(catalog, name)?);
        }
    }
    Ok(Artifacts { files, parameters })
}

fn parameter_value(catalog: &DataCatalog, name: &str) -> Result<Value, Error> {
    let data = catalog.load(name)?;
    if let Ok(value) = data.downcast_ref::<Value>() {
        return Ok(value.clone());
    }
    let unserializable = |reason: String| Error::Unserializable {
        what: format!("parameter '{name}'"),
        type_name: data.type_name().to_owned(),
        reason,
    };
    match data.to_json() {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(unserializable(e)),
        None => Err(unserializable(
            "declare it with data_value!(serde: ...)".to_owned(),
        )),
    }
}

fn file_artifact(catalog: &DataCatalog, name: &str) -> Result<FileArtifact, Error> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(Error::InvalidOption(format!(
            "artifact '{name}' cannot be packed: its name is used as a directory name in the model"
        )));
    }
    let dataset = catalog.dataset(name)?;
    let description = catalog.describe(name)?;
    let type_name = description.dataset.type_name.clone();
    if dataset.is_ephemeral() {
        return Err(Error::ArtifactNotPersisted {
            name: name.to_owned(),
            type_name,
        });
    }
    let Some(location) = dataset.location() else {
        // A versioned dataset has no location until a version exists.
        return Err(match description.dataset.filepath {
            Some(filepath) if description.dataset.versioned => Error::ArtifactMissing {
                name: name.to_owned(),
                location: filepath,
            },
            _ => Error::ArtifactNotFile {
                name: name.to_owned(),
                type_name,
            },
        });
    };
    if !location.exists().map_err(|e| e.in_dataset(name))? {
        return Err(Error::ArtifactMissing {
            name: name.to_owned(),
            location: location.url().to_owned(),
        });
    }
    let mut artifact = FileArtifact {
        name: name.to_owned(),
        location,
        entry: entry_settings(&description),
    };
    let path = artifact.model_path();
    artifact
        .entry
        .insert("filepath".to_owned(), Value::String(path));
    Ok(artifact)
}

/// The entry as configured (or, for a dataset added in code, its type and
/// load/save args), without what only applies where training ran.
fn entry_settings(description: &EntryDescription) -> Map<String, Value> {
    let mut entry = match &description.config {
        Some(Value::Object(config)) => config.clone(),
        _ => {
            let mut entry = Map::new();
            entry.insert(
                "type".to_owned(),
                Value::String(description.dataset.type_name.clone()),
            );
            entry.extend(description.dataset.details.clone());
            entry
        }
    };
    for key in DROPPED_KEYS {
        entry.remove(*key);
    }
    entry
}
