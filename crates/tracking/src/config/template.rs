//! The commented `mlflow.yml` that `tandem mlflow init` writes.

use std::path::{Path, PathBuf};

use super::FILE_NAMES;
use crate::error::Error;

/// The commented `mlflow.yml` `tandem mlflow init` writes, every setting at
/// its default.
pub fn default_config_text(project_name: &str) -> String {
    format!(
        r#"# MLflow tracking for `tandem run` (kedro-mlflow's mlflow.yml).
# conf/<env>/mlflow.yml replaces the top-level keys of conf/base/mlflow.yml.

server:
  # A server URL (http://127.0.0.1:5000), a file: URI or a path relative to
  # the project root. Unset: MLFLOW_TRACKING_URI, else MLflow's default,
  # ./mlflow.db (artifacts in ./mlruns), which a plain `mlflow ui` reads.
  mlflow_tracking_uri: null
  # A key of credentials.yml with `username` and `password`, or `token`.
  credentials: null
  # Seconds an MLflow operation may go on retrying after its first failure
  # (null: 60).
  retry_budget: null
  # Seconds marking a failed or interrupted run FAILED may take (null: 5).
  cleanup_budget: null

tracking:
  disable_tracking:
    # Pipelines (as named with --pipeline) that are never tracked.
    pipelines: []

  experiment:
    name: {name}
    # Restore a deleted experiment of that name instead of failing.
    restore_if_deleted: true

  run:
    # Resume this run id instead of starting a new run.
    id: null
    # The name of a new run; unset: the pipeline's name.
    name: null

  params:
    dict_params:
      # Log each entry of a mapping parameter on its own (model.alpha).
      flatten: false
      # Flatten nested mappings all the way down.
      recursive: true
      # Separator between flattened key parts.
      sep: "."
    # Values over MLflow's 6000 characters: fail, tag or truncate.
    long_params_strategy: fail

  model:
    # Register the logged model under this name (a server or the SQLite store);
    # null keeps the pipeline's registered_model_name.
    registered_model_name: null
    # Aliases moved to the new registered version, e.g. [champion].
    aliases: []
    # Carry the binary that runs the model in it (bin/), so that the bundled
    # `tandem` and `mlflow models serve` can run it without this project.
    embed_executable: true
"#,
        name = serde_json::Value::String(project_name.to_owned())
    )
}

/// Writes [`default_config_text`] to `conf_dir/<env>/mlflow.yml` and
/// returns its path; an existing file is left alone unless `force`.
pub fn write_default_config(
    conf_dir: &Path,
    env: &str,
    project_name: &str,
    force: bool,
) -> Result<PathBuf, Error> {
    let dir = conf_dir.join(env);
    let path = dir.join(FILE_NAMES[0]);
    if path.exists() && !force {
        return Err(Error::InvalidConfig {
            file: path.display().to_string(),
            message: "the file already exists; pass --force to overwrite it".to_owned(),
        });
    }
    std::fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
    std::fs::write(&path, default_config_text(project_name)).map_err(Error::io("write", &path))?;
    Ok(path)
}
