//! A project binary built on `tandem-cli`, as a Kedro project would be: it
//! registers its node functions, its pipelines, a dataset type of its own and
//! a hook, then hands the command line to [`tandem_cli::run_cli`].
//!
//! From a copy of `tests/fixtures/cars_project` (runs write into its `data/`),
//! with the `demo` environment, which configures the demo's own dataset type:
//!
//! ```text
//! tandem-demo run --env demo
//! tandem-demo run --env demo --params fail=true        # fails, prints the resume hint
//! tandem-demo run --env demo --from-nodes count,validate
//! tandem-demo run --env demo --pipeline stats --params column=engine_size --json
//! tandem-demo catalog describe max_mean --env demo
//! ```
//!
//! The default pipeline reads `cars` (a CSV table), computes the mean of the
//! column named by `params:column` and the row count, checks the mean against
//! `max_mean` (a `demo.ConstantDataset`) and writes a JSON summary. Setting
//! `params:fail` makes the check fail, which shows the resume hint.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{Array, Float64Array, Int64Array, RecordBatch};
use serde_json::{Value, json};
use tandem_catalog::{Dataset, DatasetConfig, DatasetDescription};
use tandem_cli::App;
use tandem_pipeline_core::{Data, Pipeline, node};
use tandem_runners::{DataMap, Hook, HookResult, RunInfo};

