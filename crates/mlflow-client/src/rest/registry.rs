//! The model registry over REST (the local store has none), with the
//! registry's own waits: get-or-create, polling a new version until READY,
//! all pages of a search.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use reqwest::Method;

use super::tracking::REQUEST_ID_TAG;
use super::{Empty, RestStore};
use crate::error::{Error, ErrorCode, Result};
use crate::retry::create_once;
use crate::store::{ModelRegistry, NewModelVersion};
use crate::types::{
    ModelVersion, ModelVersionStatus, Page, RegisteredModel, Tag, collect_pages, random_hex,
};

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegisteredModelResponse {
    registered_model: RegisteredModel,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VersionResponse {
    model_version: ModelVersion,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Versions {
    model_versions: Vec<ModelVersion>,
    next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DownloadUri {
    artifact_uri: String,
}

/// How often a pending model version is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

impl RestStore {
    /// `model-versions/create`, with a request id tag so that a retry after
    /// a lost answer finds the version instead of registering another (and
    /// moving the aliases set on it next).
    fn create_version_once(&self, version: &NewModelVersion) -> Result<ModelVersion> {
        let request_id = random_hex();
        let mut tags = version.tags.clone();
        tags.push(Tag::new(REQUEST_ID_TAG, &request_id));
        let body = json!({
            "name": version.name,
            "source": version.source,
            "run_id": version.run_id,
            "model_id": version.model_id,
            "tags": tags,
            "description": version.description,
        });
        let escaped = version.name.replace('\'', "\\'");
        let search = json!({
            "filter": format!("name = '{escaped}' AND tags.`{REQUEST_ID_TAG}` = '{request_id}'"),
            "max_results": 1,
        });
        let http = &self.http;
        let created = create_once(
            http.retry_policy(),
            "POST /api/2.0/mlflow/model-versions/create",
            || async {
                let r: VersionResponse = http
                    .call_once(Method::POST, "model-versions/create", &body)
                    .await?;
                Ok(r.model_version)
            },
            || async {
                let found: Versions = http
                    .call_once(Method::GET, "model-versions/search", &search)
                    .await?;
                Ok(found.model_versions.into_iter().next())
            },
        );
        crate::operation::block_on(created)?
    }
}

impl ModelRegistry for RestStore {
    fn create_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let body = json!({"name": name, "tags": [], "description": null});
        let get = json!({"name": name});
        let http = &self.http;
        let created = create_once(
            http.retry_policy(),
            "POST /api/2.0/mlflow/registered-models/create",
            || async {
                let r: RegisteredModelResponse = http
                    .call_once(Method::POST, "registered-models/create", &body)
                    .await?;
                Ok(r.registered_model)
            },
            || async {
                match http
                    .call_once::<RegisteredModelResponse>(
                        Method::GET,
                        "registered-models/get",
                        &get,
                    )
                    .await
                {
                    Ok(r) => Ok(Some(r.registered_model)),
                    Err(f) if f.error.is_not_found() => Ok(None),
                    Err(f) => Err(f),
                }
            },
        );
        match crate::operation::block_on(created)? {
            Ok(r) => Ok(r),
            Err(e) if e.is_already_exists() => self.get_registered_model(name),
            Err(e) => Err(e),
        }
    }

    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let r: RegisteredModelResponse =
            self.get("registered-models/get", json!({"name": name}))?;
        Ok(r.registered_model)
    }

    fn create_model_version(
        &self,
        version: &NewModelVersion,
        wait: Duration,
    ) -> Result<ModelVersion> {
        self.create_registered_model(&version.name)?;
        let start = Instant::now();
        let mut current = self.create_version_once(version)?;
        loop {
            match current.status {
                ModelVersionStatus::Ready => return Ok(current),
                ModelVersionStatus::FailedRegistration => {
                    return Err(Error::mlflow(
                        ErrorCode::InvalidState,
                        format!(
                            "model version {} of '{}' failed to register: {}",
                            current.version, current.name, current.status_message
                        ),
                    ));
                }
                ModelVersionStatus::PendingRegistration if start.elapsed() >= wait => {
                    return Err(Error::Timeout {
                        what: format!("model version {} of '{}'", current.version, current.name),
                        waited: start.elapsed(),
                    });
                }
                ModelVersionStatus::PendingRegistration => {
                    std::thread::sleep(POLL_INTERVAL);
                    current = self.get_model_version(&current.name, &current.version)?;
                }
            }
        }
    }

    fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        let r: VersionResponse = self.get(
            "model-versions/get",
            json!({"name": name, "version": version}),
        )?;
        Ok(r.model_version)
    }

    fn model_version_download_uri(&self, name: &str, version: &str) -> Result<String> {
        let r: DownloadUri = self.get(
            "model-versions/get-download-uri",
            json!({"name": name, "version": version}),
        )?;
        Ok(r.artifact_uri)
    }

    fn search_model_versions(&self, filter: Option<&str>) -> Result<Vec<ModelVersion>> {
        collect_pages(|page_token| {
            let r: Versions = self.get(
                "model-versions/search",
                json!({"filter": filter, "max_results": 1000, "page_token": page_token}),
            )?;
            Ok(Page {
                items: r.model_versions,
                next_page_token: r.next_page_token.filter(|t| !t.is_empty()),
            })
        })
    }

    fn latest_versions(&self, name: &str, stages: &[String]) -> Result<Vec<ModelVersion>> {
        let r: Versions = self.post(
            "registered-models/get-latest-versions",
            json!({"name": name, "stages": stages}),
        )?;
        Ok(r.model_versions)
    }

    fn set_model_alias(&self, name: &str, alias: &str, version: &str) -> Result<()> {
        let _: Empty = self.post(
            "registered-models/alias",
            json!({"name": name, "alias": alias, "version": version}),
        )?;
        Ok(())
    }

    fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        let r: VersionResponse = self.get(
            "registered-models/alias",
            json!({"name": name, "alias": alias}),
        )?;
        Ok(r.model_version)
    }

    fn delete_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        let _: Empty = self.delete(
            "registered-models/alias",
            json!({"name": name, "alias": alias}),
        )?;
        Ok(())
    }
}
