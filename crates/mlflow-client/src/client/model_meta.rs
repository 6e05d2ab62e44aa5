//! What MLflow's `Model.log` records about a logged model besides its
//! files: the run's provenance and params, the run's metrics linked to the
//! model, the ids written into its `MLmodel`, and the registered versions
//! it became.

use std::path::Path;

use serde_json::Value;

use super::MlflowClient;
use crate::error::{Error, Result};
use crate::types::{Metric, ModelVersion, Param, Run, Tag};

/// The run tags MLflow's run context providers set (user, source, git)
/// that `Model.log` also puts on the model it creates: the same process
/// logs both, so the run's values are the model's.
pub(crate) const PROVENANCE_TAGS: &[&str] = &[
    "mlflow.user",
    "mlflow.source.name",
    "mlflow.source.type",
    "mlflow.source.git.commit",
    "mlflow.source.git.branch",
    "mlflow.source.git.repoURL",
];

/// The logged-model tag listing the registered versions made from it.
pub(crate) const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

/// `explicit` params merged with the run's: the run wins a clash, as in
/// `Model.log` (`{**params, **run.data.params}`). Explicit ones keep their
/// order, the run's new keys follow.
pub(crate) fn merged_params(explicit: &[Param], run: &Run) -> Vec<Param> {
    let mut params: Vec<Param> = explicit
        .iter()
        .map(|p| {
            run.data
                .params
                .iter()
                .find(|r| r.key == p.key)
                .unwrap_or(p)
                .clone()
        })
        .collect();
    for param in &run.data.params {
        if !params.iter().any(|p| p.key == param.key) {
            params.push(param.clone());
        }
    }
    params
}

/// The run's provenance tags for its model (`mlflow.user` from the run's
/// user when the run has no such tag, as a run created over REST without
/// one still has a user).
pub(crate) fn provenance_tags(run: &Run) -> Vec<Tag> {
    let mut tags: Vec<Tag> = PROVENANCE_TAGS
        .iter()
        .filter_map(|key| run.data.tags.iter().find(|t| t.key == *key).cloned())
        .collect();
    if !tags.iter().any(|t| t.key == "mlflow.user") && !run.info.user_id.is_empty() {
        tags.insert(0, Tag::new("mlflow.user", run.info.user_id.clone()));
    }
    tags
}

/// Writes the logged model's identity into `<dir>/MLmodel`, as `Model.log`
/// writes it before uploading: `model_id`, `model_uuid` (the same id),
/// `artifact_path` (the model's artifact URI) and `run_id`. The file is
/// rewritten in place, keys sorted as MLflow (PyYAML) writes them; a
/// directory without one is left alone.
pub(crate) fn stamp_mlmodel(
    dir: &Path,
    model_id: &str,
    artifact_uri: &str,
    run_id: &str,
) -> Result<()> {
    let path = dir.join("MLmodel");
    let mut model = match super::models::read_mlmodel_as_json(dir)? {
        Value::Object(map) if !map.is_empty() => map,
        _ => return Ok(()),
    };
    model.insert("model_id".to_owned(), model_id.into());
    model.insert("model_uuid".to_owned(), model_id.into());
    model.insert("artifact_path".to_owned(), artifact_uri.into());
    model.insert("run_id".to_owned(), run_id.into());
    let text = serde_saphyr::to_string(&sorted(Value::Object(model))).map_err(|e| {
        Error::CorruptStore {
            path: path.clone(),
            message: format!("cannot write YAML: {e}"),
        }
    })?;
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
}

/// Every mapping's keys sorted, whatever order `serde_json` keeps.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let entries: std::collections::BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The `mlflow.modelVersions` value with `version` added to `existing`
/// (the tag's current JSON, if any), or `None` when it is listed already
/// (a tracking server adds it itself when a version names its model). The
/// version is a number, as MLflow's store writes it.
pub(crate) fn model_versions_value(
    existing: Option<&str>,
    version: &ModelVersion,
) -> Option<String> {
    let number: Value = version
        .version
        .parse::<u64>()
        .map_or_else(|_| Value::from(version.version.clone()), Value::from);
    // A tag that is not a JSON list (written by hand) is replaced, as
    // MLflow's `json.loads(...) + new` would fail on it.
    let mut list = existing
        .and_then(|text| serde_json::from_str::<Vec<Value>>(text).ok())
        .unwrap_or_default();
    let listed = list.iter().any(|entry| {
        entry["name"].as_str() == Some(version.name.as_str())
            && (entry["version"] == number || entry["version"].as_str() == Some(&version.version))
    });
    if listed {
        return None;
    }
    let mut entry = serde_json::Map::new();
    entry.insert("name".to_owned(), version.name.clone().into());
    entry.insert("version".to_owned(), number);
    list.push(Value::Object(entry));
    Some(python_dumps(&Value::Array(list)))
}

/// `json.dumps` with Python's defaults: `", "` and `": "` separators,
/// non-ASCII escaped.
fn python_dumps(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_dumps).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", ascii_json(k), python_dumps(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::String(text) => ascii_json(text),
        other => other.to_string(),
    }
}

