//! The `python_function` flavor: what lets MLflow's own tools
//! (`mlflow models serve|predict`, `mlflow.pyfunc.load_model`) run a
//! tandem model. Its loader, `code/tandem_pyfunc.py`, starts the model's
//! executable in worker mode (see [`crate::worker`]) and relays each
//! prediction to it; the environment files tell MLflow what Python
//! packages that loader needs.

use std::path::Path;

use serde_json::{Value, json};

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

/// Every Python package the loader imports, pinned exactly, as a model's
/// `requirements.txt` (and the pip lists of `conda.yaml` and
/// `python_env.yaml`) lists them: MLflow at the release whose protocol
/// tandem speaks (as MLflow pins the version that saved a model), pandas
/// and pyarrow, which the loader converts tables with, and zstandard, which
/// it unpacks the model's compressed executable with. The versions are the
/// ones pip resolves for `mlflow==3.17.2` on Python 3.11; the test venv
/// (`tandem_test_support::python::MLFLOW_VENV`) installs exactly these, so
/// what the tests run is what a model asks for.
pub const PYFUNC_REQUIREMENTS: [&str; 4] = [
    concat!("mlflow==", crate::mlflow_release!()),
    "pandas==3.1.1",
    "pyarrow==25.0.1",
    "zstandard==0.25.0",
];

/// Writes the loader and the environment files into the model directory
/// `dir` and returns the `python_function` flavor naming them.
pub(crate) fn write_python_flavor(dir: &Path) -> Result<Value, Error> {
    let requirements = PYFUNC_REQUIREMENTS;
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
        assert_eq!(
            requirements,
            "mlflow==3.17.2\npandas==3.1.1\npyarrow==25.0.1\nzstandard==0.25.0\n"
        );
        assert_eq!(
            PYFUNC_REQUIREMENTS[0],
            format!("mlflow=={}", crate::MLFLOW_VERSION)
        );
    }

    #[test]
    fn the_test_venv_installs_exactly_the_loader_requirements() {
        let venv = tandem_test_support::python::MLFLOW_VENV.packages();
        for requirement in PYFUNC_REQUIREMENTS {
            let installed = match requirement.strip_prefix("mlflow==") {
                // The venv adds the `auth` extra for the basic-auth server.
                Some(version) => format!("mlflow[auth]=={version}"),
                None => requirement.to_owned(),
            };
            assert!(
                venv.contains(&installed.as_str()),
                "{installed} not in {venv:?}"
            );
        }
    }
}
