//! Kedro's catalog commands: `tandem catalog list-patterns`,
//! `resolve-patterns` and `describe-datasets`, with the shapes `kedro
//! catalog ...` prints (see the render module for the YAML).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use tandem_catalog::{DataCatalog, ProjectConfig};
use tandem_pipeline_ml::AnyPipeline;

use super::registry::PipelineRegistry;
use crate::app::App;
use crate::args::{CatalogPatternsArgs, CatalogPipelineArgs, DEFAULT_PIPELINE};
use crate::error::Failure;

/// The pattern Kedro adds after the catalog's own: any other name becomes a
/// `MemoryDataset` at run time.
pub(crate) const RUNTIME_DEFAULT_PATTERN: &str = "{default}";

/// The type Kedro names for datasets nothing matches.
const DEFAULT_TYPE: &str = "kedro.io.MemoryDataset";

/// What a Kedro catalog command produced.
#[derive(Debug)]
pub(crate) enum KedroCatalog {
    /// `list-patterns`: the patterns in matching order, then `{default}`.
    Patterns(Vec<String>),
    /// `resolve-patterns`: dataset name → resolved configuration.
    Resolved(BTreeMap<String, Value>),
    /// `describe-datasets`: pipeline name → its datasets by group and type.
    Described(BTreeMap<String, PipelineDatasets>),
}

/// One pipeline in `describe-datasets`: type → dataset names, per group;
/// empty groups are left out, as Kedro leaves them out.
#[derive(Debug, Default, Serialize)]
pub(crate) struct PipelineDatasets {
    /// Explicit catalog entries.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) datasets: BTreeMap<String, Vec<String>>,
    /// Names only a factory pattern (the catch-all included) matches.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) factories: BTreeMap<String, Vec<String>>,
    /// Names nothing matches: runtime `MemoryDataset`s.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) defaults: BTreeMap<String, Vec<String>>,
}

/// How a dataset name resolves in the catalog.
enum Resolution {
    Explicit,
    Factory,
    Default,
}

/// `catalog list-patterns`.
pub(crate) fn list_patterns(
    args: &CatalogPatternsArgs,
    app: &App,
) -> Result<KedroCatalog, Failure> {
    let (_, catalog) =
        super::mlflow::project_catalog_with(app, &args.conf, &args.params.overrides())?;
    let mut patterns = catalog.patterns();
    patterns.push(RUNTIME_DEFAULT_PATTERN.to_owned());
    Ok(KedroCatalog::Patterns(patterns))
}

/// `catalog resolve-patterns`.
pub(crate) fn resolve_patterns(
    args: &CatalogPipelineArgs,
    app: &App,
) -> Result<KedroCatalog, Failure> {
    let (config, catalog) =
        super::mlflow::project_catalog_with(app, &args.conf, &args.params.overrides())?;
    let root = args.conf.project_root();
    let given = args.pipeline_names();
    let mut names: BTreeSet<String> = BTreeSet::new();
    if given.is_none() {
        names.extend(explicit_entries(&config).map(str::to_owned));
    }
    for (_, pipeline) in selected_pipelines(app, args)? {
        names.extend(pipeline.datasets().into_iter().filter(|n| !is_parameter(n)));
    }
    let mut resolved = BTreeMap::new();
    for name in names {
        if matches!(resolution(&config, &catalog, &name), Resolution::Default) {
            continue;
        }
        if let Some(shown) = resolved_config(&catalog, &name)? {
            resolved.insert(name.clone(), as_kedro_shows(&name, shown, &root));
        }
    }
    Ok(KedroCatalog::Resolved(resolved))
}

/// `catalog describe-datasets`.
pub(crate) fn describe_datasets(
    args: &CatalogPipelineArgs,
    app: &App,
) -> Result<KedroCatalog, Failure> {
    let (config, catalog) =
        super::mlflow::project_catalog_with(app, &args.conf, &args.params.overrides())?;
    let mut described = BTreeMap::new();
    for (pipeline_name, pipeline) in selected_pipelines(app, args)? {
        let mut groups = PipelineDatasets::default();
        for name in pipeline.datasets().into_iter().filter(|n| !is_parameter(n)) {
            let (group, type_name) = match resolution(&config, &catalog, &name) {
                Resolution::Default => (&mut groups.defaults, DEFAULT_TYPE.to_owned()),
                Resolution::Explicit => (&mut groups.datasets, type_of(&catalog, &name)?),
                Resolution::Factory => (&mut groups.factories, type_of(&catalog, &name)?),
            };
            group.entry(type_name).or_default().push(name);
        }
        described.insert(pipeline_name, groups);
    }
    Ok(KedroCatalog::Described(described))
}

/// The pipelines `--pipeline` names, or every defined one and
/// `__default__` (Kedro lists the registered `__default__` too).
fn selected_pipelines(
    app: &App,
    args: &CatalogPipelineArgs,
) -> Result<Vec<(String, AnyPipeline)>, Failure> {
    let registry = PipelineRegistry::new(app, &args.spec)?;
    let names = args.pipeline_names().unwrap_or_else(|| {
        let mut all = registry.names();
        if !all.is_empty() && !all.iter().any(|n| n == DEFAULT_PIPELINE) {
            all.push(DEFAULT_PIPELINE.to_owned());
        }
        all
    });
    names
        .into_iter()
        .map(|name| {
            let pipeline = registry.select(std::slice::from_ref(&name))?;
            Ok((name, pipeline))
        })
        .collect()
}

