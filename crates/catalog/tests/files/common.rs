//! Building datasets from catalog-style options, and sample tables.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry, Error, Version};

/// A catalog entry rooted at `dir`.
pub fn config(dir: &Path, type_name: &str, options: serde_json::Value) -> DatasetConfig {
    let serde_json::Value::Object(options) = options else {
        panic!("options must be a JSON object");
    };
    let mut config = DatasetConfig::new("entry", type_name, options);
    config.project_root = dir.to_path_buf();
    config
}

/// Builds the entry with the built-in registry.
pub fn try_build(config: &DatasetConfig) -> Result<Arc<dyn Dataset>, Error> {
    DatasetRegistry::with_builtins().build(config)
}

/// Builds an unversioned dataset.
pub fn build(dir: &Path, type_name: &str, options: serde_json::Value) -> Arc<dyn Dataset> {
    try_build(&config(dir, type_name, options)).expect("the entry is valid")
}

/// Builds a versioned dataset.
pub fn build_versioned(
    dir: &Path,
    type_name: &str,
    options: serde_json::Value,
    version: Version,
) -> Arc<dyn Dataset> {
    let mut config = config(dir, type_name, options);
    config.version = Some(version);
    try_build(&config).expect("the entry is valid")
}

/// A unique `memory://` path, so tests sharing the process-wide store
/// never see each other's objects.
pub fn memory_path(name: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "memory://tests/{}-{}/{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Five rows of int64, float64, utf8, bool, date32 and timestamp columns,
/// with nulls.
pub fn mixed_table() -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]))),
        (
            "price",
            Arc::new(Float64Array::from(vec![
                Some(1.5),
                None,
                Some(-2.25),
                Some(1e10),
                Some(0.0),
            ])),
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![
                Some("a"),
                Some("b,c"),
                None,
                Some("é"),
                Some(""),
            ])),
        ),
        (
            "ok",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
            ])),
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![0, 1, 19_000, 20_000, -1])),
        ),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(vec![
                0,
                1_700_000_000_000_000,
                1,
                -1_000_000,
                86_400_000_000,
            ])),
        ),
    ];
    RecordBatch::try_from_iter(columns).expect("columns have equal lengths")
}

/// `rows` rows of two float64 columns.
pub fn float_table(rows: usize) -> RecordBatch {
    let a = Float64Array::from_iter_values((0..rows).map(|i| i as f64 * 0.5));
    let b = Float64Array::from_iter_values((0..rows).map(|i| (i % 7) as f64));
    RecordBatch::try_from_iter([
        ("a", Arc::new(a) as ArrayRef),
        ("b", Arc::new(b) as ArrayRef),
    ])
    .expect("columns have equal lengths")
}

/// The files (not directories) under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("the directory is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("under the root");
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
