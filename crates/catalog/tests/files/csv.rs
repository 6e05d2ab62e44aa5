//! CSVDataset: inference, explicit schemas, header and delimiter options.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, TimeUnit};
use tandem_catalog::Dataset;
use tandem_pipeline_core::Data;

use crate::common::{build, config, float_table, memory_path, mixed_table, try_build};

fn load_batch(ds: &dyn Dataset) -> RecordBatch {
    ds.load().unwrap().into_value::<RecordBatch>().unwrap()
}

fn explicit_schema() -> serde_json::Value {
    serde_json::json!([
        {"name": "id", "type": "int64"},
        {"name": "price", "type": "float64"},
        {"name": "name", "type": "utf8"},
        {"name": "ok", "type": "bool"},
        {"name": "day", "type": "date32"},
        {"name": "at", "type": "timestamp[us]"},
    ])
}

#[test]
fn explicit_schemas_round_trip_every_type() {
    let dir = tempfile::tempdir().unwrap();
    for filepath in ["t.csv".to_owned(), memory_path("t.csv")] {
        let options = serde_json::json!({
            "filepath": filepath,
            "load_args": {"schema": explicit_schema()},
        });
        let ds = build(dir.path(), "CSVDataset", options);
        ds.save(Data::new(mixed_table())).unwrap();
        let loaded = load_batch(&*ds);
        // CSV cannot tell an empty string from a missing one: both load as null.
        let expected_names = StringArray::from(vec![Some("a"), Some("b,c"), None, Some("é"), None]);
        assert_eq!(loaded.column(2).as_ref(), &expected_names as &dyn Array);
        for column in [0, 1, 3, 4, 5] {
            assert_eq!(
                loaded.column(column),
                mixed_table().column(column),
                "{filepath} column {column}"
            );
        }
    }
}

#[test]
fn types_are_inferred_from_the_first_rows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.csv"),
        "i,f,s,b\n1,1.5,x,true\n2,,y,false\n",
    )
    .unwrap();
    let loaded = load_batch(&*build(
        dir.path(),
        "CSVDataset",
        serde_json::json!({"filepath": "t.csv"}),
    ));
    let types: Vec<&DataType> = loaded
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.data_type())
        .collect();
    assert_eq!(
        types,
        [
            &DataType::Int64,
            &DataType::Float64,
            &DataType::Utf8,
            &DataType::Boolean
        ]
    );
    assert_eq!(loaded.num_rows(), 2);
    assert_eq!(loaded.column(1).null_count(), 1);
}

#[test]
fn a_value_past_the_inferred_rows_explains_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("n\n");
    for i in 0..5 {
        text.push_str(&format!("{i}\n"));
    }
    text.push_str("not-a-number\n");
    std::fs::write(dir.path().join("t.csv"), text).unwrap();
    let options = serde_json::json!({"filepath": "t.csv", "load_args": {"infer_rows": 3}});
    let err = build(dir.path(), "CSVDataset", options).load().unwrap_err();
    assert_eq!(err.kind(), "format");
    let msg = err.to_string();
    assert!(
        msg.contains("infer_rows") && msg.contains("not-a-number"),
        "{msg}"
    );

    let all = serde_json::json!({"filepath": "t.csv", "load_args": {"infer_rows": 10}});
    let loaded = load_batch(&*build(dir.path(), "CSVDataset", all));
    assert_eq!(loaded.schema().field(0).data_type(), &DataType::Utf8);
}

#[test]
fn header_and_delimiter_apply_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let options = serde_json::json!({
        "filepath": "t.csv",
        "load_args": {"header": false, "sep": ";"},
        "save_args": {"header": false, "delimiter": ";", "index": false},
    });
    let ds = build(dir.path(), "CSVDataset", options);
    let table = RecordBatch::try_from_iter([
        ("a", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        (
            "b",
            Arc::new(StringArray::from(vec!["x;y", "z"])) as ArrayRef,
        ),
    ])
    .unwrap();
    ds.save(Data::new(table)).unwrap();
    let text = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
    assert_eq!(text, "1;\"x;y\"\n2;z\n");
    let loaded = load_batch(&*ds);
    let names: Vec<&str> = loaded
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    // pandas' names for a file without a header row.
    assert_eq!(names, ["0", "1"]);
    assert_eq!(loaded.num_rows(), 2);
}

#[test]
fn timestamps_with_zones_and_vectors_of_batches() {
    let dir = tempfile::tempdir().unwrap();
    let options = serde_json::json!({
        "filepath": "t.csv",
        "load_args": {"schema": [{"name": "a", "type": "float64"}, {"name": "b", "type": "double"}]},
    });
    let ds = build(dir.path(), "CSVDataset", options);
    let table = float_table(6);
    ds.save(Data::new(vec![table.slice(0, 2), table.slice(2, 4)]))
        .unwrap();
    let loaded = load_batch(&*ds);
    assert_eq!(loaded.columns(), table.columns());

    let zoned = serde_json::json!({
        "filepath": "z.csv",
        "load_args": {"schema": [{"name": "at", "type": "timestamp[ms, +00:00]"}]},
    });
    std::fs::write(dir.path().join("z.csv"), "at\n2026-01-02T03:04:05.678Z\n").unwrap();
    let loaded = load_batch(&*build(dir.path(), "CSVDataset", zoned));
    assert_eq!(
        loaded.schema().field(0).data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()))
    );
}

#[test]
fn empty_files_load_as_empty_tables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "").unwrap();
    let loaded = load_batch(&*build(
        dir.path(),
        "CSVDataset",
        serde_json::json!({"filepath": "t.csv"}),
    ));
    assert_eq!((loaded.num_rows(), loaded.num_columns()), (0, 0));
    std::fs::write(dir.path().join("h.csv"), "a,b\n").unwrap();
    let header_only = load_batch(&*build(
        dir.path(),
        "CSVDataset",
        serde_json::json!({"filepath": "h.csv"}),
    ));
    assert_eq!((header_only.num_rows(), header_only.num_columns()), (0, 2));
}

#[test]
fn bad_options_fail_when_the_entry_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            serde_json::json!({"load_args": {"delimiter": "::"}}),
            "load_args.delimiter",
        ),
        (
            serde_json::json!({"save_args": {"sep": ""}}),
            "save_args.delimiter",
        ),
        (serde_json::json!({"save_args": {"index": true}}), "index"),
        (
            serde_json::json!({"load_args": {"schema": [{"name": "x", "type": "int65"}]}}),
            "int65",
        ),
        (
            serde_json::json!({"load_args": {"encoding": "klingon"}}),
            "unknown encoding 'klingon'",
        ),
    ];
    for (mut options, needle) in cases {
        options["filepath"] = "t.csv".into();
        let err = try_build(&config(dir.path(), "CSVDataset", options)).unwrap_err();
        assert_eq!(err.kind(), "invalid_config", "{needle}");
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

#[test]
fn non_tables_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ds = build(
        dir.path(),
        "CSVDataset",
        serde_json::json!({"filepath": "t.csv"}),
    );
    let err = ds.save(Data::new(String::from("a,b"))).unwrap_err();
    assert_eq!(err.kind(), "type_mismatch");
    assert!(err.to_string().contains("String"), "{err}");
}
