//! Parquet interoperability with pyarrow, the reader and writer Kedro's
//! `pandas.ParquetDataset` uses: files tandem writes read back identically
//! in pyarrow, and files pyarrow writes load identically in tandem.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int64Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, ListArray, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field};
use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry};
use tandem_pipeline_core::Data;
use tandem_test_support::python::{run_script, tools_bin};

/// The table both sides build. Python: `table(rows)`; Rust: [`table`].
/// Row `i` holds `id = i`, `x = i / 2` (null every 7th row), `name = "n{i % 13}"`
/// (null every 5th), `ok = i % 3 == 0`, `day = i - 1000`, `at = i * 1_000_001`
/// microseconds and `tags = [0, .., i % 4)` (null every 6th).
const TABLE_PY: &str = r#"
import sys
import pyarrow as pa
import pyarrow.parquet as pq

def table(rows):
    return pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "x": pa.array([None if i % 7 == 0 else i / 2 for i in range(rows)], pa.float64()),
        "name": pa.array([None if i % 5 == 0 else f"n{i % 13}" for i in range(rows)], pa.string()),
        "ok": pa.array([i % 3 == 0 for i in range(rows)], pa.bool_()),
        "day": pa.array([i - 1000 for i in range(rows)], pa.date32()),
        "at": pa.array([i * 1_000_001 for i in range(rows)], pa.timestamp("us")),
        "tags": pa.array([None if i % 6 == 0 else list(range(i % 4)) for i in range(rows)],
                         pa.list_(pa.int64())),
    })
"#;

/// Checks that pyarrow reads `argv[1]` as `table(argv[2])`, compressed with `argv[3]`.
const CHECK_PY: &str = r#"
path, rows, codec = sys.argv[1], int(sys.argv[2]), sys.argv[3]
got = pq.read_table(path)
want = table(rows)
assert got.schema.equals(want.schema), f"schema:\n{got.schema}\n!=\n{want.schema}"
assert got.equals(want), "values differ"
meta = pq.ParquetFile(path).metadata
codecs = {meta.row_group(g).column(c).compression
          for g in range(meta.num_row_groups) for c in range(meta.num_columns)}
assert codecs == ({codec} if rows else set()), f"codecs {codecs} != {codec}"
print(meta.num_row_groups)
"#;

/// Writes `table(argv[2])` to `argv[1]` with the keyword arguments in `argv[3]` (JSON).
const WRITE_PY: &str = r#"
import json
pq.write_table(table(int(sys.argv[2])), sys.argv[1], **json.loads(sys.argv[3]))
"#;

/// The table with the list column's item field named `item` (arrow's
/// name, which pyarrow keeps when reading tandem's files) or `element`
/// (the Parquet spec's, which pyarrow writes).
fn table(rows: usize, list_item: &str) -> RecordBatch {
    let n = rows as i64;
    let tags = ListArray::from_iter_primitive::<Int64Type, _, _>(
        (0..n).map(|i| (i % 6 != 0).then(|| (0..i % 4).map(Some).collect::<Vec<_>>())),
    );
    let (_, offsets, values, nulls) = tags.into_parts();
    let item = Arc::new(Field::new(list_item, DataType::Int64, true));
    let tags = ListArray::new(item, offsets, values, nulls);
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..n))),
        (
            "x",
            Arc::new(Float64Array::from_iter(
                (0..n).map(|i| (i % 7 != 0).then_some(i as f64 / 2.0)),
            )),
        ),
        (
            "name",
            Arc::new(StringArray::from_iter(
                (0..n).map(|i| (i % 5 != 0).then(|| format!("n{}", i % 13))),
            )),
        ),
        (
            "ok",
            Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 3 == 0)))),
        ),
        (
            "day",
            Arc::new(Date32Array::from_iter_values(
                (0..n).map(|i| i as i32 - 1000),
            )),
        ),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                (0..n).map(|i| i * 1_000_001),
            )),
        ),
        ("tags", Arc::new(tags)),
    ];
    // pyarrow's fields are nullable whatever they hold.
    RecordBatch::try_from_iter_with_nullable(columns.into_iter().map(|(n, a)| (n, a, true)))
        .expect("columns have equal lengths")
}

fn parquet(dir: &Path, file: &str, save_args: serde_json::Value) -> Arc<dyn Dataset> {
    let options = serde_json::json!({"filepath": file, "save_args": save_args});
    let mut config = DatasetConfig::new(
        "interop",
        "pandas.ParquetDataset",
        options.as_object().expect("an object").clone(),
    );
    config.project_root = dir.to_path_buf();
    DatasetRegistry::with_builtins()
        .build(&config)
        .expect("the entry is valid")
}

/// Runs `script` with the tools venv's Python (pyarrow); its stdout.
fn run_python<S: AsRef<OsStr>>(script: &str, args: impl IntoIterator<Item = S>) -> String {
    run_script(&tools_bin().join("python"), script, args).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pyarrow_reads_what_tandem_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (10, serde_json::json!({}), "SNAPPY"),
        (10, serde_json::json!({"compression": "zstd"}), "ZSTD"),
        // pyarrow names the LZ4_RAW codec "LZ4".
        (10, serde_json::json!({"compression": "lz4"}), "LZ4"),
        (
            10,
            serde_json::json!({"compression": "none", "use_dictionary": false}),
            "UNCOMPRESSED",
        ),
        (0, serde_json::json!({}), "SNAPPY"),
        // Above the parallel-encoding threshold, in several row groups.
        (
            250_000,
            serde_json::json!({"row_group_size": 100_000}),
            "SNAPPY",
        ),
    ];
    for (i, (rows, save_args, codec)) in cases.into_iter().enumerate() {
        let file = format!("tandem{i}.parquet");
        parquet(dir.path(), &file, save_args)
            .save(Data::new(table(rows, "item")))
            .unwrap();
        let path = dir.path().join(&file);
        let output = run_python(
            &format!("{TABLE_PY}{CHECK_PY}"),
            [path.to_str().unwrap(), &rows.to_string(), codec],
        );
        let groups = output.trim();
        if rows == 250_000 {
            assert_eq!(groups, "3");
        }
    }
}

#[test]
fn tandem_reads_what_pyarrow_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (10, serde_json::json!({})),
        (
            10,
            serde_json::json!({"compression": "zstd", "use_dictionary": false}),
        ),
        (
            10,
            serde_json::json!({"compression": "lz4", "row_group_size": 3}),
        ),
        (
            10,
            serde_json::json!({"compression": "none", "data_page_version": "2.0"}),
        ),
        (0, serde_json::json!({})),
        (250_000, serde_json::json!({"row_group_size": 60_000})),
    ];
    for (i, (rows, kwargs)) in cases.into_iter().enumerate() {
        let file = format!("pyarrow{i}.parquet");
        let path = dir.path().join(&file);
        run_python(
            &format!("{TABLE_PY}{WRITE_PY}"),
            [
                path.to_str().unwrap(),
                &rows.to_string(),
                &kwargs.to_string(),
            ],
        );
        let loaded = parquet(dir.path(), &file, serde_json::json!({}))
            .load()
            .unwrap()
            .into_value::<RecordBatch>()
            .unwrap();
        assert_eq!(loaded, table(rows, "element"), "{kwargs}");
    }
}
