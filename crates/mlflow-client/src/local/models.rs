//! MLflow 3 logged models in the local store
//! (`<experiment>/models/<m-id>/`).

use std::path::Path;

use serde::Deserialize;

use super::meta::{self, Yaml, lenient_opt_string, lenient_string};
use super::runs::latest_metrics;
use super::{LocalStore, paginate, read_key_files, validate_key, write_key_file};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{Experiments, LoggedModelQuery, LoggedModels, NewLoggedModel};
use crate::types::{
    LoggedModel, LoggedModelData, LoggedModelInfo, LoggedModelStatus, Page, Param, Tag, ViewType,
    now_millis,
};

#[derive(Deserialize, Default)]
#[serde(default)]
struct ModelMeta {
    artifact_location: Option<String>,
    creation_timestamp: Option<i64>,
    #[serde(deserialize_with = "lenient_string")]
    experiment_id: String,
    last_updated_timestamp: Option<i64>,
    #[serde(deserialize_with = "lenient_string")]
    model_id: String,
    #[serde(deserialize_with = "lenient_opt_string")]
    model_type: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    name: String,
    #[serde(deserialize_with = "lenient_opt_string")]
    source_run_id: Option<String>,
    status: Option<i64>,
    #[serde(deserialize_with = "lenient_opt_string")]
    status_message: Option<String>,
}

fn write_model_meta(dir: &Path, info: &LoggedModelInfo) -> Result<()> {
    meta::write(
        &dir.join("meta.yaml"),
        &[
            ("artifact_location", Yaml::Str(&info.artifact_uri)),
            ("creation_timestamp", info.creation_timestamp_ms.into()),
            ("experiment_id", Yaml::Str(&info.experiment_id)),
            (
                "last_updated_timestamp",
                info.last_updated_timestamp_ms.into(),
            ),
            ("lifecycle_stage", Yaml::Str("active")),
            ("model_id", Yaml::Str(&info.model_id)),
            ("model_type", info.model_type.as_deref().into()),
            ("name", Yaml::Str(&info.name)),
            ("source_run_id", info.source_run_id.as_deref().into()),
            ("status", Yaml::Int(info.status.file_code())),
            ("status_message", info.status_message.as_deref().into()),
        ],
    )
}

/// The `name = '…'` / `source_run_id = '…'` conjunctions the local store
/// evaluates; anything else is refused rather than silently ignored.
fn parse_filter(filter: &str) -> Result<Vec<(String, String)>> {
    let mut clauses = Vec::new();
    for clause in filter
        .split(" AND ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let parsed = clause.split_once('=').and_then(|(field, value)| {
            let value = value.trim();
            let unquoted = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))?;
            Some((field.trim().to_owned(), unquoted.to_owned()))
        });
        match parsed {
            Some((field, value)) if field == "name" || field == "source_run_id" => {
                clauses.push((field, value));
            }
            _ => {
                return Err(Error::unsupported(format!(
                    "the local store only filters logged models by name = '…' and \
                     source_run_id = '…'; cannot evaluate '{clause}'"
                )));
            }
        }
    }
    Ok(clauses)
}

impl LocalStore {
    pub(super) fn read_logged_model(&self, dir: &Path) -> Result<LoggedModel> {
        let m: ModelMeta = meta::read(&dir.join("meta.yaml"))?;
        let tags = read_key_files(&dir.join("tags"))?
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect();
        let params = read_key_files(&dir.join("params"))?
            .into_iter()
            .map(|(key, value)| Param { key, value })
            .collect();
        // Model metric lines carry the logging run after the step.
        let metrics = latest_metrics(&dir.join("metrics"), true)?;
        Ok(LoggedModel {
            info: LoggedModelInfo {
                artifact_uri: m
                    .artifact_location
                    .unwrap_or_else(|| LocalStore::file_uri(&dir.join("artifacts"))),
                model_id: m.model_id,
                experiment_id: m.experiment_id,
                name: m.name,
                status: LoggedModelStatus::from_file_code(m.status.unwrap_or(0)),
                status_message: m.status_message,
                source_run_id: m.source_run_id,
                model_type: m.model_type,
                creation_timestamp_ms: m.creation_timestamp,
                last_updated_timestamp_ms: m.last_updated_timestamp,
                tags,
            },
            data: LoggedModelData { params, metrics },
        })
    }
}

