//! Runs and their params, metrics, tags, inputs and outputs in the local store.

use std::io::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::lineage::md5_hex;
use super::meta::{self, Yaml, lenient_opt_string, lenient_string};
use super::{LocalStore, paginate, read_key_files, validate_id, validate_key, write_key_file};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{Experiments, NewRun, RunQuery, RunUpdate, Runs};
use crate::types::wire::python_float;
use crate::types::{
    DatasetInput, Metric, ModelInput, ModelOutput, Page, Param, Run, RunData, RunInfo, RunStatus,
    Tag, default_user, now_millis, random_hex,
};

use crate::types::RUN_NAME_TAG;
/// MLflow's `SourceType.LOCAL`.
const SOURCE_TYPE_LOCAL: i64 = 4;

#[derive(Deserialize, Default)]
#[serde(default)]
struct RunMeta {
    artifact_uri: Option<String>,
    end_time: Option<i64>,
    #[serde(deserialize_with = "lenient_string")]
    experiment_id: String,
    lifecycle_stage: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    run_id: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    run_uuid: Option<String>,
    #[serde(deserialize_with = "lenient_opt_string")]
    run_name: Option<String>,
    start_time: Option<i64>,
    status: Option<i64>,
    #[serde(deserialize_with = "lenient_opt_string")]
    user_id: Option<String>,
}

fn write_run_meta(dir: &Path, info: &RunInfo) -> Result<()> {
    meta::write(
        &dir.join("meta.yaml"),
        &[
            ("artifact_uri", Yaml::Str(&info.artifact_uri)),
            ("end_time", info.end_time.into()),
            ("entry_point_name", Yaml::Str("")),
            ("experiment_id", Yaml::Str(&info.experiment_id)),
            ("lifecycle_stage", Yaml::Str(&info.lifecycle_stage)),
            ("run_id", Yaml::Str(&info.run_id)),
            ("run_name", Yaml::Str(&info.run_name)),
            ("source_name", Yaml::Str("")),
            ("source_type", Yaml::Int(SOURCE_TYPE_LOCAL)),
            ("source_version", Yaml::Str("")),
            ("start_time", info.start_time.into()),
            ("status", Yaml::Int(info.status.file_code())),
            ("tags", Yaml::EmptyList),
            ("user_id", Yaml::Str(&info.user_id)),
        ],
    )
}

/// Parses one metric file line: `timestamp value step [dataset_name digest]`
/// for runs, `timestamp value step run_id [dataset_name digest]` for models.
fn parse_metric_line(key: &str, line: &str, path: &Path, with_run: bool) -> Result<Metric> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let corrupt = || Error::CorruptStore {
        path: path.to_path_buf(),
        message: format!("bad metric line '{line}'"),
    };
    let [timestamp, value, rest @ ..] = fields.as_slice() else {
        return Err(corrupt());
    };
    let step = rest
        .first()
        .map_or(Ok(0), |s| s.parse())
        .map_err(|_| corrupt())?;
    let rest = rest.get(1..).unwrap_or_default();
    let (run_id, rest) = match rest {
        [run_id, rest @ ..] if with_run => (Some((*run_id).to_owned()), rest),
        _ => (None, rest),
    };
    let (dataset_name, dataset_digest) = match rest {
        [name, digest] => (Some((*name).to_owned()), Some((*digest).to_owned())),
        _ => (None, None),
    };
    Ok(Metric {
        key: key.to_owned(),
        value: value.parse().map_err(|_| corrupt())?,
        timestamp: timestamp.parse().map_err(|_| corrupt())?,
        step,
        dataset_name,
        dataset_digest,
        run_id,
        model_id: None,
    })
}

fn read_metric_file(path: &Path, key: &str, with_run: bool) -> Result<Vec<Metric>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| parse_metric_line(key, l, path, with_run))
        .collect()
}

/// Whether the run's history of `metric.key` already holds this value at
/// this step and time.
fn has_metric_line(dir: &Path, metric: &Metric) -> Result<bool> {
    let path = crate::paths::local_join(dir, &metric.key)?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let line = format!(
        "{} {} {}",
        metric.timestamp,
        python_float(metric.value),
        metric.step
    );
    Ok(text.lines().any(|l| l == line))
}

