//! MLflow datasets (kedro-mlflow's `mlflow.*` catalog types): they log what
//! a node saves into the active MLflow run and load it back from a run or
//! the model registry.
//!
//! [`register_datasets`] adds them to a [`DatasetRegistry`]. They share a
//! [`TrackingContext`] with the [`MlflowHook`](super::MlflowHook) that
//! starts the run, so a save during a tracked `tandem run` lands in that
//! run; a dataset with a `run_id` setting reads that run instead, through a
//! client from the [`ClientFactory`].

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tandem_catalog::{Dataset, DatasetConfig, DatasetDescription, DatasetRegistry};
use tandem_mlflow_client::MlflowClient;
use tandem_pipeline_core::{Data, FunctionRegistry};

use crate::context::{ActiveRun, TrackingContext};
use crate::datasets_metrics::{MetricDataset, MetricHistoryDataset, MetricsHistoryDataset};
use crate::datasets_model::ModelDataset;
use crate::error::Error;

/// Dataset type names [`register_datasets`] registers.
pub mod types {
    /// Wraps any dataset; saving also logs its file as a run artifact.
    pub const ARTIFACT: &str = "mlflow.MlflowArtifactDataset";
    /// One metric value.
    pub const METRIC: &str = "mlflow.MlflowMetricDataset";
    /// One metric's values by step.
    pub const METRIC_HISTORY: &str = "mlflow.MlflowMetricHistoryDataset";
    /// Several metrics at once.
    pub const METRICS_HISTORY: &str = "mlflow.MlflowMetricsHistoryDataset";
    /// A tandem model logged to, or loaded from, a run.
    pub const MODEL_TRACKING: &str = "mlflow.MlflowModelTrackingDataset";
    /// A tandem model loaded from (or registered into) the model registry.
    pub const MODEL_REGISTRY: &str = "mlflow.MlflowModelRegistryDataset";
}

/// Makes the client for datasets that read a run while none is active
/// (`run_id:` settings, the model registry): `tandem run` builds it from
/// `mlflow.yml`, exactly as the hook does.
pub type ClientFactory = Arc<dyn Fn() -> Result<MlflowClient, Error> + Send + Sync>;

/// What every MLflow dataset shares: the active run, a way to get a client
/// without one, and what loading a model needs.
#[derive(Clone)]
pub(crate) struct Services {
    pub(crate) context: TrackingContext,
    pub(crate) clients: ClientFactory,
    pub(crate) functions: FunctionRegistry,
    /// The dataset types as they were before the MLflow ones were added:
    /// what a wrapped dataset or a loaded model's catalog may use.
    pub(crate) registry: DatasetRegistry,
}

impl Services {
    /// The run a save logs into, or `None` when tracking is off (no
    /// `mlflow.yml`, or the pipeline is in `disable_tracking`): then, as
    /// kedro-mlflow deactivates its datasets, the save logs nothing, and a
    /// warning says so.
    pub(crate) fn logging_to(&self, dataset: &str) -> Option<ActiveRun> {
        let active = self.context.active();
        if active.is_none() {
            tracing::warn!(
                dataset,
                "tracking is off for this run (no mlflow.yml, or the pipeline is in \
                 tracking.disable_tracking), so nothing is logged to MLflow"
            );
        }
        active
    }

    /// The active run, or the error naming `dataset` that reading without
    /// one deserves.
    pub(crate) fn active(&self, dataset: &str) -> Result<ActiveRun, tandem_catalog::Error> {
        self.context.active().ok_or_else(|| {
            failure(
                "use an MLflow run for",
                dataset,
                Error::NoActiveRun {
                    dataset: dataset.to_owned(),
                },
            )
        })
    }

    /// The run to read: `run_id` when set (with the active run's client
    /// when there is one, else a fresh client), else the active run.
    pub(crate) fn reading(
        &self,
        dataset: &str,
        run_id: Option<&str>,
    ) -> Result<(MlflowClient, String), tandem_catalog::Error> {
        match (run_id, self.context.active()) {
            (Some(id), Some(active)) => Ok((active.client, id.to_owned())),
            (Some(id), None) => Ok((self.client(dataset)?, id.to_owned())),
            (None, _) => self.active(dataset).map(|a| (a.client, a.run_id)),
        }
    }

    /// The active run's client, or a fresh one.
    pub(crate) fn client(&self, dataset: &str) -> Result<MlflowClient, tandem_catalog::Error> {
        match self.context.active() {
            Some(active) => Ok(active.client),
            None => (self.clients)().map_err(|e| failure("connect to MLflow for", dataset, e)),
        }
    }
}

