//! [`MlflowClient`]: one blocking API over both backends.

mod artifacts;
mod batch;
mod models;

use std::path::Path;
use std::sync::Arc;

pub use models::LoggedModelRef;

use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::local::LocalStore;
use crate::rest::RestStore;
use crate::store::{NewRun, RunQuery, RunUpdate, TrackingStore};
use crate::types::{
    DatasetInput, Experiment, Metric, ModelInput, ModelOutput, Page, Param, Run, RunInfo,
    RunStatus, Tag, ViewType, now_millis,
};
use crate::uri::{TrackingTarget, tracking_target};

#[derive(Clone, Debug)]
enum Backend {
    Rest(Arc<RestStore>),
    Local(Arc<LocalStore>),
}

/// A client for an MLflow tracking server or a local `mlruns` store.
///
/// Every method blocks; the HTTP work runs on a shared tokio runtime, so
/// the client is safe to use from plain threads and rayon workers. Cloning
/// is cheap and clones share connections.
#[derive(Clone, Debug)]
pub struct MlflowClient {
    backend: Backend,
    config: Config,
}

impl MlflowClient {
    /// A client configured from the environment, as MLflow's Python client
    /// is (see [`Config::from_env`]); no `MLFLOW_TRACKING_URI` means `./mlruns`.
    pub fn from_env() -> Result<MlflowClient> {
        MlflowClient::new(Config::from_env()?)
    }

    /// A client for `config`'s tracking URI.
    pub fn new(config: Config) -> Result<MlflowClient> {
        let backend = match tracking_target(config.tracking_uri())? {
            TrackingTarget::Server(url) => Backend::Rest(Arc::new(RestStore::new(&config, url)?)),
            TrackingTarget::Local(root) => Backend::Local(Arc::new(LocalStore::open(
                &root,
                crate::artifacts::Transfer::from_config(&config),
            )?)),
        };
        Ok(MlflowClient { backend, config })
    }

    /// A client writing MLflow's file-store layout under `root` (created if
    /// missing), with otherwise default settings.
    pub fn local(root: impl AsRef<Path>) -> Result<MlflowClient> {
        let root = root.as_ref().display().to_string();
        MlflowClient::new(Config::default().with_tracking_uri(root))
    }

    /// The configuration in use (secrets redacted in `Debug`).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The backend's location: the server URL or the `file://` store root.
    pub fn tracking_uri(&self) -> String {
        match &self.backend {
            Backend::Rest(rest) => rest.http().base().as_str().trim_end_matches('/').to_owned(),
            Backend::Local(local) => url::Url::from_file_path(local.root())
                .map(String::from)
                .unwrap_or_else(|()| local.root().display().to_string()),
        }
    }

    /// True for the local `mlruns` store.
    pub fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local(_))
    }

    fn store(&self) -> &dyn TrackingStore {
        match &self.backend {
            Backend::Rest(rest) => rest.as_ref(),
            Backend::Local(local) => local.as_ref(),
        }
    }

    fn rest(&self, what: &str) -> Result<&RestStore> {
        match &self.backend {
            Backend::Rest(rest) => Ok(rest),
            Backend::Local(_) => Err(Error::unsupported(format!(
                "{what} needs a tracking server: the local mlruns store has no model registry; \
                 set MLFLOW_TRACKING_URI to an MLflow server"
            ))),
        }
    }

    // ---- experiments ----

    /// The experiment with this id.
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        self.store().get_experiment(experiment_id)
    }

    /// The experiment with this name, deleted ones included; `None` if absent.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        self.store().get_experiment_by_name(name)
    }

    /// Creates an experiment and returns its id. A taken name (even of a
    /// deleted experiment) is an `already_exists` error.
    pub fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        self.store()
            .create_experiment(name, artifact_location, tags)
    }

    /// Restores a deleted experiment (a no-op for an active one on the
    /// local store; the server answers as MLflow does).
    pub fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.store().restore_experiment(experiment_id)
    }

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

    /// One page of experiments.
    pub fn search_experiments(
        &self,
        view: ViewType,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Experiment>> {
        self.store()
            .search_experiments(view, max_results, page_token)
    }

    /// Every experiment in `view`, across pages.
    pub fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>> {
        collect_pages(|token| self.search_experiments(view, 1000, token))
    }

    // ---- runs ----

    /// Starts a run. Over REST, a retried create never leaves a duplicate.
    pub fn create_run(&self, run: &NewRun) -> Result<Run> {
        self.store().create_run(run)
    }

    /// The run with this id.
    pub fn get_run(&self, run_id: &str) -> Result<Run> {
        self.store().get_run(run_id)
    }

    /// Changes a run's status, end time or name.
    pub fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo> {
        self.store().update_run(run_id, update)
    }

    /// Ends a run now with `status` (usually `Finished` or `Failed`).
    pub fn end_run(&self, run_id: &str, status: RunStatus) -> Result<RunInfo> {
        self.update_run(
            run_id,
            &RunUpdate {
                status: Some(status),
                end_time: Some(now_millis()),
                run_name: None,
            },
        )
    }

    /// One page of runs.
    pub fn search_runs(&self, query: &RunQuery, page_token: Option<&str>) -> Result<Page<Run>> {
        self.store().search_runs(query, page_token)
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

    /// Removes a run tag.
    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.store().delete_tag(run_id, key)
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
        let chunks = batch::split(metrics, params, tags);
        let first_metric_only = chunks
            .iter()
            .position(|c| c.params.is_empty() && c.tags.is_empty())
            .unwrap_or(chunks.len());
        let (ordered, metric_only) = chunks.split_at(first_metric_only);
        for chunk in ordered {
            self.store()
                .log_batch(run_id, &chunk.metrics, &chunk.params, &chunk.tags)?;
        }
        let workers = if self.is_local() {
            1
        } else {
            self.config.transfer_concurrency.min(4)
        };
        batch::run_concurrently(metric_only, workers, |chunk| {
            self.store().log_batch(run_id, &chunk.metrics, &[], &[])
        })
    }

    /// Every value of a metric, in logging order, across pages.
    pub fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        self.store().metric_history(run_id, key)
    }

    /// Records datasets (and logged models) a run used.
    pub fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()> {
        self.store().log_inputs(run_id, datasets, models)
    }

    /// Records logged models a run produced.
    pub fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        self.store().log_outputs(run_id, models)
    }
}

/// Follows page tokens until the last page.
fn collect_pages<T>(mut page: impl FnMut(Option<&str>) -> Result<Page<T>>) -> Result<Vec<T>> {
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
