//! MLflow 3 logged models over REST.

use serde::Deserialize;
use serde_json::json;

use super::{Empty, RestStore};
use crate::error::Result;
use crate::paths;
use crate::store::{LoggedModelQuery, LoggedModels, NewLoggedModel};
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

impl LoggedModels for RestStore {
    fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel> {
        let r: ModelResponse = self.post(
            "logged-models",
            json!({
                "experiment_id": model.experiment_id,
                "name": model.name,
                "model_type": model.model_type,
                "source_run_id": model.source_run_id,
                "params": model.params,
                "tags": model.tags,
            }),
        )?;
        Ok(r.model)
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
