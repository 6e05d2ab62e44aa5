//! `PipelineModel`: a saved model loaded back to predict (kedro-mlflow's
//! `KedroPipelineModel`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};
use tandem_catalog::{CatalogOptions, CopyMode, DataCatalog, DatasetRegistry, MemoryDataset};
use tandem_pipeline_core::{Data, FunctionRegistry, Pipeline};
use tandem_runners::{ParallelRunner, RunOptions, Runner, SequentialRunner};

use crate::envelope::{self, InputFormat, InputSpec};
use crate::error::Error;
use crate::model::{MlModel, ModelFiles, TandemFlavor};
use tandem_pipeline_ml::{CopyModes, RunnerChoice};

/// How [`PipelineModel::load`] sets the model up; unset fields keep what
/// the model was saved with.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Copy modes: one for every dataset, or per dataset (`assign` for
    /// the others). Unknown dataset names and invalid modes are errors.
    pub copy_mode: Option<CopyModes>,
    /// The default runner of [`PipelineModel::predict`].
    pub runner: Option<RunnerChoice>,
}

/// A loaded model: the inference pipeline with its artifacts in memory.
///
/// Each artifact is loaded once, at [`load`](Self::load). A
/// [`predict`](Self::predict) builds a small catalog of memory datasets
/// sharing those values, so concurrent predicts neither copy artifacts
/// (under the default `assign` copy mode) nor see each other's parameters.
///
/// ```no_run
/// use tandem_pipeline_core::{Data, FunctionRegistry};
/// use tandem_pipeline_model::{LoadOptions, PipelineModel};
///
/// let functions = FunctionRegistry::with_builtins(); // plus the project's functions
/// let model = PipelineModel::load("data/06_models/churn", &functions, &LoadOptions::default())?;
/// let params = serde_json::json!({"threshold": 0.8});
/// let prediction = model.predict(Data::new(vec![1.0_f64]), params.as_object().unwrap(), None)?;
/// # Ok::<(), tandem_pipeline_model::Error>(())
/// ```
#[derive(Debug)]
pub struct PipelineModel {
    dir: PathBuf,
    mlmodel: MlModel,
    flavor: TandemFlavor,
    pipeline: Pipeline,
    artifacts: BTreeMap<String, Data>,
    /// Parameter defaults by name (without `params:`), as JSON and as data.
    parameters: BTreeMap<String, (Value, Data)>,
    copy_modes: BTreeMap<String, CopyMode>,
    runner: RunnerChoice,
    input_spec: Option<InputSpec>,
    /// Datasets made and used inside the pipeline, given their copy modes.
    intermediates: Vec<String>,
}

