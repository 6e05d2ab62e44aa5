//! A run's lineage in the local store: dataset and model inputs and model
//! outputs as read back (`Runs::log_inputs` and `log_outputs` in `runs.rs`
//! write them), the ids the file store gives them, and the 2.x model
//! history tag.

use std::path::Path;

use md5::{Digest, Md5};
use serde::Deserialize;

use super::meta::{self, lenient_string};
use super::{LocalStore, write_key_file};
use crate::error::{Error, ErrorCode, Result};
use crate::types::{Dataset, DatasetInput, ModelInput, ModelOutput, RunInputs, RunOutputs, Tag};

const MODEL_HISTORY_TAG: &str = "mlflow.log-model.history";

#[derive(Deserialize, Default)]
#[serde(default)]
struct VertexMeta {
    #[serde(deserialize_with = "lenient_string")]
    source_id: String,
    source_type: String,
    step: Option<i64>,
    tags: std::collections::BTreeMap<String, String>,
}

/// Hex MD5 of the concatenated parts: the file store's dataset and input ids.
pub(super) fn md5_hex(parts: &[&str]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl LocalStore {
    fn read_vertices(dir: &Path) -> Result<Vec<VertexMeta>> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let file = entry.path().join("meta.yaml");
            if file.is_file() {
                out.push(meta::read(&file)?);
            }
        }
        Ok(out)
    }

    pub(super) fn read_inputs(&self, run_dir: &Path) -> Result<RunInputs> {
        let exp_dir = run_dir.parent().unwrap_or(run_dir);
        let mut inputs = RunInputs::default();
        for vertex in LocalStore::read_vertices(&run_dir.join("inputs"))? {
            match vertex.source_type.as_str() {
                "DATASET" => {
                    let path =
                        crate::paths::local_join(&exp_dir.join("datasets"), &vertex.source_id)?;
                    let dataset: Dataset = meta::read(&path.join("meta.yaml"))?;
                    let tags = vertex
                        .tags
                        .into_iter()
                        .map(|(key, value)| Tag { key, value })
                        .collect();
                    inputs.dataset_inputs.push(DatasetInput { tags, dataset });
                }
                "MODEL" => inputs.model_inputs.push(ModelInput {
                    model_id: vertex.source_id,
                }),
                _ => {}
            }
        }
        Ok(inputs)
    }

    pub(super) fn read_outputs(&self, run_dir: &Path) -> Result<RunOutputs> {
        let model_outputs = LocalStore::read_vertices(&run_dir.join("outputs"))?
            .into_iter()
            .filter(|v| v.source_type == "RUN_OUTPUT")
            .map(|v| ModelOutput {
                model_id: v.source_id,
                step: v.step.unwrap_or(0),
            })
            .collect();
        Ok(RunOutputs { model_outputs })
    }

    /// Appends to the run's `mlflow.log-model.history` tag (a JSON list).
    pub(super) fn log_model_history_local(&self, run_id: &str, model_json: &str) -> Result<()> {
        let (dir, _) = self.active_run_dir(run_id)?;
        let model: serde_json::Value = serde_json::from_str(model_json).map_err(|e| {
            Error::mlflow(
                ErrorCode::InvalidParameterValue,
                format!("model_json is not JSON: {e}"),
            )
        })?;
        let path = dir.join("tags").join(MODEL_HISTORY_TAG);
        let mut history: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        history.push(model);
        let text = serde_json::Value::Array(history).to_string();
        write_key_file(&dir.join("tags"), MODEL_HISTORY_TAG, &text)
    }
}
