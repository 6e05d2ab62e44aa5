//! `tandem catalog list|describe`: the project's catalog as configured.

use serde::Serialize;
use serde_json::Value;
use tandem_catalog::{ConfigKind, EntryDescription, Origin, ProjectConfig};

use crate::app::App;
use crate::args::{CatalogDescribeArgs, CatalogListArgs};
use crate::error::Failure;

/// One configured dataset in `catalog list`.
#[derive(Debug, Serialize)]
pub(crate) struct DatasetRow {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) type_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) filepath: Option<String>,
    pub(crate) versioned: bool,
    /// `file:line` of the entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) defined_in: Option<String>,
    /// Why this binary cannot use the entry (an unknown or unsupported
    /// type): it is kept, and fails only when a run needs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unusable: Option<Unusable>,
}

/// Why an entry cannot be used here.
#[derive(Debug, Serialize)]
pub(crate) struct Unusable {
    /// The error kind a use of the entry fails with.
    pub(crate) kind: &'static str,
    /// Its message.
    pub(crate) reason: String,
}

/// One factory pattern in `catalog list`, as written (placeholders unfilled).
#[derive(Debug, Serialize)]
pub(crate) struct PatternRow {
    pub(crate) pattern: String,
    #[serde(rename = "type")]
    pub(crate) type_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) filepath: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) defined_in: Option<String>,
}

/// `catalog list`: datasets sorted by name, patterns in matching order.
#[derive(Debug, Serialize)]
pub(crate) struct Listing {
    pub(crate) env: String,
    pub(crate) datasets: Vec<DatasetRow>,
    pub(crate) patterns: Vec<PatternRow>,
}

/// `catalog describe`: the catalog's description plus where it is written.
#[derive(Debug, Serialize)]
pub(crate) struct Described {
    #[serde(flatten)]
    pub(crate) entry: EntryDescription,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) defined_in: Option<String>,
    /// A parameter's value (`params:x`, `parameters`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<Value>,
}

/// Lists the configured datasets and patterns.
pub(crate) fn list(args: &CatalogListArgs, app: &App) -> Result<Listing, Failure> {
    let (config, catalog) =
        super::mlflow::project_catalog_with(app, &args.conf, &args.params.overrides())?;
    let patterns = catalog.patterns();
    let mut datasets = Vec::new();
    // By name, whatever the files' order.
    let mut names: Vec<&String> = config
        .catalog
        .keys()
        .filter(|k| !patterns.contains(k))
        .collect();
    names.sort_unstable();
    for name in names {
        if let Some(reason) = catalog.unusable(name) {
            // Shown as configured: there is no dataset to describe itself.
            let entry = config.catalog.get(name);
            let field = |key: &str| entry.and_then(|e| e.get(key));
            datasets.push(DatasetRow {
                name: name.clone(),
                type_name: field("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                filepath: field("filepath").and_then(Value::as_str).map(str::to_owned),
                versioned: field("versioned").and_then(Value::as_bool) == Some(true),
                defined_in: origin(&config, name),
                unusable: Some(Unusable {
                    kind: reason.kind(),
                    reason: reason.to_string(),
                }),
            });
            continue;
        }
        let described = catalog.describe(name)?.dataset;
        datasets.push(DatasetRow {
            name: name.clone(),
            type_name: described.type_name,
            filepath: described.filepath,
            versioned: described.versioned,
            defined_in: origin(&config, name),
            unusable: None,
        });
    }
    let patterns = patterns
        .into_iter()
        .map(|pattern| {
            let entry = config.catalog.get(&pattern);
            let field = |key: &str| {
                entry
                    .and_then(|e| e.get(key))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            PatternRow {
                type_name: field("type"),
                filepath: field("filepath"),
                defined_in: origin(&config, &pattern),
                pattern,
            }
        })
        .collect();
    Ok(Listing {
        env: config.env,
        datasets,
        patterns,
    })
}

/// Describes one dataset, resolving pattern matches.
pub(crate) fn describe(args: &CatalogDescribeArgs, app: &App) -> Result<Described, Failure> {
    let (config, catalog) =
        super::mlflow::project_catalog_with(app, &args.conf, &args.params.overrides())?;
    let entry = catalog.describe(&args.name)?;
    let key = entry.pattern.as_deref().unwrap_or(&args.name);
    let defined_in = origin(&config, key);
    let value = if args.name == "parameters" || args.name.starts_with("params:") {
        // Parameters are memory datasets holding JSON values.
        let data = catalog.load(&args.name)?;
        data.downcast_ref::<Value>().ok().cloned()
    } else {
        None
    };
    Ok(Described {
        entry,
        defined_in,
        value,
    })
}

pub(super) fn origin(config: &ProjectConfig, key: &str) -> Option<String> {
    config
        .origin(ConfigKind::Catalog, key)
        .map(|Origin { file, line }| match line {
            Some(line) => format!("{file}:{line}"),
            None => file.clone(),
        })
}
