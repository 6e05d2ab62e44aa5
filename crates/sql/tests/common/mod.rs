//! Shared by the SQL dataset tests: entries built through the registry as a
//! catalog would build them, a table with every supported type and nulls,
//! and tables as canonical JSON (what pandas' values are compared with).

#![allow(dead_code, reason = "each test file uses a different part")]

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array,
    Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use serde_json::{Value, json};
use tandem_catalog::{Credentials, Dataset, DatasetConfig, DatasetRegistry};
use tandem_pipeline_core::Data;

/// Builds an entry of `type_name` with `options`, connecting with `con`.
pub fn dataset(
    type_name: &str,
    con: &str,
    root: &Path,
    options: Value,
) -> Result<Arc<dyn Dataset>, tandem_catalog::Error> {
    let mut registry = DatasetRegistry::with_builtins();
    tandem_sql::register(&mut registry);
    let Value::Object(options) = options else {
        panic!("options must be a mapping")
    };
    let mut config = DatasetConfig::new("entry", type_name, options);
    config.project_root = root.to_owned();
    config.credentials = Some(Credentials::new([("con".to_owned(), json!(con))].into()));
    registry.build(&config)
}

/// A `pandas.SQLTableDataset` on `table` with `save_args`.
pub fn table(con: &str, root: &Path, table: &str, save_args: Value) -> Arc<dyn Dataset> {
    dataset(
        "pandas.SQLTableDataset",
        con,
        root,
        json!({"table_name": table, "save_args": save_args}),
    )
    .unwrap()
}

/// A `pandas.SQLQueryDataset` running `sql` with `load_args`.
pub fn query(con: &str, root: &Path, sql: &str, load_args: Value) -> Arc<dyn Dataset> {
    dataset(
        "pandas.SQLQueryDataset",
        con,
        root,
        json!({"sql": sql, "load_args": load_args}),
    )
    .unwrap()
}

pub fn load(ds: &Arc<dyn Dataset>) -> RecordBatch {
    ds.load()
        .unwrap()
        .downcast_ref::<RecordBatch>()
        .unwrap()
        .clone()
}

pub fn save(ds: &Arc<dyn Dataset>, batch: &RecordBatch) {
    ds.save(Data::new(batch.clone())).unwrap();
}

/// 2024-03-10 14:30:15.123456 UTC in microseconds.
pub const TS: i64 = 1_710_081_015_123_456;

/// Every supported type, three rows, a null in each column (and a row of
/// edge values: negative, non-ASCII text, a pre-1970 instant).
pub fn every_type() -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "i16",
            Arc::new(Int16Array::from(vec![Some(1), None, Some(-32768)])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(7), None, Some(i32::MIN)])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(i64::MAX), None, Some(-5)])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![Some(1.5), None, Some(-2.25)])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![Some(0.1), None, Some(-1e300)])),
        ),
        (
            "num",
            Arc::new(
                Decimal128Array::from(vec![Some(1234), None, Some(-5)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
        ),
        (
            "txt",
            Arc::new(StringArray::from(vec![
                Some("plain"),
                None,
                Some("héllo ✓ 'q' \"d\""),
            ])),
        ),
        (
            "flag",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![Some(19_792), None, Some(-1)])),
        ),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(TS),
                None,
                Some(-1_500_000),
            ])),
        ),
        (
            "at_utc",
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(TS), None, Some(0)]).with_timezone("UTC"),
            ),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

/// A table as `{column: [values]}`: numbers as f64, dates `YYYY-MM-DD`,
/// timestamps `YYYY-MM-DDTHH:MM:SS.ffffff` (`+00:00` when zoned), nulls null.
pub fn canonical(batch: &RecordBatch) -> Value {
    let mut out = serde_json::Map::new();
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        let values: Vec<Value> = (0..array.len())
            .map(|i| {
                if array.is_null(i) {
                    return Value::Null;
                }
                match array.data_type() {
                    DataType::Int16 => json!(f64::from(array.as_primitive::<Int16Type>().value(i))),
                    DataType::Int32 => json!(f64::from(array.as_primitive::<Int32Type>().value(i))),
                    DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(i) as f64),
                    DataType::Float32 => {
                        json!(f64::from(array.as_primitive::<Float32Type>().value(i)))
                    }
                    DataType::Float64 => json!(array.as_primitive::<Float64Type>().value(i)),
                    DataType::Decimal128(_, scale) => {
                        let v = array
                            .as_primitive::<arrow_array::types::Decimal128Type>()
                            .value(i);
                        json!(v as f64 / 10f64.powi(i32::from(*scale)))
                    }
                    DataType::Utf8 => json!(array.as_string::<i32>().value(i)),
                    DataType::Boolean => json!(array.as_boolean().value(i)),
                    DataType::Date32 => {
                        let days = array.as_primitive::<Date32Type>().value(i);
                        let date =
                            chrono::NaiveDate::default() + chrono::TimeDelta::days(i64::from(days));
                        json!(date.format("%Y-%m-%d").to_string())
                    }
                    DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                        let micros = array.as_primitive::<TimestampMicrosecondType>().value(i);
                        let at = chrono::DateTime::from_timestamp_micros(micros).unwrap();
                        let zone = if tz.is_some() { "+00:00" } else { "" };
                        json!(format!(
                            "{}{zone}",
                            at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f")
                        ))
                    }
                    other => panic!("no canonical form for {other}"),
                }
            })
            .collect();
        out.insert(field.name().clone(), Value::Array(values));
    }
    Value::Object(out)
}

/// The Python function pandas' values go through before they are printed
/// as JSON: the same canonical form as [`canonical`].
pub const PY_CANONICAL: &str = r#"
import datetime, decimal, json, math, sys
import numpy as np
import pandas as pd

def canon(v):
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (pd.Timestamp, datetime.datetime)):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc)
            return v.strftime('%Y-%m-%dT%H:%M:%S.%f') + '+00:00'
        return v.strftime('%Y-%m-%dT%H:%M:%S.%f')
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return float(v)
    if isinstance(v, np.floating):
        return float(v)
    return v

def dump(df):
    print(json.dumps({c: [canon(v) for v in df[c].astype(object).tolist()] for c in df.columns}))
"#;

/// Runs `body` (after [`PY_CANONICAL`]) in the SQL venv's Python with `args`.
pub fn python(body: &str, args: &[&str]) -> Value {
    let python = tandem_test_support::postgres::sql_bin().join("python");
    let script = format!("{PY_CANONICAL}\n{body}");
    let out = tandem_test_support::python::run_script(&python, &script, args)
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(out.trim().lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("pandas printed no JSON ({e}): {out}"))
}

/// A fresh database on the test process's server, as a SQLAlchemy URL.
pub fn postgres_url() -> String {
    let server = tandem_test_support::postgres::server();
    server.url(&server.new_database())
}