/// Registers the MLflow dataset types (see [`types`]) in `registry`.
///
/// `context` must be the one the run's [`MlflowHook`](super::MlflowHook)
/// fills; `clients` makes a client for reads outside a run; `functions`
/// resolves the node functions of models the model datasets load. Register
/// a project's own dataset types first: a wrapped dataset and a loaded
/// model's catalog may use only the types registered before this call.
pub fn register_datasets(
    registry: &mut DatasetRegistry,
    context: TrackingContext,
    clients: ClientFactory,
    functions: FunctionRegistry,
) {
    let services = Services {
        context,
        clients,
        functions,
        registry: registry.clone(),
    };
    let s = services.clone();
    registry.register(types::ARTIFACT, move |config| {
        Ok(Arc::new(ArtifactDataset::new(config, s.clone())?) as Arc<dyn Dataset>)
    });
    let s = services.clone();
    registry.register(types::METRIC, move |config| {
        Ok(Arc::new(MetricDataset::new(config, s.clone())?) as Arc<dyn Dataset>)
    });
    let s = services.clone();
    registry.register(types::METRIC_HISTORY, move |config| {
        Ok(Arc::new(MetricHistoryDataset::new(config, s.clone())?) as Arc<dyn Dataset>)
    });
    let s = services.clone();
    registry.register(types::METRICS_HISTORY, move |config| {
        Ok(Arc::new(MetricsHistoryDataset::new(config, s.clone())?) as Arc<dyn Dataset>)
    });
    let s = services.clone();
    registry.register(types::MODEL_TRACKING, move |config| {
        Ok(Arc::new(ModelDataset::tracking(config, s.clone())?) as Arc<dyn Dataset>)
    });
    registry.register(types::MODEL_REGISTRY, move |config| {
        Ok(Arc::new(ModelDataset::registry(config, services.clone())?) as Arc<dyn Dataset>)
    });
}

/// A tracking failure as the catalog error a dataset returns: `operation`
/// on `dataset`, with the tracking error (and its kind) as its source.
pub(crate) fn failure(
    operation: &'static str,
    dataset: &str,
    error: impl Into<Error>,
) -> tandem_catalog::Error {
    let error = error.into();
    tandem_catalog::Error::External {
        operation,
        dataset: format!("MLflow dataset '{dataset}'"),
        kind: error.kind(),
        source: Box::new(error),
    }
}

/// Maps an MLflow client error through [`failure`].
pub(crate) fn mlflow(
    operation: &'static str,
    dataset: &str,
) -> impl FnOnce(tandem_mlflow_client::Error) -> tandem_catalog::Error {
    move |e| failure(operation, dataset, Error::Mlflow(e))
}

/// A data value as JSON: JSON itself, or any value that converts.
pub(crate) fn json_of(data: &Data) -> Option<Value> {
    if let Ok(value) = data.downcast_ref::<Value>() {
        return Some(value.clone());
    }
    data.to_json().and_then(Result::ok)
}

/// A scratch directory for downloads.
pub(crate) fn scratch(dataset: &str) -> Result<tempfile::TempDir, tandem_catalog::Error> {
    tempfile::Builder::new()
        .prefix("tandem-mlflow-")
        .tempdir()
        .map_err(|e| {
            failure(
                "create a scratch directory for",
                dataset,
                Error::Io {
                    operation: "create",
                    path: std::env::temp_dir().display().to_string(),
                    source: e,
                },
            )
        })
}

/// `mlflow.MlflowArtifactDataset` settings.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ArtifactOptions {
    /// The wrapped dataset's entry (`type`, `filepath`, ...).
    dataset: serde_json::Map<String, Value>,
    /// The artifact directory inside the run (the root when unset).
    artifact_path: Option<String>,
    /// Load the artifact of this run instead of the local file.
    run_id: Option<String>,
}

/// Wraps a file dataset: saving writes the file as the wrapped dataset
/// does, then logs it as an artifact of the active run; loading reads the
/// file, after downloading it from `run_id`'s artifacts when set.
///
/// `versioned` and `credentials` go on the outer entry and apply to the
/// wrapped dataset (the catalog resolves them only there).
#[derive(Debug)]
pub(crate) struct ArtifactDataset {
    name: String,
    inner: Arc<dyn Dataset>,
    artifact_path: Option<String>,
    run_id: Option<String>,
    services: Services,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("active_run", &self.context.active().map(|a| a.run_id))
            .finish_non_exhaustive()
    }
}

