//! The metric datasets: `mlflow.MlflowMetricDataset` (one value),
//! `mlflow.MlflowMetricHistoryDataset` (one metric's values by step) and
//! `mlflow.MlflowMetricsHistoryDataset` (several metrics at once).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tandem_catalog::{Dataset, DatasetConfig, DatasetDescription, Error};
use tandem_mlflow_client::{Metric, MlflowClient};
use tandem_pipeline_core::Data;

use crate::context::ActiveRun;
use crate::datasets::{Services, json_of, mlflow};

/// `metrics` without the points (same key, step and value) a shared run
/// already holds: a task retried into a DAG run's run would otherwise add
/// each of them again with a new timestamp (MLflow keeps every point, and
/// only drops exact duplicates, timestamp included). A run of its own logs
/// everything, as kedro-mlflow does.
fn unlogged(active: &ActiveRun, metrics: Vec<Metric>, dataset: &str) -> Result<Vec<Metric>, Error> {
    if !active.shared {
        return Ok(metrics);
    }
    let mut held: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for metric in &metrics {
        if !held.contains_key(&metric.key) {
            let history = active
                .client
                .metric_history(&active.run_id, &metric.key)
                .map_err(mlflow("read the metric history of", dataset))?;
            let points = history.iter().map(|m| (m.step, m.value)).collect();
            held.insert(metric.key.clone(), points);
        }
    }
    Ok(metrics
        .into_iter()
        .filter(|m| {
            !held[&m.key]
                .iter()
                .any(|&(step, value)| step == m.step && value.to_bits() == m.value.to_bits())
        })
        .collect())
}

/// A value that cannot be logged as a metric, as the error saving it gives.
fn not_a_metric(dataset: &str, expected: &str, data: &Data) -> Error {
    Error::config(
        dataset,
        format!(
            "cannot log a value of type `{}` as a metric: expected {expected}",
            data.type_name()
        ),
    )
}

/// A metric value: a float, an integer or a JSON number.
fn as_f64(data: &Data) -> Option<f64> {
    if let Ok(v) = data.downcast_ref::<f64>() {
        return Some(*v);
    }
    if let Ok(v) = data.downcast_ref::<f32>() {
        return Some(f64::from(*v));
    }
    json_of(data)?.as_f64()
}

/// Values by step (a list of numbers, or `Vec<f64>`).
fn as_f64_list(data: &Data) -> Option<Vec<f64>> {
    if let Ok(v) = data.downcast_ref::<Vec<f64>>() {
        return Some(v.clone());
    }
    json_of(data)?
        .as_array()?
        .iter()
        .map(Value::as_f64)
        .collect()
}

/// A metric's history ordered by step, the last logged value winning at
/// equal steps (MLflow keeps every value).
fn by_step(history: Vec<Metric>) -> BTreeMap<i64, f64> {
    let mut ordered = history;
    ordered.sort_by_key(|m| m.timestamp);
    ordered.into_iter().map(|m| (m.step, m.value)).collect()
}

fn describe(type_name: &str, details: Map<String, Value>) -> DatasetDescription {
    DatasetDescription {
        type_name: type_name.to_owned(),
        details,
        ..DatasetDescription::default()
    }
}

/// Whether `run_id` (or the active run) has the metric `key`; `false`
/// outside a run.
fn has_metric(
    services: &Services,
    dataset: &str,
    run_id: Option<&str>,
    key: &str,
) -> Result<bool, Error> {
    if run_id.is_none() && services.context.active().is_none() {
        return Ok(false);
    }
    let (client, run_id) = services.reading(dataset, run_id)?;
    let run = client
        .get_run(&run_id)
        .map_err(mlflow("read the run of", dataset))?;
    Ok(run.metric(key).is_some())
}

