//! MLflow's entities as they travel over the REST API (protobuf JSON, snake
//! case) and as the local store reads them back. Every field has a default
//! because the server omits default and empty fields.

mod models;
pub(crate) mod wire;

pub use models::{
    FileInfo, LoggedModel, LoggedModelData, LoggedModelInfo, LoggedModelStatus, ModelAlias,
    ModelVersion, ModelVersionStatus, RegisteredModel,
};

use serde::{Deserialize, Serialize};

use wire::{de_f64, de_i64, de_opt_i64, ser_f64};

/// Milliseconds since the Unix epoch, MLflow's timestamp unit.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// 32 random hex digits, the shape of MLflow's run and model ids.
pub(crate) fn random_hex() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// The OS user, MLflow's default `user_id`.
pub(crate) fn default_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The tag MLflow keeps a run's name in, besides `runs.name`.
pub(crate) const RUN_NAME_TAG: &str = "mlflow.runName";

/// A key/value tag (experiment, run, logged model, registry entity).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl Tag {
    /// A tag from anything string-like.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A run (or logged model) parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Param {
    /// The key.
    pub key: String,
    /// The value (MLflow stores parameters as strings).
    pub value: String,
}

impl Param {
    /// A parameter from anything string-like.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Param {
        Param {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// One metric measurement. `value` may be NaN or ±Infinity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metric {
    /// The metric name.
    pub key: String,
    /// The value.
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
    pub value: f64,
    /// When it was measured, in ms since the epoch.
    #[serde(deserialize_with = "de_i64")]
    pub timestamp: i64,
    /// The training step.
    #[serde(deserialize_with = "de_i64")]
    pub step: i64,
    /// The logged model the value describes, if any (MLflow 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The dataset the value was computed on, if any (MLflow 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    /// That dataset's digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
    /// The run that logged it (set on logged-model metrics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

impl Metric {
    /// A measurement taken now.
    pub fn new(key: impl Into<String>, value: f64, step: i64) -> Metric {
        Metric {
            key: key.into(),
            value,
            timestamp: now_millis(),
            step,
            ..Metric::default()
        }
    }

    /// The same measurement with an explicit timestamp (ms).
    #[must_use]
    pub fn at(mut self, timestamp: i64) -> Metric {
        self.timestamp = timestamp;
        self
    }
}

/// An experiment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Experiment {
    /// The id (a string of digits).
    pub experiment_id: String,
    /// The unique name.
    pub name: String,
    /// Where its runs' artifacts go by default.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Creation time, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_time: Option<i64>,
    /// Last update, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_update_time: Option<i64>,
    /// Its tags.
    pub tags: Vec<Tag>,
}

impl Experiment {
    /// True when the experiment is in MLflow's trash.
    pub fn is_deleted(&self) -> bool {
        self.lifecycle_stage == "deleted"
    }
}

/// A run's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Still running (the status of a new run).
    #[default]
    Running,
    /// Scheduled, not started.
    Scheduled,
    /// Ended successfully.
    Finished,
    /// Ended with an error.
    Failed,
    /// Stopped from outside.
    Killed,
}

impl RunStatus {
    /// The integer the file store writes into `meta.yaml`.
    pub(crate) fn file_code(self) -> i64 {
        match self {
            RunStatus::Running => 1,
            RunStatus::Scheduled => 2,
            RunStatus::Finished => 3,
            RunStatus::Failed => 4,
            RunStatus::Killed => 5,
        }
    }

    pub(crate) fn from_file_code(code: i64) -> Option<RunStatus> {
        [
            RunStatus::Running,
            RunStatus::Scheduled,
            RunStatus::Finished,
            RunStatus::Failed,
            RunStatus::Killed,
        ]
        .into_iter()
        .find(|s| s.file_code() == code)
    }

    /// MLflow's name (`RUNNING`, `FINISHED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
}

/// A run's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    /// The run id (32 hex digits).
    pub run_id: String,
    /// The display name.
    pub run_name: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Who started it.
    pub user_id: String,
    /// Its status.
    pub status: RunStatus,
    /// Start, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<i64>,
    /// End, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_time: Option<i64>,
    /// The root of its artifacts.
    pub artifact_uri: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// A run's logged values (latest value per metric).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunData {
    /// The latest value of each metric.
    pub metrics: Vec<Metric>,
    /// Parameters.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// A dataset as logged to a run's inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dataset {
    /// The name (≤500 characters).
    pub name: String,
    /// A content digest (≤36 characters).
    pub digest: String,
    /// Where it came from: `local`, `s3`, `http`, …
    pub source_type: String,
    /// The source, usually JSON such as `{"uri": "…"}`.
    pub source: String,
    /// The schema as JSON, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// A profile as JSON, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// A dataset used by a run, with input tags such as `mlflow.data.context`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetInput {
    /// Input tags.
    pub tags: Vec<Tag>,
    /// The dataset.
    pub dataset: Dataset,
}

/// A logged model used by a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelInput {
    /// The model id.
    pub model_id: String,
}

/// A logged model a run produced, at a step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelOutput {
    /// The model id.
    pub model_id: String,
    /// The step.
    #[serde(deserialize_with = "de_i64")]
    pub step: i64,
}

/// A run's inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInputs {
    /// Datasets.
    pub dataset_inputs: Vec<DatasetInput>,
    /// Logged models.
    pub model_inputs: Vec<ModelInput>,
}

/// A run's outputs (MLflow 3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOutputs {
    /// Logged models.
    pub model_outputs: Vec<ModelOutput>,
}

/// A run: metadata, values, inputs and outputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Metrics, params, tags.
    pub data: RunData,
    /// Inputs.
    pub inputs: RunInputs,
    /// Outputs.
    pub outputs: RunOutputs,
}

impl Run {
    /// The parameter's value, if logged.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.data
            .params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }

    /// The tag's value, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.data
            .tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }

    /// The metric's latest value, if logged.
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.data
            .metrics
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value)
    }
}

/// Which lifecycle stages a search returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ViewType {
    /// Only active entities (the default).
    #[default]
    ActiveOnly,
    /// Only deleted ones.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// MLflow's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ViewType::ActiveOnly => "ACTIVE_ONLY",
            ViewType::DeletedOnly => "DELETED_ONLY",
            ViewType::All => "ALL",
        }
    }

    pub(crate) fn admits(self, lifecycle_stage: &str) -> bool {
        match self {
            ViewType::ActiveOnly => lifecycle_stage != "deleted",
            ViewType::DeletedOnly => lifecycle_stage == "deleted",
            ViewType::All => true,
        }
    }
}

/// One page of a search, with the token for the next page.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// This page's results.
    pub items: Vec<T>,
    /// Pass to the next call to continue; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// Follows page tokens until the last page (or a token that repeats, which
/// would otherwise loop forever).
pub(crate) fn collect_pages<T>(
    mut page: impl FnMut(Option<&str>) -> crate::error::Result<Page<T>>,
) -> crate::error::Result<Vec<T>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let next = page(token.as_deref())?;
        out.extend(next.items);
        match next.next_page_token {
            Some(t) if Some(&t) != token.as_ref() => token = Some(t),
            _ => return Ok(out),
        }
    }
}
