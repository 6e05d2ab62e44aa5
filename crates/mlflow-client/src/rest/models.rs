//! MLflow 3 logged models and the 2.x `runs/log-model` call over REST.

use serde::Deserialize;
use serde_json::json;

use super::{Empty, RestStore};
use crate::error::Result;
use crate::paths;
use crate::store::{LoggedModelQuery, NewLoggedModel};
use crate::types::{LoggedModel, LoggedModelStatus, Page, Tag};

#[derive(Deserialize, Default)]
#[serde(default)]
struct ModelResponse {
    model: LoggedModel,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Models {
    models: Vec<LoggedModel>,
    next_page_token: Option<String>,
}

fn route(model_id: &str) -> String {
    format!("logged-models/{}", paths::encode(model_id))
}

impl RestStore {
    pub(super) async fn create_logged_model_async(
        &self,
        model: &NewLoggedModel,
    ) -> Result<LoggedModel> {
        let r: ModelResponse = self
            .post(
                "logged-models",
                json!({
                    "experiment_id": model.experiment_id,
                    "name": model.name,
                    "model_type": model.model_type,
                    "source_run_id": model.source_run_id,
                    "params": model.params,
                    "tags": model.tags,
                }),
            )
            .await?;
        Ok(r.model)
    }

    pub(super) async fn finalize_logged_model_async(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        let r: ModelResponse = self
            .patch(
                &route(model_id),
                json!({"model_id": model_id, "status": status.as_str()}),
            )
            .await?;
        Ok(r.model)
    }

    pub(super) async fn get_logged_model_async(&self, model_id: &str) -> Result<LoggedModel> {
        let r: ModelResponse = self.get(&route(model_id), json!({})).await?;
        Ok(r.model)
    }

    pub(super) async fn search_logged_models_async(
        &self,
        query: &LoggedModelQuery,
        page_token: Option<&str>,
    ) -> Result<Page<LoggedModel>> {
        let r: Models = self
            .post(
                "logged-models/search",
                json!({
                    "experiment_ids": query.experiment_ids,
                    "filter": query.filter,
                    "max_results": query.max_results,
                    "order_by": query.order_by,
                    "page_token": page_token,
                }),
            )
            .await?;
        Ok(Page {
            items: r.models,
            next_page_token: r.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    pub(super) async fn set_logged_model_tags_async(
        &self,
        model_id: &str,
        tags: &[Tag],
    ) -> Result<()> {
        let _: Empty = self
            .patch(&format!("{}/tags", route(model_id)), json!({"tags": tags}))
            .await?;
        Ok(())
    }

    pub(super) async fn log_model_history_async(
        &self,
        run_id: &str,
        model_json: &str,
    ) -> Result<()> {
        let _: Empty = self
            .post(
                "runs/log-model",
                json!({"run_id": run_id, "model_json": model_json}),
            )
            .await?;
        Ok(())
    }
}
