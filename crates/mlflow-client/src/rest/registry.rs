//! The model registry over REST (the local store has none).

use serde::Deserialize;
use serde_json::json;

use super::{Empty, RestStore};
use crate::error::Result;
use crate::types::{ModelVersion, Page, RegisteredModel, Tag};

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

/// What a new model version is registered from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewModelVersion {
    /// The registered model.
    pub name: String,
    /// Where the model is: `models:/m-…` for a logged model, or an
    /// artifact URI (then `run_id` is required by the server).
    pub source: String,
    /// The source run.
    pub run_id: Option<String>,
    /// The logged model (MLflow 3).
    pub model_id: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Description.
    pub description: Option<String>,
}

impl RestStore {
    pub(crate) async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        let r: RegisteredModelResponse = self
            .post(
                "registered-models/create",
                json!({"name": name, "tags": tags, "description": description}),
            )
            .await?;
        Ok(r.registered_model)
    }

    pub(crate) async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let r: RegisteredModelResponse = self
            .get("registered-models/get", json!({"name": name}))
            .await?;
        Ok(r.registered_model)
    }

    pub(crate) async fn create_model_version(
        &self,
        version: &NewModelVersion,
    ) -> Result<ModelVersion> {
        let r: VersionResponse = self
            .post(
                "model-versions/create",
                json!({
                    "name": version.name,
                    "source": version.source,
                    "run_id": version.run_id,
                    "model_id": version.model_id,
                    "tags": version.tags,
                    "description": version.description,
                }),
            )
            .await?;
        Ok(r.model_version)
    }

    pub(crate) async fn get_model_version(
        &self,
        name: &str,
        version: &str,
    ) -> Result<ModelVersion> {
        let r: VersionResponse = self
            .get(
                "model-versions/get",
                json!({"name": name, "version": version}),
            )
            .await?;
        Ok(r.model_version)
    }

    pub(crate) async fn model_version_download_uri(
        &self,
        name: &str,
        version: &str,
    ) -> Result<String> {
        let r: DownloadUri = self
            .get(
                "model-versions/get-download-uri",
                json!({"name": name, "version": version}),
            )
            .await?;
        Ok(r.artifact_uri)
    }

    pub(crate) async fn search_model_versions(
        &self,
        filter: Option<&str>,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<Page<ModelVersion>> {
        let r: Versions = self
            .get(
                "model-versions/search",
                json!({"filter": filter, "max_results": max_results, "page_token": page_token}),
            )
            .await?;
        Ok(Page {
            items: r.model_versions,
            next_page_token: r.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    pub(crate) async fn latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> Result<Vec<ModelVersion>> {
        let r: Versions = self
            .post(
                "registered-models/get-latest-versions",
                json!({"name": name, "stages": stages}),
            )
            .await?;
        Ok(r.model_versions)
    }

    pub(crate) async fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<()> {
        let _: Empty = self
            .post(
                "registered-models/alias",
                json!({"name": name, "alias": alias, "version": version}),
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        let r: VersionResponse = self
            .get(
                "registered-models/alias",
                json!({"name": name, "alias": alias}),
            )
            .await?;
        Ok(r.model_version)
    }

    pub(crate) async fn delete_alias(&self, name: &str, alias: &str) -> Result<()> {
        let _: Empty = self
            .delete(
                "registered-models/alias",
                json!({"name": name, "alias": alias}),
            )
            .await?;
        Ok(())
    }
}
