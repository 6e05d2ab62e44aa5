//! A pipeline of eager and lazy Polars nodes run by the sequential runner
//! through a catalog of real files: a pandas CSV read as arrow and handed to
//! a DataFrame node, the same parquet file seen eagerly and lazily through
//! transcoding, a LazyFrame saved (collected) as CSV, and a DataFrame
//! returned to arrow for a builtin parquet dataset. Files are read back.

use std::path::Path;

use arrow_array::{Array, Float64Array, RecordBatch, StringViewArray};
use polars::prelude::*;
use serde_json::{Map, json};
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
use tandem_pipeline_core::{Pipeline, node};
use tandem_runners::{RunOptions, Runner, SequentialRunner};

fn catalog(root: &Path) -> DataCatalog {
    let entries = json!({
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/01_raw/sales.csv"},
        "clean@eager": {"type": "polars.EagerPolarsDataset", "file_format": "parquet",
                         "filepath": "data/02_intermediate/clean.parquet",
                         "save_args": {"compression": "snappy"}},
        "clean@lazy": {"type": "polars.LazyPolarsDataset", "file_format": "parquet",
                        "filepath": "data/02_intermediate/clean.parquet"},
        "summary": {"type": "polars.LazyPolarsDataset", "file_format": "csv",
                    "filepath": "data/03_primary/summary.csv", "versioned": true,
                    "save_args": {"separator": ";"}, "load_args": {"separator": ";"}},
        "top": {"type": "polars.CSVDataset", "filepath": "data/08_reporting/top.csv"},
        "report": {"type": "pandas.ParquetDataset", "filepath": "data/08_reporting/report.parquet"},
    });
    let mut registry = DatasetRegistry::with_builtins();
    tandem_polars::register(&mut registry);
    DataCatalog::from_config(
        entries.as_object().unwrap(),
        &Map::new(),
        &CatalogOptions::new(registry),
        root,
    )
    .unwrap()
}

/// Eager: arrow from `pandas.CSVDataset` arrives as a DataFrame.
fn clean(raw: &DataFrame) -> PolarsResult<DataFrame> {
    raw.clone()
        .lazy()
        .filter(col("amount").is_not_null())
        .with_column((col("amount") * lit(1.2)).alias("gross"))
        .collect()
}

/// Lazy: builds a plan; nothing is read until the plan is saved.
fn summarize(clean: LazyFrame) -> LazyFrame {
    clean
        .group_by([col("region")])
        .agg([
            col("gross").sum().alias("total"),
            col("amount").count().alias("orders"),
        ])
        .sort(["region"], SortMultipleOptions::default())
}

/// Declares a DataFrame: the stored LazyFrame is collected for it.
fn best(summary: &DataFrame) -> PolarsResult<(DataFrame, RecordBatch)> {
    let top = summary
        .clone()
        .lazy()
        .sort(
            ["total"],
            SortMultipleOptions::default().with_order_descending(true),
        )
        .limit(1)
        .collect()?;
    let report = tandem_polars::to_record_batch(summary)
        .map_err(|e| PolarsError::ComputeError(e.to_string().into()))?;
    Ok((top, report))
}

fn write_raw(root: &Path) {
    let dir = root.join("data/01_raw");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("sales.csv"),
        "region,amount\nnorth,10.0\nsouth,5.0\nnorth,\nnorth,2.5\neast,7.5\nsouth,1.0\n",
    )
    .unwrap();
}

#[test]
fn eager_and_lazy_nodes_run_through_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    write_raw(dir.path());
    let catalog = catalog(dir.path());
    let pipeline = Pipeline::new([
        node(clean, "raw", "clean@eager")
            .name("clean")
            .build()
            .unwrap(),
        node(summarize, "clean@lazy", "summary")
            .name("summarize")
            .build()
            .unwrap(),
        node(best, "summary", ["top", "report"])
            .name("best")
            .build()
            .unwrap(),
    ])
    .unwrap();
    let run = SequentialRunner
        .run(&pipeline, &catalog, &[], &RunOptions::default())
        .unwrap();
    assert_eq!(run.nodes.len(), 3);

    // The intermediate parquet, read back with Polars' own reader.
    let clean_file =
        std::fs::File::open(dir.path().join("data/02_intermediate/clean.parquet")).unwrap();
    let clean = ParquetReader::new(clean_file).finish().unwrap();
    assert_eq!(clean.height(), 5, "the null amount was filtered out");
    let gross: Vec<f64> = clean
        .column("gross")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(gross, vec![12.0, 6.0, 3.0, 9.0, 1.2]);

    // The versioned CSV the LazyFrame was collected into.
    let versions: Vec<_> = std::fs::read_dir(dir.path().join("data/03_primary/summary.csv"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(versions.len(), 1);
    let text = std::fs::read_to_string(versions[0].join("summary.csv")).unwrap();
    assert_eq!(
        text,
        "region;total;orders\neast;9.0;1\nnorth;15.0;2\nsouth;7.2;2\n"
    );

    let top = std::fs::read_to_string(dir.path().join("data/08_reporting/top.csv")).unwrap();
    assert_eq!(top, "region,total,orders\nnorth,15.0,2\n");

    // Arrow out of a DataFrame, saved by a builtin (arrow-rs) dataset.
    let report = catalog.load("report").unwrap();
    let report = report.downcast_ref::<RecordBatch>().unwrap();
    let regions = report
        .column_by_name("region")
        .unwrap()
        .as_any()
        .downcast_ref::<StringViewArray>()
        .map(|a| a.iter().map(|v| v.unwrap().to_owned()).collect::<Vec<_>>())
        .or_else(|| {
            report
                .column_by_name("region")
                .unwrap()
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .map(|a| a.iter().map(|v| v.unwrap().to_owned()).collect())
        })
        .unwrap();
    assert_eq!(regions, vec!["east", "north", "south"]);
    let totals = report
        .column_by_name("total")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!(totals.len(), 3);
    assert!((totals.value(2) - 7.2).abs() < 1e-12);
}