/// How a save picks its step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum SaveMode {
    /// Log at the configured step (0 when unset).
    #[default]
    Overwrite,
    /// Log one step after the highest step logged so far.
    Append,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricSaveArgs {
    step: Option<i64>,
    #[serde(default)]
    mode: SaveMode,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricLoadArgs {
    step: Option<i64>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricOptions {
    key: Option<String>,
    run_id: Option<String>,
    #[serde(default)]
    load_args: MetricLoadArgs,
    #[serde(default)]
    save_args: MetricSaveArgs,
}

/// `mlflow.MlflowMetricDataset`: saving a number logs it as metric `key`
/// (default: the dataset name) of the active run; loading returns the
/// value at `load_args.step`, or the latest step's, as an `f64`.
#[derive(Debug)]
pub(crate) struct MetricDataset {
    name: String,
    key: String,
    run_id: Option<String>,
    load_step: Option<i64>,
    save: MetricSaveArgs,
    services: Services,
}

impl MetricDataset {
    pub(crate) fn new(config: &DatasetConfig, services: Services) -> Result<Self, Error> {
        let options: MetricOptions = config.options_as()?;
        if options.save_args.mode == SaveMode::Append && options.save_args.step.is_some() {
            return Err(Error::config(
                &config.name,
                "save_args: 'step' and mode 'append' conflict; append picks the next step",
            ));
        }
        Ok(MetricDataset {
            name: config.name.clone(),
            key: options.key.unwrap_or_else(|| config.name.clone()),
            run_id: options.run_id,
            load_step: options.load_args.step,
            save: options.save_args,
            services,
        })
    }

    fn history(&self, client: &MlflowClient, run_id: &str) -> Result<BTreeMap<i64, f64>, Error> {
        client
            .metric_history(run_id, &self.key)
            .map(by_step)
            .map_err(mlflow("read the metric of", &self.name))
    }
}

impl Dataset for MetricDataset {
    fn load(&self) -> Result<Data, Error> {
        let (client, run_id) = self.services.reading(&self.name, self.run_id.as_deref())?;
        let history = self.history(&client, &run_id)?;
        let value = match self.load_step {
            Some(step) => history.get(&step).copied(),
            None => history.values().next_back().copied(),
        };
        let value = value.ok_or_else(|| {
            let at = self
                .load_step
                .map(|s| format!(" at step {s}"))
                .unwrap_or_default();
            Error::config(
                &self.name,
                format!("run '{run_id}' has no metric '{}'{at}", self.key),
            )
        })?;
        Ok(Data::new(value))
    }

    fn save(&self, data: Data) -> Result<(), Error> {
        let value = as_f64(&data).ok_or_else(|| not_a_metric(&self.name, "a number", &data))?;
        let Some(active) = self.services.logging_to(&self.name) else {
            return Ok(());
        };
        let step = match self.save.mode {
            SaveMode::Overwrite => self.save.step.unwrap_or(0),
            SaveMode::Append => self
                .history(&active.client, &active.run_id)?
                .keys()
                .next_back()
                .map_or(0, |last| last + 1),
        };
        if unlogged(
            &active,
            vec![Metric::new(&self.key, value, step)],
            &self.name,
        )?
        .is_empty()
        {
            return Ok(());
        }
        active
            .client
            .log_metric(&active.run_id, &self.key, value, step)
            .map_err(mlflow("log the metric of", &self.name))
    }

    fn exists(&self) -> Result<bool, Error> {
        has_metric(
            &self.services,
            &self.name,
            self.run_id.as_deref(),
            &self.key,
        )
    }

    fn describe(&self) -> DatasetDescription {
        let mut details = Map::new();
        details.insert("key".to_owned(), self.key.clone().into());
        if let Some(run_id) = &self.run_id {
            details.insert("run_id".to_owned(), run_id.clone().into());
        }
        describe(crate::datasets::types::METRIC, details)
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryOptions {
    key: Option<String>,
    run_id: Option<String>,
}

/// `mlflow.MlflowMetricHistoryDataset`: saving a list of numbers logs
/// value `i` at step `i`; loading returns the values ordered by step as a
/// `Vec<f64>`.
#[derive(Debug)]
pub(crate) struct MetricHistoryDataset {
    name: String,
    key: String,
    run_id: Option<String>,
    services: Services,
}

impl MetricHistoryDataset {
    pub(crate) fn new(config: &DatasetConfig, services: Services) -> Result<Self, Error> {
        let options: HistoryOptions = config.options_as()?;
        Ok(MetricHistoryDataset {
            name: config.name.clone(),
            key: options.key.unwrap_or_else(|| config.name.clone()),
            run_id: options.run_id,
            services,
        })
    }
}

impl Dataset for MetricHistoryDataset {
    fn load(&self) -> Result<Data, Error> {
        let (client, run_id) = self.services.reading(&self.name, self.run_id.as_deref())?;
        let history = client
            .metric_history(&run_id, &self.key)
            .map_err(mlflow("read the metric history of", &self.name))?;
        Ok(Data::new(
            by_step(history).into_values().collect::<Vec<f64>>(),
        ))
    }

    fn save(&self, data: Data) -> Result<(), Error> {
        let values = as_f64_list(&data)
            .ok_or_else(|| not_a_metric(&self.name, "a list of numbers", &data))?;
        let Some(active) = self.services.logging_to(&self.name) else {
            return Ok(());
        };
        let metrics: Vec<Metric> = (0_i64..)
            .zip(values)
            .map(|(step, value)| Metric::new(&self.key, value, step))
            .collect();
        let metrics = unlogged(&active, metrics, &self.name)?;
        if metrics.is_empty() {
            return Ok(());
        }
        active
            .client
            .log_batch(&active.run_id, &metrics, &[], &[])
            .map_err(mlflow("log the metric history of", &self.name))
    }

    fn exists(&self) -> Result<bool, Error> {
        has_metric(
            &self.services,
            &self.name,
            self.run_id.as_deref(),
            &self.key,
        )
    }

    fn describe(&self) -> DatasetDescription {
        let mut details = Map::new();
        details.insert("key".to_owned(), self.key.clone().into());
        describe(crate::datasets::types::METRIC_HISTORY, details)
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsOptions {
    prefix: Option<String>,
    run_id: Option<String>,
}

/// `mlflow.MlflowMetricsHistoryDataset`: saves a JSON object of metrics,
/// each logged as `<prefix>.<name>` (prefix: the dataset name). A metric
/// is a number (step 0), a list of numbers (steps 0..n), `{"value", "step"}`
/// or a list of those, as kedro-mlflow writes them. Loading returns every
/// metric of the run under the prefix as `{name: [{"value", "step"}...]}`
/// ordered by step.
#[derive(Debug)]
pub(crate) struct MetricsHistoryDataset {
    name: String,
    prefix: String,
    run_id: Option<String>,
    services: Services,
}

impl MetricsHistoryDataset {
    pub(crate) fn new(config: &DatasetConfig, services: Services) -> Result<Self, Error> {
        let options: MetricsOptions = config.options_as()?;
        Ok(MetricsHistoryDataset {
            name: config.name.clone(),
            prefix: options.prefix.unwrap_or_else(|| config.name.clone()),
            run_id: options.run_id,
            services,
        })
    }

    fn key(&self, metric: &str) -> String {
        format!("{}.{metric}", self.prefix)
    }

    /// One metric's values as `(step, value)` pairs.
    fn points(&self, metric: &str, value: &Value) -> Result<Vec<(i64, f64)>, Error> {
        let point = |index: i64, v: &Value| match v {
            Value::Number(n) => n.as_f64().map(|x| (index, x)),
            Value::Object(o) => Some((
                o.get("step").map_or(Some(index), Value::as_i64)?,
                o.get("value")?.as_f64()?,
            )),
            _ => None,
        };
        let points = match value {
            Value::Array(items) => (0_i64..).zip(items).map(|(i, v)| point(i, v)).collect(),
            single => point(0, single).map(|p| vec![p]),
        };
        points.ok_or_else(|| {
            Error::config(
                &self.name,
                format!(
                    "metric '{metric}' must be a number, a list of numbers, {{value, step}} or a \
                     list of those, found {value}"
                ),
            )
        })
    }
}

impl Dataset for MetricsHistoryDataset {
    fn load(&self) -> Result<Data, Error> {
        let (client, run_id) = self.services.reading(&self.name, self.run_id.as_deref())?;
        let run = client
            .get_run(&run_id)
            .map_err(mlflow("read the run of", &self.name))?;
        let prefix = format!("{}.", self.prefix);
        let mut metrics = Map::new();
        for latest in &run.data.metrics {
            let Some(metric) = latest.key.strip_prefix(&prefix) else {
                continue;
            };
            let history = client
                .metric_history(&run_id, &latest.key)
                .map_err(mlflow("read the metric history of", &self.name))?;
            let points = by_step(history)
                .into_iter()
                .map(|(step, value)| json!({"value": value, "step": step}))
                .collect();
            metrics.insert(metric.to_owned(), Value::Array(points));
        }
        Ok(Data::json(Value::Object(metrics)))
    }

    fn save(&self, data: Data) -> Result<(), Error> {
        let Some(Value::Object(values)) = json_of(&data) else {
            return Err(not_a_metric(
                &self.name,
                "a JSON object of metric name to value(s)",
                &data,
            ));
        };
        let mut metrics = Vec::new();
        for (metric, value) in &values {
            let key = self.key(metric);
            for (step, v) in self.points(metric, value)? {
                metrics.push(Metric::new(&key, v, step));
            }
        }
        let Some(active) = self.services.logging_to(&self.name) else {
            return Ok(());
        };
        let metrics = unlogged(&active, metrics, &self.name)?;
        if metrics.is_empty() {
            return Ok(());
        }
        active
            .client
            .log_batch(&active.run_id, &metrics, &[], &[])
            .map_err(mlflow("log the metrics of", &self.name))
    }

    fn exists(&self) -> Result<bool, Error> {
        if self.run_id.is_none() && self.services.context.active().is_none() {
            return Ok(false);
        }
        let (client, run_id) = self.services.reading(&self.name, self.run_id.as_deref())?;
        let run = client
            .get_run(&run_id)
            .map_err(mlflow("read the run of", &self.name))?;
        let prefix = format!("{}.", self.prefix);
        Ok(run.data.metrics.iter().any(|m| m.key.starts_with(&prefix)))
    }

    fn describe(&self) -> DatasetDescription {
        let mut details = Map::new();
        details.insert("prefix".to_owned(), self.prefix.clone().into());
        describe(crate::datasets::types::METRICS_HISTORY, details)
    }
}