fn ascii_json(text: &str) -> String {
    let quoted = Value::from(text).to_string();
    let mut out = String::with_capacity(quoted.len());
    for c in quoted.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

impl MlflowClient {
    /// Logs `value` of metric `key` at `step` for run `run_id` about the
    /// logged model `model_id`: it is part of the run's history and of the
    /// model's metrics (`get_logged_model(id).data.metrics`), as
    /// `mlflow.log_metric(..., model_id=...)` records it.
    pub fn log_metric_for_model(
        &self,
        run_id: &str,
        model_id: &str,
        key: &str,
        value: f64,
        step: i64,
    ) -> Result<()> {
        let mut metric = Metric::new(key, value, step);
        metric.model_id = Some(model_id.to_owned());
        self.log_batch(run_id, &[metric], &[], &[])
    }

    /// Records on logged model `model_id` that `version` was registered
    /// from it: the `mlflow.modelVersions` tag, appended to (MLflow's
    /// `register_model` does the same).
    pub fn tag_model_version(&self, model_id: &str, version: &ModelVersion) -> Result<()> {
        let model = self.get_logged_model(model_id)?;
        let existing = model
            .info
            .tags
            .iter()
            .find(|t| t.key == MODEL_VERSIONS_TAG)
            .map(|t| t.value.as_str());
        match model_versions_value(existing, version) {
            Some(value) => {
                self.set_logged_model_tags(model_id, &[Tag::new(MODEL_VERSIONS_TAG, value)])
            }
            None => Ok(()),
        }
    }

    /// Re-logs the run's metrics at `step` that name no model with
    /// `model_id`, as `Model.log` does right after linking a model to its
    /// run: the values already logged then describe that model.
    pub(crate) fn link_run_metrics(&self, run: &Run, model_id: &str, step: i64) -> Result<()> {
        let mut linked = Vec::new();
        for key in run.data.metrics.iter().map(|m| &m.key) {
            for metric in self.metric_history(&run.info.run_id, key)? {
                if metric.step == step && metric.model_id.is_none() {
                    linked.push(Metric {
                        model_id: Some(model_id.to_owned()),
                        ..metric
                    });
                }
            }
        }
        if linked.is_empty() {
            return Ok(());
        }
        self.log_batch(&run.info.run_id, &linked, &[], &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(name: &str, n: &str) -> ModelVersion {
        ModelVersion {
            name: name.to_owned(),
            version: n.to_owned(),
            ..ModelVersion::default()
        }
    }

    #[test]
    fn versions_are_appended_once_as_mlflow_writes_them() {
        let first = model_versions_value(None, &version("tiny-reg", "1")).unwrap();
        assert_eq!(first, r#"[{"name": "tiny-reg", "version": 1}]"#);
        assert_eq!(
            model_versions_value(Some(&first), &version("tiny-reg", "1")),
            None
        );
        assert_eq!(
            model_versions_value(
                Some(r#"[{"name": "tiny-reg", "version": "1"}]"#),
                &version("tiny-reg", "1")
            ),
            None
        );
        assert_eq!(
            model_versions_value(Some(&first), &version("другой", "2")).unwrap(),
            r#"[{"name": "tiny-reg", "version": 1}, {"name": "\u0434\u0440\u0443\u0433\u043e\u0439", "version": 2}]"#
        );
        assert_eq!(
            model_versions_value(Some("not json"), &version("a", "3")).unwrap(),
            r#"[{"name": "a", "version": 3}]"#
        );
    }

    #[test]
    fn the_run_wins_a_param_clash_and_provenance_is_copied() {
        let mut run = Run::default();
        run.info.user_id = "alice".to_owned();
        run.data.params = vec![Param::new("lr", "from_run"), Param::new("alpha", "0.5")];
        run.data.tags = vec![
            Tag::new("mlflow.source.name", "train"),
            Tag::new("mlflow.source.type", "LOCAL"),
            Tag::new("team", "x"),
        ];
        let merged = merged_params(
            &[Param::new("lr", "explicit"), Param::new("depth", "3")],
            &run,
        );
        assert_eq!(
            merged,
            vec![
                Param::new("lr", "from_run"),
                Param::new("depth", "3"),
                Param::new("alpha", "0.5")
            ]
        );
        assert_eq!(
            provenance_tags(&run),
            vec![
                Tag::new("mlflow.user", "alice"),
                Tag::new("mlflow.source.name", "train"),
                Tag::new("mlflow.source.type", "LOCAL"),
            ]
        );
    }

    #[test]
    fn mlmodel_gets_the_logged_models_identity() {
        let dir = tempfile::tempdir().unwrap();
        stamp_mlmodel(dir.path(), "m-1", "file:///a", "r").unwrap();
        assert!(!dir.path().join("MLmodel").exists());
        std::fs::write(
            dir.path().join("MLmodel"),
            "model_uuid: abc\nflavors:\n  python_function:\n    loader_module: x\nartifact_path: model\n",
        )
        .unwrap();
        stamp_mlmodel(dir.path(), "m-1", "file:///a/m-1/artifacts", "r1").unwrap();
        let json = super::super::models::read_mlmodel_as_json(dir.path()).unwrap();
        assert_eq!(json["model_id"], "m-1");
        assert_eq!(json["model_uuid"], "m-1");
        assert_eq!(json["artifact_path"], "file:///a/m-1/artifacts");
        assert_eq!(json["run_id"], "r1");
        assert_eq!(json["flavors"]["python_function"]["loader_module"], "x");
        let text = std::fs::read_to_string(dir.path().join("MLmodel")).unwrap();
        assert!(text.starts_with("artifact_path:"), "{text}");
    }
}
