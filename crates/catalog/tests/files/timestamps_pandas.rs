//! Typed round trips through pandas 3.1 + pyarrow: dates parsed from a CSV
//! (`parse_dates`) or read from an Excel workbook, saved as Parquet, are
//! `datetime64` in pandas, with the unit and zone pandas itself gives
//! (kedro-config.md §5.3: `datetime64[us]`, `[ns]` for nanosecond digits,
//! `datetime64[us, UTC+01:00]` for an offset, NaT for empty cells). And
//! the one place tandem's column types differ from pandas': ints and bools
//! with missing values stay ints and bools.

use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use tandem_pipeline_core::Data;
use tandem_test_support::excel::excel_bin;
use tandem_test_support::python::run_script;

use crate::common::build;

fn python(script: &str, args: &[&std::path::Path]) -> String {
    run_script(&excel_bin().join("python"), script, args).unwrap_or_else(|e| panic!("{e}"))
}

/// What pandas sees in a Parquet file: column names, dtypes, and the
/// values as ISO strings (NaT as null).
const READ_PARQUET: &str = r#"
import json, sys
import pandas as pd
df = pd.read_parquet(sys.argv[1])
print(json.dumps({
    "columns": list(df.columns),
    "dtypes": [str(t) for t in df.dtypes],
    "values": {c: [None if pd.isna(v) else v.isoformat() if hasattr(v, "isoformat") else v
                   for v in df[c]] for c in df.columns},
}))
"#;

fn pandas_view(file: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&python(READ_PARQUET, &[file])).unwrap()
}

#[test]
fn csv_parse_dates_to_parquet_reads_back_as_datetime64_in_pandas() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.csv"),
        "id,day,at,ns,zoned,text_day\n\
         1,2024-01-02,2024-01-02 03:04:05,2024-01-02 03:04:05.123456789,2024-01-02 03:04:05+01:00,2024-01-02\n\
         2,,2024-03-04 00:00:00.5,2024-03-04 00:00:00.000000001,2024-03-04 10:00:00+01:00,2024-03-04\n",
    )
    .unwrap();
    let csv = build(
        dir.path(),
        "pandas.CSVDataset",
        serde_json::json!({
            "filepath": "in.csv",
            "load_args": {"parse_dates": ["day", "at", "ns", "zoned"]},
        }),
    );
    let batch = csv.load().unwrap().into_value::<RecordBatch>().unwrap();
    assert_eq!(
        batch.schema().field(1).data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, None)
    );
    // A date column that is not in parse_dates stays text, as in pandas.
    assert_eq!(batch.schema().field(5).data_type(), &DataType::Utf8);

    let parquet = build(
        dir.path(),
        "pandas.ParquetDataset",
        serde_json::json!({"filepath": "out.parquet"}),
    );
    parquet.save(Data::new(batch.clone())).unwrap();
    let got = pandas_view(&dir.path().join("out.parquet"));
    assert_eq!(
        got["columns"],
        serde_json::json!(["id", "day", "at", "ns", "zoned", "text_day"])
    );
    assert_eq!(
        got["dtypes"],
        serde_json::json!([
            "int64",
            "datetime64[us]",
            "datetime64[us]",
            "datetime64[ns]",
            "datetime64[us, UTC+01:00]",
            "str"
        ])
    );
    assert_eq!(
        got["values"]["day"],
        serde_json::json!(["2024-01-02T00:00:00", null])
    );
    assert_eq!(
        got["values"]["at"],
        serde_json::json!(["2024-01-02T03:04:05", "2024-03-04T00:00:00.500000"])
    );
    assert_eq!(
        got["values"]["ns"][0],
        serde_json::json!("2024-01-02T03:04:05.123456789")
    );
    assert_eq!(
        got["values"]["zoned"],
        serde_json::json!(["2024-01-02T03:04:05+01:00", "2024-03-04T10:00:00+01:00"])
    );

    // And tandem reads its own Parquet back unchanged.
    let again = parquet.load().unwrap().into_value::<RecordBatch>().unwrap();
    assert_eq!(again.columns(), batch.columns());
}

