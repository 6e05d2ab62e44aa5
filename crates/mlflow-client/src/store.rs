//! The backend interface both stores implement (REST server, local
//! `mlruns` directory), and the request shapes the client passes through it.

use serde::Serialize;

use crate::artifacts::ArtifactRepo;
use crate::error::Result;
use crate::types::{
    DatasetInput, Experiment, LoggedModel, LoggedModelStatus, Metric, ModelInput, ModelOutput,
    Page, Param, Run, RunInfo, RunStatus, Tag, ViewType,
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
    /// MLflow search filter (e.g. `params.alpha = '0.5'`); server only.
    pub filter: Option<String>,
    /// Lifecycle stages returned.
    pub view: ViewType,
    /// Page size (MLflow's default 1000; at most 50000).
    pub max_results: u32,
    /// Ordering clauses (e.g. `attributes.start_time DESC`); server only.
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
    /// Filter (e.g. `name = 'model'`). The local store understands
    /// `name = '…'` and `source_run_id = '…'` joined with `AND`.
    pub filter: Option<String>,
    /// Page size (MLflow's default 50).
    pub max_results: Option<u32>,
    /// Ordering; server only.
    pub order_by: Vec<OrderBy>,
}

/// The operations a tracking backend provides; the client builds its
/// workflows (get-or-create, batching, model logging) on top.
pub(crate) trait TrackingStore: Send + Sync {
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment>;
    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>>;
    fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String>;
    fn search_experiments(
        &self,
        view: ViewType,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Experiment>>;
    fn restore_experiment(&self, experiment_id: &str) -> Result<()>;

    fn create_run(&self, run: &NewRun) -> Result<Run>;
    fn get_run(&self, run_id: &str) -> Result<Run>;
    fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo>;
    fn search_runs(&self, query: &RunQuery, page_token: Option<&str>) -> Result<Page<Run>>;
    /// One batch within the server's limits (the client splits).
    fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()>;
    fn delete_tag(&self, run_id: &str, key: &str) -> Result<()>;
    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>>;
    fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()>;
    fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()>;

    fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel>;
    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel>;
    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel>;
    fn search_logged_models(
        &self,
        query: &LoggedModelQuery,
        page_token: Option<&str>,
    ) -> Result<Page<LoggedModel>>;
    fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()>;
    /// MLflow 2.x `runs/log-model`: appends to the run's model history tag.
    fn log_model_history(&self, run_id: &str, model_json: &str) -> Result<()>;

    /// The repository holding the artifacts at `artifact_uri`.
    fn artifact_repo(&self, artifact_uri: &str) -> Result<ArtifactRepo>;
}
