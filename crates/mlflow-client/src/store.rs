//! The MLflow operations, as traits each backend (a tracking server over
//! REST, a SQLite database in MLflow's schema, a local `mlruns` directory)
//! implements, and the request shapes they take.
//!
//! An operation is declared once here and implemented by each backend;
//! [`crate::MlflowClient`] dereferences to [`TrackingStore`], so
//! `client.get_run(id)` is the store's `get_run` with no code in between.
//! The operations are grouped by subject because a trait is implemented in
//! one block: each backend implements each group in the file for that
//! subject (`local/runs.rs`, `sqlite/runs.rs`, `rest/tracking.rs`...). The
//! registry lives on a server or in a SQLite database; the `mlruns` store
//! has none, so its methods default to an `unsupported` error there. With
//! no tracking URI, MLflow's default applies ([`crate::default_tracking_uri`]:
//! `./mlflow.db`, or `./mlruns` if it already holds experiments).
//! [`Backend`] holds the calls only the client's own workflows make.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::artifacts::ArtifactRepo;
use crate::error::{Error, Result};
use crate::types::{
    DatasetInput, Experiment, LoggedModel, LoggedModelStatus, Metric, ModelInput, ModelOutput,
    ModelVersion, Page, Param, RegisteredModel, Run, RunInfo, RunStatus, Tag, ViewType,
};

/// What a new run starts with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewRun {
    /// The experiment (see [`crate::MlflowClient::get_or_create_experiment`]).
    pub experiment_id: String,
    /// A display name; the server generates one when absent.
    pub run_name: Option<String>,
    /// Initial tags.
    pub tags: Vec<Tag>,
    /// Start time in ms (default: now).
    pub start_time: Option<i64>,
    /// The user (default: `$USER`, else `unknown`).
    pub user_id: Option<String>,
}

impl NewRun {
    /// A run in `experiment_id` with defaults for everything else.
    pub fn new(experiment_id: impl Into<String>) -> NewRun {
        NewRun {
            experiment_id: experiment_id.into(),
            ..NewRun::default()
        }
    }

    /// Sets the display name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> NewRun {
        self.run_name = Some(name.into());
        self
    }

    /// Adds a tag.
    #[must_use]
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> NewRun {
        self.tags.push(Tag::new(key, value));
        self
    }

    /// The name a local store gives run `run_id`: the run name, else the
    /// `mlflow.runName` tag, else `run-<first 8 characters of the id>`.
    pub(crate) fn display_name(&self, run_id: &str) -> String {
        self.run_name
            .clone()
            .or_else(|| {
                self.tags
                    .iter()
                    .find(|t| t.key == crate::types::RUN_NAME_TAG)
                    .map(|t| t.value.clone())
            })
            .unwrap_or_else(|| format!("run-{}", run_id.get(..8).unwrap_or(run_id)))
    }
}

/// MLflow's rule for an experiment name, as the local stores enforce it.
pub(crate) fn check_experiment_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 500 {
        return Err(Error::mlflow(
            crate::error::ErrorCode::InvalidParameterValue,
            "Invalid experiment name: must be non-empty and at most 500 characters",
        ));
    }
    Ok(())
}

/// A change to a run's metadata; `None` fields are left as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunUpdate {
    /// New status.
    pub status: Option<RunStatus>,
    /// End time, ms.
    pub end_time: Option<i64>,
    /// New display name.
    pub run_name: Option<String>,
}

/// A run search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunQuery {
    /// Experiments to search.
    pub experiment_ids: Vec<String>,
    /// MLflow search filter (e.g. `params.alpha = '0.5'`); the SQLite store
    /// evaluates `attributes.`/`params.`/`metrics.`/`tags.` comparisons
    /// joined with `AND`, the `mlruns` store none.
    pub filter: Option<String>,
    /// Lifecycle stages returned.
    pub view: ViewType,
    /// Page size (MLflow's default 1000; at most 50000).
    pub max_results: u32,
    /// Ordering clauses (e.g. `attributes.start_time DESC`); server and
    /// SQLite store.
    pub order_by: Vec<String>,
}

