//! The four Polars dataset types on real files and `memory://`: round trips,
//! load/save args, versioning, laziness, and configuration errors.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use polars::prelude::*;
use serde_json::{Value, json};
use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry};
use tandem_pipeline_core::Data;

fn registry() -> DatasetRegistry {
    let mut registry = DatasetRegistry::with_builtins();
    tandem_polars::register(&mut registry);
    registry
}

fn build(root: &Path, type_name: &str, options: Value) -> Arc<dyn Dataset> {
    try_build(root, type_name, options).unwrap()
}

fn try_build(
    root: &Path,
    type_name: &str,
    options: Value,
) -> Result<Arc<dyn Dataset>, tandem_catalog::Error> {
    let mut config = DatasetConfig::new("entry", type_name, options.as_object().unwrap().clone());
    config.project_root = root.to_path_buf();
    registry().build(&config)
}

fn sample() -> DataFrame {
    df!(
        "id" => [1i64, 2, 3],
        "name" => [Some("a"), None, Some("c")],
        "score" => [0.5f64, 1.5, -2.0],
        "ok" => [true, false, true],
    )
    .unwrap()
}

fn frame(data: Data) -> DataFrame {
    data.into_value::<DataFrame>().unwrap()
}

#[test]
fn eager_types_round_trip_csv_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    for (type_name, options) in [
        ("polars.CSVDataset", json!({"filepath": "a.csv"})),
        ("polars.ParquetDataset", json!({"filepath": "a.parquet"})),
        (
            "polars.EagerPolarsDataset",
            json!({"filepath": "b.parquet", "file_format": "parquet",
                   "save_args": {"compression": "zstd", "compression_level": 3}}),
        ),
        (
            "polars.EagerPolarsDataset",
            json!({"filepath": "b.tsv", "file_format": "csv",
                   "save_args": {"separator": "\t", "null_value": "NA"},
                   "load_args": {"separator": "\t", "null_values": "NA"}}),
        ),
    ] {
        let dataset = build(dir.path(), type_name, options);
        assert!(!dataset.exists().unwrap());
        dataset.save(Data::new(sample())).unwrap();
        assert!(dataset.exists().unwrap());
        let back = frame(dataset.load().unwrap());
        assert!(back.equals_missing(&sample()), "{type_name}: {back}");
    }
    let tsv = std::fs::read_to_string(dir.path().join("b.tsv")).unwrap();
    assert_eq!(tsv.lines().nth(2), Some("2\tNA\t1.5\tfalse"));
    // Polars' parquet is standard parquet: the builtin arrow reader agrees.
    let arrow = build(
        dir.path(),
        "pandas.ParquetDataset",
        json!({"filepath": "a.parquet"}),
    );
    let batch = arrow.load().unwrap();
    assert_eq!(batch.downcast_ref::<RecordBatch>().unwrap().num_rows(), 3);
}

#[test]
fn load_args_select_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let writer = build(
        dir.path(),
        "polars.ParquetDataset",
        json!({"filepath": "x.parquet"}),
    );
    writer.save(Data::new(sample())).unwrap();
    let reader = build(
        dir.path(),
        "polars.ParquetDataset",
        json!({"filepath": "x.parquet", "load_args": {"columns": ["score"], "n_rows": 2}}),
    );
    let back = frame(reader.load().unwrap());
    assert_eq!(back.get_column_names(), vec!["score"]);
    assert_eq!(back.height(), 2);

    std::fs::write(dir.path().join("h.csv"), "# comment\nx|y\n1|2\n3|4\n").unwrap();
    let csv = build(
        dir.path(),
        "polars.CSVDataset",
        json!({"filepath": "h.csv", "load_args": {"sep": "|", "comment_prefix": "#", "columns": ["y"]}}),
    );
    let back = frame(csv.load().unwrap());
    let y: Vec<i64> = back
        .column("y")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(y, vec![2, 4]);
}

#[test]
fn lazy_dataset_reads_the_file_only_when_collected() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = build(
        dir.path(),
        "polars.LazyPolarsDataset",
        json!({"filepath": "l.csv", "file_format": "csv"}),
    );
    dataset.save(Data::new(sample().lazy())).unwrap();
    let loaded = dataset.load().unwrap();
    let lazy = loaded.downcast_ref::<LazyFrame>().unwrap().clone();
    // Replaced after the load: a lazy scan sees the new contents.
    std::fs::write(dir.path().join("l.csv"), "id\n7\n8\n").unwrap();
    let collected = lazy.collect().unwrap();
    let ids: Vec<i64> = collected
        .column("id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(ids, vec![7, 8]);

    // The lazy query runs over bytes on a non-local store.
    let memory = build(
        dir.path(),
        "polars.LazyPolarsDataset",
        json!({"filepath": "memory://polars-tests/l.parquet", "file_format": "parquet"}),
    );
    memory.save(Data::new(sample())).unwrap();
    let filtered: DataFrame = memory
        .load()
        .unwrap()
        .into_value::<LazyFrame>()
        .unwrap()
        .filter(col("ok"))
        .collect()
        .unwrap();
    assert_eq!(filtered.height(), 2);
}

