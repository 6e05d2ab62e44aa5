//! Writing a model directory from a trained [`PipelineMl`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use serde_json::{Map, Value, json};
use tandem_catalog::{CatalogOptions, DataCatalog};
use tandem_pipeline_core::{Data, PipelineSpec};

use super::example::Example;
use super::executable::{BUILD_TARGET, EmbeddedExecutable};
use super::mlmodel::{FORMAT_VERSION, FieldText, MlModel, TandemFlavor};
use super::signature::{infer_inputs, infer_param};
use super::signature_text::SignatureText;
use super::{
    CATALOG_FILE, FLAVOR, INPUT_EXAMPLE, MLMODEL, PARAMETERS_FILE, PIPELINE_FILE,
    SERVING_INPUT_EXAMPLE,
};
use super::{invalid_model, to_yaml};
use crate::error::Error;
use tandem_pipeline_ml::PipelineMl;
use tandem_pipeline_ml::SignatureChoice;
use tandem_pipeline_ml::{Artifacts, extract_artifacts};

/// How [`save_model`] writes a model.
#[derive(Clone, Debug)]
pub struct SaveOptions {
    /// The package that builds the model (its functions are the ones the
    /// model needs); [`save_options!`](crate::save_options) fills in the
    /// calling crate's.
    pub package_name: String,
    /// Its version.
    pub package_version: String,
    /// The target triple recorded as the model's platform
    /// ([`BUILD_TARGET`], this build's, by default).
    pub target: String,
    /// The executable to embed in `bin/`: the binary that registers the
    /// model's functions, so that the bundled `tandem` and MLflow's Python
    /// loader can run the model. `None` (the default for library callers,
    /// whose process is rarely that binary) embeds nothing; the CLI passes
    /// its own executable.
    pub executable: Option<PathBuf>,
    /// How many rows of the input go into the input example; 0 logs no
    /// example (an explicit `input_example` option is still written).
    pub example_rows: usize,
    /// The data to infer the signature and input example from, instead of
    /// the `input_name` data in the catalog: what a tracked run captured
    /// while training ran (a [`signature_sample`](crate::model::signature_sample)),
    /// so the save neither keeps nor reloads the whole table.
    pub input: Option<Data>,
}

impl SaveOptions {
    /// Options for a model built by `package_name` `package_version`, with
    /// tandem's dataset types and a 5-row input example.
    pub fn new(package_name: impl Into<String>, package_version: impl Into<String>) -> Self {
        SaveOptions {
            package_name: package_name.into(),
            package_version: package_version.into(),
            target: BUILD_TARGET.to_owned(),
            executable: None,
            example_rows: 5,
            input: None,
        }
    }
}

/// [`SaveOptions`] naming the crate this macro is called from (its
/// `CARGO_PKG_NAME` and `CARGO_PKG_VERSION`).
#[macro_export]
macro_rules! save_options {
    () => {
        $crate::SaveOptions::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
    };
}

/// Writes the model of a trained `ml` to `dir` and returns its `MLmodel`.
///
/// `catalog` is the catalog training ran with (or one built from the same
/// configuration afterwards): artifacts are read from it (see
/// [`extract_artifacts`]), and so is the `input_name` data the signature
/// and the input example are inferred from, when it has some.
///
/// `dir` must not exist or be empty. The model is written to a sibling
/// directory and renamed into place, so `dir` never holds half a model.
pub fn save_model(
    ml: &PipelineMl,
    catalog: &DataCatalog,
    dir: impl AsRef<Path>,
    options: &SaveOptions,
) -> Result<MlModel, Error> {
    let dir = dir.as_ref();
    refuse_non_empty(dir)?;
    let mut datasets = ml.inference().datasets();
    datasets.remove(ml.output_name());
    ml.options()
        .model
        .copy_mode
        .resolve(datasets.iter().map(String::as_str))?;
    let artifacts = extract_artifacts(ml, catalog)?;
    let input = match &options.input {
        Some(input) => Some(input.clone()),
        None => input_data(ml, catalog)?,
    };
    let staging = staging_dir(dir)?;
    let written =
        write_model(ml, &artifacts, input.as_ref(), &staging, dir, options).and_then(|model| {
            publish(&staging, dir)?;
            Ok(model)
        });
    if written.is_err() {
        // Best effort: the error being returned matters more than leftovers.
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

fn refuse_non_empty(dir: &Path) -> Result<(), Error> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            Some(_) => Err(Error::ModelExists {
                path: dir.display().to_string(),
            }),
            None => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("read", dir)(e)),
    }
}

