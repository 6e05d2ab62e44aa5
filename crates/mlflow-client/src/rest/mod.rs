//! The REST backend: an MLflow tracking server.

mod models;
mod registry;
mod tracking;

pub use registry::NewModelVersion;

use std::sync::Arc;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::artifacts::{ArtifactRepo, ObjectRepo, ProxyRepo, Transfer};
use crate::config::Config;
use crate::error::Result;
use crate::http::Http;
use crate::runtime::block_on;
use crate::store::{LoggedModelQuery, NewLoggedModel, NewRun, RunQuery, RunUpdate, TrackingStore};
use crate::types::{
    DatasetInput, Experiment, LoggedModel, LoggedModelStatus, Metric, ModelInput, ModelOutput,
    Page, Param, Run, RunInfo, Tag, ViewType,
};

/// A tracking server reached over HTTP.
#[derive(Clone, Debug)]
pub(crate) struct RestStore {
    http: Arc<Http>,
    transfer: Transfer,
}

impl RestStore {
    pub(crate) fn new(config: &Config, url: url::Url) -> Result<RestStore> {
        Ok(RestStore {
            http: Arc::new(Http::new(config, url)?),
            transfer: Transfer::from_config(config),
        })
    }

    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    async fn get<T: DeserializeOwned>(&self, route: &str, query: Value) -> Result<T> {
        self.http.call(Method::GET, route, &query).await
    }

    async fn post<T: DeserializeOwned>(&self, route: &str, body: Value) -> Result<T> {
        self.http.call(Method::POST, route, &body).await
    }

    async fn patch<T: DeserializeOwned>(&self, route: &str, body: Value) -> Result<T> {
        self.http.call(Method::PATCH, route, &body).await
    }

    async fn delete<T: DeserializeOwned>(&self, route: &str, body: Value) -> Result<T> {
        self.http.call(Method::DELETE, route, &body).await
    }
}

/// An empty-or-ignored response body.
#[derive(serde::Deserialize)]
struct Empty {}

impl TrackingStore for RestStore {
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        block_on(self.get_experiment_async(experiment_id))?
    }

    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        block_on(self.get_experiment_by_name_async(name))?
    }

    fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        block_on(self.create_experiment_async(name, artifact_location, tags))?
    }

    fn search_experiments(
        &self,
        view: ViewType,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Experiment>> {
        block_on(self.search_experiments_async(view, max_results, page_token))?
    }

    fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        block_on(self.restore_experiment_async(experiment_id))?
    }

    fn create_run(&self, run: &NewRun) -> Result<Run> {
        block_on(self.create_run_async(run))?
    }

    fn get_run(&self, run_id: &str) -> Result<Run> {
        block_on(self.get_run_async(run_id))?
    }

    fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo> {
        block_on(self.update_run_async(run_id, update))?
    }

    fn search_runs(&self, query: &RunQuery, page_token: Option<&str>) -> Result<Page<Run>> {
        block_on(self.search_runs_async(query, page_token))?
    }

    fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        block_on(self.log_batch_async(run_id, metrics, params, tags))?
    }

    fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        block_on(self.delete_tag_async(run_id, key))?
    }

    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        block_on(self.metric_history_async(run_id, key))?
    }

    fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()> {
        block_on(self.log_inputs_async(run_id, datasets, models))?
    }

    fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        block_on(self.log_outputs_async(run_id, models))?
    }

    fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel> {
        block_on(self.create_logged_model_async(model))?
    }

    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        block_on(self.finalize_logged_model_async(model_id, status))?
    }

    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        block_on(self.get_logged_model_async(model_id))?
    }

    fn search_logged_models(
        &self,
        query: &LoggedModelQuery,
        page_token: Option<&str>,
    ) -> Result<Page<LoggedModel>> {
        block_on(self.search_logged_models_async(query, page_token))?
    }

    fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        block_on(self.set_logged_model_tags_async(model_id, tags))?
    }

    fn log_model_history(&self, run_id: &str, model_json: &str) -> Result<()> {
        block_on(self.log_model_history_async(run_id, model_json))?
    }

    fn artifact_repo(&self, artifact_uri: &str) -> Result<ArtifactRepo> {
        if artifact_uri.starts_with("mlflow-artifacts:") {
            return Ok(ArtifactRepo::Proxy(ProxyRepo::new(
                Arc::clone(&self.http),
                artifact_uri,
                self.transfer.clone(),
            )?));
        }
        Ok(ArtifactRepo::Object(ObjectRepo::new(
            artifact_uri,
            self.transfer.clone(),
        )?))
    }
}
