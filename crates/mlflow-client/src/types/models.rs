//! Logged models (MLflow 3), registry entities and artifact listings.

use serde::{Deserialize, Serialize};

use super::wire::de_opt_i64;
use super::{Metric, Param, Tag};

/// A logged model's upload state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoggedModelStatus {
    /// No status (older records).
    #[default]
    #[serde(rename = "LOGGED_MODEL_STATUS_UNSPECIFIED")]
    Unspecified,
    /// Created; artifacts are being uploaded.
    #[serde(rename = "LOGGED_MODEL_PENDING")]
    Pending,
    /// Artifacts complete.
    #[serde(rename = "LOGGED_MODEL_READY")]
    Ready,
    /// The upload failed.
    #[serde(rename = "LOGGED_MODEL_UPLOAD_FAILED")]
    UploadFailed,
}

impl LoggedModelStatus {
    /// The integer the file store writes into a model's `meta.yaml`.
    pub(crate) fn file_code(self) -> i64 {
        match self {
            LoggedModelStatus::Unspecified => 0,
            LoggedModelStatus::Pending => 1,
            LoggedModelStatus::Ready => 2,
            LoggedModelStatus::UploadFailed => 3,
        }
    }

    pub(crate) fn from_file_code(code: i64) -> LoggedModelStatus {
        match code {
            1 => LoggedModelStatus::Pending,
            2 => LoggedModelStatus::Ready,
            3 => LoggedModelStatus::UploadFailed,
            _ => LoggedModelStatus::Unspecified,
        }
    }

    /// MLflow's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::Unspecified => "LOGGED_MODEL_STATUS_UNSPECIFIED",
            LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus::UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }
}

/// A logged model's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggedModelInfo {
    /// `m-<32 hex>`.
    pub model_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Its name (e.g. `model`).
    pub name: String,
    /// Where its files live: `<experiment artifact_location>/models/<id>/artifacts`.
    pub artifact_uri: String,
    /// Upload state.
    pub status: LoggedModelStatus,
    /// Why it is in that state, if the server said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// The run that produced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    /// Free-form model type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    /// Creation, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_timestamp_ms: Option<i64>,
    /// Last update, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated_timestamp_ms: Option<i64>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// A logged model's parameters and metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggedModelData {
    /// Parameters.
    pub params: Vec<Param>,
    /// Metrics.
    pub metrics: Vec<Metric>,
}

/// An MLflow 3 logged model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggedModel {
    /// Metadata.
    pub info: LoggedModelInfo,
    /// Values.
    pub data: LoggedModelData,
}

impl LoggedModel {
    /// Its id.
    pub fn id(&self) -> &str {
        &self.info.model_id
    }

    /// The `models:/m-…` URI that registers or loads it.
    pub fn model_uri(&self) -> String {
        format!("models:/{}", self.info.model_id)
    }
}

/// An alias pointing at a registered model version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelAlias {
    /// The alias (e.g. `champion`).
    pub alias: String,
    /// The version it points at.
    pub version: String,
}

/// A registered model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegisteredModel {
    /// Its unique name.
    pub name: String,
    /// Creation, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_timestamp: Option<i64>,
    /// Last update, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated_timestamp: Option<i64>,
    /// Description.
    pub description: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Aliases.
    pub aliases: Vec<ModelAlias>,
    /// Latest version per stage (stage-based; deprecated by MLflow).
    pub latest_versions: Vec<ModelVersion>,
}

/// A model version's registration state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModelVersionStatus {
    /// Still being registered.
    #[default]
    PendingRegistration,
    /// Registration failed.
    FailedRegistration,
    /// Usable.
    Ready,
}

/// A registered model version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// The version number, as a string (MLflow's representation).
    pub version: String,
    /// Creation, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_timestamp: Option<i64>,
    /// Last update, ms.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated_timestamp: Option<i64>,
    /// Legacy stage (`None`, `Staging`, …).
    pub current_stage: String,
    /// Description.
    pub description: String,
    /// Where the model came from (`models:/m-…`, an artifact URI…).
    pub source: String,
    /// The source run, if any.
    pub run_id: String,
    /// Registration state.
    pub status: ModelVersionStatus,
    /// Why, if the server said.
    pub status_message: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Aliases pointing here.
    pub aliases: Vec<String>,
    /// The logged model behind it (MLflow 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

/// One entry of an artifact listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileInfo {
    /// The path relative to the artifact root listed.
    pub path: String,
    /// True for directories.
    pub is_dir: bool,
    /// The size in bytes, for files.
    #[serde(
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub file_size: Option<i64>,
}
