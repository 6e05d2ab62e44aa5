//! ExcelDataset against pandas 3.1 + openpyxl 3.1: pandas reads the
//! workbooks tandem writes, and tandem reads the ones pandas writes, with
//! the types and values pandas itself sees.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use tandem_pipeline_core::Data;
use tandem_test_support::excel::excel_bin;
use tandem_test_support::python::run_script;

use crate::common::{build, mixed_table};

fn python(script: &str, args: &[&std::path::Path]) -> String {
    run_script(&excel_bin().join("python"), script, args).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pandas_reads_what_tandem_writes() {
    let dir = tempfile::tempdir().unwrap();
    let ds = build(
        dir.path(),
        "pandas.ExcelDataset",
        serde_json::json!({"filepath": "out.xlsx", "save_args": {"sheet_name": "shuttles", "index": false}}),
    );
    ds.save(Data::new(mixed_table())).unwrap();
    let out = python(
        r#"
import json, sys
import pandas as pd
df = pd.read_excel(sys.argv[1], sheet_name="shuttles", engine="openpyxl")
print(json.dumps({
    "columns": list(df.columns),
    "dtypes": [str(t) for t in df.dtypes],
    "values": json.loads(df.to_json(orient="values", date_format="iso", date_unit="us")),
    "sheets": pd.ExcelFile(sys.argv[1]).sheet_names,
}))
"#,
        &[&dir.path().join("out.xlsx")],
    );
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["sheets"], serde_json::json!(["shuttles"]));
    assert_eq!(
        got["columns"],
        serde_json::json!(["id", "price", "name", "ok", "day", "at"])
    );
    // pandas widens a bool column with a missing value to float, as it does
    // for any workbook; the dates and timestamps are datetime64.
    assert_eq!(
        got["dtypes"],
        serde_json::json!([
            "int64",
            "float64",
            "str",
            "float64",
            "datetime64[us]",
            "datetime64[us]"
        ])
    );
    assert_eq!(
        got["values"][1],
        serde_json::json!([
            2,
            null,
            "b,c",
            0.0,
            "1970-01-02T00:00:00.000000",
            "2023-11-14T22:13:20.000000"
        ])
    );
    assert_eq!(got["values"][3][2], serde_json::json!("é"));
    assert_eq!(
        got["values"][4][4],
        serde_json::json!("1969-12-31T00:00:00.000000")
    );
}

#[test]
fn tandem_reads_what_pandas_writes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.xlsx");
    python(
        r#"
import sys, datetime
import pandas as pd
companies = pd.DataFrame({
    "id": [1, 2, 3],
    "rating": [0.5, None, 2.0],
    "name": ["a", None, "c"],
    "ok": [True, False, True],
    "at": [pd.Timestamp("2024-01-02 03:04:05"), pd.Timestamp("2024-01-03"), pd.NaT],
    "mixed": [1, "y", 2.5],
})
with pd.ExcelWriter(sys.argv[1]) as writer:
    pd.DataFrame({"x": [9]}).to_excel(writer, sheet_name="first", index=False)
    companies.to_excel(writer, sheet_name="companies", index=False)
"#,
        &[&file],
    );
    let ds = build(
        dir.path(),
        "pandas.ExcelDataset",
        serde_json::json!({"filepath": "in.xlsx", "load_args": {"sheet_name": "companies", "engine": "openpyxl"}}),
    );
    let loaded = ds.load().unwrap().into_value::<RecordBatch>().unwrap();
    let expected: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        (
            "rating",
            Arc::new(Float64Array::from(vec![Some(0.5), None, Some(2.0)])),
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
        ),
        ("ok", Arc::new(BooleanArray::from(vec![true, false, true]))),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_704_164_645_000_000),
                Some(1_704_240_000_000_000),
                None,
            ])),
        ),
        ("mixed", Arc::new(StringArray::from(vec!["1", "y", "2.5"]))),
    ];
    for (i, (name, array)) in expected.iter().enumerate() {
        assert_eq!(loaded.schema().field(i).name(), name);
        assert_eq!(
            loaded.column(i).as_ref(),
            array.as_ref() as &dyn Array,
            "{name}"
        );
    }
    assert_eq!(
        loaded.schema().field(4).data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, None)
    );

    // The first sheet by default, and by position.
    for load_args in [serde_json::json!({}), serde_json::json!({"sheet_name": 0})] {
        let ds = build(
            dir.path(),
            "ExcelDataset",
            serde_json::json!({"filepath": "in.xlsx", "load_args": load_args}),
        );
        let first = ds.load().unwrap().into_value::<RecordBatch>().unwrap();
        assert_eq!(first.schema().field(0).name(), "x");
        assert_eq!(
            first.column(0).as_ref(),
            &Int64Array::from(vec![9]) as &dyn Array
        );
    }
    // `sheet_name: null`: every sheet, keyed by name, as pandas' dict.
    let ds = build(
        dir.path(),
        "ExcelDataset",
        serde_json::json!({"filepath": "in.xlsx", "load_args": {"sheet_name": null}}),
    );
    let sheets = ds
        .load()
        .unwrap()
        .into_value::<BTreeMap<String, RecordBatch>>()
        .unwrap();
    assert_eq!(
        sheets.keys().collect::<Vec<_>>(),
        ["companies", "first"],
        "every sheet"
    );
    assert_eq!(sheets["companies"], loaded);
    assert_eq!(sheets["first"].num_rows(), 1);
}

#[test]
fn a_map_of_tables_is_one_sheet_per_key_for_pandas() {
    let dir = tempfile::tempdir().unwrap();
    let ds = build(
        dir.path(),
        "pandas.ExcelDataset",
        serde_json::json!({"filepath": "book.xlsx"}),
    );
    let small =
        RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![7, 8])) as ArrayRef)])
            .unwrap();
    let sheets = BTreeMap::from([
        ("shuttles".to_owned(), mixed_table()),
        ("small".to_owned(), small),
    ]);
    ds.save(Data::new(sheets)).unwrap();
    let out = python(
        r#"
import json, sys
import pandas as pd
sheets = pd.read_excel(sys.argv[1], sheet_name=None, engine="openpyxl")
print(json.dumps({name: [list(df.columns), len(df)] for name, df in sheets.items()}))
"#,
        &[&dir.path().join("book.xlsx")],
    );
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        got,
        serde_json::json!({
            "shuttles": [["id", "price", "name", "ok", "day", "at"], mixed_table().num_rows()],
            "small": [["x"], 2],
        })
    );
}