impl PipelineModel {
    /// Loads the model in `dir`, resolving its node functions in `functions`.
    ///
    /// Every function id the model needs must be registered; the error lists
    /// all the missing ones and the package version that built the model.
    pub fn load(
        dir: impl AsRef<Path>,
        functions: &FunctionRegistry,
        options: &LoadOptions,
    ) -> Result<Self, Error> {
        let files = ModelFiles::read(dir.as_ref())?;
        let flavor = files.flavor.clone();
        let missing: Vec<String> = files
            .spec
            .function_ids()
            .into_iter()
            .filter(|id| !functions.contains(id))
            .map(str::to_owned)
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingFunctions {
                ids: missing,
                package: flavor.package_name,
                version: flavor.package_version,
                target: flavor.target,
            });
        }
        let pipeline = files.spec.to_pipeline(functions)?;
        check_shape(&pipeline, &flavor, &files.dir)?;

        let mut parameters = BTreeMap::new();
        for input in pipeline.inputs() {
            if let Some(name) = input.strip_prefix("params:") {
                let value =
                    files
                        .parameters
                        .get(name)
                        .cloned()
                        .ok_or_else(|| Error::InvalidModel {
                            path: files.dir.join(&flavor.parameters).display().to_string(),
                            message: format!(
                                "the pipeline reads '{input}', which is not in the parameters file"
                            ),
                        })?;
                parameters.insert(name.to_owned(), (value.clone(), Data::json(value)));
            }
        }

        // Never the application's registry: see model/catalog.rs.
        let catalog = DataCatalog::from_config(
            &files.catalog,
            &Map::new(),
            &CatalogOptions::new(crate::model::model_registry()),
            &files.dir,
        )?;
        let mut artifacts = BTreeMap::new();
        for input in pipeline.inputs() {
            if *input == flavor.input_name || input.starts_with("params:") {
                continue;
            }
            if !files.catalog.contains_key(input) {
                return Err(Error::InvalidModel {
                    path: files.dir.join(&flavor.catalog).display().to_string(),
                    message: format!("no entry for the artifact '{input}'"),
                });
            }
            artifacts.insert(input.clone(), catalog.load(input)?);
        }

        let mut datasets = pipeline.datasets();
        datasets.remove(&flavor.output_name);
        let copy_modes = options
            .copy_mode
            .as_ref()
            .unwrap_or(&flavor.copy_mode)
            .resolve(datasets.iter().map(String::as_str))?;
        let inputs: BTreeSet<&String> = pipeline.inputs().iter().collect();
        let intermediates = datasets
            .iter()
            .filter(|d| !inputs.contains(d))
            .cloned()
            .collect();
        let input_spec = match files
            .mlmodel
            .signature
            .as_ref()
            .and_then(|s| s.inputs.as_deref())
        {
            Some(inputs) => {
                let spec = InputSpec::from_signature(inputs, flavor.input_schema.as_deref())?;
                if spec.is_none() {
                    tracing::warn!(
                        "the model's signature uses types tandem does not enforce; inputs are taken as they come"
                    );
                }
                spec
            }
            None => None,
        };
        Ok(PipelineModel {
            dir: files.dir,
            mlmodel: files.mlmodel,
            runner: options.runner.unwrap_or(flavor.runner),
            flavor,
            pipeline,
            artifacts,
            parameters,
            copy_modes,
            input_spec,
            intermediates,
        })
    }

    /// Runs the inference pipeline on `input` and returns its output.
    ///
    /// `params` override parameter defaults for this call only (names with
    /// or without `params:`); an unknown name is an error listing the
    /// model's parameters. `runner` overrides the model's runner.
    pub fn predict(
        &self,
        input: Data,
        params: &Map<String, Value>,
        runner: Option<RunnerChoice>,
    ) -> Result<Data, Error> {
        let overrides = self.overrides(params)?;
        let no_entries = Map::new();
        let options = CatalogOptions {
            save_version: Some("predict".to_owned()),
            ..CatalogOptions::new(DatasetRegistry::new())
        };
        let catalog = DataCatalog::from_config(&no_entries, &no_entries, &options, &self.dir)?;
        let add = |name: &str, data: Option<Data>| {
            let mode = self.copy_modes.get(name).copied();
            let dataset = match data {
                Some(data) => MemoryDataset::with_data(data, mode),
                None => MemoryDataset::new(mode),
            };
            catalog.insert(name, Arc::new(dataset));
        };
        add(&self.flavor.input_name, Some(input));
        for (name, data) in &self.artifacts {
            add(name, Some(data.clone()));
        }
        for (name, (_, default)) in &self.parameters {
            let data = overrides
                .get(name.as_str())
                .cloned()
                .unwrap_or_else(|| default.clone());
            add(&format!("params:{name}"), Some(data));
        }
        for name in &self.intermediates {
            add(name, None);
        }
        let run = RunOptions {
            run_id: Some("predict".to_owned()),
            quiet: true,
            ..RunOptions::default()
        };
        let mut output = match runner.unwrap_or(self.runner) {
            RunnerChoice::Sequential => {
                SequentialRunner.run(&self.pipeline, &catalog, &[], &run)?
            }
            RunnerChoice::Parallel => {
                ParallelRunner::new(None)?.run(&self.pipeline, &catalog, &[], &run)?
            }
        };
        output
            .outputs
            .remove(&self.flavor.output_name)
            .ok_or_else(|| Error::InvalidModel {
                path: self.dir.display().to_string(),
                message: format!("the pipeline did not produce '{}'", self.flavor.output_name),
            })
    }

    /// Parses a request body (an MLflow JSON envelope, CSV or parquet),
    /// checks it against the signature, predicts, and returns the JSON text
    /// of `{"predictions": ...}`: `mlflow models predict` in one call.
    /// `params` override the body's own `params`.
    pub fn predict_request(
        &self,
        body: &[u8],
        format: InputFormat,
        params: &Map<String, Value>,
        runner: Option<RunnerChoice>,
    ) -> Result<Vec<u8>, Error> {
        let input = envelope::parse_input(body, format, self.input_spec.as_ref())?;
        let mut merged = input.params;
        merged.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
        let output = self.predict(input.data, &merged, runner)?;
        envelope::predictions_json(&output)
    }

    /// Parses `name=value` parameter overrides (`--params`), each value
    /// read as its default's kind: text for a string parameter, a number
    /// for a numeric one, JSON for lists and mappings.
    pub fn parse_params<'a>(
        &self,
        pairs: impl IntoIterator<Item = &'a str>,
    ) -> Result<Map<String, Value>, Error> {
        let mut out = Map::new();
        for pair in pairs {
            let (name, text) = pair.split_once('=').ok_or_else(|| {
                Error::InvalidParameter(format!("parameter '{pair}' must be written name=value"))
            })?;
            let name = name.trim();
            let (_, (default, _)) = self.parameter(name)?;
            let value = match default {
                Value::String(_) => Value::String(text.to_owned()),
                _ => serde_json::from_str(text.trim()).map_err(|_| {
                    Error::InvalidParameter(format!(
                        "parameter '{name}': '{text}' is not a valid value (default: {default})"
                    ))
                })?,
            };
            out.insert(name.to_owned(), value);
        }
        Ok(out)
    }

    /// The parameter called `name` (with or without `params:`).
    fn parameter(&self, name: &str) -> Result<(&str, &(Value, Data)), Error> {
        let bare = name.strip_prefix("params:").unwrap_or(name);
        let found = self
            .parameters
            .get_key_value(bare)
            .map(|(k, v)| (k.as_str(), v));
        found.ok_or_else(|| Error::UnknownParameter {
            name: name.to_owned(),
            valid: self.parameters.keys().cloned().collect(),
        })
    }

    /// Checks predict-time parameters against the defaults' kinds.
    fn overrides<'a>(
        &'a self,
        params: &Map<String, Value>,
    ) -> Result<BTreeMap<&'a str, Data>, Error> {
        let mut out = BTreeMap::new();
        for (name, value) in params {
            let (key, (default, _)) = self.parameter(name)?;
            if !same_kind(default, value) {
                return Err(Error::InvalidParameter(format!(
                    "parameter '{key}' must be of the same kind as its default {default}, got {value}"
                )));
            }
            out.insert(key, Data::json(value.clone()));
        }
        Ok(out)
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `MLmodel` metadata.
    pub fn mlmodel(&self) -> &MlModel {
        &self.mlmodel
    }

    /// The `tandem` flavor.
    pub fn flavor(&self) -> &TandemFlavor {
        &self.flavor
    }

    /// The inference pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The dataset that receives the input.
    pub fn input_name(&self) -> &str {
        &self.flavor.input_name
    }

    /// The dataset predict returns.
    pub fn output_name(&self) -> &str {
        &self.flavor.output_name
    }

    /// The loaded artifacts, by dataset name.
    pub fn artifacts(&self) -> &BTreeMap<String, Data> {
        &self.artifacts
    }

    /// Parameter defaults, by name without `params:`.
    pub fn parameters(&self) -> BTreeMap<&str, &Value> {
        self.parameters
            .iter()
            .map(|(k, (v, _))| (k.as_str(), v))
            .collect()
    }

    /// The copy mode of every dataset but the output.
    pub fn copy_modes(&self) -> &BTreeMap<String, CopyMode> {
        &self.copy_modes
    }

    /// The default runner.
    pub fn runner(&self) -> RunnerChoice {
        self.runner
    }

    /// What the model accepts, from its signature, if it has one tandem enforces.
    pub fn input_spec(&self) -> Option<&InputSpec> {
        self.input_spec.as_ref()
    }
}

