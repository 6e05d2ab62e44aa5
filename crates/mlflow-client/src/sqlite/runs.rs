//! Runs and their values: `runs`, `params`, `metrics` + `latest_metrics`,
//! `tags`, and the lineage tables `inputs`, `input_tags`, `datasets`.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Fail, Sql, SqliteStore, experiments, new_uuid, validate_id, validate_key};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{NewRun, RunQuery, RunUpdate, Runs};
use crate::types::{
    Dataset, DatasetInput, Metric, ModelInput, ModelOutput, Page, Param, Run, RunData, RunInfo,
    RunInputs, RunOutputs, RunStatus, Tag, default_user, now_millis,
};

pub(super) use crate::types::RUN_NAME_TAG;
const MODEL_HISTORY_TAG: &str = "mlflow.log-model.history";

fn run_not_found(run_id: &str) -> Fail {
    Fail::Store(Error::mlflow(
        ErrorCode::ResourceDoesNotExist,
        format!("Run with id={run_id} not found"),
    ))
}

fn status_from(text: &str) -> RunStatus {
    match text {
        "SCHEDULED" => RunStatus::Scheduled,
        "FINISHED" => RunStatus::Finished,
        "FAILED" => RunStatus::Failed,
        "KILLED" => RunStatus::Killed,
        _ => RunStatus::Running,
    }
}

/// MLflow's storage of a metric value: NaN as 0 with `is_nan`, ±Infinity
/// as ±f64::MAX (SQL has no infinities).
pub(super) fn sanitize(value: f64) -> (f64, bool) {
    if value.is_nan() {
        (0.0, true)
    } else if value.is_infinite() {
        (f64::MAX.copysign(value), false)
    } else {
        (value, false)
    }
}

pub(super) fn info(tx: &Transaction<'_>, run_id: &str) -> Sql<RunInfo> {
    validate_id(run_id, "run")?;
    tx.query_row(
        "SELECT run_uuid, name, experiment_id, user_id, status, start_time, end_time, \
         artifact_uri, lifecycle_stage FROM runs WHERE run_uuid = ?1",
        [run_id],
        |r| {
            Ok(RunInfo {
                run_id: r.get(0)?,
                run_name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                experiment_id: r.get::<_, Option<i64>>(2)?.unwrap_or_default().to_string(),
                user_id: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                status: status_from(&r.get::<_, Option<String>>(4)?.unwrap_or_default()),
                start_time: r.get(5)?,
                end_time: r.get(6)?,
                artifact_uri: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                lifecycle_stage: r
                    .get::<_, Option<String>>(8)?
                    .unwrap_or_else(|| "active".to_owned()),
            })
        },
    )
    .optional()?
    .ok_or_else(|| run_not_found(run_id))
}

/// The run, refusing writes to a deleted one as MLflow does.
pub(super) fn active(tx: &Transaction<'_>, run_id: &str) -> Sql<RunInfo> {
    let info = info(tx, run_id)?;
    if info.lifecycle_stage != "active" {
        return Err(Fail::Store(Error::mlflow(
            ErrorCode::InvalidParameterValue,
            format!(
                "The run {run_id} must be in the 'active' state. Current state is {}.",
                info.lifecycle_stage
            ),
        )));
    }
    Ok(info)
}