fn staging_dir(dir: &Path) -> Result<PathBuf, Error> {
    if dir.file_name().is_none() {
        return Err(invalid_model(dir, "the model directory needs a name"));
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Named after `dir` and this process, so the next save of `dir` removes
    // it if this one is killed, and a concurrent live save keeps its own.
    tandem_io::durable::create_staging_dir(dir).map_err(Error::io("create", parent))
}

/// Durably: every file and directory of the model is fsynced before the
/// rename, and the parent after it, so a saved model survives a crash.
fn publish(staging: &Path, dir: &Path) -> Result<(), Error> {
    tandem_io::durable::sync_tree(staging).map_err(Error::io("sync", staging))?;
    if dir.exists() {
        // Checked empty before writing; renaming onto a directory is not portable.
        std::fs::remove_dir(dir).map_err(Error::io("replace", dir))?;
    }
    tandem_io::durable::rename_durably(staging, dir).map_err(Error::io("rename into", dir))
}

/// The data signatures and examples are inferred from: the explicit example
/// if there is one (unless the catalog holds the real input), else the
/// `input_name` data training left in the catalog.
fn input_data(ml: &PipelineMl, catalog: &DataCatalog) -> Result<Option<Data>, Error> {
    if let Some(dataset) = catalog.get(ml.input_name())?
        && dataset
            .exists()
            .map_err(|e| e.in_dataset(ml.input_name()))?
    {
        return Ok(Some(
            dataset.load().map_err(|e| e.in_dataset(ml.input_name()))?,
        ));
    }
    match &ml.options().log_model.input_example {
        Some(example) => {
            let body = match example {
                Value::Object(map) if map.contains_key("data") => {
                    json!({"dataframe_split": example})
                }
                Value::Object(map) if map.contains_key("inputs") => example.clone(),
                other => json!({"inputs": other}),
            };
            Ok(Some(crate::envelope::parse_json_value(&body, None)?.data))
        }
        None => Ok(None),
    }
}

fn write_model(
    ml: &PipelineMl,
    artifacts: &Artifacts,
    input: Option<&Data>,
    staging: &Path,
    target: &Path,
    options: &SaveOptions,
) -> Result<MlModel, Error> {
    let spec = PipelineSpec::from_pipeline(ml.inference());
    write_file(staging, PIPELINE_FILE, spec.to_yaml_string()?.as_bytes())?;

    let mut catalog = Map::new();
    catalog.insert(ml.input_name().to_owned(), json!({"type": "MemoryDataset"}));
    let mut artifact_paths = BTreeMap::new();
    for artifact in &artifacts.files {
        let bytes = artifact
            .location
            .read()
            .map_err(|e| e.in_dataset(&artifact.name))?;
        let path = artifact.model_path();
        write_file(staging, &path, &bytes)?;
        catalog.insert(artifact.name.clone(), Value::Object(artifact.entry.clone()));
        artifact_paths.insert(artifact.name.clone(), path);
    }
    write_file(
        staging,
        CATALOG_FILE,
        to_yaml(&catalog, Path::new(CATALOG_FILE))?.as_bytes(),
    )?;
    // The model's catalog must pass the checks and build as a load will
    // (model/catalog.rs): an artifact of a project's own dataset type fails
    // the save, not a later load.
    let mut checked = catalog.clone();
    super::catalog::check_catalog(staging, &target.join(CATALOG_FILE), &mut checked)?;
    DataCatalog::from_config(
        &checked,
        &Map::new(),
        &CatalogOptions::new(super::model_registry()),
        staging,
    )?;
    let parameters = to_yaml(&artifacts.parameters, Path::new(PARAMETERS_FILE))?;
    write_file(staging, PARAMETERS_FILE, parameters.as_bytes())?;

    let log_model = &ml.options().log_model;
    let (signature, input_schema) = match &log_model.signature {
        SignatureChoice::None => (None, None),
        SignatureChoice::Explicit(value) => (
            Some(SignatureText::from_explicit(value)?),
            input.and_then(arrow_fields),
        ),
        SignatureChoice::Auto => auto_signature(artifacts, input)?,
    };
    let example = match &log_model.input_example {
        Some(value) => Some(Example::from_explicit(value)?),
        None => input
            .filter(|_| options.example_rows > 0)
            .and_then(|data| Example::from_data(data, options.example_rows)),
    };
    if let Some(example) = &example {
        write_file(staging, INPUT_EXAMPLE, example.input.as_bytes())?;
        write_file(staging, SERVING_INPUT_EXAMPLE, example.serving.as_bytes())?;
    }

    let executable = options
        .executable
        .as_deref()
        .map(|exe| EmbeddedExecutable::embed(exe, staging))
        .transpose()?;
    let flavor = TandemFlavor {
        artifacts: artifact_paths,
        catalog: CATALOG_FILE.to_owned(),
        copy_mode: ml.options().model.copy_mode.clone(),
        executable,
        format_version: FORMAT_VERSION,
        functions: spec.function_ids().into_iter().map(str::to_owned).collect(),
        input_name: ml.input_name().to_owned(),
        input_schema,
        output_name: ml.output_name().to_owned(),
        package_name: options.package_name.clone(),
        package_version: options.package_version.clone(),
        parameters: PARAMETERS_FILE.to_owned(),
        pipeline: PIPELINE_FILE.to_owned(),
        runner: ml.options().model.runner,
        target: options.target.clone(),
    };
    let flavor = serde_json::to_value(&flavor).map_err(|e| invalid_model(staging, e))?;
    let python_function = super::pyfunc::write_python_flavor(staging)?;
    let infer_outputs = matches!(log_model.signature, SignatureChoice::Auto) && example.is_some();
    let mut model = MlModel {
        artifact_path: Some(log_model.name.clone()),
        flavors: BTreeMap::from([
            (FLAVOR.to_owned(), flavor),
            (super::PYFUNC_FLAVOR.to_owned(), python_function),
        ]),
        mlflow_version: Some(crate::MLFLOW_VERSION.to_owned()),
        model_id: None,
        model_size_bytes: Some(directory_size(staging)?),
        model_uuid: Some(uuid4_hex()),
        run_id: None,
        saved_input_example_info: example.map(|e| e.info),
        signature,
        utc_time_created: Some(
            chrono::Utc::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
        ),
        other: BTreeMap::new(),
    };
    write_file(staging, MLMODEL, model.to_yaml()?.as_bytes())?;
    // As MLflow's `log_model`, outputs come from running the model (as
    // written, so as it will load) on its input example.
    if infer_outputs && let (Some(input), Some(signature)) = (input, model.signature.as_mut()) {
        let rows = match options.example_rows {
            0 => usize::MAX,
            rows => rows,
        };
        signature.outputs = super::outputs::infer_outputs(ml, staging, input, rows);
        if signature.outputs.is_some() {
            write_file(staging, MLMODEL, model.to_yaml()?.as_bytes())?;
        }
    }
    Ok(model)
}

/// kedro-mlflow's `"auto"`: inputs from the input data, every `params:`
/// input as a parameter with its default. (kedro-mlflow also adds a
/// `runner` parameter, whose default then overrides the configured runner
/// on every served call; tandem's runner is not a parameter.)
fn auto_signature(
    artifacts: &Artifacts,
    input: Option<&Data>,
) -> Result<(Option<SignatureText>, Option<Vec<FieldText>>), Error> {
    let inputs = input.map(infer_inputs).transpose()?.flatten();
    if input.is_some() && inputs.is_none() {
        tracing::warn!(
            "the model input's type has no MLflow signature; the signature has no inputs"
        );
    }
    let params: Vec<_> = artifacts
        .parameters
        .iter()
        .filter_map(|(name, default)| infer_param(name, default))
        .collect();
    if inputs.is_none() && params.is_empty() {
        return Ok((None, None));
    }
    Ok((
        Some(SignatureText::new(inputs.as_deref(), &params)),
        input.and_then(arrow_fields),
    ))
}

/// The exact arrow schema of a table input.
fn arrow_fields(data: &Data) -> Option<Vec<FieldText>> {
    let schema = match (
        data.downcast_ref::<RecordBatch>(),
        data.downcast_ref::<Vec<RecordBatch>>(),
    ) {
        (Ok(batch), _) => batch.schema(),
        (_, Ok(batches)) => batches.first()?.schema(),
        _ => return None,
    };
    Some(schema.fields().iter().map(|f| FieldText::new(f)).collect())
}

fn write_file(dir: &Path, relative: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
    }
    std::fs::write(&path, bytes).map_err(Error::io("write", &path))
}

