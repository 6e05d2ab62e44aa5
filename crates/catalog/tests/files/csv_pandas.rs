//! CSVDataset with pandas' load and save args, against what pandas 3.1
//! does with them (docs/shared reference, kedro-datasets 9.6 section 5).

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, TimestampNanosecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use tandem_catalog::Dataset;
use tandem_pipeline_core::Data;

use crate::common::{build, config, try_build};

fn load_batch(ds: &dyn Dataset) -> RecordBatch {
    ds.load().unwrap().into_value::<RecordBatch>().unwrap()
}

/// Writes `text` to `t.csv` in a new directory and loads it with `load_args`.
fn read(bytes: &[u8], load_args: serde_json::Value) -> RecordBatch {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), bytes).unwrap();
    load_batch(&*build(
        dir.path(),
        "pandas.CSVDataset",
        serde_json::json!({"filepath": "t.csv", "load_args": load_args}),
    ))
}

fn names(batch: &RecordBatch) -> Vec<String> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

fn ints(values: Vec<Option<i64>>) -> Int64Array {
    Int64Array::from(values)
}

fn strings(values: Vec<Option<&str>>) -> StringArray {
    StringArray::from(values)
}

#[test]
fn sep_decimal_and_skiprows() {
    let loaded = read(
        b"title line\na;b\n1,5;x\n2;y\n",
        serde_json::json!({"sep": ";", "decimal": ",", "skiprows": 1}),
    );
    assert_eq!(names(&loaded), ["a", "b"]);
    assert_eq!(
        loaded.column(0).as_ref(),
        &Float64Array::from(vec![1.5, 2.0]) as &dyn Array
    );
    let loaded = read(
        b"a|b\n1|2\n",
        serde_json::json!({"delimiter": "|", "engine": "python"}),
    );
    assert_eq!(
        loaded.column(1).as_ref(),
        &ints(vec![Some(2)]) as &dyn Array
    );
}

#[test]
fn encodings_latin1_and_cp1252() {
    for encoding in ["latin-1", "latin1", "ISO-8859-1", "cp1252"] {
        let loaded = read(
            b"name\ncaf\xe9\n",
            serde_json::json!({"encoding": encoding}),
        );
        assert_eq!(
            loaded.column(0).as_ref(),
            &strings(vec![Some("café")]) as &dyn Array,
            "{encoding}"
        );
    }
    let loaded = read(
        "name\ncafé\n".as_bytes(),
        serde_json::json!({"encoding": "utf-8"}),
    );
    assert_eq!(
        loaded.column(0).as_ref(),
        &strings(vec![Some("café")]) as &dyn Array
    );
    // Not UTF-8 and no encoding: an error that says what to set.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), b"name\ncaf\xe9\n").unwrap();
    let err = build(
        dir.path(),
        "CSVDataset",
        serde_json::json!({"filepath": "t.csv"}),
    )
    .load()
    .unwrap_err();
    assert_eq!(err.kind(), "format");
    assert!(err.to_string().contains("load_args.encoding"), "{err}");
    assert!(err.to_string().contains("t.csv"), "{err}");
}

#[test]
fn na_values_add_to_the_defaults_unless_keep_default_na_is_false() {
    let text = b"a,b\n-,NA\n1,x\n,n/a\n";
    let loaded = read(text, serde_json::json!({"na_values": ["-"]}));
    assert_eq!(
        loaded.column(0).as_ref(),
        &ints(vec![None, Some(1), None]) as &dyn Array
    );
    assert_eq!(
        loaded.column(1).as_ref(),
        &strings(vec![None, Some("x"), None]) as &dyn Array
    );
    let loaded = read(
        text,
        serde_json::json!({"na_values": "-", "keep_default_na": false}),
    );
    assert_eq!(
        loaded.column(1).as_ref(),
        &strings(vec![Some("NA"), Some("x"), Some("n/a")]) as &dyn Array
    );
}

#[test]
fn header_null_numbers_the_columns_and_keeps_the_first_row() {
    let text = b"a,b\n1,2\n";
    let loaded = read(text, serde_json::json!({"header": null}));
    assert_eq!(names(&loaded), ["0", "1"]);
    assert_eq!(
        loaded.column(0).as_ref(),
        &strings(vec![Some("a"), Some("1")]) as &dyn Array
    );
    let loaded = read(
        text,
        serde_json::json!({"header": null, "names": ["x", "y"]}),
    );
    assert_eq!(names(&loaded), ["x", "y"]);
    assert_eq!(loaded.num_rows(), 2);
    let loaded = read(text, serde_json::json!({"header": 0}));
    assert_eq!(names(&loaded), ["a", "b"]);
    let loaded = read(b"junk,junk\na,b\n1,2\n", serde_json::json!({"header": 1}));
    assert_eq!(names(&loaded), ["a", "b"]);
    assert_eq!(
        loaded.column(0).as_ref(),
        &ints(vec![Some(1)]) as &dyn Array
    );
    // Blank and repeated header cells, as pandas names them.
    let loaded = read(b"a,,a\n1,2,3\n", serde_json::json!({}));
    assert_eq!(names(&loaded), ["a", "Unnamed: 1", "a.1"]);
}

