//! The REST backend: an MLflow tracking server. Each store trait is
//! implemented in the file for its subject; every method is one request
//! (or, for `runs/create`, one retried request).

mod models;
mod registry;
mod tracking;

use std::sync::Arc;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::artifacts::{ArtifactRepo, ObjectRepo, ProxyRepo, Transfer};
use crate::config::Config;
use crate::error::Result;
use crate::http::Http;
use crate::store::{Backend, sealed};
use crate::types::{Metric, Param, Tag};

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

    /// One call on the shared I/O runtime (retried as the policy says).
    fn call<T: DeserializeOwned + Send>(
        &self,
        method: Method,
        route: &str,
        body: Value,
    ) -> Result<T> {
        crate::operation::block_on(self.http.call(method, route, &body))?
    }

    fn get<T: DeserializeOwned + Send>(&self, route: &str, query: Value) -> Result<T> {
        self.call(Method::GET, route, query)
    }

    fn post<T: DeserializeOwned + Send>(&self, route: &str, body: Value) -> Result<T> {
        self.call(Method::POST, route, body)
    }

    fn patch<T: DeserializeOwned + Send>(&self, route: &str, body: Value) -> Result<T> {
        self.call(Method::PATCH, route, body)
    }

    fn delete<T: DeserializeOwned + Send>(&self, route: &str, body: Value) -> Result<T> {
        self.call(Method::DELETE, route, body)
    }
}

/// An empty-or-ignored response body.
#[derive(serde::Deserialize)]
struct Empty {}

impl sealed::Sealed for RestStore {}

impl Backend for RestStore {
    fn tracking_uri(&self) -> String {
        self.http.base().as_str().trim_end_matches('/').to_owned()
    }

    fn is_local(&self) -> bool {
        false
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

    fn log_batch_request(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        let _: Empty = self.post(
            "runs/log-batch",
            json!({"run_id": run_id, "metrics": metrics, "params": params, "tags": tags}),
        )?;
        Ok(())
    }

    fn log_model_history(&self, run_id: &str, model_json: &str) -> Result<()> {
        let _: Empty = self.post(
            "runs/log-model",
            json!({"run_id": run_id, "model_json": model_json}),
        )?;
        Ok(())
    }
}
