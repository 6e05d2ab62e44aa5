//! What the training run left on the MLflow server, checked through its
//! REST API (`/api/2.0/mlflow/...`) and artifact proxy
//! (`/api/2.0/mlflow-artifacts/...`), the way any MLflow client sees it.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tandem_test_support::http::{self, clip, encode};

const TIMEOUT: Duration = Duration::from_secs(60);
const API: &str = "/api/2.0/mlflow";

/// The training run as the checks found it.
#[derive(Debug, Clone)]
pub struct TrainingRun {
    pub run_id: String,
    pub experiment_id: String,
}

/// The logged model of the run.
#[derive(Debug, Clone)]
pub struct LoggedModel {
    pub model_id: String,
    pub artifact_uri: String,
}

fn get(port: u16, path: &str) -> Result<Value, String> {
    http::get(port, &format!("{API}/{path}"), TIMEOUT)?
        .ok_json()
        .map_err(|e| format!("GET {path}: {e}"))
}

fn post(port: u16, path: &str, body: &Value) -> Result<Value, String> {
    http::send_json(port, "POST", &format!("{API}/{path}"), body, TIMEOUT)?
        .ok_json()
        .map_err(|e| format!("POST {path}: {e}"))
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {pointer} in {}", clip(&value.to_string())))
}

