//! The `python_function` flavor: what lets MLflow's own tools
//! (`mlflow models serve|predict`, `mlflow.pyfunc.load_model`) run a
//! tandem model. Its loader, `code/tandem_pyfunc.py`, starts the model's
//! executable in worker mode (see [`crate::worker`]) and relays each
//! prediction to it; the environment files tell MLflow what Python
//! packages that loader needs.

use std::path::Path;

use serde_json::{Value, json};

use crate::MLFLOW_VERSION;
use crate::error::Error;

/// The flavor key MLflow looks for.
pub const PYFUNC_FLAVOR: &str = "python_function";
/// The loader module, in `code/`, which MLflow puts on `sys.path`.
const LOADER_MODULE: &str = "tandem_pyfunc";
const LOADER: &str = include_str!("../../python/tandem_pyfunc.py");
const CODE_DIR: &str = "code";
/// The Python the loader is written for; MLflow builds a virtualenv or
/// conda environment of this version for `--env-manager virtualenv|conda`
/// (a minor version lets pyenv and uv pick the latest patch).
pub const PYTHON_VERSION: &str = "3.11";
const REQUIREMENTS: &str = "requirements.txt";
const PYTHON_ENV: &str = "python_env.yaml";
const CONDA_ENV: &str = "conda.yaml";

/// The loader's packages: MLflow pinned to the release whose protocol
/// tandem speaks (as MLflow pins the version that saved a model), what
/// the loader converts tables with, and what it unpacks the model's
/// zstd-compressed executable with.
fn requirements() -> [String; 4] {
    [
        format!("mlflow=={MLFLOW_VERSION}"),
        "pandas".to_owned(),
        "pyarrow".to_owned(),
        "zstandard".to_owned(),
    ]
}

/// Writes the loader and the environment files into the model directory
/// `dir` and returns the `python_function` flavor naming them.
pub(crate) fn write_python_flavor(dir: &Path) -> Result<Value, Error> {
    let requirements = requirements();
    write(dir, &format!("{CODE_DIR}/{LOADER_MODULE}.py"), LOADER)?;
    write(dir, REQUIREMENTS, &format!("{}\n", requirements.join("\n")))?;
    // Written as MLflow's `_PythonEnv.to_yaml` does; the version is quoted
    // because MLflow refuses a `python` that YAML reads as the float 3.11.
    write(
        dir,
        PYTHON_ENV,
        &format!(
            "python: '{PYTHON_VERSION}'\nbuild_dependencies:\n- pip\n- setuptools\n- wheel\n\
             dependencies:\n- -r {REQUIREMENTS}\n"
        ),
    )?;
    let pip: String = requirements.iter().map(|r| format!("  - {r}\n")).collect();
    write(
        dir,
        CONDA_ENV,
        &format!(
            "channels:\n- conda-forge\ndependencies:\n- python={PYTHON_VERSION}\n- pip\n- pip:\n\
             {pip}name: mlflow-env\n"
        ),
    )?;
    Ok(json!({
        "code": CODE_DIR,
        "env": {"conda": CONDA_ENV, "virtualenv": PYTHON_ENV},
        "loader_module": LOADER_MODULE,
        "python_version": PYTHON_VERSION,
    }))
}

fn write(dir: &Path, relative: &str, text: &str) -> Result<(), Error> {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
    }
    std::fs::write(&path, text).map_err(Error::io("write", &path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flavor_names_the_files_it_writes() {
        let dir = tempfile::tempdir().unwrap();
        let flavor = write_python_flavor(dir.path()).unwrap();
        assert_eq!(flavor["loader_module"], "tandem_pyfunc");
        let code = dir.path().join(flavor["code"].as_str().unwrap());
        assert_eq!(
            std::fs::read_to_string(code.join("tandem_pyfunc.py")).unwrap(),
            LOADER
        );
        for file in [&flavor["env"]["conda"], &flavor["env"]["virtualenv"]] {
            let text = std::fs::read_to_string(dir.path().join(file.as_str().unwrap())).unwrap();
            assert!(text.contains("3.11"), "{text}");
        }
        let conda = std::fs::read_to_string(dir.path().join(CONDA_ENV)).unwrap();
        assert!(conda.contains("  - mlflow==3.17.2\n"), "{conda}");
        let requirements = std::fs::read_to_string(dir.path().join(REQUIREMENTS)).unwrap();
        assert_eq!(requirements, "mlflow==3.17.2\npandas\npyarrow\nzstandard\n");
    }
}