impl RunQuery {
    /// All active runs of these experiments, newest first.
    pub fn new<I, S>(experiment_ids: I) -> RunQuery
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RunQuery {
            experiment_ids: experiment_ids.into_iter().map(Into::into).collect(),
            filter: None,
            view: ViewType::ActiveOnly,
            max_results: 1000,
            order_by: Vec::new(),
        }
    }

    /// Sets the filter expression.
    #[must_use]
    pub fn filter(mut self, filter: impl Into<String>) -> RunQuery {
        self.filter = Some(filter.into());
        self
    }
}

/// What a new logged model starts with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewLoggedModel {
    /// The experiment.
    pub experiment_id: String,
    /// Its name (e.g. `model`); MLflow generates one when absent.
    pub name: Option<String>,
    /// The run producing it.
    pub source_run_id: Option<String>,
    /// Free-form type.
    pub model_type: Option<String>,
    /// Parameters.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// One ordering clause of a logged-model search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderBy {
    /// Field such as `creation_timestamp` or `metrics.accuracy`.
    pub field_name: String,
    /// Ascending when true.
    pub ascending: bool,
}

/// A logged-model search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoggedModelQuery {
    /// Experiments to search.
    pub experiment_ids: Vec<String>,
    /// Filter (e.g. `name = 'model'`, `metrics.acc > 0.5`). The SQLite
    /// store evaluates attribute, `params.`, `metrics.` and `tags.`
    /// comparisons joined with `AND`; the `mlruns` store only `name = '…'`
    /// and `source_run_id = '…'`.
    pub filter: Option<String>,
    /// Page size (MLflow's default 50).
    pub max_results: Option<u32>,
    /// Ordering; server and SQLite store.
    pub order_by: Vec<OrderBy>,
}

/// What a new model version is registered from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewModelVersion {
    /// The registered model.
    pub name: String,
    /// Where the model is: `models:/m-…` for a logged model, or an
    /// artifact URI (then `run_id` is required by the server).
    pub source: String,
    /// The source run.
    pub run_id: Option<String>,
    /// The logged model (MLflow 3).
    pub model_id: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Description.
    pub description: Option<String>,
}

pub(crate) mod sealed {
    /// Only this crate's backends implement the store traits, so methods
    /// can be added to them without breaking anyone.
    pub trait Sealed {}
}

/// Everything a backend provides: the operations of [`Experiments`],
/// [`Runs`], [`LoggedModels`] and [`ModelRegistry`] in one trait object.
/// [`crate::MlflowClient`] dereferences to it, so these are the client's
/// methods too (no import needed).
pub trait TrackingStore: Experiments + Runs + LoggedModels + ModelRegistry {}

impl<T: Experiments + Runs + LoggedModels + ModelRegistry> TrackingStore for T {}

/// Experiments: create, find, page through, restore.
pub trait Experiments: sealed::Sealed + Send + Sync {
    /// The experiment with this id.
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment>;

    /// The experiment with this name, deleted ones included; `None` if absent.
    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>>;

    /// Creates an experiment and returns its id. A taken name (even of a
    /// deleted experiment) is an `already_exists` error.
    fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String>;

    /// One page of experiments.
    fn search_experiments(
        &self,
        view: ViewType,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Experiment>>;

    /// Restores a deleted experiment (a no-op for an active one on the
    /// local store; the server answers as MLflow does).
    fn restore_experiment(&self, experiment_id: &str) -> Result<()>;
}

/// Runs, their values and their lineage. Values are logged with
/// [`crate::MlflowClient::log_batch`], which splits batches to the
/// server's limits.
pub trait Runs: sealed::Sealed + Send + Sync {
    /// Starts a run. Over REST, a retried create never leaves a duplicate.
    fn create_run(&self, run: &NewRun) -> Result<Run>;

    /// The run with this id.
    fn get_run(&self, run_id: &str) -> Result<Run>;

    /// Changes a run's status, end time or name.
    fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo>;

    /// One page of runs.
    fn search_runs(&self, query: &RunQuery, page_token: Option<&str>) -> Result<Page<Run>>;

