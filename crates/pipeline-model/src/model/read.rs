//! Reading a model directory back: the `MLmodel`, the tandem flavor and
//! its files, every path checked to stay inside the directory.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tandem_pipeline_core::PipelineSpec;

use super::catalog::check_catalog;
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
        let catalog_path = inside(dir, &flavor.catalog)?;
        let mut catalog: Map<String, Value> = read_yaml(&catalog_path)?;
        check_catalog(dir, &dir.join(&flavor.catalog), &mut catalog)?;
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
