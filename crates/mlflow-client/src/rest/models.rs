//! MLflow 3 logged models over REST.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::tracking::REQUEST_ID_TAG;
use super::{Empty, RestStore};
use crate::error::Result;
use crate::paths;
use crate::retry::create_once;
use crate::store::{LoggedModelQuery, LoggedModels, NewLoggedModel};
use crate::types::{LoggedModel, LoggedModelStatus, Page, Tag, random_hex};

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

impl LoggedModels for RestStore {
    fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel> {
        // Created with a request id so that a retry after a lost answer
        // finds the model instead of leaving an orphan PENDING one.
        let request_id = random_hex();
        let mut tags = model.tags.clone();
        tags.push(Tag::new(REQUEST_ID_TAG, &request_id));
        let body = json!({
            "experiment_id": model.experiment_id,
            "name": model.name,
            "model_type": model.model_type,
            "source_run_id": model.source_run_id,
            "params": model.params,
            "tags": tags,
        });
        let search = json!({
            "experiment_ids": [model.experiment_id],
            "filter": format!("tags.`{REQUEST_ID_TAG}` = '{request_id}'"),
            "max_results": 1,
        });
        let http = &self.http;
        let created = create_once(
            http.retry_policy(),
            "POST /api/2.0/mlflow/logged-models",
            || async {
                let r: ModelResponse = http.call_once(Method::POST, "logged-models", &body).await?;
                Ok(r.model)
            },
            || async {
                let found: Models = http
                    .call_once(Method::POST, "logged-models/search", &search)
                    .await?;
                Ok(found.models.into_iter().next())
            },
        );
        crate::operation::block_on(created)?
    }

    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        let r: ModelResponse = self.patch(
            &route(model_id),
            json!({"model_id": model_id, "status": status.as_str()}),
        )?;
        Ok(r.model)
    }

    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        let r: ModelResponse = self.get(&route(model_id), json!({}))?;
        Ok(r.model)
    }

    fn search_logged_models(
        &self,
        query: &LoggedModelQuery,
        page_token: Option<&str>,
    ) -> Result<Page<LoggedModel>> {
        let r: Models = self.post(
            "logged-models/search",
            json!({
                "experiment_ids": query.experiment_ids,
                "filter": query.filter,
                "max_results": query.max_results,
                "order_by": query.order_by,
                "page_token": page_token,
            }),
        )?;
        Ok(Page {
            items: r.models,
            next_page_token: r.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        let _: Empty = self.patch(&format!("{}/tags", route(model_id)), json!({"tags": tags}))?;
        Ok(())
    }
}