#[test]
fn excel_dates_to_parquet_read_back_as_datetime64_in_pandas() {
    let dir = tempfile::tempdir().unwrap();
    let workbook = dir.path().join("shuttles.xlsx");
    python(
        r#"
import sys, datetime
import pandas as pd
pd.DataFrame({
    "id": [1, 2, 3],
    "at": [pd.Timestamp("2024-01-02 03:04:05"), pd.Timestamp("2024-01-03"), pd.NaT],
    "day": [datetime.date(2024, 5, 6), datetime.date(1969, 12, 31), datetime.date(2000, 2, 29)],
}).to_excel(sys.argv[1], sheet_name="shuttles", index=False)
"#,
        &[&workbook],
    );
    let excel = build(
        dir.path(),
        "pandas.ExcelDataset",
        serde_json::json!({
            "filepath": "shuttles.xlsx",
            "load_args": {"engine": "openpyxl", "sheet_name": "shuttles"},
        }),
    );
    let parquet = build(
        dir.path(),
        "pandas.ParquetDataset",
        serde_json::json!({"filepath": "shuttles.parquet"}),
    );
    parquet.save(excel.load().unwrap()).unwrap();

    // What pandas itself gives for the workbook is the reference.
    let direct: serde_json::Value = serde_json::from_str(&python(
        r#"
import json, sys
import pandas as pd
df = pd.read_excel(sys.argv[1], sheet_name="shuttles", engine="openpyxl")
print(json.dumps([str(t) for t in df.dtypes]))
"#,
        &[&workbook],
    ))
    .unwrap();
    let got = pandas_view(&dir.path().join("shuttles.parquet"));
    assert_eq!(
        got["dtypes"],
        serde_json::json!(["int64", "datetime64[us]", "datetime64[us]"])
    );
    assert_eq!(got["dtypes"], direct);
    assert_eq!(
        got["values"]["at"],
        serde_json::json!(["2024-01-02T03:04:05", "2024-01-03T00:00:00", null])
    );
    assert_eq!(
        got["values"]["day"],
        serde_json::json!([
            "2024-05-06T00:00:00",
            "1969-12-31T00:00:00",
            "2000-02-29T00:00:00"
        ])
    );
}

/// Where tandem's types differ from pandas': an int or bool column with a
/// missing value stays int64/bool with a null (pandas' nullable `Int64` and
/// `boolean`), where `read_csv` widens to float64 and object. pandas reads
/// the Parquet file back as pyarrow converts it, and with
/// `dtype_backend="numpy_nullable"` gets `Int64` and `boolean` exactly.
#[test]
fn ints_and_bools_with_missing_values_stay_nullable_ints_and_bools() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "n,flag\n1,True\n,\n3,False\n").unwrap();
    let csv = build(
        dir.path(),
        "pandas.CSVDataset",
        serde_json::json!({"filepath": "in.csv"}),
    );
    let batch = csv.load().unwrap().into_value::<RecordBatch>().unwrap();
    assert_eq!(batch.schema().field(0).data_type(), &DataType::Int64);
    assert_eq!(batch.schema().field(1).data_type(), &DataType::Boolean);
    assert_eq!(batch.column(0).null_count(), 1);
    assert_eq!(batch.column(1).null_count(), 1);
    let parquet = build(
        dir.path(),
        "pandas.ParquetDataset",
        serde_json::json!({"filepath": "out.parquet"}),
    );
    parquet.save(Data::new(batch)).unwrap();
    let out = python(
        r#"
import json, sys
import pandas as pd
csv = pd.read_csv(sys.argv[1])
plain = pd.read_parquet(sys.argv[2])
nullable = pd.read_parquet(sys.argv[2], dtype_backend="numpy_nullable")
print(json.dumps({
    "read_csv": [str(t) for t in csv.dtypes],
    "parquet": [str(t) for t in plain.dtypes],
    "nullable": [str(t) for t in nullable.dtypes],
    "values": [[None if pd.isna(v) else v.item() for v in nullable[c]] for c in nullable.columns],
}))
"#,
        &[&dir.path().join("in.csv"), &dir.path().join("out.parquet")],
    );
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["read_csv"], serde_json::json!(["float64", "object"]));
    assert_eq!(got["parquet"], serde_json::json!(["float64", "object"]));
    assert_eq!(got["nullable"], serde_json::json!(["Int64", "boolean"]));
    assert_eq!(
        got["values"],
        serde_json::json!([[1, null, 3], [true, null, false]])
    );
}