#[test]
fn usecols_nrows_quotechar_and_dtype() {
    let text = b"zip,city,n\n007,'Paris, FR',1\n010,Lyon,2\n020,Nice,3\n";
    let loaded = read(
        text,
        serde_json::json!({
            "usecols": ["n", "zip"], "nrows": 2, "quotechar": "'", "dtype": {"zip": "str"}
        }),
    );
    assert_eq!(names(&loaded), ["zip", "n"]);
    assert_eq!(
        loaded.column(0).as_ref(),
        &strings(vec![Some("007"), Some("010")]) as &dyn Array
    );
    let loaded = read(text, serde_json::json!({"quotechar": "'", "usecols": [1]}));
    assert_eq!(
        loaded.column(0).as_ref(),
        &strings(vec![Some("Paris, FR"), Some("Lyon"), Some("Nice")]) as &dyn Array
    );
    let loaded = read(
        text,
        serde_json::json!({"quotechar": "'", "dtype": {"n": "float64"}}),
    );
    assert_eq!(loaded.schema().field(2).data_type(), &DataType::Float64);
    // Without dtype, zip codes are numbers, as pandas reads them.
    let loaded = read(text, serde_json::json!({"quotechar": "'"}));
    assert_eq!(
        loaded.column(0).as_ref(),
        &ints(vec![Some(7), Some(10), Some(20)]) as &dyn Array
    );
}

#[test]
fn types_come_from_every_row_so_a_late_string_widens_the_column() {
    let mut text = String::from("n,f,b\n");
    for i in 0..1_500 {
        text.push_str(&format!("{i},{i}.5,{}\n", i % 2 == 0));
    }
    text.push_str("late,1,True\n");
    let loaded = read(text.as_bytes(), serde_json::json!({}));
    let types: Vec<&DataType> = loaded
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.data_type())
        .collect();
    assert_eq!(
        types,
        [&DataType::Utf8, &DataType::Float64, &DataType::Boolean]
    );
    let n = loaded
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!((n.value(0), n.value(1_500)), ("0", "late"));
    let b = loaded
        .column(2)
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap();
    assert!(b.value(0) && !b.value(1) && b.value(1_500));
}

#[test]
fn parse_dates_give_timestamps_dates_stay_text_otherwise() {
    let text = b"d,t\n2024-01-02,2024-01-02 03:04:05\n,2024-01-03 00:00:00.5\n";
    let loaded = read(text, serde_json::json!({}));
    assert_eq!(loaded.schema().field(0).data_type(), &DataType::Utf8);
    let loaded = read(text, serde_json::json!({"parse_dates": ["d", "t"]}));
    assert_eq!(
        loaded.column(0).as_ref(),
        &TimestampMicrosecondArray::from(vec![Some(1_704_153_600_000_000), None]) as &dyn Array
    );
    assert_eq!(
        loaded.column(1).as_ref(),
        &TimestampMicrosecondArray::from(vec![1_704_164_645_000_000, 1_704_240_000_500_000])
            as &dyn Array
    );
    // Offsets give a zoned column; nanosecond digits give [ns].
    let loaded = read(
        b"at,ns\n2024-01-02T03:04:05+01:00,2024-01-02 00:00:00.000000001\n",
        serde_json::json!({"parse_dates": [0, "ns"]}),
    );
    assert_eq!(
        loaded.schema().field(0).data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("+01:00".into()))
    );
    assert_eq!(
        loaded.column(0).as_ref(),
        &TimestampMicrosecondArray::from(vec![1_704_161_045_000_000]).with_timezone("+01:00")
            as &dyn Array
    );
    assert_eq!(
        loaded.column(1).as_ref(),
        &TimestampNanosecondArray::from(vec![1_704_153_600_000_000_001]) as &dyn Array
    );
    // date_format and dayfirst.
    let loaded = read(
        b"d\n02/01/2024\n",
        serde_json::json!({"parse_dates": ["d"], "date_format": "%d/%m/%Y"}),
    );
    let jan_2 = TimestampMicrosecondArray::from(vec![1_704_153_600_000_000]);
    assert_eq!(loaded.column(0).as_ref(), &jan_2 as &dyn Array);
    let loaded = read(
        b"d\n02/01/2024\n",
        serde_json::json!({"parse_dates": ["d"], "dayfirst": true}),
    );
    assert_eq!(loaded.column(0).as_ref(), &jan_2 as &dyn Array);
    // A value that is no date is an error naming the column.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "d\nsoon\n").unwrap();
    let ds = build(
        dir.path(),
        "CSVDataset",
        serde_json::json!({"filepath": "t.csv", "load_args": {"parse_dates": ["d"]}}),
    );
    let err = ds.load().unwrap_err();
    assert!(
        err.to_string().contains("column 'd'") && err.to_string().contains("'soon'"),
        "{err}"
    );
}