pub(super) fn append_metric_line(dir: &Path, metric: &Metric, run_id: Option<&str>) -> Result<()> {
    let path = crate::paths::local_join(dir, &metric.key)?;
    crate::artifacts::create_parent(&path)?;
    let mut line = format!(
        "{} {} {}",
        metric.timestamp,
        python_float(metric.value),
        metric.step
    );
    if let Some(run_id) = run_id {
        line.push(' ');
        line.push_str(run_id);
    }
    if let (Some(name), Some(digest)) = (&metric.dataset_name, &metric.dataset_digest) {
        line.push_str(&format!(" {name} {digest}"));
    }
    line.push('\n');
    // One write of a whole line with O_APPEND keeps concurrent writers' lines intact.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    file.write_all(line.as_bytes())
        .map_err(|e| Error::io(&path, e))
}

/// The latest value per metric: highest step, then latest timestamp.
pub(super) fn latest_metrics(dir: &Path, with_run: bool) -> Result<Vec<Metric>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (path, key) in crate::paths::walk_files(dir)? {
        let history = read_metric_file(&path, &key, with_run)?;
        if let Some(latest) = history.into_iter().max_by_key(|m| (m.step, m.timestamp)) {
            out.push(latest);
        }
    }
    Ok(out)
}

impl LocalStore {
    fn read_run_info(&self, dir: &Path) -> Result<RunInfo> {
        let m: RunMeta = meta::read(&dir.join("meta.yaml"))?;
        let run_id = m.run_id.or(m.run_uuid).unwrap_or_else(|| {
            dir.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        });
        Ok(RunInfo {
            artifact_uri: m
                .artifact_uri
                .unwrap_or_else(|| LocalStore::file_uri(&dir.join("artifacts"))),
            run_name: m.run_name.unwrap_or_default(),
            experiment_id: m.experiment_id,
            user_id: m.user_id.unwrap_or_default(),
            status: m
                .status
                .and_then(RunStatus::from_file_code)
                .unwrap_or_default(),
            start_time: m.start_time,
            end_time: m.end_time,
            lifecycle_stage: m.lifecycle_stage.unwrap_or_else(|| "active".to_owned()),
            run_id,
        })
    }

    pub(super) fn read_run(&self, dir: &Path) -> Result<Run> {
        let info = self.read_run_info(dir)?;
        let params = read_key_files(&dir.join("params"))?
            .into_iter()
            .map(|(key, value)| Param { key, value })
            .collect();
        let tags = read_key_files(&dir.join("tags"))?
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect();
        let metrics = latest_metrics(&dir.join("metrics"), false)?;
        let inputs = self.read_inputs(dir)?;
        let outputs = self.read_outputs(dir)?;
        Ok(Run {
            info,
            data: RunData {
                metrics,
                params,
                tags,
            },
            inputs,
            outputs,
        })
    }

    /// The run's directory, refusing writes to a deleted run as MLflow does.
    pub(super) fn active_run_dir(&self, run_id: &str) -> Result<(std::path::PathBuf, RunInfo)> {
        let dir = self.run_dir(run_id)?;
        let info = self.read_run_info(&dir)?;
        if info.lifecycle_stage != "active" {
            return Err(Error::mlflow(
                ErrorCode::InvalidParameterValue,
                format!(
                    "The run {run_id} must be in the 'active' state. Current state is {}.",
                    info.lifecycle_stage
                ),
            ));
        }
        Ok((dir, info))
    }

