//! The model registry over REST (the local store has none), with the
//! registry's own waits: get-or-create, polling a new version until READY,
//! all pages of a search.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use super::{Empty, RestStore};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{ModelRegistry, NewModelVersion};
use crate::types::{ModelVersion, ModelVersionStatus, Page, RegisteredModel, collect_pages};

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

impl ModelRegistry for RestStore {
    fn create_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let created = self.post::<RegisteredModelResponse>(
            "registered-models/create",
            json!({"name": name, "tags": [], "description": null}),
        );
        match created {
            Ok(r) => Ok(r.registered_model),
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
        let created: VersionResponse = self.post(
            "model-versions/create",
            json!({
                "name": version.name,
                "source": version.source,
                "run_id": version.run_id,
                "model_id": version.model_id,
                "tags": version.tags,
                "description": version.description,
            }),
        )?;
        let start = Instant::now();
        let mut current = created.model_version;
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
