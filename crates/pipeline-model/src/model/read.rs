//! Reading a model directory back: the `MLmodel`, the tandem flavor and
//! its files, every path checked to stay inside the directory.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tandem_pipeline_core::PipelineSpec;

use super::mlmodel::{MlModel, TandemFlavor};
use super::{from_yaml, inside, invalid_model};
use crate::error::Error;

/// The parsed files of a model directory.
pub(crate) struct ModelFiles {
    pub(crate) dir: PathBuf,
    pub(crate) mlmodel: MlModel,
    pub(crate) flavor: TandemFlavor,
    pub(crate) spec: PipelineSpec,
    pub(crate) catalog: Map<String, Value>,
    pub(crate) parameters: Map<String, Value>,
}

impl ModelFiles {
    pub(crate) fn read(dir: &Path) -> Result<ModelFiles, Error> {
        let mlmodel = MlModel::read(dir)?;
        let flavor = mlmodel.tandem_flavor(dir)?;
        let spec_path = inside(dir, &flavor.pipeline)?;
        let spec = PipelineSpec::from_path(&spec_path)?;
        let mut catalog: Map<String, Value> = read_yaml(&inside(dir, &flavor.catalog)?)?;
        for (name, entry) in &mut catalog {
            check_entry(dir, name, entry)?;
        }
        for (name, path) in &flavor.artifacts {
            inside(dir, path).map_err(|_| {
                invalid_model(
                    dir,
                    format!("artifact '{name}' is at '{path}', outside the model directory"),
                )
            })?;
        }
        let parameters: Map<String, Value> = read_yaml(&inside(dir, &flavor.parameters)?)?;
        Ok(ModelFiles {
            dir: dir.to_path_buf(),
            mlmodel,
            flavor,
            spec,
            catalog,
            parameters,
        })
    }
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
    from_yaml(&text, path)
}

/// A model's catalog may only read files inside the model: no remote
/// stores, no credentials, no path escaping the directory (symlinks
/// included). The entry's `filepath` becomes the resolved path, so the
/// catalog opens the very file that was checked.
fn check_entry(dir: &Path, name: &str, entry: &mut Value) -> Result<(), Error> {
    let catalog = dir.join(super::CATALOG_FILE);
    let Value::Object(settings) = entry else {
        return Err(invalid_model(
            &catalog,
            format!("entry '{name}' is not a mapping"),
        ));
    };
    if settings.contains_key("credentials") {
        return Err(invalid_model(
            &catalog,
            format!("entry '{name}' has credentials; a model reads only its own files"),
        ));
    }
    match settings.get_mut("filepath") {
        None => Ok(()),
        Some(Value::String(path)) => {
            let resolved = inside(dir, path).map_err(|_| {
                invalid_model(
                    &catalog,
                    format!("entry '{name}' reads '{path}': a model's files must be relative paths inside it"),
                )
            })?;
            *path = resolved.display().to_string();
            Ok(())
        }
        Some(other) => Err(invalid_model(
            &catalog,
            format!("entry '{name}': filepath must be a string, found {other}"),
        )),
    }
}
