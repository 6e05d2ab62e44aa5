//! Model logging (MLflow 3, with the 2.x fallback) and registering what
//! was logged.

use std::path::Path;
use std::time::Duration;

use crate::operation::block_on;
use serde::Serialize;

use super::{MlflowClient, model_meta};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{NewLoggedModel, NewModelVersion};
use crate::types::{LoggedModelStatus, ModelOutput, ModelVersion, Param, Run};

/// The step a logged model is a run output at (`Model.log`'s default).
const OUTPUT_STEP: i64 = 0;

/// Where [`MlflowClient::log_model`] put a model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoggedModelRef {
    /// The MLflow 3 logged model; `None` when the server only speaks 2.x.
    pub model_id: Option<String>,
    /// The URI to register or load it with: `models:/m-…` (3.x) or
    /// `runs:/<run>/<name>` (2.x).
    pub model_uri: String,
    /// Where its files are.
    pub artifact_uri: String,
    /// The run that logged it.
    pub run_id: String,
}

impl MlflowClient {
    /// Uploads a directory into a logged model's artifacts.
    pub fn log_model_artifacts(&self, model_id: &str, local_dir: &Path) -> Result<usize> {
        let model = self.get_logged_model(model_id)?;
        let repo = self.store.artifact_repo(&model.info.artifact_uri)?;
        block_on(repo.upload_dir(local_dir, ""))?
    }

    /// Logs the model directory `local_dir` (an MLflow model: `MLmodel`
    /// plus its files) as the output `name` of run `run_id`, as MLflow's
    /// `Model.log` does for any flavor.
    ///
    /// MLflow 3: creates a logged model carrying the run's params and its
    /// provenance tags (`mlflow.user`, `mlflow.source.*`), links it to the
    /// run as an output at step 0, re-logs the run's step-0 metrics with
    /// the model's id (so the model's metrics and a `metrics.x > …` model
    /// search find them), writes the model's identity into
    /// `<local_dir>/MLmodel` (`model_id`, `model_uuid`, `artifact_path` =
    /// the model's artifact URI, `run_id`: **the file in `local_dir` is
    /// rewritten**), uploads the files to the model's artifact location and
    /// finalizes it READY (UPLOAD_FAILED if a step after creating it
    /// fails). A server without the logged-model API gets MLflow 2.x's
    /// form instead: the files under the run's artifacts at `name`,
    /// recorded with `runs/log-model`.
    pub fn log_model(&self, run_id: &str, name: &str, local_dir: &Path) -> Result<LoggedModelRef> {
        self.log_model_with_params(run_id, name, local_dir, &[])
    }

    /// [`MlflowClient::log_model`] with `params` of the model's own (the
    /// `params=` of `mlflow.pyfunc.log_model`), merged with the run's: the
    /// run's value wins a clash, as in MLflow.
    pub fn log_model_with_params(
        &self,
        run_id: &str,
        name: &str,
        local_dir: &Path,
        params: &[Param],
    ) -> Result<LoggedModelRef> {
        self.operation(&format!("log_model '{name}' for run {run_id}"), || {
            self.log_model_now(run_id, name, local_dir, params)
        })
    }

    fn log_model_now(
        &self,
        run_id: &str,
        name: &str,
        local_dir: &Path,
        params: &[Param],
    ) -> Result<LoggedModelRef> {
        let run = self.get_run(run_id)?;
        let created = self.create_logged_model(&NewLoggedModel {
            experiment_id: run.info.experiment_id.clone(),
            name: Some(name.to_owned()),
            source_run_id: Some(run_id.to_owned()),
            params: model_meta::merged_params(params, &run),
            tags: model_meta::provenance_tags(&run),
            ..NewLoggedModel::default()
        });
        let model = match created {
            Ok(model) => model,
            // No logged-model route: an MLflow 2.x server.
            Err(e) if e.code() == Some(&ErrorCode::EndpointNotFound) => {
                return self.log_model_2x(&run.info.artifact_uri, run_id, name, local_dir);
            }
            Err(e) => return Err(e),
        };
        let model_id = model.info.model_id.clone();
        self.pending_started(&model_id);
        let logged = self.fill_logged_model(&model, &run, local_dir);
        if logged.is_err() {
            // Best effort: the error that stopped the logging is what the
            // caller needs to see.
            let _ = self.cleanup(&format!("mark logged model {model_id} failed"), || {
                self.finalize_logged_model(&model_id, LoggedModelStatus::UploadFailed)
            });
        }
        self.pending_done(&model_id);
        logged
    }

