//! Experiments, runs and their values over REST.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{Empty, RestStore};
use crate::error::Result;
use crate::retry::create_once;
use crate::store::{Experiments, NewRun, RunQuery, RunUpdate, Runs};
use crate::types::{
    DatasetInput, Experiment, Metric, ModelInput, ModelOutput, Page, Run, RunInfo, Tag, ViewType,
    default_user, now_millis, random_hex,
};

/// The tag a run is created with so a retried `runs/create` can find the
/// run an earlier, seemingly failed attempt already made (MLflow's own
/// client retries POSTs blindly and can leave duplicates).
pub(crate) const REQUEST_ID_TAG: &str = "tandem.client_request_id";

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExperimentResponse {
    experiment: Experiment,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreatedExperiment {
    experiment_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExperimentPage {
    experiments: Vec<Experiment>,
    next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RunResponse {
    run: Run,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RunInfoResponse {
    run_info: RunInfo,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RunPage {
    runs: Vec<Run>,
    next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MetricPage {
    metrics: Vec<Metric>,
    next_page_token: Option<String>,
}

impl Experiments for RestStore {
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let r: ExperimentResponse =
            self.get("experiments/get", json!({"experiment_id": experiment_id}))?;
        Ok(r.experiment)
    }

    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        match self
            .get::<ExperimentResponse>("experiments/get-by-name", json!({"experiment_name": name}))
        {
            Ok(r) => Ok(Some(r.experiment)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        let mut body = json!({"name": name, "tags": tags});
        if let Some(location) = artifact_location {
            body["artifact_location"] = json!(location);
        }
        let r: CreatedExperiment = self.post("experiments/create", body)?;
        Ok(r.experiment_id)
    }

    fn search_experiments(
        &self,
        view: ViewType,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Experiment>> {
        let r: ExperimentPage = self.post(
            "experiments/search",
            json!({"view_type": view.as_str(), "max_results": max_results, "page_token": page_token}),
        )?;
        Ok(Page {
            items: r.experiments,
            next_page_token: r.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        let _: Empty = self.post(
            "experiments/restore",
            json!({"experiment_id": experiment_id}),
        )?;
        Ok(())
    }
}

impl Runs for RestStore {
    fn create_run(&self, run: &NewRun) -> Result<Run> {
        let request_id = random_hex();
        let mut tags = run.tags.clone();
        tags.push(Tag::new(REQUEST_ID_TAG, &request_id));
        let mut body = json!({
            "experiment_id": run.experiment_id,
            "user_id": run.user_id.clone().unwrap_or_else(default_user),
            "start_time": run.start_time.unwrap_or_else(now_millis),
            "tags": tags,
        });
        if let Some(name) = &run.run_name {
            body["run_name"] = json!(name);
        }
        let search = json!({
            "experiment_ids": [run.experiment_id],
            "filter": format!("tags.`{REQUEST_ID_TAG}` = '{request_id}'"),
            "run_view_type": "ALL",
            "max_results": 1,
        });
        let http = &self.http;
        let create = create_once(
            http.retry_policy(),
            "POST /api/2.0/mlflow/runs/create",
            || async {
                let created: RunResponse =
                    http.call_once(Method::POST, "runs/create", &body).await?;
                Ok(created.run)
            },
            || async {
                let found: RunPage = http.call_once(Method::POST, "runs/search", &search).await?;
                Ok(found.runs.into_iter().next())
            },
        );
        crate::operation::block_on(create)?
    }

    fn get_run(&self, run_id: &str) -> Result<Run> {
        let r: RunResponse = self.get("runs/get", json!({"run_id": run_id}))?;
        Ok(r.run)
    }

    fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo> {
        let mut body = json!({"run_id": run_id});
        if let Some(status) = update.status {
            body["status"] = json!(status.as_str());
        }
        if let Some(end_time) = update.end_time {
            body["end_time"] = json!(end_time);
        }
        if let Some(name) = &update.run_name {
            body["run_name"] = json!(name);
        }
        let r: RunInfoResponse = self.post("runs/update", body)?;
        Ok(r.run_info)
    }

    fn search_runs(&self, query: &RunQuery, page_token: Option<&str>) -> Result<Page<Run>> {
        let r: RunPage = self.post(
            "runs/search",
            json!({
                "experiment_ids": query.experiment_ids,
                "filter": query.filter,
                "run_view_type": query.view.as_str(),
                "max_results": query.max_results,
                "order_by": query.order_by,
                "page_token": page_token,
            }),
        )?;
        Ok(Page {
            items: r.runs,
            next_page_token: r.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let _: Empty = self.post("runs/delete-tag", json!({"run_id": run_id, "key": key}))?;
        Ok(())
    }

    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page: MetricPage = self.get(
                "metrics/get-history",
                json!({"run_id": run_id, "metric_key": key, "max_results": 25000, "page_token": token}),
            )?;
            out.extend(page.metrics);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(out),
            }
        }
    }

    fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()> {
        let _: Empty = self.post(
            "runs/log-inputs",
            json!({"run_id": run_id, "datasets": datasets, "models": models}),
        )?;
        Ok(())
    }

    fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        // Linking a model twice is a server error (a raw SQL one), so a
        // retry first checks whether a lost answer hid a link already made.
        let body = json!({"run_id": run_id, "models": models});
        let get = json!({"run_id": run_id});
        let http = &self.http;
        let logged = create_once(
            http.retry_policy(),
            "POST /api/2.0/mlflow/runs/outputs",
            || async {
                let _: Empty = http.call_once(Method::POST, "runs/outputs", &body).await?;
                Ok(())
            },
            || async {
                let r: RunResponse = http.call_once(Method::GET, "runs/get", &get).await?;
                let linked = &r.run.outputs.model_outputs;
                let all = models
                    .iter()
                    .all(|m| linked.iter().any(|l| l.model_id == m.model_id));
                Ok(all.then_some(()))
            },
        );
        crate::operation::block_on(logged)?
    }
}