/// `key → value` of MLflow's `[{key, value}]` lists.
fn entries(list: Option<&Value>) -> Vec<(&str, &Value)> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| Some((i.get("key")?.as_str()?, i.get("value")?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The experiment's one run: FINISHED, with the project's parameters
/// (`seed`, `threshold`, flattened `model.alpha`) and the evaluation
/// metrics (`metrics.accuracy`...). Returns the run and a one-line summary.
pub fn check_run(port: u16, experiment: &str) -> Result<(TrainingRun, String), String> {
    let found = get(
        port,
        &format!(
            "experiments/get-by-name?experiment_name={}",
            encode(experiment)
        ),
    )?;
    let experiment_id = str_at(&found, "/experiment/experiment_id")?.to_owned();
    let search = post(
        port,
        "runs/search",
        &json!({"experiment_ids": [experiment_id], "max_results": 10}),
    )?;
    let runs = search
        .get("runs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let [run] = runs.as_slice() else {
        return Err(format!(
            "expected one run in experiment {experiment}, found {}",
            runs.len()
        ));
    };
    let run_id = str_at(run, "/info/run_id")?.to_owned();
    let status = str_at(run, "/info/status")?;
    if status != "FINISHED" {
        return Err(format!("run {run_id} is {status}, not FINISHED"));
    }
    let params = entries(run.pointer("/data/params"));
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.as_str())
    };
    for (key, expected) in [("seed", "42"), ("threshold", "0.5"), ("model.alpha", "1.0")] {
        match param(key) {
            Some(v) if v.parse::<f64>().ok() == expected.parse::<f64>().ok() => {}
            other => {
                return Err(format!(
                    "param {key}: expected {expected}, found {other:?} (params: {})",
                    params
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    let metrics = entries(run.pointer("/data/metrics"));
    let metric = |key: &str| {
        metrics
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.as_f64())
    };
    for key in ["metrics.accuracy", "metrics.roc_auc", "metrics.f1"] {
        match metric(key) {
            Some(v) if (0.0..=1.0).contains(&v) => {}
            other => {
                return Err(format!(
                    "metric {key}: expected a value in [0, 1], found {other:?} (metrics: {})",
                    metrics
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    let summary = format!(
        "run {run_id} FINISHED, {} params, {} metrics (accuracy {:.3}, roc_auc {:.3})",
        params.len(),
        metrics.len(),
        metric("metrics.accuracy").unwrap_or_default(),
        metric("metrics.roc_auc").unwrap_or_default()
    );
    Ok((
        TrainingRun {
            run_id,
            experiment_id,
        },
        summary,
    ))
}

/// The run's logged model (MLflow 3): named in the run's outputs, READY,
/// with the run as its source.
pub fn check_logged_model(port: u16, run: &TrainingRun) -> Result<LoggedModel, String> {
    let got = get(port, &format!("runs/get?run_id={}", encode(&run.run_id)))?;
    let from_outputs = got
        .pointer("/run/outputs/model_outputs")
        .and_then(Value::as_array)
        .and_then(|outputs| outputs.first())
        .and_then(|o| o.get("model_id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let model_id = match from_outputs {
        Some(id) => id,
        None => {
            let search = post(
                port,
                "logged-models/search",
                &json!({"experiment_ids": [run.experiment_id]}),
            )?;
            let models = search
                .get("models")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ours = models.iter().find(|m| {
                m.pointer("/info/source_run_id").and_then(Value::as_str)
                    == Some(run.run_id.as_str())
            });
            let ours = ours.ok_or_else(|| {
                format!(
                    "run {} has no model output and no logged model names it as source \
                     ({} logged models in the experiment)",
                    run.run_id,
                    models.len()
                )
            })?;
            str_at(ours, "/info/model_id")?.to_owned()
        }
    };
    let model = get(port, &format!("logged-models/{}", encode(&model_id)))?;
    let status = str_at(&model, "/model/info/status")?;
    if status != "LOGGED_MODEL_READY" {
        return Err(format!("logged model {model_id} is {status}"));
    }
    let source = model
        .pointer("/model/info/source_run_id")
        .and_then(Value::as_str);
    if source != Some(run.run_id.as_str()) {
        return Err(format!(
            "logged model {model_id} has source run {source:?}, expected {}",
            run.run_id
        ));
    }
    let artifact_uri = str_at(&model, "/model/info/artifact_uri")?.to_owned();
    check_model_depth(port, &model, &got, &model_id, &artifact_uri)?;
    Ok(LoggedModel {
        model_id,
        artifact_uri,
    })
}

/// What MLflow's own `log_model` leaves, and the UI shows: the run's params
/// and metrics on the logged model, the run's provenance tags, and an
/// MLmodel naming its MLflow version, model id and output schema.
fn check_model_depth(
    port: u16,
    model: &Value,
    run: &Value,
    model_id: &str,
    artifact_uri: &str,
) -> Result<(), String> {
    let params = entries(model.pointer("/model/data/params"));
    for key in ["seed", "threshold"] {
        if !params.iter().any(|(k, _)| *k == key) {
            return Err(format!(
                "logged model {model_id} lacks the run's param {key} (has {})",
                params.len()
            ));
        }
    }
    let metrics = model
        .pointer("/model/data/metrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let linked = metrics.iter().any(|m| {
        m.get("key").and_then(Value::as_str) == Some("metrics.accuracy")
            && m.get("model_id").and_then(Value::as_str) == Some(model_id)
    });
    if !linked {
        return Err(format!(
            "logged model {model_id} has no metrics.accuracy linked to it ({} metrics)",
            metrics.len()
        ));
    }
    let tags = entries(run.pointer("/run/data/tags"));
    for key in ["mlflow.user", "mlflow.source.name", "mlflow.source.type"] {
        if !tags.iter().any(|(k, _)| *k == key) {
            return Err(format!("the run lacks the provenance tag {key}"));
        }
    }
    let mlmodel = download_file(port, artifact_uri, "MLmodel")?;
    let mlmodel = String::from_utf8_lossy(&mlmodel);
    for line in [
        "mlflow_version: ".to_owned(),
        format!("model_id: {model_id}"),
        format!("model_uuid: {model_id}"),
        "  outputs: ".to_owned(),
    ] {
        if !mlmodel.lines().any(|l| l.starts_with(line.as_str())) {
            return Err(format!("the MLmodel lacks `{}`", line.trim()));
        }
    }
    Ok(())
}

/// The registered model has a READY version from the run (or its logged
/// model), and `alias` points at it. Returns the version.
pub fn check_registry(
    port: u16,
    name: &str,
    alias: &str,
    run: &TrainingRun,
    model: &LoggedModel,
) -> Result<String, String> {
    get(
        port,
        &format!("registered-models/get?name={}", encode(name)),
    )?;
    let filter = format!("name='{name}'");
    let search = get(
        port,
        &format!("model-versions/search?filter={}", encode(&filter)),
    )?;
    let versions = search
        .get("model_versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ours = versions.iter().find(|v| {
        v.get("run_id").and_then(Value::as_str) == Some(run.run_id.as_str())
            || v.get("model_id").and_then(Value::as_str) == Some(model.model_id.as_str())
    });
    let ours = ours.ok_or_else(|| {
        format!(
            "registered model {name} has no version from run {} ({} versions)",
            run.run_id,
            versions.len()
        )
    })?;
    let version = str_at(ours, "/version")?.to_owned();
    let status = str_at(ours, "/status")?;
    if status != "READY" {
        return Err(format!("{name} version {version} is {status}"));
    }
    let aliased = get(
        port,
        &format!(
            "registered-models/alias?name={}&alias={}",
            encode(name),
            encode(alias)
        ),
    )?;
    let aliased_version = str_at(&aliased, "/model_version/version")?;
    if aliased_version != version {
        return Err(format!(
            "alias {alias} points at version {aliased_version}, expected {version}"
        ));
    }
    Ok(version)
}

/// The proxy path of a `mlflow-artifacts:` URI (its netloc, if any, is
/// this server).
fn proxy_path(artifact_uri: &str) -> Result<String, String> {
    let rest = artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .ok_or_else(|| format!("not a proxied artifact URI: {artifact_uri}"))?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
        None => rest,
    };
    Ok(rest.trim_matches('/').to_owned())
}

fn encode_path(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// Downloads one file below a proxied artifact URI.
pub fn download_file(port: u16, artifact_uri: &str, relative: &str) -> Result<Vec<u8>, String> {
    let path = format!("{}/{relative}", proxy_path(artifact_uri)?);
    let response = http::get(
        port,
        &format!("/api/2.0/mlflow-artifacts/artifacts/{}", encode_path(&path)),
        TIMEOUT,
    )?;
    if response.status == 200 {
        Ok(response.body)
    } else {
        Err(format!(
            "download {artifact_uri}/{relative}: HTTP {}: {}",
            response.status,
            clip(&response.text())
        ))
    }
}

/// Downloads the whole tree below a proxied artifact URI into `dest`;
/// returns the number of files.
pub fn download_dir(port: u16, artifact_uri: &str, dest: &Path) -> Result<usize, String> {
    download_below(port, artifact_uri, "", dest)
}

fn download_below(port: u16, artifact_uri: &str, sub: &str, dest: &Path) -> Result<usize, String> {
    let root = proxy_path(artifact_uri)?;
    let path = if sub.is_empty() {
        root
    } else {
        format!("{root}/{sub}")
    };
    let listing = http::get(
        port,
        &format!("/api/2.0/mlflow-artifacts/artifacts?path={}", encode(&path)),
        TIMEOUT,
    )?
    .ok_json()
    .map_err(|e| format!("list {path}: {e}"))?;
    std::fs::create_dir_all(dest).map_err(|e| format!("create {}: {e}", dest.display()))?;
    let mut count = 0;
    for file in listing
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_at(file, "/path")?;
        let name = name.rsplit('/').next().unwrap_or(name);
        if name.is_empty() || name == "." || name == ".." {
            return Err(format!("bad artifact name {name:?} in {path}"));
        }
        let relative = if sub.is_empty() {
            name.to_owned()
        } else {
            format!("{sub}/{name}")
        };
        if file.get("is_dir").and_then(Value::as_bool) == Some(true) {
            count += download_below(port, artifact_uri, &relative, &dest.join(name))?;
        } else {
            let bytes = download_file(port, artifact_uri, &relative)?;
            let target = dest.join(name);
            std::fs::write(&target, bytes)
                .map_err(|e| format!("write {}: {e}", target.display()))?;
            count += 1;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxied_uris_become_proxy_paths() {
        assert_eq!(
            proxy_path("mlflow-artifacts:/1/models/m-1/artifacts").unwrap(),
            "1/models/m-1/artifacts"
        );
        assert_eq!(
            proxy_path("mlflow-artifacts://127.0.0.1:5000/1/r/artifacts").unwrap(),
            "1/r/artifacts"
        );
        assert!(proxy_path("s3://b/k").is_err());
    }
}
