//! The model datasets: `mlflow.MlflowModelTrackingDataset` (a tandem model
//! logged to, or loaded from, a run) and `mlflow.MlflowModelRegistryDataset`
//! (one loaded from the model registry, `models:/name@alias`).
//!
//! Both load into a [`PipelineModel`], handed to nodes as
//! `Data::opaque(Arc<PipelineModel>)`, and save such a model (its
//! directory) as a logged model of the active run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Map;
use tandem_catalog::{Dataset, DatasetConfig, DatasetDescription, Error};
use tandem_mlflow_client::{LoggedModelRef, NewModelVersion};
use tandem_pipeline_core::Data;

use crate::datasets::{Services, mlflow, scratch, types};
use tandem_pipeline_model::{LoadOptions, PipelineModel};

/// How long a new model version may stay PENDING_REGISTRATION (as long as
/// the end-of-run hook waits).
const REGISTRATION_WAIT: Duration = Duration::from_secs(300);

/// The logged model name when none is configured (MLflow's default).
const DEFAULT_NAME: &str = "model";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TrackingOptions {
    /// The logged model name (`runs:/<run>/<name>`).
    name: Option<String>,
    /// Load from this run instead of the active one.
    run_id: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryOptions {
    /// The registered model.
    model_name: String,
    /// Load the version this alias points to (and move it on save).
    alias: Option<String>,
    /// Load this version.
    version: Option<String>,
    /// The logged model name a save uses.
    name: Option<String>,
}

/// Where a model dataset reads from and writes to.
#[derive(Debug)]
enum Source {
    /// `runs:/<run>/<name>`, the active run unless `run_id` is set.
    Run { run_id: Option<String> },
    /// `models:/<model_name>` at an alias, a version or the latest version.
    Registry {
        model_name: String,
        alias: Option<String>,
        version: Option<String>,
    },
}

/// A tandem model in MLflow (see the module documentation).
#[derive(Debug)]
pub(crate) struct ModelDataset {
    dataset: String,
    type_name: &'static str,
    name: String,
    source: Source,
    services: Services,
    /// The downloaded model directories: a loaded model keeps pointing at
    /// its files (and can be saved again), so they live as long as the dataset.
    downloads: Mutex<Vec<tempfile::TempDir>>,
}

impl ModelDataset {
    /// `mlflow.MlflowModelTrackingDataset`.
    pub(crate) fn tracking(config: &DatasetConfig, services: Services) -> Result<Self, Error> {
        let options: TrackingOptions = config.options_as()?;
        Ok(ModelDataset {
            dataset: config.name.clone(),
            type_name: types::MODEL_TRACKING,
            name: options.name.unwrap_or_else(|| DEFAULT_NAME.to_owned()),
            source: Source::Run {
                run_id: options.run_id,
            },
            services,
            downloads: Mutex::new(Vec::new()),
        })
    }

    /// `mlflow.MlflowModelRegistryDataset`.
    pub(crate) fn registry(config: &DatasetConfig, services: Services) -> Result<Self, Error> {
        let options: RegistryOptions = config.options_as()?;
        if options.alias.is_some() && options.version.is_some() {
            return Err(Error::config(
                &config.name,
                "set 'alias' or 'version', not both",
            ));
        }
        Ok(ModelDataset {
            dataset: config.name.clone(),
            type_name: types::MODEL_REGISTRY,
            name: options.name.unwrap_or_else(|| DEFAULT_NAME.to_owned()),
            source: Source::Registry {
                model_name: options.model_name,
                alias: options.alias,
                version: options.version,
            },
            services,
            downloads: Mutex::new(Vec::new()),
        })
    }

    /// The URI the model loads from, and the client to load it with.
    fn uri(&self) -> Result<(tandem_mlflow_client::MlflowClient, String), Error> {
        match &self.source {
            Source::Run { run_id } => {
                let (client, run_id) = self.services.reading(&self.dataset, run_id.as_deref())?;
                Ok((client, format!("runs:/{run_id}/{}", self.name)))
            }
            Source::Registry {
                model_name,
                alias,
                version,
            } => {
                let uri = match (alias, version) {
                    (Some(alias), _) => format!("models:/{model_name}@{alias}"),
                    (None, Some(version)) => format!("models:/{model_name}/{version}"),
                    (None, None) => format!("models:/{model_name}"),
                };
                Ok((self.services.client(&self.dataset)?, uri))
            }
        }
    }

    /// Registers a logged model when this is the registry dataset, and
    /// points the alias at the new version.
    fn register(
        &self,
        client: &tandem_mlflow_client::MlflowClient,
        logged: &LoggedModelRef,
    ) -> Result<(), Error> {
        let Source::Registry {
            model_name, alias, ..
        } = &self.source
        else {
            return Ok(());
        };
        let version = client
            .create_model_version(
                &NewModelVersion {
                    name: model_name.clone(),
                    source: logged.model_uri.clone(),
                    run_id: Some(logged.run_id.clone()),
                    model_id: logged.model_id.clone(),
                    ..NewModelVersion::default()
                },
                REGISTRATION_WAIT,
            )
            .map_err(mlflow("register the model of", &self.dataset))?;
        if let Some(alias) = alias {
            client
                .set_model_alias(model_name, alias, &version.version)
                .map_err(mlflow("set the model alias of", &self.dataset))?;
        }
        Ok(())
    }
}

impl Dataset for ModelDataset {
    fn load(&self) -> Result<Data, Error> {
        let (client, uri) = self.uri()?;
        let tmp = scratch(&self.dataset)?;
        let dir = client
            .download_uri(&uri, tmp.path())
            .map_err(mlflow("download the model of", &self.dataset))?;
        let model = PipelineModel::load(&dir, &self.services.functions, &LoadOptions::default())
            .map_err(|e| crate::datasets::failure("load the model of", &self.dataset, e))?;
        self.downloads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(tmp);
        Ok(Data::opaque(Arc::new(model)))
    }

    fn save(&self, data: Data) -> Result<(), Error> {
        let model = match data.downcast_ref::<Arc<PipelineModel>>() {
            Ok(model) => Arc::clone(model),
            Err(_) => data.downcast_arc::<PipelineModel>()?,
        };
        let Some(active) = self.services.logging_to(&self.dataset) else {
            return Ok(());
        };
        let logged = active
            .client
            .log_model(&active.run_id, &self.name, model.dir())
            .map_err(mlflow("log the model of", &self.dataset))?;
        self.register(&active.client, &logged)
    }

    fn exists(&self) -> Result<bool, Error> {
        if matches!(self.source, Source::Run { run_id: None })
            && self.services.context.active().is_none()
        {
            return Ok(false);
        }
        let (client, uri) = self.uri()?;
        // A URI that does not resolve (no such run, model, alias) is simply
        // nothing to load.
        Ok(client
            .list_artifacts_at(&uri)
            .is_ok_and(|files| !files.is_empty()))
    }

    fn describe(&self) -> DatasetDescription {
        let mut details = Map::new();
        details.insert("name".to_owned(), self.name.clone().into());
        match &self.source {
            Source::Run {
                run_id: Some(run_id),
            } => {
                details.insert("run_id".to_owned(), run_id.clone().into());
            }
            Source::Run { run_id: None } => {}
            Source::Registry {
                model_name,
                alias,
                version,
            } => {
                details.insert("model_name".to_owned(), model_name.clone().into());
                if let Some(alias) = alias {
                    details.insert("alias".to_owned(), alias.clone().into());
                }
                if let Some(version) = version {
                    details.insert("version".to_owned(), version.clone().into());
                }
            }
        }
        DatasetDescription {
            type_name: self.type_name.to_owned(),
            details,
            ..DatasetDescription::default()
        }
    }
}