#[expect(
    clippy::print_stderr,
    reason = "logging starts inside run_cli, after the app is built"
)]
fn main() -> ExitCode {
    match app() {
        Ok(app) => tandem_cli::run_cli(std::env::args_os(), app),
        Err(e) => {
            // The pipelines are built from constants, so this only fires
            // after an edit that breaks them; say so instead of panicking.
            eprintln!("error: the demo's pipelines are invalid: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Everything the demo registers.
fn app() -> Result<App, tandem_pipeline_core::Error> {
    let stats = Pipeline::new([
        node(column_mean, ["cars", "params:column"], "mean_value")
            .name("mean")
            .tags(["stats"])
            .build()?,
        node(row_count, "cars", "row_count")
            .name("count")
            .tags(["stats"])
            .build()?,
    ])?;
    let checks = Pipeline::new([
        node(
            check_mean,
            ["mean_value", "max_mean", "params:fail"],
            "checked_mean",
        )
        .name("validate")
        .build()?,
        node(summarize, ["checked_mean", "row_count"], "summary")
            .name("report")
            .tags(["reporting"])
            .build()?,
    ])?;
    let default = stats.union(&checks)?;
    Ok(App::new()
        .function("demo::column_mean", column_mean)
        .function("demo::row_count", row_count)
        .function("demo::check_mean", check_mean)
        .function("demo::summarize", summarize)
        .pipeline("stats", stats)
        .pipeline("__default__", default)
        .dataset_type("demo.ConstantDataset", ConstantDataset::from_config)
        .hook(Arc::new(NodeCounter::default())))
}

/// The mean of a numeric column.
fn column_mean(table: &RecordBatch, column: String) -> Result<f64, String> {
    let values = table.column_by_name(&column).ok_or_else(|| {
        let names: Vec<&str> = table
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        format!("no column '{column}' (columns: {})", names.join(", "))
    })?;
    let numbers: Vec<f64> = if let Some(floats) = values.as_any().downcast_ref::<Float64Array>() {
        floats.iter().flatten().collect()
    } else if let Some(ints) = values.as_any().downcast_ref::<Int64Array>() {
        // Means of integer columns are fractional; precision loss above 2^53 is fine here.
        ints.iter().flatten().map(|v| v as f64).collect()
    } else {
        return Err(format!(
            "column '{column}' is {}, not a number",
            values.data_type()
        ));
    };
    if numbers.is_empty() {
        return Err(format!("column '{column}' has no values"));
    }
    Ok(numbers.iter().sum::<f64>() / numbers.len() as f64)
}

/// The number of rows.
fn row_count(table: &RecordBatch) -> i64 {
    i64::try_from(table.num_rows()).unwrap_or(i64::MAX)
}

/// Passes the mean on when it is within `max_mean`; fails when asked to.
fn check_mean(mean: &f64, max_mean: f64, fail: bool) -> Result<f64, String> {
    if fail {
        return Err("params:fail is true, so validation fails on purpose".to_owned());
    }
    if *mean > max_mean {
        return Err(format!("mean {mean} is above max_mean {max_mean}"));
    }
    Ok(*mean)
}

/// The JSON summary of a run.
fn summarize(mean: &f64, rows: &i64) -> Value {
    json!({"mean": mean, "rows": rows})
}

/// A read-only dataset whose value is written in catalog.yml:
/// `{type: demo.ConstantDataset, value: 42}`.
#[derive(Debug)]
struct ConstantDataset {
    value: Value,
}

impl ConstantDataset {
    fn from_config(config: &DatasetConfig) -> Result<Arc<dyn Dataset>, tandem_catalog::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Options {
            value: Value,
        }
        let options: Options = config.options_as()?;
        Ok(Arc::new(ConstantDataset {
            value: options.value,
        }))
    }
}

impl Dataset for ConstantDataset {
    fn load(&self) -> Result<Data, tandem_catalog::Error> {
        Ok(Data::json(self.value.clone()))
    }

    fn save(&self, _data: Data) -> Result<(), tandem_catalog::Error> {
        Err(tandem_catalog::Error::InvalidConfig {
            file: None,
            line: None,
            entry: None,
            message: "demo.ConstantDataset is read-only".to_owned(),
        })
    }

    fn exists(&self) -> Result<bool, tandem_catalog::Error> {
        Ok(true)
    }

    fn describe(&self) -> DatasetDescription {
        DatasetDescription {
            type_name: "demo.ConstantDataset".to_owned(),
            details: serde_json::Map::from_iter([("value".to_owned(), self.value.clone())]),
            ..DatasetDescription::default()
        }
    }
}

/// Counts the nodes that ran and logs the count when the pipeline finishes.
#[derive(Default)]
struct NodeCounter {
    nodes: AtomicUsize,
}

impl Hook for NodeCounter {
    fn name(&self) -> &str {
        "demo::NodeCounter"
    }

    fn after_node_run(
        &self,
        _run: &RunInfo<'_>,
        _node: &tandem_pipeline_core::Node,
        _inputs: &DataMap,
        _outputs: &DataMap,
    ) -> HookResult {
        self.nodes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn after_pipeline_run(&self, run: &RunInfo<'_>, _outputs: &DataMap) -> HookResult {
        tracing::info!(
            run_id = run.run_id,
            "demo hook: {} node(s) ran",
            self.nodes.load(Ordering::Relaxed)
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc as StdArc;

    use arrow_array::ArrayRef;

    fn cars() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "price",
                StdArc::new(Int64Array::from(vec![1, 2, 6])) as ArrayRef,
            ),
            (
                "name",
                StdArc::new(arrow_array::StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn means_of_numeric_columns() {
        assert_eq!(column_mean(&cars(), "price".to_owned()), Ok(3.0));
        let err = column_mean(&cars(), "name".to_owned()).unwrap_err();
        assert!(err.contains("not a number"), "{err}");
        let err = column_mean(&cars(), "pirce".to_owned()).unwrap_err();
        assert!(err.contains("columns: price, name"), "{err}");
    }

    #[test]
    fn the_check_fails_on_request_or_above_the_limit() {
        assert_eq!(check_mean(&2.0, 3.0, false), Ok(2.0));
        assert!(check_mean(&2.0, 3.0, true).is_err());
        assert!(check_mean(&4.0, 3.0, false).is_err());
    }

    #[test]
    fn the_app_builds() {
        let app = format!("{:?}", app().unwrap());
        assert!(
            app.contains("__default__") && app.contains("demo.ConstantDataset"),
            "{app}"
        );
    }
}