    pub(super) fn log_batch_local(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        let (dir, info) = self.active_run_dir(run_id)?;
        for key in metrics.iter().map(|m| &m.key) {
            validate_key(key, "metric")?;
        }
        for param in params {
            validate_key(&param.key, "param")?;
            let path = crate::paths::local_join(&dir.join("params"), &param.key)?;
            if let Ok(existing) = std::fs::read_to_string(&path)
                && existing != param.value
            {
                return Err(Error::mlflow(
                    ErrorCode::InvalidParameterValue,
                    format!(
                        "Changing param values is not allowed. Param with key='{}' was already \
                         logged with value='{existing}' for run ID='{run_id}'. Attempted logging \
                         new value '{}'.",
                        param.key, param.value
                    ),
                ));
            }
        }
        for tag in tags {
            validate_key(&tag.key, "tag")?;
        }
        for param in params {
            write_key_file(&dir.join("params"), &param.key, &param.value)?;
        }
        for metric in metrics {
            // A metric re-logged to link it to a model (as `log_model` does
            // with the run's metrics) is already in the run's history: the
            // SQL store's key drops the copy, so this store does too. Only
            // model-linked metrics pay for the look.
            let known = metric.model_id.is_some() && has_metric_line(&dir.join("metrics"), metric)?;
            if !known {
                append_metric_line(&dir.join("metrics"), metric, None)?;
            }
            // A metric about a logged model is recorded on the model too.
            if let Some(model_id) = &metric.model_id {
                let model_metrics = self.model_dir(model_id)?.join("metrics");
                append_metric_line(&model_metrics, metric, Some(run_id))?;
            }
        }
        for tag in tags {
            write_key_file(&dir.join("tags"), &tag.key, &tag.value)?;
            if tag.key == RUN_NAME_TAG && tag.value != info.run_name {
                self.update_run(
                    run_id,
                    &RunUpdate {
                        run_name: Some(tag.value.clone()),
                        ..RunUpdate::default()
                    },
                )?;
            }
        }
        Ok(())
    }
}

