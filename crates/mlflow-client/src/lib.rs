//! An MLflow 3 client: tracking, logged models, the model registry and
//! artifacts, against a tracking server over REST, a SQLite database in
//! MLflow's own schema (`sqlite:///mlflow.db`, MLflow's default when no
//! tracking URI is set), or a local `mlruns` directory in MLflow's
//! file-store layout (the default instead when `./mlruns` already holds
//! experiments; see [`default_tracking_uri`]).
//!
//! - [`MlflowClient`] is the one API for both backends. It is blocking (an
//!   async HTTP stack runs on a shared runtime inside), cheap to clone, and
//!   safe to share between threads. It dereferences to [`TrackingStore`],
//!   whose methods are the MLflow operations; its own are the workflows on
//!   top (get-or-create, batches, model logging, artifacts).
//! - [`Config`] reads MLflow's environment variables (`MLFLOW_TRACKING_URI`,
//!   basic auth, bearer token, TLS, timeout, retries); secrets never show in
//!   `Debug` output or errors.
//! - Requests are retried on 408/429/5xx and connection errors with
//!   exponential backoff, jitter and `Retry-After`, bounded by a
//!   [`RetryPolicy`] budget; a retried run creation never duplicates the run.
//! - [`Error`] carries MLflow's `error_code`, the HTTP status, and a stable
//!   [`Error::kind`].
//!
//! ```
//! use tandem_mlflow_client::{Metric, MlflowClient, NewRun, RunStatus};
//!
//! let dir = tempfile::tempdir()?;
//! // No server: MLflow's file-store layout under `mlruns`, readable by `mlflow ui`.
//! let client = MlflowClient::local(dir.path().join("mlruns"))?;
//! let experiment = client.get_or_create_experiment("demo")?;
//! let run = client.create_run(&NewRun::new(&experiment.experiment_id).name("first"))?;
//! let run_id = &run.info.run_id;
//!
//! client.log_param(run_id, "alpha", "0.5")?;
//! let losses: Vec<Metric> = (0..3).map(|step| Metric::new("loss", 1.0 / (step + 1) as f64, step)).collect();
//! client.log_batch(run_id, &losses, &[], &[])?;
//! client.log_metric(run_id, "score", f64::NAN, 0)?;
//!
//! let notes = dir.path().join("notes.txt");
//! std::fs::write(&notes, "trained on the full set")?;
//! client.log_artifact(run_id, &notes, Some("docs"))?;
//! client.end_run(run_id, RunStatus::Finished)?;
//!
//! let run = client.get_run(run_id)?;
//! assert_eq!(run.param("alpha"), Some("0.5"));
//! assert_eq!(run.metric("loss"), Some(1.0 / 3.0));
//! assert!(run.metric("score").unwrap().is_nan());
//! assert_eq!(client.metric_history(run_id, "loss")?.len(), 3);
//! assert_eq!(client.list_artifacts(run_id, Some("docs"))?[0].path, "docs/notes.txt");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod artifacts;
mod client;
mod config;
mod error;
mod http;
mod local;
mod operation;
mod paths;
mod rest;
mod retry;
mod sqlite;
mod store;
mod types;
mod uri;

pub use client::{LoggedModelRef, MlflowClient};
pub use config::{Config, Credentials, Multipart, Secret};
pub use error::{Error, ErrorCode, Result};
pub use retry::RetryPolicy;
pub use store::{
    Experiments, LoggedModelQuery, LoggedModels, ModelRegistry, NewLoggedModel, NewModelVersion,
    NewRun, OrderBy, RunQuery, RunUpdate, Runs, TrackingStore,
};
pub use types::{
    Dataset, DatasetInput, Experiment, FileInfo, LoggedModel, LoggedModelData, LoggedModelInfo,
    LoggedModelStatus, Metric, ModelAlias, ModelInput, ModelOutput, ModelVersion,
    ModelVersionStatus, Page, Param, RegisteredModel, Run, RunData, RunInfo, RunInputs, RunOutputs,
    RunStatus, Tag, ViewType, now_millis,
};
pub use uri::{ModelUri, default_tracking_uri};
