//! Logging a trained [`PipelineMl`] as an MLflow model: shared by the
//! end-of-run hook and `modelify`.

use std::path::Path;
use std::time::Duration;

use tandem_catalog::DataCatalog;
use tandem_mlflow_client::{
    LoggedModelStatus, MlflowClient, ModelVersion, NewLoggedModel, NewModelVersion,
};

use crate::error::Error;
use tandem_pipeline_ml::LogModelOptions;
use tandem_pipeline_ml::PipelineMl;
use tandem_pipeline_model::model::MLMODEL;
use tandem_pipeline_model::{MlModel, SaveOptions, save_model};

/// How long a new model version may stay PENDING_REGISTRATION (MLflow's
/// Python client waits as long).
const REGISTRATION_WAIT: Duration = Duration::from_secs(300);

/// A model [`log_pipeline_model`] logged.
#[derive(Clone, Debug)]
pub struct LoggedPipelineModel {
    /// The name it was logged under (`log_model.name`).
    pub name: String,
    /// The MLflow 3 logged model id (`None` on a 2.x server).
    pub model_id: Option<String>,
    /// The URI it loads from: `models:/m-…`, or `runs:/<run>/<name>` on 2.x.
    pub model_uri: String,
    /// The run it is an output of, if any.
    pub run_id: Option<String>,
    /// Its `MLmodel` as logged.
    pub mlmodel: MlModel,
    /// The registered version, when `registered_model_name` is set.
    pub version: Option<ModelVersion>,
}

/// Builds `ml`'s model directory from `catalog` in a temporary directory
/// and logs it as `ml.options().log_model.name`: as an output of `run_id`
/// when given, else as a logged model of `experiment_id` without a run.
/// Registers it when `registered_model_name` is set (tracking server only).
pub fn log_pipeline_model(
    client: &MlflowClient,
    experiment_id: &str,
    run_id: Option<&str>,
    ml: &PipelineMl,
    catalog: &DataCatalog,
    save: &SaveOptions,
) -> Result<LoggedPipelineModel, Error> {
    let log_options = &ml.options().log_model;
    check_registry(client, log_options)?;
    // Named after this process, so the next log removes what a killed one
    // left (a model copy, often the size of the embedded executable) and
    // never what a live one is still uploading.
    let _ = tandem_io::durable::clean_temp_leftovers(&std::env::temp_dir(), "tandem-model");
    let tmp = tempfile::Builder::new()
        .prefix(&tandem_io::durable::temp_prefix("tandem-model"))
        .tempdir()
        .map_err(Error::io("create", &std::env::temp_dir()))?;
    let dir = tmp.path().join("model");
    let mut mlmodel = save_model(ml, catalog, &dir, save)?;
    mlmodel.run_id = run_id.map(str::to_owned);

    let (model_id, model_uri) = match run_id {
        Some(run_id) => {
            rewrite_mlmodel(&dir, &mlmodel)?;
            let logged = client.log_model(run_id, &log_options.name, &dir)?;
            // log_model wrote the logged model's identity into the file.
            mlmodel = MlModel::read(&dir)?;
            (logged.model_id, logged.model_uri)
        }
        None => {
            let created = client.create_logged_model(&NewLoggedModel {
                experiment_id: experiment_id.to_owned(),
                name: Some(log_options.name.clone()),
                ..NewLoggedModel::default()
            })?;
            let id = created.info.model_id;
            // As MLflow's `Model.log` writes a logged model's identity.
            mlmodel.model_id = Some(id.clone());
            mlmodel.model_uuid = Some(id.clone());
            mlmodel.artifact_path = Some(created.info.artifact_uri.clone());
            let uploaded = rewrite_mlmodel(&dir, &mlmodel)
                .and_then(|()| Ok(client.log_model_artifacts(&id, &dir)?));
            let status = match uploaded {
                Ok(_) => LoggedModelStatus::Ready,
                Err(_) => LoggedModelStatus::UploadFailed,
            };
            client.finalize_logged_model(&id, status)?;
            uploaded?;
            (Some(id.clone()), format!("models:/{id}"))
        }
    };
    let version = match &log_options.registered_model_name {
        Some(name) => {
            // Tags the logged model `mlflow.modelVersions`, as MLflow's
            // register_model does.
            let version = client.register_model_version(
                &NewModelVersion {
                    name: name.clone(),
                    source: model_uri.clone(),
                    run_id: run_id.map(str::to_owned),
                    model_id: model_id.clone(),
                    ..NewModelVersion::default()
                },
                REGISTRATION_WAIT,
            )?;
            for alias in &log_options.aliases {
                client.set_model_alias(name, alias, &version.version)?;
            }
            Some(version)
        }
        None => None,
    };
    Ok(LoggedPipelineModel {
        name: log_options.name.clone(),
        model_id,
        model_uri,
        run_id: run_id.map(str::to_owned),
        mlmodel,
        version,
    })
}

/// Refuses registration on the local store up front, so a training run
/// does not run for nothing.
pub(crate) fn check_registry(
    client: &MlflowClient,
    options: &LogModelOptions,
) -> Result<(), Error> {
    if options.registered_model_name.is_none() && !options.aliases.is_empty() {
        return Err(Error::InvalidConfig {
            file: "log_model options".to_owned(),
            message: format!(
                "aliases {:?} need a registered_model_name: only registered versions have aliases",
                options.aliases
            ),
        });
    }
    match options.registered_model_name.as_deref() {
        Some(name) if !client.has_model_registry() => Err(Error::InvalidConfig {
            file: "log_model options".to_owned(),
            message: format!(
                "registered_model_name '{name}' needs a model registry, which the mlruns file \
                 store ({}) does not have: set server.mlflow_tracking_uri in mlflow.yml or \
                 MLFLOW_TRACKING_URI to a tracking server or a sqlite:/// database",
                client.tracking_uri()
            ),
        }),
        _ => Ok(()),
    }
}

fn rewrite_mlmodel(dir: &Path, mlmodel: &MlModel) -> Result<(), Error> {
    let path = dir.join(MLMODEL);
    std::fs::write(&path, mlmodel.to_yaml()?).map_err(Error::io("write", &path))
}