fn key_values(tx: &Transaction<'_>, sql: &str, id: &str) -> Sql<Vec<(String, String)>> {
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt
        .query_map([id], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(super) fn read(tx: &Transaction<'_>, run_id: &str) -> Sql<Run> {
    let info = info(tx, run_id)?;
    let params = key_values(
        tx,
        "SELECT key, value FROM params WHERE run_uuid = ?1 ORDER BY key",
        run_id,
    )?
    .into_iter()
    .map(|(key, value)| Param { key, value })
    .collect();
    let tags = key_values(
        tx,
        "SELECT key, value FROM tags WHERE run_uuid = ?1 ORDER BY key",
        run_id,
    )?
    .into_iter()
    .map(|(key, value)| Tag { key, value })
    .collect();
    let mut stmt = tx.prepare_cached(
        "SELECT key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = ?1 \
         ORDER BY key",
    )?;
    let metrics = stmt
        .query_map([run_id], |r| {
            let is_nan: bool = r.get(4)?;
            Ok(Metric {
                key: r.get(0)?,
                value: if is_nan { f64::NAN } else { r.get(1)? },
                timestamp: r.get::<_, Option<i64>>(2)?.unwrap_or_default(),
                step: r.get(3)?,
                ..Metric::default()
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Run {
        inputs: read_inputs(tx, run_id)?,
        outputs: read_outputs(tx, run_id)?,
        info,
        data: RunData {
            metrics,
            params,
            tags,
        },
    })
}

fn read_inputs(tx: &Transaction<'_>, run_id: &str) -> Sql<RunInputs> {
    let mut stmt = tx.prepare_cached(
        "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, \
         d.dataset_schema, d.dataset_profile FROM inputs i JOIN datasets d \
         ON d.dataset_uuid = i.source_id WHERE i.source_type = 'DATASET' \
         AND i.destination_type = 'RUN' AND i.destination_id = ?1 ORDER BY d.name, d.digest",
    )?;
    let rows = stmt
        .query_map([run_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Dataset {
                    name: r.get(1)?,
                    digest: r.get(2)?,
                    source_type: r.get(3)?,
                    source: r.get(4)?,
                    schema: r.get(5)?,
                    profile: r.get(6)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut dataset_inputs = Vec::with_capacity(rows.len());
    for (input_uuid, dataset) in rows {
        let tags = key_values(
            tx,
            "SELECT name, value FROM input_tags WHERE input_uuid = ?1 ORDER BY name",
            &input_uuid,
        )?
        .into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect();
        dataset_inputs.push(DatasetInput { tags, dataset });
    }
    let model_inputs = key_values(
        tx,
        "SELECT destination_id, '' FROM inputs WHERE source_type = 'RUN_INPUT' \
         AND source_id = ?1 AND destination_type = 'MODEL_INPUT' ORDER BY destination_id",
        run_id,
    )?
    .into_iter()
    .map(|(model_id, _)| ModelInput { model_id })
    .collect();
    Ok(RunInputs {
        dataset_inputs,
        model_inputs,
    })
}

fn read_outputs(tx: &Transaction<'_>, run_id: &str) -> Sql<RunOutputs> {
    let mut stmt = tx.prepare_cached(
        "SELECT destination_id, step FROM inputs WHERE source_type = 'RUN_OUTPUT' \
         AND source_id = ?1 AND destination_type = 'MODEL_OUTPUT' ORDER BY step, destination_id",
    )?;
    let model_outputs = stmt
        .query_map([run_id], |r| {
            Ok(ModelOutput {
                model_id: r.get(0)?,
                step: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(RunOutputs { model_outputs })
}

/// One `log-batch` in the caller's transaction: params (a changed value
/// is refused), metrics (history, `latest_metrics`, and the logged model's
/// own table for a metric with a `model_id`), tags.
pub(super) fn log_batch(
    tx: &Transaction<'_>,
    run_id: &str,
    metrics: &[Metric],
    params: &[Param],
    tags: &[Tag],
) -> Sql<()> {
    let info = active(tx, run_id)?;
    for metric in metrics {
        validate_key(&metric.key, "metric")?;
    }
    for param in params {
        validate_key(&param.key, "param")?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT value FROM params WHERE run_uuid = ?1 AND key = ?2",
                [run_id, &param.key],
                |r| r.get(0),
            )
            .optional()?;
        match existing {
            Some(old) if old != param.value => {
                return Err(Fail::Store(Error::mlflow(
                    ErrorCode::InvalidParameterValue,
                    format!(
                        "Changing param values is not allowed. Param with key='{}' was already \
                         logged with value='{old}' for run ID='{run_id}'. Attempted logging new \
                         value '{}'.",
                        param.key, param.value
                    ),
                )));
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO params (key, value, run_uuid) VALUES (?1, ?2, ?3)",
                    [&param.key, &param.value, run_id],
                )?;
            }
        }
    }
    for metric in metrics {
        log_metric(tx, run_id, metric)?;
    }
    for tag in tags {
        validate_key(&tag.key, "tag")?;
        set_tag(tx, run_id, &tag.key, &tag.value)?;
        if tag.key == RUN_NAME_TAG && tag.value != info.run_name {
            tx.execute(
                "UPDATE runs SET name = ?1 WHERE run_uuid = ?2",
                [&tag.value, run_id],
            )?;
        }
    }
    Ok(())
}

fn set_tag(tx: &Transaction<'_>, run_id: &str, key: &str, value: &str) -> Sql<()> {
    tx.execute(
        "INSERT INTO tags (key, value, run_uuid) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
        [key, value, run_id],
    )?;
    Ok(())
}

/// Appends the value to the history and moves `latest_metrics` by MLflow's
/// rule: the greater `(step, timestamp, value)` wins.
fn log_metric(tx: &Transaction<'_>, run_id: &str, metric: &Metric) -> Sql<()> {
    let (value, is_nan) = sanitize(metric.value);
    tx.execute(
        "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            metric.key,
            value,
            metric.timestamp,
            run_id,
            metric.step,
            is_nan
        ],
    )?;
    let latest: Option<(f64, i64, i64)> = tx
        .query_row(
            "SELECT value, coalesce(timestamp, 0), step FROM latest_metrics \
             WHERE run_uuid = ?1 AND key = ?2",
            [run_id, &metric.key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let newer = latest.is_none_or(|(old_value, old_ts, old_step)| {
        (metric.step, metric.timestamp)
            .cmp(&(old_step, old_ts))
            .then(value.total_cmp(&old_value))
            .is_gt()
    });
    if newer {
        tx.execute(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key, run_uuid) DO UPDATE SET \
             value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, \
             is_nan = excluded.is_nan",
            params![
                metric.key,
                value,
                metric.timestamp,
                metric.step,
                is_nan,
                run_id
            ],
        )?;
    }
    if let Some(model_id) = &metric.model_id {
        super::models::log_model_metric(tx, model_id, run_id, metric)?;
    }
    Ok(())
}

/// MLflow 2.x `log-model`: the JSON appended to the run's history tag.
pub(super) fn append_model_history(
    tx: &Transaction<'_>,
    run_id: &str,
    model_json: &str,
) -> Sql<()> {
    active(tx, run_id)?;
    let model: serde_json::Value = serde_json::from_str(model_json).map_err(|e| {
        Error::mlflow(
            ErrorCode::InvalidParameterValue,
            format!("model_json is not JSON: {e}"),
        )
    })?;
    let existing: Option<String> = tx
        .query_row(
            "SELECT value FROM tags WHERE run_uuid = ?1 AND key = ?2",
            [run_id, MODEL_HISTORY_TAG],
            |r| r.get(0),
        )
        .optional()?;
    let mut history: Vec<serde_json::Value> = existing
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    history.push(model);
    let text = serde_json::Value::Array(history).to_string();
    set_tag(tx, run_id, MODEL_HISTORY_TAG, &text)
}

impl Runs for SqliteStore {
    fn create_run(&self, run: &NewRun) -> Result<Run> {
        for tag in &run.tags {
            validate_key(&tag.key, "tag")?;
        }
        self.write(|tx| {
            let experiment = experiments::get_active(tx, &run.experiment_id, "run")?;
            let run_id = new_uuid();
            let run_name = run.display_name(&run_id);
            let artifact_uri = format!(
                "{}/{run_id}/artifacts",
                experiment.artifact_location.trim_end_matches('/')
            );
            tx.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, \
                 user_id, status, start_time, end_time, source_version, lifecycle_stage, \
                 artifact_uri, experiment_id, deleted_time) VALUES (?1, ?2, 'UNKNOWN', '', '', \
                 ?3, 'RUNNING', ?4, NULL, '', 'active', ?5, ?6, NULL)",
                params![
                    run_id,
                    run_name,
                    run.user_id.clone().unwrap_or_else(default_user),
                    run.start_time.unwrap_or_else(now_millis),
                    artifact_uri,
                    super::experiment_key(&experiment.experiment_id)?,
                ],
            )?;
            for tag in run.tags.iter().filter(|t| t.key != RUN_NAME_TAG) {
                set_tag(tx, &run_id, &tag.key, &tag.value)?;
            }
            set_tag(tx, &run_id, RUN_NAME_TAG, &run_name)?;
            read(tx, &run_id)
        })
    }

    fn get_run(&self, run_id: &str) -> Result<Run> {
        self.read(|tx| read(tx, run_id))
    }

    fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo> {
        self.write(|tx| {
            active(tx, run_id)?;
            if let Some(status) = update.status {
                tx.execute(
                    "UPDATE runs SET status = ?1 WHERE run_uuid = ?2",
                    [status.as_str(), run_id],
                )?;
            }
            if let Some(end_time) = update.end_time {
                tx.execute(
                    "UPDATE runs SET end_time = ?1 WHERE run_uuid = ?2",
                    params![end_time, run_id],
                )?;
            }
            if let Some(name) = &update.run_name {
                tx.execute(
                    "UPDATE runs SET name = ?1 WHERE run_uuid = ?2",
                    [name, run_id],
                )?;
                set_tag(tx, run_id, RUN_NAME_TAG, name)?;
            }
            info(tx, run_id)
        })
    }

    fn search_runs(&self, query: &RunQuery, page_token: Option<&str>) -> Result<Page<Run>> {
        super::search::runs(self, query, page_token)
    }

    fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.write(|tx| {
            active(tx, run_id)?;
            let n = tx.execute(
                "DELETE FROM tags WHERE run_uuid = ?1 AND key = ?2",
                [run_id, key],
            )?;
            if n == 0 {
                return Err(Fail::Store(Error::mlflow(
                    ErrorCode::ResourceDoesNotExist,
                    format!("No tag with name: {key} in run with id {run_id}"),
                )));
            }
            Ok(())
        })
    }

    /// MLflow's order: timestamp, then step, then value.
    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        self.read(|tx| {
            info(tx, run_id)?;
            let mut stmt = tx.prepare_cached(
                "SELECT value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ?1 AND \
                 key = ?2 ORDER BY timestamp, step, value",
            )?;
            let rows = stmt
                .query_map([run_id, key], |r| {
                    let is_nan: bool = r.get(3)?;
                    Ok(Metric {
                        key: key.to_owned(),
                        value: if is_nan { f64::NAN } else { r.get(0)? },
                        timestamp: r.get(1)?,
                        step: r.get(2)?,
                        ..Metric::default()
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// Datasets are shared per experiment (one row per name + digest);
    /// each use is an `inputs` row DATASET → RUN with its `input_tags`.
    fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()> {
        self.write(|tx| {
            let info = active(tx, run_id)?;
            let experiment_id = super::experiment_key(&info.experiment_id)?;
            for input in datasets {
                let d = &input.dataset;
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT dataset_uuid FROM datasets WHERE experiment_id = ?1 AND \
                         name = ?2 AND digest = ?3",
                        params![experiment_id, d.name, d.digest],
                        |r| r.get(0),
                    )
                    .optional()?;
                let dataset_uuid = match existing {
                    Some(id) => id,
                    None => {
                        let id = new_uuid();
                        tx.execute(
                            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, \
                             dataset_source_type, dataset_source, dataset_schema, \
                             dataset_profile) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            params![
                                id,
                                experiment_id,
                                d.name,
                                d.digest,
                                d.source_type,
                                d.source,
                                d.schema,
                                d.profile
                            ],
                        )?;
                        id
                    }
                };
                let already: bool = tx.query_row(
                    "SELECT count(*) FROM inputs WHERE source_type = 'DATASET' AND \
                     source_id = ?1 AND destination_type = 'RUN' AND destination_id = ?2",
                    [&dataset_uuid, run_id],
                    |r| r.get::<_, i64>(0).map(|n| n > 0),
                )?;
                if already {
                    continue;
                }
                let input_uuid = new_uuid();
                tx.execute(
                    "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
                     destination_id, step) VALUES (?1, 'DATASET', ?2, 'RUN', ?3, 0)",
                    [&input_uuid, &dataset_uuid, run_id],
                )?;
                for tag in &input.tags {
                    tx.execute(
                        "INSERT OR REPLACE INTO input_tags (input_uuid, name, value) \
                         VALUES (?1, ?2, ?3)",
                        [&input_uuid, &tag.key, &tag.value],
                    )?;
                }
            }
            for model in models {
                validate_id(&model.model_id, "model")?;
                tx.execute(
                    "INSERT OR IGNORE INTO inputs (input_uuid, source_type, source_id, \
                     destination_type, destination_id, step) \
                     VALUES (?1, 'RUN_INPUT', ?2, 'MODEL_INPUT', ?3, 0)",
                    [&new_uuid(), run_id, &model.model_id],
                )?;
            }
            Ok(())
        })
    }

    fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        self.write(|tx| {
            active(tx, run_id)?;
            for model in models {
                super::models::get(tx, &model.model_id)?;
                tx.execute(
                    "INSERT OR IGNORE INTO inputs (input_uuid, source_type, source_id, \
                     destination_type, destination_id, step) \
                     VALUES (?1, 'RUN_OUTPUT', ?2, 'MODEL_OUTPUT', ?3, ?4)",
                    params![new_uuid(), run_id, model.model_id, model.step],
                )?;
            }
            Ok(())
        })
    }
}