fn directory_size(dir: &Path) -> Result<u64, Error> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(Error::io("read", dir))? {
        let entry = entry.map_err(Error::io("read", dir))?;
        let metadata = entry.metadata().map_err(Error::io("read", &entry.path()))?;
        total += if metadata.is_dir() {
            directory_size(&entry.path())?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}

/// A random (version 4) UUID in hex, as MLflow's `model_uuid`.
fn uuid4_hex() -> String {
    let bits = fastrand::u128(..);
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    format!("{bits:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let id = uuid4_hex();
        assert_eq!(id.len(), 32);
        assert_eq!(&id[12..13], "4");
        assert!(matches!(&id[16..17], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(uuid4_hex(), id);
    }

    #[test]
    fn non_empty_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        refuse_non_empty(dir.path()).unwrap();
        refuse_non_empty(&dir.path().join("missing")).unwrap();
        std::fs::write(dir.path().join("x"), b"").unwrap();
        assert_eq!(
            refuse_non_empty(dir.path()).unwrap_err().kind(),
            "model_exists"
        );
    }

    #[test]
    fn a_save_removes_dead_saves_staging_and_keeps_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        // pid_max is at most 2^22, so no process has this pid.
        let dead = dir.path().join(".model.tandem-4194999-00ab");
        let live = dir
            .path()
            .join(format!(".model.tandem-{}-00ab", std::process::id()));
        std::fs::create_dir_all(dead.join("artifacts")).unwrap();
        std::fs::create_dir(&live).unwrap();
        let staging = staging_dir(&model).unwrap();
        std::fs::write(staging.join(MLMODEL), b"x").unwrap();
        publish(&staging, &model).unwrap();
        assert!(!dead.exists(), "a dead save's staging directory is removed");
        assert!(live.exists(), "a live save's staging directory is kept");
        assert!(!staging.exists());
        assert_eq!(std::fs::read(model.join(MLMODEL)).unwrap(), b"x");
    }
}