#[test]
fn lazy_load_of_a_missing_file_fails_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = build(
        dir.path(),
        "polars.LazyPolarsDataset",
        json!({"filepath": "missing.parquet", "file_format": "parquet"}),
    );
    let err = dataset.load().unwrap_err();
    assert_eq!(err.kind(), "storage");
    assert!(err.to_string().contains("missing.parquet"), "{err}");
    let versioned = {
        let mut config = DatasetConfig::new(
            "v",
            "polars.LazyPolarsDataset",
            json!({"filepath": "v.parquet", "file_format": "parquet"})
                .as_object()
                .unwrap()
                .clone(),
        );
        config.project_root = dir.path().to_path_buf();
        config.version = Some(tandem_catalog_version("2020-01-01T00.00.00.000Z"));
        registry().build(&config).unwrap()
    };
    assert_eq!(versioned.load().unwrap_err().kind(), "version_not_found");
}

fn tandem_catalog_version(load: &str) -> tandem_catalog::Version {
    tandem_catalog::Version {
        load: Some(load.to_owned()),
        save: None,
        ..Default::default()
    }
}

#[test]
fn versioned_saves_keep_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DatasetConfig::new(
        "v",
        "polars.EagerPolarsDataset",
        json!({"filepath": "v.csv", "file_format": "csv"})
            .as_object()
            .unwrap()
            .clone(),
    );
    config.project_root = dir.path().to_path_buf();
    config.version = Some(tandem_catalog::Version {
        load: None,
        save: None,
        ..Default::default()
    });
    let dataset = registry().build(&config).unwrap();
    dataset.save(Data::new(sample())).unwrap();
    let back = frame(dataset.load().unwrap());
    assert!(back.equals_missing(&sample()));
    assert_eq!(
        std::fs::read_dir(dir.path().join("v.csv")).unwrap().count(),
        1
    );
    assert!(dataset.describe().versioned);
}

#[test]
fn record_batches_and_lazy_frames_save_to_eager_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = build(
        dir.path(),
        "polars.CSVDataset",
        json!({"filepath": "r.csv"}),
    );
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
    dataset
        .save(Data::new(
            RecordBatch::try_from_iter([("n", ints)]).unwrap(),
        ))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r.csv")).unwrap(),
        "n\n1\n2\n"
    );
    dataset
        .save(Data::new(sample().lazy().select([col("id")])))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r.csv")).unwrap(),
        "id\n1\n2\n3\n"
    );
    let err = dataset.save(Data::new(3_i64)).unwrap_err();
    assert_eq!(err.kind(), "type_mismatch");
}

#[test]
fn configuration_errors_name_the_entry_and_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "polars.EagerPolarsDataset",
            json!({"filepath": "x"}),
            "file_format is required",
        ),
        (
            "polars.EagerPolarsDataset",
            json!({"filepath": "x", "file_format": "xlsx"}),
            "unknown variant `xlsx`",
        ),
        (
            "polars.CSVDataset",
            json!({"filepath": "x", "file_format": "csv"}),
            "takes no file_format",
        ),
        (
            "polars.CSVDataset",
            json!({"filepath": "x", "load_args": {"sepp": ","}}),
            "sepp",
        ),
        (
            "polars.CSVDataset",
            json!({"filepath": "x", "save_args": {"separator": ";;"}}),
            "save_args.separator",
        ),
        (
            "polars.ParquetDataset",
            json!({"filepath": "x", "save_args": {"compression": "lzo"}}),
            "lzo",
        ),
        (
            "polars.ParquetDataset",
            json!({"filepath": "x", "save_args": {"compression": "zstd", "compression_level": 99}}),
            "compression_level",
        ),
        (
            "polars.LazyPolarsDataset",
            json!({"filepath": "x", "file_format": "csv", "fs_args": {"a": 1}}),
            "fs_args",
        ),
    ];
    for (type_name, options, needle) in cases {
        let err = try_build(dir.path(), type_name, options).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.kind(), "invalid_config", "{type_name}: {text}");
        assert!(
            text.contains("entry") && text.contains(needle),
            "{type_name}: {text}"
        );
    }
}

#[test]
fn a_corrupt_file_is_a_format_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.parquet"), b"not parquet at all").unwrap();
    let dataset = build(
        dir.path(),
        "polars.ParquetDataset",
        json!({"filepath": "bad.parquet"}),
    );
    let err = dataset.load().unwrap_err();
    assert_eq!(err.kind(), "format");
    assert!(err.to_string().contains("bad.parquet"), "{err}");
}