    /// Removes a run tag.
    fn delete_tag(&self, run_id: &str, key: &str) -> Result<()>;

    /// Every value of a metric, in logging order, across pages.
    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>>;

    /// Records datasets (and logged models) a run used.
    fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()>;

    /// Records logged models a run produced.
    fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()>;
}

/// MLflow 3 logged models. [`crate::MlflowClient::log_model`] is the
/// workflow that creates, uploads and finalizes one.
pub trait LoggedModels: sealed::Sealed + Send + Sync {
    /// Creates an MLflow 3 logged model (status PENDING).
    fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel>;

    /// Marks a logged model READY or UPLOAD_FAILED.
    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel>;

    /// The logged model with this id.
    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel>;

    /// One page of logged models.
    fn search_logged_models(
        &self,
        query: &LoggedModelQuery,
        page_token: Option<&str>,
    ) -> Result<Page<LoggedModel>>;

    /// Sets tags on a logged model.
    fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()>;
}

/// The model registry (a tracking server or a SQLite store: on the
/// `mlruns` store every method is an `unsupported` error).
#[allow(
    unused_variables,
    reason = "the defaults refuse whatever they are given"
)]
pub trait ModelRegistry: sealed::Sealed + Send + Sync {
    /// Creates a registered model, or returns the existing one of that name.
    fn create_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        no_registry()
    }

    /// The registered model of this name.
    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        no_registry()
    }

    /// Registers `version.source` as a new version of `version.name`
    /// (creating the registered model if needed) and waits up to `wait`
    /// until the version is READY.
    fn create_model_version(
        &self,
        version: &NewModelVersion,
        wait: Duration,
    ) -> Result<ModelVersion> {
        no_registry()
    }

    /// One model version.
    fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        no_registry()
    }

    /// Where a model version's files are.
    fn model_version_download_uri(&self, name: &str, version: &str) -> Result<String> {
        no_registry()
    }

    /// Every model version matching an MLflow filter (e.g. `name='fraud'`).
    fn search_model_versions(&self, filter: Option<&str>) -> Result<Vec<ModelVersion>> {
        no_registry()
    }

    /// The newest version in each of `stages` (MLflow's deprecated stages).
    fn latest_versions(&self, name: &str, stages: &[String]) -> Result<Vec<ModelVersion>> {
        no_registry()
    }

    /// Points `alias` at a version (`latest` and `v<digits>` are reserved).
    fn set_model_alias(&self, name: &str, alias: &str, version: &str) -> Result<()> {
        no_registry()
    }

    /// The version an alias points at. MLflow reports an unknown alias as
    /// `invalid_request` (HTTP 400), not `not_found`.
    fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        no_registry()
    }

    /// Removes an alias.
    fn delete_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        no_registry()
    }
}

fn no_registry<T>() -> Result<T> {
    Err(Error::unsupported(
        "the model registry needs a tracking server or a SQLite store: the local mlruns store \
         has no model registry; set MLFLOW_TRACKING_URI to an MLflow server or to \
         sqlite:///mlflow.db",
    ))
}

/// What the client's own workflows need from a backend beyond the public
/// operations; callers never make these calls directly.
pub(crate) trait Backend: TrackingStore + fmt::Debug {
    /// The server URL, the `sqlite:///` database or the `file://` store root.
    fn tracking_uri(&self) -> String;

    /// True for the local stores (`mlruns`, SQLite).
    fn is_local(&self) -> bool;

    /// False for the `mlruns` file store only, which has no model registry
    /// (MLflow's own does, but tandem's does not implement it).
    fn has_model_registry(&self) -> bool {
        true
    }

    /// The repository holding the artifacts at `artifact_uri`.
    fn artifact_repo(&self, artifact_uri: &str) -> Result<ArtifactRepo>;

    /// One `runs/log-batch` request within the server's limits
    /// ([`crate::MlflowClient::log_batch`] splits).
    fn log_batch_request(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()>;

    /// MLflow 2.x `runs/log-model`: appends to the run's model history tag.
    fn log_model_history(&self, run_id: &str, model_json: &str) -> Result<()>;
}