/// The saved pipeline must be the one the flavor describes.
fn check_shape(pipeline: &Pipeline, flavor: &TandemFlavor, dir: &Path) -> Result<(), Error> {
    let outputs: Vec<String> = pipeline.outputs().iter().cloned().collect();
    if outputs.len() != 1 {
        return Err(tandem_pipeline_ml::Error::InferenceOutputCount { outputs }.into());
    }
    let invalid = |message: String| Error::InvalidModel {
        path: dir.join(&flavor.pipeline).display().to_string(),
        message,
    };
    if outputs[0] != flavor.output_name {
        return Err(invalid(format!(
            "the pipeline outputs '{}', the MLmodel says '{}'",
            outputs[0], flavor.output_name
        )));
    }
    if !pipeline.inputs().contains(&flavor.input_name) {
        return Err(invalid(format!(
            "the pipeline does not read its input '{}'",
            flavor.input_name
        )));
    }
    Ok(())
}

/// Whether `value` may replace `default`: the same JSON kind, and an
/// integer where the default is one. A null default takes anything.
fn same_kind(default: &Value, value: &Value) -> bool {
    match (default, value) {
        (Value::Null, _) => true,
        (Value::Number(d), Value::Number(v)) => {
            !(d.is_i64() || d.is_u64()) || v.is_i64() || v.is_u64()
        }
        (Value::Bool(_), Value::Bool(_))
        | (Value::String(_), Value::String(_))
        | (Value::Array(_), Value::Array(_))
        | (Value::Object(_), Value::Object(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn models_are_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<PipelineModel>();
    }

    #[test]
    fn parameter_kinds_follow_the_default() {
        assert!(same_kind(&json!(0.5), &json!(1)));
        assert!(same_kind(&json!(3), &json!(4)));
        assert!(!same_kind(&json!(3), &json!(4.5)));
        assert!(!same_kind(&json!(0.5), &json!("0.8")));
        assert!(!same_kind(&json!(true), &json!("false")));
        assert!(same_kind(&json!(null), &json!([1])));
    }
}