impl ArtifactDataset {
    fn new(config: &DatasetConfig, services: Services) -> Result<Self, tandem_catalog::Error> {
        let options: ArtifactOptions = config.options_as()?;
        let mut inner_options = options.dataset;
        let Some(Value::String(type_name)) = inner_options.remove("type") else {
            return Err(tandem_catalog::Error::config(
                &config.name,
                "'dataset' needs a 'type' naming the wrapped dataset type",
            ));
        };
        for key in ["versioned", "credentials"] {
            if inner_options.contains_key(key) {
                return Err(tandem_catalog::Error::config(
                    &config.name,
                    format!("put '{key}' on the MlflowArtifactDataset entry, not in 'dataset'"),
                ));
            }
        }
        if options.run_id.is_some() && config.version.is_some() {
            return Err(tandem_catalog::Error::config(
                &config.name,
                "'run_id' loads the run's artifact into the local file, which a versioned \
                 dataset cannot do; remove 'versioned' or 'run_id'",
            ));
        }
        let inner_config = DatasetConfig {
            type_name,
            options: inner_options,
            ..config.clone()
        };
        let inner = services.registry.build(&inner_config)?;
        Ok(ArtifactDataset {
            name: config.name.clone(),
            inner,
            artifact_path: options.artifact_path,
            run_id: options.run_id,
            services,
        })
    }

    /// The file the wrapped dataset wrote, staged locally when it lives in
    /// an object store (MLflow uploads from local files).
    fn local_file(
        &self,
        location: &tandem_catalog::Location,
    ) -> Result<(PathBuf, Option<tempfile::TempDir>), tandem_catalog::Error> {
        // Local locations are shown as absolute paths; every other store as a URL.
        if location.url().starts_with('/') {
            return Ok((PathBuf::from(location.url()), None));
        }
        let dir = scratch(&self.name)?;
        let path = dir.path().join(location.basename());
        let bytes = location.read()?;
        std::fs::write(&path, &bytes).map_err(|e| {
            failure(
                "stage the artifact of",
                &self.name,
                Error::Io {
                    operation: "write",
                    path: path.display().to_string(),
                    source: e,
                },
            )
        })?;
        Ok((path, Some(dir)))
    }

    /// Copies the artifact of `run_id` over the wrapped dataset's file.
    fn fetch(&self, run_id: &str) -> Result<(), tandem_catalog::Error> {
        let location = self.inner.location().ok_or_else(|| {
            tandem_catalog::Error::config(
                &self.name,
                "the wrapped dataset has no file to download the artifact into",
            )
        })?;
        let (client, run_id) = self.services.reading(&self.name, Some(run_id))?;
        let path = match &self.artifact_path {
            Some(dir) => format!("{}/{}", dir.trim_end_matches('/'), location.basename()),
            None => location.basename().to_owned(),
        };
        let dir = scratch(&self.name)?;
        let local = client
            .download_artifacts(&run_id, &path, dir.path())
            .map_err(mlflow("download the artifact of", &self.name))?;
        let bytes = std::fs::read(&local).map_err(|e| {
            failure(
                "read the downloaded artifact of",
                &self.name,
                Error::Io {
                    operation: "read",
                    path: local.display().to_string(),
                    source: e,
                },
            )
        })?;
        location.write(bytes.into())
    }
}

impl Dataset for ArtifactDataset {
    fn load(&self) -> Result<Data, tandem_catalog::Error> {
        if let Some(run_id) = &self.run_id {
            self.fetch(run_id)?;
        }
        self.inner.load()
    }

    fn save(&self, data: Data) -> Result<(), tandem_catalog::Error> {
        self.inner.save(data)?;
        let Some(active) = self.services.logging_to(&self.name) else {
            return Ok(());
        };
        let location = self.inner.location().ok_or_else(|| {
            tandem_catalog::Error::config(
                &self.name,
                "the wrapped dataset wrote no file to log as an artifact",
            )
        })?;
        let (path, _staged) = self.local_file(&location)?;
        active
            .client
            .log_artifact(&active.run_id, &path, self.artifact_path.as_deref())
            .map_err(mlflow("log the artifact of", &self.name))?;
        Ok(())
    }

    fn exists(&self) -> Result<bool, tandem_catalog::Error> {
        self.inner.exists()
    }

    fn release(&self) {
        self.inner.release();
    }

    fn describe(&self) -> DatasetDescription {
        let mut description = self.inner.describe();
        description
            .details
            .insert("wraps".to_owned(), description.type_name.clone().into());
        if let Some(path) = &self.artifact_path {
            description
                .details
                .insert("artifact_path".to_owned(), path.clone().into());
        }
        if let Some(run_id) = &self.run_id {
            description
                .details
                .insert("run_id".to_owned(), run_id.clone().into());
        }
        description.type_name = types::ARTIFACT.to_owned();
        description
    }

    fn location(&self) -> Option<tandem_catalog::Location> {
        self.inner.location()
    }
}
