//! The model directory: what [`save_model`] writes and
//! [`PipelineModel`](crate::PipelineModel) loads.
//!
//! ```text
//! <dir>/
//! ├── MLmodel                      MLflow metadata: the `tandem` and
//! │                                `python_function` flavors
//! ├── input_example.json           first rows, split orient (or {"inputs": [...]})
//! ├── serving_input_example.json   a ready-to-POST /invocations body
//! ├── tandem/
//! │   ├── pipeline.yml             the inference pipeline spec
//! │   ├── catalog.yml              artifact entries rewritten into the model
//! │   └── parameters.yml           the `params:` values the model uses
//! ├── artifacts/<name>/<file>      the artifacts' bytes, one version each
//! ├── code/tandem_pyfunc.py        MLflow's loader: runs bin/ in worker mode
//! ├── requirements.txt             the loader's Python packages, pinned (MLflow, pandas, pyarrow, zstandard)
//! ├── python_env.yaml              MLflow's virtualenv spec (Python version, requirements)
//! ├── conda.yaml                   the same as a conda environment
//! └── bin/<executable>.zst         the binary holding the model's functions,
//!                                  stripped and zstd-compressed (optional;
//!                                  target triple, sizes and SHA-256s in MLmodel)
//! ```

mod catalog;
mod example;
mod executable;
mod executable_cache;
mod mlmodel;
mod outputs;
mod pyfunc;
mod pyjson;
mod read;
mod sample;
mod signature;
mod signature_text;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Error;

pub use catalog::model_registry;
pub use executable::{BUILD_TARGET, Compression, CompressionFormat, EmbeddedExecutable};
pub use executable_cache::ExecutableCache;
pub use mlmodel::{ExampleInfo, FORMAT_VERSION, FieldText, MlModel, TandemFlavor};
pub use pyfunc::{PYFUNC_FLAVOR, PYFUNC_REQUIREMENTS, PYTHON_VERSION};
pub(crate) use read::ModelFiles;
pub use sample::signature_sample;
pub use signature::{
    ColSpec, ColType, ParamSpec, Property, infer_inputs, infer_param, infer_schema,
};
pub use signature_text::SignatureText;
pub use write::{SaveOptions, save_model};

/// The MLflow metadata file.
pub const MLMODEL: &str = "MLmodel";
/// The flavor key tandem's settings live under.
pub const FLAVOR: &str = "tandem";
/// The input example file.
pub const INPUT_EXAMPLE: &str = "input_example.json";
/// The serving input example file.
pub const SERVING_INPUT_EXAMPLE: &str = "serving_input_example.json";
const PIPELINE_FILE: &str = "tandem/pipeline.yml";
const CATALOG_FILE: &str = "tandem/catalog.yml";
const PARAMETERS_FILE: &str = "tandem/parameters.yml";

fn invalid_model(path: &Path, message: impl fmt::Display) -> Error {
    Error::InvalidModel {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Parses a model's YAML file with the spec settings (YAML 1.2 booleans,
/// `007` kept as text), so what `to_yaml` wrote reads back unchanged.
fn from_yaml<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, Error> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        budget: tandem_pipeline_core::spec::yaml_budget(text.len()),
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| invalid_model(path, e))
}

fn to_yaml(value: &impl serde::Serialize, path: &Path) -> Result<String, Error> {
    serde_saphyr::to_string(value)
        .map_err(|e| invalid_model(path, format!("cannot write YAML: {e}")))
}

/// `relative` joined to `dir`, provided it stays inside: a model is data
/// from elsewhere, and its files must not name `/etc/passwd` or `../..`,
/// nor be symlinks to them. The rules are `tandem_io::paths`' (the Python
/// loader in `code/` applies the same); symlinks are resolved, so the path
/// returned is the file that was checked.
fn inside(dir: &Path, relative: &str) -> Result<PathBuf, Error> {
    tandem_io::paths::resolve_inside(dir, relative).map_err(|e| {
        invalid_model(
            dir,
            format!("path '{relative}' must be relative and stay inside the model directory ({e})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside_the_model() {
        let model = tempfile::tempdir().unwrap();
        let dir = &model.path().canonicalize().unwrap();
        assert_eq!(
            inside(dir, "artifacts/model/m.json").unwrap(),
            dir.join("artifacts/model/m.json")
        );
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "",
            "s3://bucket/x",
            "memory://x",
            "a\\..\\b",
        ] {
            assert_eq!(
                inside(dir, bad).unwrap_err().kind(),
                "invalid_model",
                "{bad}"
            );
        }
    }
}