fn explicit_entries(config: &ProjectConfig) -> impl Iterator<Item = &str> {
    config
        .catalog
        .keys()
        .map(String::as_str)
        .filter(|k| !k.contains('{'))
}

fn is_parameter(name: &str) -> bool {
    name == "parameters" || name.starts_with("params:")
}

fn resolution(config: &ProjectConfig, catalog: &DataCatalog, name: &str) -> Resolution {
    if config.catalog.contains_key(name) && !name.contains('{') {
        Resolution::Explicit
    } else if catalog.matching_pattern(name).is_some() {
        Resolution::Factory
    } else {
        Resolution::Default
    }
}

/// The resolved configuration of an entry or pattern match, resolving the
/// match if needed. An unusable entry still has one (its reason is for a run).
fn resolved_config(catalog: &DataCatalog, name: &str) -> Result<Option<Value>, Failure> {
    if let Err(err) = catalog.get(name)
        && catalog.unusable(name).is_none()
    {
        return Err(err.into());
    }
    Ok(catalog.entry_config(name))
}

/// The Kedro class path of the type `name` resolves to.
fn type_of(catalog: &DataCatalog, name: &str) -> Result<String, Failure> {
    let config = resolved_config(catalog, name)?;
    let written = config
        .as_ref()
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("MemoryDataset");
    Ok(kedro_class_path(written))
}

/// A configuration as `kedro catalog resolve-patterns` shows it: relative
/// file paths made absolute, a credentials entry named `<dataset>_credentials`
/// (never its values), no per-run save version.
fn as_kedro_shows(name: &str, config: Value, root: &Path) -> Value {
    let Value::Object(mut map) = config else {
        return config;
    };
    if map.contains_key("credentials") {
        map.insert(
            "credentials".to_owned(),
            format!("{name}_credentials").into(),
        );
    }
    map.remove("version");
    if let Some(Value::String(path)) = map.get("filepath")
        && !path.contains("://")
        && Path::new(path).is_relative()
        && let Ok(absolute) = std::path::absolute(root.join(path))
    {
        map.insert(
            "filepath".to_owned(),
            absolute.to_string_lossy().into_owned().into(),
        );
    }
    Value::Object(map)
}

/// Kedro's class path for a type as written in catalog.yml:
/// `pandas.CSVDataset` → `kedro_datasets.pandas.csv_dataset.CSVDataset`,
/// Kedro's `MemoryDataset` spellings → `kedro.io.memory_dataset.MemoryDataset`,
/// kedro-mlflow's `mlflow.*` → `kedro_mlflow.io.<group>.<module>.<class>`
/// (the module path kedro-viz shows, [`crate::viz::kedro_type`], with its
/// package). tandem's own types (no package) are kept as written.
pub(crate) fn kedro_class_path(type_name: &str) -> String {
    if !type_name.contains('.') && type_name != "MemoryDataset" {
        return type_name.to_owned();
    }
    let path = crate::viz::kedro_type(type_name);
    if path.starts_with("io.") {
        format!("kedro.{path}")
    } else if path.starts_with("kedro_mlflow.") || path.starts_with("kedro.") {
        path
    } else {
        format!("kedro_datasets.{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn class_paths_follow_kedro_datasets_modules() {
        assert_eq!(
            kedro_class_path("pandas.CSVDataset"),
            "kedro_datasets.pandas.csv_dataset.CSVDataset"
        );
        assert_eq!(
            kedro_class_path("kedro_datasets.pandas.ParquetDataset"),
            "kedro_datasets.pandas.parquet_dataset.ParquetDataset"
        );
        assert_eq!(
            kedro_class_path("pandas.SQLTableDataset"),
            "kedro_datasets.pandas.sql_dataset.SQLTableDataset"
        );
        assert_eq!(
            kedro_class_path("pandas.SQLQueryDataset"),
            "kedro_datasets.pandas.sql_dataset.SQLQueryDataset"
        );
        assert_eq!(
            kedro_class_path("matplotlib.MatplotlibWriter"),
            "kedro_datasets.matplotlib.matplotlib_writer.MatplotlibWriter"
        );
        assert_eq!(
            kedro_class_path("MemoryDataset"),
            "kedro.io.memory_dataset.MemoryDataset"
        );
        assert_eq!(
            kedro_class_path("mlflow.MlflowMetricDataset"),
            "kedro_mlflow.io.metrics.mlflow_metric_dataset.MlflowMetricDataset"
        );
        for kept in [
            "ParquetDataset",
            "kedro_datasets.pandas.csv_dataset.CSVDataset",
        ] {
            assert_eq!(kedro_class_path(kept), kept);
        }
    }

    #[test]
    fn resolved_entries_show_paths_absolute_and_credentials_by_name() {
        let shown = as_kedro_shows(
            "cars",
            json!({"type": "pandas.CSVDataset", "filepath": "data/cars.csv",
                   "credentials": {"key": "***"}, "versioned": true,
                   "version": {"load": null, "save": "x"}}),
            Path::new("/project"),
        );
        let map = shown.as_object().unwrap();
        assert_eq!(map["filepath"], "/project/data/cars.csv");
        assert_eq!(map["credentials"], "cars_credentials");
        assert!(!map.contains_key("version") && map["versioned"] == true);
        let remote = as_kedro_shows(
            "r",
            json!({"filepath": "s3://b/r.csv"}),
            Path::new("/project"),
        );
        assert_eq!(remote["filepath"], "s3://b/r.csv");
    }
}