fn table() -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("a", Arc::new(Int64Array::from(vec![1, 2]))),
        ("b", Arc::new(strings(vec![Some("x"), None]))),
        ("c", Arc::new(Float64Array::from(vec![Some(1.5), None]))),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

fn written(table: RecordBatch, options: serde_json::Value) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options;
    options["filepath"] = "t.csv".into();
    build(dir.path(), "pandas.CSVDataset", options)
        .save(Data::new(table))
        .unwrap();
    std::fs::read(dir.path().join("t.csv")).unwrap()
}

#[test]
fn saves_write_what_pandas_writes() {
    assert_eq!(
        written(table(), serde_json::json!({})),
        b"a,b,c\n1,x,1.5\n2,,\n"
    );
    assert_eq!(
        written(
            table(),
            serde_json::json!({"save_args": {"sep": ";", "decimal": ",", "na_rep": "NULL", "index": false}})
        ),
        b"a;b;c\n1;x;1,5\n2;NULL;NULL\n"
    );
    assert_eq!(
        written(
            table(),
            serde_json::json!({"save_args": {"header": false, "lineterminator": "\r\n"}})
        ),
        b"1,x,1.5\r\n2,,\r\n"
    );
    assert_eq!(
        written(table(), serde_json::json!({"save_args": {"quoting": 1}})),
        b"\"a\",\"b\",\"c\"\n\"1\",\"x\",\"1.5\"\n\"2\",\"\",\"\"\n"
    );
    assert_eq!(
        written(table(), serde_json::json!({"save_args": {"quoting": 2}})),
        b"\"a\",\"b\",\"c\"\n1,\"x\",1.5\n2,\"\",\"\"\n"
    );
    let at = RecordBatch::try_from_iter([
        (
            "t",
            Arc::new(TimestampMicrosecondArray::from(vec![1_704_164_645_000_000])) as ArrayRef,
        ),
        (
            "day",
            Arc::new(TimestampMicrosecondArray::from(vec![1_704_153_600_000_000])) as ArrayRef,
        ),
    ])
    .unwrap();
    // pandas writes a space, and dates alone for an all-midnight column.
    assert_eq!(
        written(at.clone(), serde_json::json!({})),
        b"t,day\n2024-01-02 03:04:05,2024-01-02\n"
    );
    assert_eq!(
        written(
            at,
            serde_json::json!({"save_args": {"date_format": "%d/%m/%Y"}})
        ),
        b"t,day\n02/01/2024,02/01/2024\n"
    );
    let text =
        RecordBatch::try_from_iter([("name", Arc::new(strings(vec![Some("café")])) as ArrayRef)])
            .unwrap();
    for options in [
        serde_json::json!({"save_args": {"encoding": "latin-1"}}),
        serde_json::json!({"fs_args": {"open_args_save": {"mode": "w", "encoding": "latin-1"}}}),
    ] {
        assert_eq!(written(text.clone(), options), b"name\ncaf\xe9\n");
    }
}

#[test]
fn bad_pandas_args_fail_when_the_entry_is_built() {
    let dir = tempfile::tempdir().unwrap();
    for (load_args, save_args, needle) in [
        (
            serde_json::json!({"engine": "spark"}),
            serde_json::json!({}),
            "unknown engine 'spark'",
        ),
        (
            serde_json::json!({"decimal": ",,"}),
            serde_json::json!({}),
            "load_args.decimal",
        ),
        (
            serde_json::json!({"schema": [], "nrows": 1}),
            serde_json::json!({}),
            "nrows cannot be combined",
        ),
        (
            serde_json::json!({}),
            serde_json::json!({"quoting": 7}),
            "save_args.quoting",
        ),
        (
            serde_json::json!({}),
            serde_json::json!({"encoding": "nope"}),
            "unknown encoding 'nope'",
        ),
        (
            serde_json::json!({}),
            serde_json::json!({"lineterminator": ";"}),
            "lineterminator",
        ),
        (
            serde_json::json!({"dtype": {"a": "int65"}}),
            serde_json::json!({}),
            "int65",
        ),
    ] {
        let options = serde_json::json!({"filepath": "t.csv", "load_args": load_args, "save_args": save_args});
        let err = try_build(&config(dir.path(), "CSVDataset", options)).unwrap_err();
        assert_eq!(err.kind(), "invalid_config", "{needle}");
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}
