//! The demo project's model: trained, saved as a model directory, loaded.

#![allow(missing_docs, reason = "test fixtures, named for what they build")]

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use tandem_pipeline_core::FunctionRegistry;
use tandem_pipeline_ml::{PipelineMl, PipelineMlOptions, RunnerChoice};
use tandem_pipeline_model::envelope::InputFormat;
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};

use crate::project;

/// The demo model (scaler + linear model, `threshold` parameter), saved
/// under `dir` and loaded.
pub fn demo_model(dir: &Path) -> Arc<PipelineModel> {
    let path = dir.join("demo_model");
    let ml = project::ml_pipeline(PipelineMlOptions::default());
    save_trained(&ml, &project::parameters(), 40, &path);
    load(&path, &project::functions())
}

/// Trains `ml` on the demo project's catalog, with parameters `params` and
/// `rows` rows of raw data, in a project directory of its own, and saves
/// it as a model at `path`.
pub fn save_trained(ml: &PipelineMl, params: &Value, rows: usize, path: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = project::catalog(dir.path(), &project::catalog_entries(), params, None);
    project::write_raw(&catalog, rows);
    project::train(ml, &catalog);
    save_model(ml, &catalog, path, &save_options!()).unwrap();
}

/// The model at `path`, loaded with `functions`.
pub fn load(path: &Path, functions: &FunctionRegistry) -> Arc<PipelineModel> {
    Arc::new(PipelineModel::load(path, functions, &LoadOptions::default()).unwrap())
}

/// `predict_request`'s JSON text, parsed.
pub fn request(
    model: &PipelineModel,
    body: &[u8],
    format: InputFormat,
    params: &Map<String, Value>,
    runner: Option<RunnerChoice>,
) -> Result<Value, tandem_pipeline_model::Error> {
    let text = model.predict_request(body, format, params, runner)?;
    Ok(serde_json::from_slice(&text).unwrap())
}
