//! The `MLmodel` file: MLflow's model metadata, with the `tandem` flavor
//! that says how to rebuild and run the inference pipeline.

use std::collections::BTreeMap;
use std::path::Path;

use arrow_schema::{DataType, Field};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::executable::EmbeddedExecutable;
use super::signature_text::SignatureText;
use super::{MLMODEL, invalid_model};
use crate::error::Error;
use tandem_pipeline_ml::{CopyModes, RunnerChoice};

/// The version of the `tandem` flavor this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// An `MLmodel` file. Keys MLflow adds that tandem does not use are kept
/// in [`MlModel::other`] and written back unchanged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlModel {
    /// The model's name in its run (MLflow 2's relative `artifact_path`;
    /// MLflow 3 rewrites it to the artifact URI when logging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_path: Option<String>,
    /// Flavor name → its settings; tandem's is under `tandem`.
    pub flavors: BTreeMap<String, Value>,
    /// The MLflow release the model's format follows
    /// ([`MLFLOW_VERSION`](crate::MLFLOW_VERSION)), as MLflow records the
    /// version that saved a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow_version: Option<String>,
    /// The MLflow 3 logged model (`m-…`), once logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Total size of the model's files, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_size_bytes: Option<u64>,
    /// A uuid4 in hex, as `mlflow.pyfunc.save_model` generates; once
    /// logged to MLflow 3, the logged model's id, as `Model.log` writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_uuid: Option<String>,
    /// The run that logged the model, once logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Where the input example is and how it is encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_input_example_info: Option<ExampleInfo>,
    /// The MLflow signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureText>,
    /// Naive UTC, `%Y-%m-%d %H:%M:%S%.6f`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_time_created: Option<String>,
    /// Every other top-level key, as read.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// MLflow's `saved_input_example_info`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExampleInfo {
    /// The example file, `input_example.json`.
    pub artifact_path: String,
    /// `split` for a table (`dataframe` type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pandas_orient: Option<String>,
    /// `tf-serving` for a list (`ndarray` type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The ready-to-POST request body, `serving_input_example.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_input_path: Option<String>,
    /// `dataframe` or `ndarray`.
    #[serde(rename = "type")]
    pub example_type: String,
}

/// The `tandem` flavor: everything needed to rebuild the inference run.
/// Paths are relative to the model directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TandemFlavor {
    /// Artifact name → its file inside the model.
    pub artifacts: BTreeMap<String, String>,
    /// The inference catalog (`tandem/catalog.yml`).
    pub catalog: String,
    /// Copy modes of the model's datasets.
    pub copy_mode: CopyModes,
    /// The flavor's format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Every node function id the inference pipeline calls, sorted.
    pub functions: Vec<String>,
    /// The executable holding the model's functions, when one is embedded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<EmbeddedExecutable>,
    /// The dataset that receives the data to predict on.
    pub input_name: String,
    /// The exact arrow schema of the training-time input, when it was a
    /// table: MLflow's types are coarser (`integer` is any of int8..int32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Vec<FieldText>>,
    /// The pipeline's single output.
    pub output_name: String,
    /// The package that built the model.
    pub package_name: String,
    /// Its version.
    pub package_version: String,
    /// The `params:` values (`tandem/parameters.yml`).
    pub parameters: String,
    /// The inference pipeline spec (`tandem/pipeline.yml`).
    pub pipeline: String,
    /// The default runner.
    pub runner: RunnerChoice,
    /// The target triple of the build that saved the model.
    pub target: String,
}

/// An arrow field in text form: arrow's own type syntax (`Int64`,
/// `Timestamp(ns)`, `List(Utf8)`), which it parses back losslessly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldText {
    /// The column name.
    pub name: String,
    /// The arrow type.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether it may hold nulls.
    pub nullable: bool,
}

impl FieldText {
    /// The text form of `field`.
    pub fn new(field: &Field) -> Self {
        FieldText {
            name: field.name().clone(),
            data_type: field.data_type().to_string(),
            nullable: field.is_nullable(),
        }
    }

    /// The arrow type, if it parses.
    pub fn arrow_type(&self) -> Option<DataType> {
        self.data_type.parse().ok()
    }
}

impl MlModel {
    /// Reads `<dir>/MLmodel`.
    pub fn read(dir: &Path) -> Result<MlModel, Error> {
        let path = dir.join(MLMODEL);
        let text = std::fs::read_to_string(&path).map_err(Error::io("read", &path))?;
        super::from_yaml(&text, &path)
    }

    /// The `MLmodel` YAML, keys sorted as MLflow writes them.
    pub fn to_yaml(&self) -> Result<String, Error> {
        let value = serde_json::to_value(self).map_err(|e| invalid_model(Path::new(MLMODEL), e))?;
        super::to_yaml(&sorted(value), Path::new(MLMODEL))
    }

    /// The `tandem` flavor.
    pub fn tandem_flavor(&self, dir: &Path) -> Result<TandemFlavor, Error> {
        let path = dir.join(MLMODEL);
        let Some(flavor) = self.flavors.get(super::FLAVOR) else {
            let found: Vec<&str> = self.flavors.keys().map(String::as_str).collect();
            return Err(invalid_model(
                &path,
                format!(
                    "no '{}' flavor (flavors: {}); only models tandem wrote can be loaded",
                    super::FLAVOR,
                    if found.is_empty() {
                        "none".to_owned()
                    } else {
                        found.join(", ")
                    }
                ),
            ));
        };
        let flavor: TandemFlavor = serde_json::from_value(flavor.clone())
            .map_err(|e| invalid_model(&path, format!("flavors.{}: {e}", super::FLAVOR)))?;
        if flavor.format_version != FORMAT_VERSION {
            return Err(invalid_model(
                &path,
                format!(
                    "tandem flavor format version {} is not supported (this build reads version {FORMAT_VERSION})",
                    flavor.format_version
                ),
            ));
        }
        Ok(flavor)
    }
}

/// Sorts every mapping's keys, whatever order `serde_json` keeps (it keeps
/// insertion order when another crate enables `preserve_order`), as PyYAML's
/// `safe_dump` does for MLflow.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let entries: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
