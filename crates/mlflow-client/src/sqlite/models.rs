//! MLflow 3 logged models: `logged_models` and its `logged_model_params`,
//! `logged_model_tags` and `logged_model_metrics`.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Fail, Sql, SqliteStore, experiment_key, experiments, validate_id, validate_key};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{LoggedModelQuery, LoggedModels, NewLoggedModel};
use crate::types::{
    LoggedModel, LoggedModelData, LoggedModelInfo, LoggedModelStatus, Metric, Page, Param, Tag,
    now_millis,
};

fn not_found(model_id: &str) -> Fail {
    Fail::Store(Error::mlflow(
        ErrorCode::ResourceDoesNotExist,
        format!("Logged model with ID '{model_id}' not found."),
    ))
}

/// The logged model with its params, tags and every metric row.
pub(super) fn get(tx: &Transaction<'_>, model_id: &str) -> Sql<LoggedModel> {
    validate_id(model_id, "model")?;
    let info = tx
        .query_row(
            "SELECT model_id, experiment_id, name, artifact_location, creation_timestamp_ms, \
             last_updated_timestamp_ms, status, model_type, source_run_id, status_message \
             FROM logged_models WHERE model_id = ?1",
            [model_id],
            |r| {
                Ok(LoggedModelInfo {
                    model_id: r.get(0)?,
                    experiment_id: r.get::<_, i64>(1)?.to_string(),
                    name: r.get(2)?,
                    artifact_uri: r.get(3)?,
                    creation_timestamp_ms: r.get(4)?,
                    last_updated_timestamp_ms: r.get(5)?,
                    status: LoggedModelStatus::from_file_code(r.get(6)?),
                    model_type: r.get(7)?,
                    source_run_id: r.get(8)?,
                    status_message: r.get(9)?,
                    tags: Vec::new(),
                })
            },
        )
        .optional()?
        .ok_or_else(|| not_found(model_id))?;
    let mut stmt = tx.prepare_cached(
        "SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = ?1 ORDER BY tag_key",
    )?;
    let tags = stmt
        .query_map([model_id], |r| {
            Ok(Tag {
                key: r.get(0)?,
                value: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = tx.prepare_cached(
        "SELECT param_key, param_value FROM logged_model_params WHERE model_id = ?1 \
         ORDER BY param_key",
    )?;
    let params = stmt
        .query_map([model_id], |r| {
            Ok(Param {
                key: r.get(0)?,
                value: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = tx.prepare_cached(
        "SELECT metric_name, metric_value, metric_timestamp_ms, metric_step, run_id, \
         dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id = ?1 \
         ORDER BY metric_timestamp_ms, metric_step, metric_name",
    )?;
    let metrics = stmt
        .query_map([model_id], |r| {
            Ok(Metric {
                key: r.get(0)?,
                value: r.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN),
                timestamp: r.get(2)?,
                step: r.get(3)?,
                run_id: r.get(4)?,
                dataset_name: r.get(5)?,
                dataset_digest: r.get(6)?,
                model_id: Some(model_id.to_owned()),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(LoggedModel {
        info: LoggedModelInfo { tags, ..info },
        data: LoggedModelData { params, metrics },
    })
}

/// A run metric about a logged model, recorded on the model too (as
/// MLflow does for a metric with a `model_id`).
pub(super) fn log_model_metric(
    tx: &Transaction<'_>,
    model_id: &str,
    run_id: &str,
    metric: &Metric,
) -> Sql<()> {
    let model = get(tx, model_id)?;
    let value = (!metric.value.is_nan()).then(|| super::runs::sanitize(metric.value).0);
    tx.execute(
        "INSERT OR REPLACE INTO logged_model_metrics (model_id, metric_name, \
         metric_timestamp_ms, metric_step, metric_value, experiment_id, run_id, dataset_uuid, \
         dataset_name, dataset_digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9)",
        params![
            model_id,
            metric.key,
            metric.timestamp,
            metric.step,
            value,
            experiment_key(&model.info.experiment_id)?,
            run_id,
            metric.dataset_name,
            metric.dataset_digest,
        ],
    )?;
    Ok(())
}

fn set_tags(tx: &Transaction<'_>, model_id: &str, experiment_id: i64, tags: &[Tag]) -> Sql<()> {
    for tag in tags {
        tx.execute(
            "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (model_id, tag_key) DO UPDATE SET \
             tag_value = excluded.tag_value",
            params![model_id, experiment_id, tag.key, tag.value],
        )?;
    }
    Ok(())
}

impl LoggedModels for SqliteStore {
    /// PENDING, at `<experiment artifact_location>/models/<id>/artifacts`.
    fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel> {
        for key in model
            .params
            .iter()
            .map(|p| &p.key)
            .chain(model.tags.iter().map(|t| &t.key))
        {
            validate_key(key, "param or tag")?;
        }
        if let Some(run_id) = &model.source_run_id {
            validate_id(run_id, "run")?;
        }
        self.write(|tx| {
            let experiment = experiments::get_active(tx, &model.experiment_id, "model")?;
            let experiment_id = experiment_key(&experiment.experiment_id)?;
            let model_id = format!("m-{}", super::new_uuid());
            let artifact_location = format!(
                "{}/models/{model_id}/artifacts",
                experiment.artifact_location.trim_end_matches('/')
            );
            let name = model
                .name
                .clone()
                .unwrap_or_else(|| format!("model-{}", &super::new_uuid()[..8]));
            let now = now_millis();
            tx.execute(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
                 creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, \
                 model_type, source_run_id, status_message) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, 'active', ?7, ?8, NULL)",
                params![
                    model_id,
                    experiment_id,
                    name,
                    artifact_location,
                    now,
                    LoggedModelStatus::Pending.file_code(),
                    model.model_type,
                    model.source_run_id,
                ],
            )?;
            for param in &model.params {
                tx.execute(
                    "INSERT OR REPLACE INTO logged_model_params (model_id, experiment_id, \
                     param_key, param_value) VALUES (?1, ?2, ?3, ?4)",
                    params![model_id, experiment_id, param.key, param.value],
                )?;
            }
            set_tags(tx, &model_id, experiment_id, &model.tags)?;
            get(tx, &model_id)
        })
    }

    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        self.write(|tx| {
            get(tx, model_id)?;
            tx.execute(
                "UPDATE logged_models SET status = ?1, last_updated_timestamp_ms = ?2 \
                 WHERE model_id = ?3",
                params![status.file_code(), now_millis(), model_id],
            )?;
            get(tx, model_id)
        })
    }

    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        self.read(|tx| get(tx, model_id))
    }

    fn search_logged_models(
        &self,
        query: &LoggedModelQuery,
        page_token: Option<&str>,
    ) -> Result<Page<LoggedModel>> {
        super::search::logged_models(self, query, page_token)
    }

    fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        for tag in tags {
            validate_key(&tag.key, "tag")?;
        }
        self.write(|tx| {
            let model = get(tx, model_id)?;
            set_tags(
                tx,
                model_id,
                experiment_key(&model.info.experiment_id)?,
                tags,
            )
        })
    }
}