impl Runs for LocalStore {
    fn create_run(&self, run: &NewRun) -> Result<Run> {
        let experiment = self.get_experiment(&run.experiment_id)?;
        if experiment.is_deleted() {
            return Err(Error::mlflow(
                ErrorCode::InvalidParameterValue,
                format!(
                    "Could not create run under non-active experiment with ID {}.",
                    run.experiment_id
                ),
            ));
        }
        for tag in &run.tags {
            validate_key(&tag.key, "tag")?;
        }
        let run_id = random_hex();
        let dir = self.experiment_dir(&run.experiment_id)?.join(&run_id);
        let run_name = run.display_name(&run_id);
        let info = RunInfo {
            run_id: run_id.clone(),
            run_name: run_name.clone(),
            experiment_id: run.experiment_id.clone(),
            user_id: run.user_id.clone().unwrap_or_else(default_user),
            status: RunStatus::Running,
            start_time: Some(run.start_time.unwrap_or_else(now_millis)),
            end_time: None,
            artifact_uri: format!(
                "{}/{run_id}/artifacts",
                experiment.artifact_location.trim_end_matches('/')
            ),
            lifecycle_stage: "active".to_owned(),
        };
        // MLflow's file store takes a run without an `artifacts` folder for
        // a missing run (`get_run`, `set_terminated` fail), so it is made
        // even when the artifacts live elsewhere.
        for sub in ["metrics", "params", "tags", "artifacts"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        write_run_meta(&dir, &info)?;
        for tag in run.tags.iter().filter(|t| t.key != RUN_NAME_TAG) {
            write_key_file(&dir.join("tags"), &tag.key, &tag.value)?;
        }
        write_key_file(&dir.join("tags"), RUN_NAME_TAG, &run_name)?;
        self.read_run(&dir)
    }

    fn get_run(&self, run_id: &str) -> Result<Run> {
        self.read_run(&self.run_dir(run_id)?)
    }

    fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo> {
        let (dir, mut info) = self.active_run_dir(run_id)?;
        if let Some(status) = update.status {
            info.status = status;
        }
        if update.end_time.is_some() {
            info.end_time = update.end_time;
        }
        if let Some(name) = &update.run_name {
            info.run_name.clone_from(name);
            write_key_file(&dir.join("tags"), RUN_NAME_TAG, name)?;
        }
        write_run_meta(&dir, &info)?;
        Ok(info)
    }

    fn search_runs(&self, query: &RunQuery, page_token: Option<&str>) -> Result<Page<Run>> {
        if query
            .filter
            .as_deref()
            .is_some_and(|f| !f.trim().is_empty())
            || !query.order_by.is_empty()
        {
            return Err(Error::unsupported(
                "the local store does not evaluate search filters or order_by; search without \
                 them or use a tracking server",
            ));
        }
        let mut runs = Vec::new();
        for id in &query.experiment_ids {
            let exp_dir = self.experiment_dir(id)?;
            for entry in std::fs::read_dir(&exp_dir).map_err(|e| Error::io(&exp_dir, e))? {
                let path = entry.map_err(|e| Error::io(&exp_dir, e))?.path();
                if path.join("meta.yaml").is_file() && path.join("tags").is_dir() {
                    let run = self.read_run(&path)?;
                    if query.view.admits(&run.info.lifecycle_stage) {
                        runs.push(run);
                    }
                }
            }
        }
        runs.sort_by(|a, b| {
            b.info
                .start_time
                .cmp(&a.info.start_time)
                .then_with(|| a.info.run_id.cmp(&b.info.run_id))
        });
        paginate(runs, query.max_results as usize, page_token)
    }

    fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let (dir, _) = self.active_run_dir(run_id)?;
        validate_key(key, "tag")?;
        let path = crate::paths::local_join(&dir.join("tags"), key)?;
        std::fs::remove_file(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::mlflow(
                ErrorCode::ResourceDoesNotExist,
                format!("No tag with name: {key} in run with id {run_id}"),
            ),
            _ => Error::io(&path, e),
        })
    }

    fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        let dir = self.run_dir(run_id)?;
        validate_key(key, "metric")?;
        let path = crate::paths::local_join(&dir.join("metrics"), key)?;
        if !path.is_file() {
            return Ok(Vec::new());
        }
        read_metric_file(&path, key, false)
    }

    fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()> {
        let (dir, _) = self.active_run_dir(run_id)?;
        let exp_dir = dir.parent().unwrap_or(&dir).to_path_buf();
        for input in datasets {
            let d = &input.dataset;
            let dataset_id = md5_hex(&[&d.name, &d.digest]);
            meta::write(
                &exp_dir.join("datasets").join(&dataset_id).join("meta.yaml"),
                &[
                    ("digest", Yaml::Str(&d.digest)),
                    ("name", Yaml::Str(&d.name)),
                    ("profile", d.profile.as_deref().into()),
                    ("schema", d.schema.as_deref().into()),
                    ("source", Yaml::Str(&d.source)),
                    ("source_type", Yaml::Str(&d.source_type)),
                ],
            )?;
            let tags: Vec<(String, String)> = input
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect();
            let input_id = md5_hex(&[&dataset_id, run_id]);
            // The file store writes the source id as destination id too; matched so the files compare equal.
            meta::write(
                &dir.join("inputs").join(input_id).join("meta.yaml"),
                &[
                    ("destination_id", Yaml::Str(&dataset_id)),
                    ("destination_type", Yaml::Str("RUN")),
                    ("source_id", Yaml::Str(&dataset_id)),
                    ("source_type", Yaml::Str("DATASET")),
                    ("tags", Yaml::Map(&tags)),
                ],
            )?;
        }
        for model in models {
            validate_id(&model.model_id, "model")?;
            let input_id = md5_hex(&[&model.model_id, run_id]);
            meta::write(
                &dir.join("inputs").join(input_id).join("meta.yaml"),
                &[
                    ("destination_id", Yaml::Str(&model.model_id)),
                    ("destination_type", Yaml::Str("RUN")),
                    ("source_id", Yaml::Str(&model.model_id)),
                    ("source_type", Yaml::Str("MODEL")),
                    ("tags", Yaml::Map(&[])),
                ],
            )?;
        }
        Ok(())
    }

    fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        let (dir, _) = self.active_run_dir(run_id)?;
        for model in models {
            validate_id(&model.model_id, "model")?;
            meta::write(
                &dir.join("outputs").join(&model.model_id).join("meta.yaml"),
                &[
                    ("destination_id", Yaml::Str(&model.model_id)),
                    ("destination_type", Yaml::Str("MODEL_OUTPUT")),
                    ("source_id", Yaml::Str(&model.model_id)),
                    ("source_type", Yaml::Str("RUN_OUTPUT")),
                    ("step", Yaml::Int(model.step)),
                    ("tags", Yaml::Map(&[])),
                ],
            )?;
        }
        Ok(())
    }
}