    /// Links a new logged model to its run, uploads its files and
    /// finalizes it READY.
    fn fill_logged_model(
        &self,
        model: &crate::types::LoggedModel,
        run: &Run,
        local_dir: &Path,
    ) -> Result<LoggedModelRef> {
        let run_id = &run.info.run_id;
        let model_id = model.info.model_id.clone();
        self.log_outputs(
            run_id,
            &[ModelOutput {
                model_id: model_id.clone(),
                step: OUTPUT_STEP,
            }],
        )?;
        self.link_run_metrics(run, &model_id, OUTPUT_STEP)?;
        model_meta::stamp_mlmodel(local_dir, &model_id, &model.info.artifact_uri, run_id)?;
        let repo = self.store.artifact_repo(&model.info.artifact_uri)?;
        block_on(repo.upload_dir(local_dir, ""))??;
        let model = self.finalize_logged_model(&model_id, LoggedModelStatus::Ready)?;
        Ok(LoggedModelRef {
            model_uri: model.model_uri(),
            model_id: Some(model_id),
            artifact_uri: model.info.artifact_uri,
            run_id: run_id.to_owned(),
        })
    }

    fn log_model_2x(
        &self,
        run_artifact_uri: &str,
        run_id: &str,
        name: &str,
        local_dir: &Path,
    ) -> Result<LoggedModelRef> {
        let repo = self.store.artifact_repo(run_artifact_uri)?;
        block_on(repo.upload_dir(local_dir, name))??;
        let mut model_json = read_mlmodel_as_json(local_dir)?;
        model_json["run_id"] = run_id.into();
        model_json["artifact_path"] = name.into();
        if model_json.get("utc_time_created").is_none() {
            let now = chrono::Utc::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string();
            model_json["utc_time_created"] = now.into();
        }
        if model_json.get("flavors").is_none() {
            model_json["flavors"] = serde_json::json!({});
        }
        self.store
            .log_model_history(run_id, &model_json.to_string())?;
        Ok(LoggedModelRef {
            model_id: None,
            model_uri: format!("runs:/{run_id}/{name}"),
            artifact_uri: format!("{}/{name}", run_artifact_uri.trim_end_matches('/')),
            run_id: run_id.to_owned(),
        })
    }

    // ---- registry (tracking server only) ----

    /// Registers what [`MlflowClient::log_model`] logged under `name`.
    pub fn register_model(
        &self,
        logged: &LoggedModelRef,
        name: &str,
        wait: Duration,
    ) -> Result<ModelVersion> {
        let operation = format!("register_model '{name}' from {}", logged.model_uri);
        self.operation(&operation, || self.register_model_now(logged, name, wait))
    }

    fn register_model_now(
        &self,
        logged: &LoggedModelRef,
        name: &str,
        wait: Duration,
    ) -> Result<ModelVersion> {
        self.register_model_version(
            &NewModelVersion {
                name: name.to_owned(),
                source: logged.model_uri.clone(),
                run_id: Some(logged.run_id.clone()),
                model_id: logged.model_id.clone(),
                ..NewModelVersion::default()
            },
            wait,
        )
    }

    /// [`create_model_version`](crate::ModelRegistry::create_model_version),
    /// then, when the version names a logged model, that model tagged
    /// `mlflow.modelVersions` with it ([`MlflowClient::tag_model_version`]),
    /// as MLflow's `register_model` does.
    pub fn register_model_version(
        &self,
        version: &NewModelVersion,
        wait: Duration,
    ) -> Result<ModelVersion> {
        let created = self.create_model_version(version, wait)?;
        if let Some(model_id) = &version.model_id {
            self.tag_model_version(model_id, &created)?;
        }
        Ok(created)
    }
}

/// The directory's `MLmodel` as JSON (for `runs/log-model`), or `{}`.
pub(super) fn read_mlmodel_as_json(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("MLmodel");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(serde_json::json!({})),
        Err(e) => return Err(Error::io(path, e)),
    };
    let value: serde_json::Value =
        serde_saphyr::from_str(&text).map_err(|e| Error::CorruptStore {
            path: path.clone(),
            message: e.to_string(),
        })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(Error::CorruptStore {
            path,
            message: "MLmodel is not a mapping".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlmodel_yaml_becomes_model_json() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_mlmodel_as_json(dir.path()).unwrap(),
            serde_json::json!({})
        );
        std::fs::write(
            dir.path().join("MLmodel"),
            "flavors:\n  rust_linear:\n    format_version: 1\n    weights: data/w.json\nmodel_size_bytes: 12\n",
        )
        .unwrap();
        let json = read_mlmodel_as_json(dir.path()).unwrap();
        assert_eq!(json["flavors"]["rust_linear"]["weights"], "data/w.json");
        assert_eq!(json["model_size_bytes"], 12);
        std::fs::write(dir.path().join("MLmodel"), "- a list\n").unwrap();
        assert_eq!(
            read_mlmodel_as_json(dir.path()).unwrap_err().kind(),
            "corrupt_store"
        );
    }
}