impl LoggedModels for LocalStore {
    fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel> {
        let experiment = self.get_experiment(&model.experiment_id)?;
        if experiment.is_deleted() {
            return Err(Error::mlflow(
                ErrorCode::InvalidState,
                format!(
                    "Could not create model under non-active experiment with ID {}.",
                    model.experiment_id
                ),
            ));
        }
        for key in model
            .params
            .iter()
            .map(|p| &p.key)
            .chain(model.tags.iter().map(|t| &t.key))
        {
            validate_key(key, "param or tag")?;
        }
        let model_id = format!("m-{}", crate::types::random_hex());
        let dir = self
            .experiment_dir(&model.experiment_id)?
            .join("models")
            .join(&model_id);
        let now = now_millis();
        let info = LoggedModelInfo {
            artifact_uri: format!(
                "{}/models/{model_id}/artifacts",
                experiment.artifact_location.trim_end_matches('/')
            ),
            model_id,
            experiment_id: model.experiment_id.clone(),
            name: model
                .name
                .clone()
                .unwrap_or_else(|| format!("model-{}", &crate::types::random_hex()[..8])),
            status: LoggedModelStatus::Pending,
            status_message: None,
            source_run_id: model.source_run_id.clone(),
            model_type: model.model_type.clone(),
            creation_timestamp_ms: Some(now),
            last_updated_timestamp_ms: Some(now),
            tags: Vec::new(),
        };
        for sub in ["metrics", "params", "tags"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        write_model_meta(&dir, &info)?;
        for param in &model.params {
            write_key_file(&dir.join("params"), &param.key, &param.value)?;
        }
        for tag in &model.tags {
            write_key_file(&dir.join("tags"), &tag.key, &tag.value)?;
        }
        self.read_logged_model(&dir)
    }

    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        let dir = self.model_dir(model_id)?;
        let mut model = self.read_logged_model(&dir)?;
        model.info.status = status;
        model.info.last_updated_timestamp_ms = Some(now_millis());
        write_model_meta(&dir, &model.info)?;
        Ok(model)
    }

    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        self.read_logged_model(&self.model_dir(model_id)?)
    }

    fn search_logged_models(
        &self,
        query: &LoggedModelQuery,
        page_token: Option<&str>,
    ) -> Result<Page<LoggedModel>> {
        if !query.order_by.is_empty() {
            return Err(Error::unsupported(
                "the local store does not order logged-model searches; use a tracking server",
            ));
        }
        let clauses = parse_filter(query.filter.as_deref().unwrap_or(""))?;
        let mut models = Vec::new();
        for exp_dir in self.experiment_dirs(ViewType::All)? {
            let id = exp_dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !query.experiment_ids.is_empty() && !query.experiment_ids.contains(&id) {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(exp_dir.join("models")) else {
                continue;
            };
            for entry in entries {
                let dir = entry.map_err(|e| Error::io(&exp_dir, e))?.path();
                if !dir.join("meta.yaml").is_file() {
                    continue;
                }
                let model = self.read_logged_model(&dir)?;
                let keep = clauses.iter().all(|(field, value)| match field.as_str() {
                    "name" => &model.info.name == value,
                    _ => model.info.source_run_id.as_deref() == Some(value.as_str()),
                });
                if keep {
                    models.push(model);
                }
            }
        }
        models.sort_by(|a, b| {
            b.info
                .creation_timestamp_ms
                .cmp(&a.info.creation_timestamp_ms)
                .then_with(|| a.info.model_id.cmp(&b.info.model_id))
        });
        paginate(models, query.max_results.unwrap_or(50) as usize, page_token)
    }

    fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        let dir = self.model_dir(model_id)?.join("tags");
        for tag in tags {
            validate_key(&tag.key, "tag")?;
            write_key_file(&dir, &tag.key, &tag.value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_parsed_or_refused() {
        assert_eq!(
            parse_filter("name = 'model' AND source_run_id = \"abc\"").unwrap(),
            [
                ("name".to_owned(), "model".to_owned()),
                ("source_run_id".to_owned(), "abc".to_owned())
            ]
        );
        assert!(parse_filter("").unwrap().is_empty());
        assert_eq!(
            parse_filter("metrics.acc > 0.5").unwrap_err().kind(),
            "unsupported"
        );
    }
}
