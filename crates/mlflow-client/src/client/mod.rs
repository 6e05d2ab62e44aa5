//! [`MlflowClient`]: one blocking API over both backends.

mod artifacts;
mod batch;
mod model_meta;
mod models;

use std::collections::BTreeSet;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use models::LoggedModelRef;

use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::local::LocalStore;
use crate::operation::{self, Scope};
use crate::rest::RestStore;
use crate::sqlite::SqliteStore;
use crate::store::{Backend, RunQuery, RunUpdate, TrackingStore};
use crate::types::{
    Experiment, Metric, Param, Run, RunInfo, RunStatus, Tag, ViewType, collect_pages, now_millis,
};
use crate::uri::{TrackingTarget, tracking_target};

/// A client for an MLflow tracking server, a SQLite database in MLflow's
/// schema or a local `mlruns` store.
///
/// The MLflow operations themselves (`get_run`, `create_run`,
/// `search_logged_models`, the registry...) are [`TrackingStore`]'s: the
/// client dereferences to its backend's store. What is written here is
/// built on top of them: get-or-create, all pages, batches split to the
/// server's limits, model logging, artifact transfers and URI resolution.
///
/// Every method blocks; the HTTP work runs on a shared tokio runtime, so
/// the client is safe to use from plain threads and rayon workers. Cloning
/// is cheap and clones share connections.
#[derive(Clone, Debug)]
pub struct MlflowClient {
    store: Arc<dyn Backend>,
    config: Config,
    /// Logged models this client (or a clone) created and has not finalized
    /// yet, so an interrupted process can mark them failed.
    pending: Arc<Mutex<BTreeSet<String>>>,
}

impl Deref for MlflowClient {
    type Target = dyn TrackingStore;

    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

impl MlflowClient {
    /// A client configured from the environment, as MLflow's Python client
    /// is (see [`Config::from_env`]); no `MLFLOW_TRACKING_URI` means MLflow's
    /// default, `./mlflow.db` (or `./mlruns` if it already holds experiments;
    /// see [`crate::default_tracking_uri`]).
    pub fn from_env() -> Result<MlflowClient> {
        MlflowClient::new(Config::from_env()?)
    }

    /// A client for `config`'s tracking URI.
    pub fn new(config: Config) -> Result<MlflowClient> {
        let store: Arc<dyn Backend> = match tracking_target(config.tracking_uri())? {
            TrackingTarget::Server(url) => Arc::new(RestStore::new(&config, url)?),
            TrackingTarget::Local(root) => Arc::new(LocalStore::open(
                &root,
                crate::artifacts::Transfer::from_config(&config),
            )?),
            TrackingTarget::Sqlite(path) => {
                let artifact_root = match config.artifact_root() {
                    Some(root) => root.to_path_buf(),
                    None => std::env::current_dir()
                        .map_err(|e| Error::io(".", e))?
                        .join("mlruns"),
                };
                Arc::new(SqliteStore::open(
                    &path,
                    &artifact_root,
                    crate::artifacts::Transfer::from_config(&config),
                )?)
            }
        };
        Ok(MlflowClient {
            store,
            config,
            pending: Arc::default(),
        })
    }

    /// A client writing MLflow's file-store layout under `root` (created if
    /// missing), with otherwise default settings.
    pub fn local(root: impl AsRef<Path>) -> Result<MlflowClient> {
        let root = root.as_ref().display().to_string();
        MlflowClient::new(Config::default().with_tracking_uri(root))
    }

    /// A client for the SQLite database at `path` in MLflow 3.17.2's schema
    /// (created if missing, as MLflow's client creates it), with otherwise
    /// default settings: new experiments' artifacts go under
    /// `<current directory>/mlruns`, as MLflow's do.
    pub fn sqlite(path: impl AsRef<Path>) -> Result<MlflowClient> {
        let path = path.as_ref();
        let path = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
        MlflowClient::new(
            Config::default().with_tracking_uri(format!("sqlite:///{}", path.display())),
        )
    }

    /// The configuration in use (secrets redacted in `Debug`).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The backend's location: the server URL, the `sqlite:///` database or
    /// the `file://` store root.
    pub fn tracking_uri(&self) -> String {
        self.store.tracking_uri()
    }

    /// True for the local stores (`mlruns` directory, SQLite database).
    pub fn is_local(&self) -> bool {
        self.store.is_local()
    }

    /// Whether the store has a model registry: a server and the SQLite
    /// store do, the `mlruns` file store does not.
    pub fn has_model_registry(&self) -> bool {
        self.store.has_model_registry()
    }

    // ---- operations ----

    /// Runs `f` as one operation called `name` ("log_batch for run <id>"):
    /// every request it sends shares one retry budget (the policy's, from
    /// the first failure on), and its error names the operation. Inside
    /// another operation it is simply part of that one.
    pub fn operation<T>(&self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        if operation::current().is_some() {
            return f();
        }
        named(
            name,
            operation::enter(Some(Scope::new(self.config.retry.budget)), f),
        )
    }

    /// Runs `f` as an operation with a hard `budget` of its own, attempts
    /// included, also inside another operation: what must still be tried
    /// after a failure, such as marking a run FAILED.
    pub fn operation_within<T>(
        &self,
        name: &str,
        budget: Duration,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        named(name, operation::enter(Some(Scope::hard(budget)), f))
    }

