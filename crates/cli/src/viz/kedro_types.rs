//! Dataset types as kedro-viz shows them: the class's module path without
//! the `kedro.`/`kedro_datasets.` prefix (`io.memory_dataset.MemoryDataset`,
//! `pandas.csv_dataset.CSVDataset`), computed from the `type:` catalog.yml
//! wrote, since kedro-viz reads it off the instantiated Python class.

/// kedro-mlflow's datasets live in sub-packages of `kedro_mlflow.io`.
const MLFLOW_GROUPS: &[(&str, &str)] = &[
    ("MlflowArtifactDataset", "artifacts"),
    ("MlflowMetricDataset", "metrics"),
    ("MlflowMetricHistoryDataset", "metrics"),
    ("MlflowMetricsHistoryDataset", "metrics"),
    ("MlflowModelTrackingDataset", "models"),
    ("MlflowModelLocalFileSystemDataset", "models"),
    ("MlflowModelRegistryDataset", "models"),
];

/// The kedro-viz `dataset_type` of a catalog `type:` (Kedro's short form,
/// a full `kedro_datasets.`/`kedro.io.` path, kedro-mlflow's `mlflow.` form,
/// or a tandem type name without a package).
pub(crate) fn kedro_type(type_name: &str) -> String {
    let stripped = type_name
        .strip_prefix("kedro_datasets.")
        .or_else(|| type_name.strip_prefix("kedro."))
        .unwrap_or(type_name);
    let (package, class) = match stripped.rsplit_once('.') {
        Some((package, class)) => (package, class),
        None if stripped == "MemoryDataset" => ("io", stripped),
        None => ("tandem", stripped),
    };
    // kedro-datasets keeps both SQL classes in one module.
    let module = match (package, class) {
        ("pandas", "SQLTableDataset" | "SQLQueryDataset") => "sql_dataset".to_owned(),
        _ => snake_case(class),
    };
    if package == "mlflow" || package == "kedro_mlflow.io" {
        let group = MLFLOW_GROUPS
            .iter()
            .find(|(name, _)| *name == class)
            .map_or("datasets", |(_, group)| group);
        return format!("kedro_mlflow.io.{group}.{module}.{class}");
    }
    // A path that already names the module (`pandas.csv_dataset.CSVDataset`).
    if package.ends_with(&format!(".{module}")) || package == module {
        return format!("{package}.{class}");
    }
    format!("{package}.{module}.{class}")
}

/// Python's module naming for a class: `CSVDataset` → `csv_dataset`,
/// `MlflowMetricsHistoryDataset` → `mlflow_metrics_history_dataset`.
fn snake_case(class: &str) -> String {
    let chars: Vec<char> = class.chars().collect();
    let mut out = String::with_capacity(class.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kedro_short_names_become_module_paths() {
        assert_eq!(
            kedro_type("MemoryDataset"),
            "io.memory_dataset.MemoryDataset"
        );
        assert_eq!(
            kedro_type("kedro.io.MemoryDataset"),
            "io.memory_dataset.MemoryDataset"
        );
        assert_eq!(
            kedro_type("pandas.CSVDataset"),
            "pandas.csv_dataset.CSVDataset"
        );
        assert_eq!(
            kedro_type("kedro_datasets.pandas.ParquetDataset"),
            "pandas.parquet_dataset.ParquetDataset"
        );
        assert_eq!(
            kedro_type("pandas.csv_dataset.CSVDataset"),
            "pandas.csv_dataset.CSVDataset"
        );
        assert_eq!(
            kedro_type("json.JSONDataset"),
            "json.json_dataset.JSONDataset"
        );
    }

    #[test]
    fn mlflow_and_tandem_types() {
        assert_eq!(
            kedro_type("mlflow.MlflowMetricsHistoryDataset"),
            "kedro_mlflow.io.metrics.mlflow_metrics_history_dataset.MlflowMetricsHistoryDataset"
        );
        assert_eq!(
            kedro_type("mlflow.MlflowArtifactDataset"),
            "kedro_mlflow.io.artifacts.mlflow_artifact_dataset.MlflowArtifactDataset"
        );
        assert_eq!(
            kedro_type("SerdeDataset"),
            "tandem.serde_dataset.SerdeDataset"
        );
    }
}
