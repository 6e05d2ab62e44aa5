//! SQL datasets on a SQLite file: every type with nulls, `if_exists`
//! modes, a failed replace leaving the old table, queries with params and
//! from files, and database paths kept inside the project.

mod common;

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use common::{canonical, dataset, every_type, load, query, save, table};
use serde_json::json;
use tandem_pipeline_core::Data;

const CON: &str = "sqlite:///db/data.sqlite";

#[test]
fn every_type_round_trips_with_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let ds = table(CON, dir.path(), "every", json!({}));
    assert!(!ds.exists().unwrap());
    let batch = every_type();
    save(&ds, &batch);
    assert!(dir.path().join("db/data.sqlite").is_file());
    assert!(ds.exists().unwrap());
    let loaded = load(&ds);
    // SQLite integers are 64-bit and its floats double: values are equal,
    // widths widen (as pandas reads them: int64 and float64).
    let mut expected = canonical(&batch);
    expected["num"] = json!([12.34, null, -0.05]);
    assert_eq!(canonical(&loaded), expected);
    for (name, data_type) in [
        ("i16", DataType::Int64),
        ("f32", DataType::Float64),
        ("num", DataType::Float64),
    ] {
        assert_eq!(
            loaded.schema().field_with_name(name).unwrap().data_type(),
            &data_type
        );
    }
    for name in ["txt", "flag", "day", "at", "at_utc"] {
        assert_eq!(
            loaded.column_by_name(name).unwrap(),
            batch.column_by_name(name).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn if_exists_modes_and_a_failed_replace() {
    let dir = tempfile::tempdir().unwrap();
    let fail = table(CON, dir.path(), "t", json!({}));
    let replace = table(CON, dir.path(), "t", json!({"if_exists": "replace"}));
    let append = table(CON, dir.path(), "t", json!({"if_exists": "append"}));
    save(&fail, &ints(&[1]));
    let err = fail.save(Data::new(ints(&[2]))).unwrap_err();
    assert_eq!(err.kind(), "sql_table_exists");
    assert!(err.to_string().contains("\"t\""), "{err}");
    save(&append, &ints(&[2, 3]));
    assert_eq!(values(&load(&fail)), [1, 2, 3]);
    save(&replace, &ints(&[7]));
    assert_eq!(values(&load(&fail)), [7]);

    // A value that cannot be stored fails after DROP, CREATE and the first
    // row's INSERT: the transaction is rolled back and the old rows stay.
    let bad = RecordBatch::try_from_iter([(
        "hp",
        Arc::new(arrow_array::TimestampMicrosecondArray::from(vec![
            0,
            i64::MAX,
        ])) as ArrayRef,
    )])
    .unwrap();
    let err = replace.save(Data::new(bad)).unwrap_err();
    assert_eq!(err.kind(), "sql_value", "{err}");
    assert_eq!(values(&load(&fail)), [7]);
}

#[test]
fn queries_with_params_and_from_files() {
    let dir = tempfile::tempdir().unwrap();
    save(&table(CON, dir.path(), "cars", json!({})), &every_type());
    let named = query(
        CON,
        dir.path(),
        "SELECT i64, txt FROM cars WHERE i16 >= :lo AND txt <> %(skip)s ORDER BY i64",
        json!({"params": {"lo": -40000, "skip": "x"}}),
    );
    let loaded = load(&named);
    assert_eq!(
        loaded.column(1).as_ref(),
        &StringArray::from(vec!["héllo ✓ 'q' \"d\"", "plain"]) as &dyn Array
    );
    let positional = query(
        CON,
        dir.path(),
        "SELECT count(*) AS n, avg(f64) AS m FROM cars WHERE flag = ? OR i32 = ?",
        json!({"params": [true, -2147483648_i64]}),
    );
    let agg = load(&positional);
    assert_eq!(
        agg.column(0).as_ref(),
        &Int64Array::from(vec![2]) as &dyn Array
    );
    assert_eq!(
        agg.column(1).as_ref(),
        &Float64Array::from(vec![(0.1 - 1e300) / 2.0]) as &dyn Array
    );

    std::fs::write(
        dir.path().join("q.sql"),
        "SELECT day, at FROM cars WHERE day IS NOT NULL ORDER BY day",
    )
    .unwrap();
    let from_file = dataset(
        "pandas.SQLQueryDataset",
        CON,
        dir.path(),
        json!({"filepath": "q.sql"}),
    )
    .unwrap();
    let loaded = load(&from_file);
    assert_eq!(loaded.column(0).data_type(), &DataType::Date32);
    assert_eq!(loaded.num_rows(), 2);
}

#[test]
fn database_paths_stay_inside_the_project_and_absolute_ones_work() {
    let dir = tempfile::tempdir().unwrap();
    let err = dataset(
        "pandas.SQLTableDataset",
        "sqlite:///../escape.db",
        dir.path(),
        json!({"table_name": "t"}),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "invalid_config");
    assert!(err.to_string().contains(".."), "{err}");
    let absolute = format!("sqlite:///{}", dir.path().join("abs.db").display());
    let ds = table(
        &absolute,
        std::path::Path::new("/nonexistent"),
        "t",
        json!({}),
    );
    save(&ds, &ints(&[4]));
    assert_eq!(values(&load(&ds)), [4]);
    // A query on a database that does not exist says so, creating nothing.
    let missing = query("sqlite:///missing.db", dir.path(), "SELECT 1", json!({}));
    let err = missing.load().unwrap_err();
    assert_eq!(err.kind(), "sql_connection");
    assert!(!dir.path().join("missing.db").exists());
}

fn ints(values: &[i64]) -> RecordBatch {
    RecordBatch::try_from_iter([(
        "hp",
        Arc::new(Int64Array::from(values.to_vec())) as ArrayRef,
    )])
    .unwrap()
}

fn values(batch: &RecordBatch) -> Vec<i64> {
    batch
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .values()
        .to_vec()
}