    /// [`MlflowClient::operation_within`] the configured cleanup budget
    /// ([`Config::with_cleanup_budget`]).
    pub fn cleanup<T>(&self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.operation_within(name, self.config.cleanup_budget, f)
    }

    /// Marks every logged model this client (or a clone) created and has
    /// not finalized yet as failed (`LOGGED_MODEL_UPLOAD_FAILED`), within
    /// the cleanup budget: for a process stopped in the middle of logging
    /// a model. Returns the models marked.
    pub fn fail_pending_models(&self) -> Result<Vec<String>> {
        let pending: Vec<String> = self.pending_models().into_iter().collect();
        for model_id in &pending {
            self.cleanup(&format!("mark logged model {model_id} failed"), || {
                self.finalize_logged_model(model_id, crate::LoggedModelStatus::UploadFailed)
                    .map(drop)
            })?;
            self.pending_done(model_id);
        }
        Ok(pending)
    }

    fn pending_models(&self) -> BTreeSet<String> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn pending_started(&self, model_id: &str) {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(model_id.to_owned());
    }

    pub(crate) fn pending_done(&self, model_id: &str) {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(model_id);
    }

    // ---- experiments ----

    /// The active experiment named `name`, created if missing. Safe against
    /// a concurrent creator (the loser of the race reads the winner's), and
    /// a deleted experiment of that name is an error rather than silently
    /// reused, since its runs would be invisible.
    pub fn get_or_create_experiment(&self, name: &str) -> Result<Experiment> {
        let found = match self.get_experiment_by_name(name)? {
            Some(found) => found,
            None => match self.create_experiment(name, None, &[]) {
                Ok(id) => return self.get_experiment(&id),
                Err(e) if e.is_already_exists() => self.get_experiment_by_name(name)?.ok_or(e)?,
                Err(e) => return Err(e),
            },
        };
        if found.is_deleted() {
            return Err(Error::mlflow(
                ErrorCode::InvalidState,
                format!(
                    "experiment '{name}' (id {}) is deleted; restore it with `mlflow experiments \
                     restore` or use another name",
                    found.experiment_id
                ),
            ));
        }
        Ok(found)
    }

    /// Every experiment in `view`, across pages.
    pub fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>> {
        collect_pages(|token| self.search_experiments(view, 1000, token))
    }

    // ---- runs ----

    /// Ends a run now with `status` (usually `Finished` or `Failed`).
    pub fn end_run(&self, run_id: &str, status: RunStatus) -> Result<RunInfo> {
        self.operation(
            &format!("end_run {} for run {run_id}", status.as_str()),
            || {
                self.update_run(
                    run_id,
                    &RunUpdate {
                        status: Some(status),
                        end_time: Some(now_millis()),
                        run_name: None,
                    },
                )
            },
        )
    }

    /// Every run matching `query`, across pages.
    pub fn list_runs(&self, query: &RunQuery) -> Result<Vec<Run>> {
        collect_pages(|token| self.search_runs(query, token))
    }

    // ---- values ----

    /// Logs a parameter. Re-logging the same value is fine; a different
    /// value for an existing key is an `invalid_request` error.
    pub fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(run_id, &[], &[Param::new(key, value)], &[])
    }

    /// Logs one metric value now (NaN and ±Infinity allowed).
    pub fn log_metric(&self, run_id: &str, key: &str, value: f64, step: i64) -> Result<()> {
        self.log_batch(run_id, &[Metric::new(key, value, step)], &[], &[])
    }

    /// Sets a run tag.
    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(run_id, &[], &[], &[Tag::new(key, value)])
    }

    /// Logs any number of metrics, params and tags, split into requests
    /// within MLflow's limits (1000 metrics, 100 params, 100 tags, 1000
    /// entities and 1 MB per request).
    ///
    /// Params and tags go first, in order, so a rejected param stops the
    /// batch before any metric lands. The remaining metric-only requests are
    /// independent (each value carries its step and timestamp), so a server
    /// gets several at once, up to the transfer concurrency (at most 4).
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        self.operation(&format!("log_batch for run {run_id}"), || {
            self.log_batch_chunks(run_id, metrics, params, tags)
        })
    }

    fn log_batch_chunks(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        let chunks = batch::split(metrics, params, tags);
        let first_metric_only = chunks
            .iter()
            .position(|c| c.params.is_empty() && c.tags.is_empty())
            .unwrap_or(chunks.len());
        let (ordered, metric_only) = chunks.split_at(first_metric_only);
        for chunk in ordered {
            self.store
                .log_batch_request(run_id, &chunk.metrics, &chunk.params, &chunk.tags)?;
        }
        let workers = if self.is_local() {
            1
        } else {
            self.config.transfer_concurrency.min(4)
        };
        batch::run_concurrently(metric_only, workers, |chunk| {
            self.store
                .log_batch_request(run_id, &chunk.metrics, &[], &[])
        })
    }
}

/// `result` with its error naming the operation.
fn named<T>(name: &str, result: Result<T>) -> Result<T> {
    result.map_err(|error| Error::Operation {
        operation: name.to_owned(),
        error: Box::new(error),
    })
}
