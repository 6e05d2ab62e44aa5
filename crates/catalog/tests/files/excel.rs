//! ExcelDataset: round trips, pandas' load args (sheet_name, header,
//! skiprows, usecols, nrows, names, dtype, na_values) and save args, on
//! workbooks tandem writes itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use tandem_catalog::{Dataset, Version};
use tandem_pipeline_core::Data;

use crate::common::{build, build_versioned, config, memory_path, mixed_table, try_build};

fn load_batch(ds: &dyn Dataset) -> RecordBatch {
    ds.load().unwrap().into_value::<RecordBatch>().unwrap()
}

fn names(batch: &RecordBatch) -> Vec<String> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// A sheet with a header row, whole numbers, text, a late string in a
/// number column and a blank cell:
///
/// | id | score | label | mixed |
/// | 1  | 1.5   | a     | 10    |
/// | 2  | 2     |       | 20    |
/// | 3  | 3.25  | c     | x     |
fn sample() -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        ("score", Arc::new(Float64Array::from(vec![1.5, 2.0, 3.25]))),
        (
            "label",
            Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
        ),
        ("mixed", Arc::new(StringArray::from(vec!["10", "20", "x"]))),
    ];
    // What a load gives: every column nullable.
    RecordBatch::try_from_iter_with_nullable(columns.into_iter().map(|(n, a)| (n, a, true)))
        .unwrap()
}

/// Saves `batch` with `save_args` to `file` in `dir` and returns the dataset
/// reading it back with `load_args`.
fn saved(
    dir: &std::path::Path,
    file: &str,
    batch: RecordBatch,
    save_args: serde_json::Value,
    load_args: serde_json::Value,
) -> Arc<dyn Dataset> {
    let writer = build(
        dir,
        "pandas.ExcelDataset",
        serde_json::json!({"filepath": file, "save_args": save_args}),
    );
    writer.save(Data::new(batch)).unwrap();
    build(
        dir,
        "pandas.ExcelDataset",
        serde_json::json!({"filepath": file, "load_args": load_args}),
    )
}

#[test]
fn every_column_type_round_trips_locally_and_on_memory() {
    let dir = tempfile::tempdir().unwrap();
    for filepath in ["t.xlsx".to_owned(), memory_path("t.xlsx")] {
        let ds = build(
            dir.path(),
            "ExcelDataset",
            serde_json::json!({"filepath": filepath}),
        );
        ds.save(Data::new(mixed_table())).unwrap();
        let loaded = load_batch(&*ds);
        let table = mixed_table();
        assert_eq!(names(&loaded), ["id", "price", "name", "ok", "day", "at"]);
        assert_eq!(loaded.column(0), table.column(0), "{filepath}: id");
        assert_eq!(loaded.column(1), table.column(1), "{filepath}: price");
        // An empty string is a missing value for pandas too.
        let expected = StringArray::from(vec![Some("a"), Some("b,c"), None, Some("é"), None]);
        assert_eq!(loaded.column(2).as_ref(), &expected as &dyn Array);
        assert_eq!(loaded.column(3), table.column(3), "{filepath}: ok");
        // Excel has no date type: dates come back as midnight timestamps,
        // as pandas reads them (datetime64).
        let days = table
            .column(4)
            .as_any()
            .downcast_ref::<Date32Array>()
            .unwrap();
        let midnights: TimestampMicrosecondArray = days
            .iter()
            .map(|d| d.map(|d| i64::from(d) * 86_400_000_000))
            .collect();
        assert_eq!(loaded.column(4).as_ref(), &midnights as &dyn Array);
        // Excel keeps milliseconds: the 1 µs value rounds to 0.
        let at = TimestampMicrosecondArray::from(vec![
            0,
            1_700_000_000_000_000,
            0,
            -1_000_000,
            86_400_000_000,
        ]);
        assert_eq!(loaded.column(5).as_ref(), &at as &dyn Array);
        assert_eq!(
            loaded.schema().field(5).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, None)
        );
    }
}

#[test]
fn types_are_inferred_from_every_cell_and_mixed_columns_are_text() {
    let dir = tempfile::tempdir().unwrap();
    // A number column with a string at row 1,500 widens to text.
    let n = 1_500;
    let values: Vec<String> = (0..n)
        .map(|i| {
            if i == n - 1 {
                "late".to_owned()
            } else {
                i.to_string()
            }
        })
        .collect();
    let numbers = Int64Array::from_iter_values(0..n as i64);
    let batch = RecordBatch::try_from_iter([
        ("n", Arc::new(numbers) as ArrayRef),
        ("s", Arc::new(StringArray::from(values.clone())) as ArrayRef),
    ])
    .unwrap();
    let ds = saved(
        dir.path(),
        "t.xlsx",
        batch,
        serde_json::json!({}),
        serde_json::json!({}),
    );
    let loaded = load_batch(&*ds);
    assert_eq!(loaded.schema().field(0).data_type(), &DataType::Int64);
    assert_eq!(
        loaded.column(1).as_ref(),
        &StringArray::from(values) as &dyn Array
    );

    let ds = saved(
        dir.path(),
        "s.xlsx",
        sample(),
        serde_json::json!({}),
        serde_json::json!({}),
    );
    let loaded = load_batch(&*ds);
    assert_eq!(loaded, sample());
}

#[test]
fn header_skiprows_nrows_and_names() {
    let dir = tempfile::tempdir().unwrap();
    let file = "h.xlsx";
    saved(
        dir.path(),
        file,
        sample(),
        serde_json::json!({}),
        serde_json::json!({}),
    );
    let load = |args: serde_json::Value| {
        load_batch(&*build(
            dir.path(),
            "ExcelDataset",
            serde_json::json!({"filepath": file, "load_args": args}),
        ))
    };

    // header: null names the columns 0..n-1 and keeps the first row as data.
    let loaded = load(serde_json::json!({"header": null}));
    assert_eq!(names(&loaded), ["0", "1", "2", "3"]);
    assert_eq!(loaded.num_rows(), 4);
    let first = loaded
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(first.value(0), "id");
    assert_eq!(first.value(1), "1");

    // header: 1 takes the names from the second row.
    let loaded = load(serde_json::json!({"header": 1}));
    assert_eq!(names(&loaded), ["1", "1.5", "a", "10"]);
    assert_eq!(loaded.num_rows(), 2);

    // skiprows: 1 and header: null; nrows: 2 stops after two rows.
    let loaded = load(serde_json::json!({"skiprows": 1, "header": null, "nrows": 2}));
    assert_eq!(names(&loaded), ["0", "1", "2", "3"]);
    assert_eq!(
        loaded.column(0).as_ref(),
        &Int64Array::from(vec![1, 2]) as &dyn Array
    );

    // skiprows as a list of row numbers.
    let loaded = load(serde_json::json!({"skiprows": [1, 2]}));
    assert_eq!(
        loaded.column(0).as_ref(),
        &Int64Array::from(vec![3]) as &dyn Array
    );

    // names replace the header row (pandas' header: 0 default).
    let loaded = load(serde_json::json!({"names": ["a", "b", "c", "d"]}));
    assert_eq!(names(&loaded), ["a", "b", "c", "d"]);
    assert_eq!(loaded.num_rows(), 3);
    // names with header: null keep the first row as data.
    let loaded = load(serde_json::json!({"names": ["a", "b", "c", "d"], "header": null}));
    assert_eq!(loaded.num_rows(), 4);
}

#[test]
fn usecols_by_name_position_and_letters_keep_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = "u.xlsx";
    saved(
        dir.path(),
        file,
        sample(),
        serde_json::json!({}),
        serde_json::json!({}),
    );
    for (usecols, expected) in [
        (serde_json::json!(["label", "id"]), vec!["id", "label"]),
        (serde_json::json!([3, 1]), vec!["score", "mixed"]),
        (serde_json::json!("A:B,D"), vec!["id", "score", "mixed"]),
        (serde_json::json!("c"), vec!["label"]),
    ] {
        let loaded = load_batch(&*build(
            dir.path(),
            "ExcelDataset",
            serde_json::json!({"filepath": file, "load_args": {"usecols": usecols}}),
        ));
        assert_eq!(names(&loaded), expected, "{usecols}");
    }
    let ds = build(
        dir.path(),
        "ExcelDataset",
        serde_json::json!({"filepath": file, "load_args": {"usecols": ["nope"]}}),
    );
    let err = ds.load().unwrap_err();
    assert_eq!(err.kind(), "format");
    assert!(err.to_string().contains("no column 'nope'"), "{err}");
}

#[test]
fn sheets_by_name_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let ds = saved(
        dir.path(),
        "s.xlsx",
        sample(),
        serde_json::json!({"sheet_name": "shuttles"}),
        serde_json::json!({"sheet_name": "shuttles", "engine": "openpyxl"}),
    );
    assert_eq!(load_batch(&*ds), sample());
    for (sheet, needle) in [
        (
            serde_json::json!("Sheet1"),
            "no sheet named 'Sheet1' (sheets: shuttles)",
        ),
        (serde_json::json!(1), "no sheet at position 1"),
    ] {
        let ds = build(
            dir.path(),
            "ExcelDataset",
            serde_json::json!({"filepath": "s.xlsx", "load_args": {"sheet_name": sheet}}),
        );
        let err = ds.load().unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
        assert!(err.to_string().contains("s.xlsx"), "names the file: {err}");
    }
    let ds = build(
        dir.path(),
        "ExcelDataset",
        serde_json::json!({"filepath": "s.xlsx", "load_args": {"sheet_name": 0}}),
    );
    assert_eq!(load_batch(&*ds).num_rows(), 3);
}

#[test]
fn every_sheet_loads_as_a_map_and_a_map_saves_one_sheet_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let sheets = BTreeMap::from([
        ("a".to_owned(), sample()),
        (
            "b".to_owned(),
            RecordBatch::try_from_iter_with_nullable([(
                "n",
                Arc::new(Int64Array::from(vec![5])) as ArrayRef,
                true,
            )])
            .unwrap(),
        ),
    ]);
    let writer = build(
        dir.path(),
        "ExcelDataset",
        serde_json::json!({"filepath": "book.xlsx"}),
    );
    writer.save(Data::new(sheets.clone())).unwrap();
    let every = build(
        dir.path(),
        "ExcelDataset",
        serde_json::json!({"filepath": "book.xlsx", "load_args": {"sheet_name": null, "nrows": 1}}),
    );
    let loaded = every
        .load()
        .unwrap()
        .into_value::<BTreeMap<String, RecordBatch>>()
        .unwrap();
    // The load args shape every sheet.
    assert_eq!(loaded["a"], sample().slice(0, 1));
    assert_eq!(loaded["b"], sheets["b"]);
    // One sheet by name still reads one table.
    let one = build(
        dir.path(),
        "ExcelDataset",
        serde_json::json!({"filepath": "book.xlsx", "load_args": {"sheet_name": "b"}}),
    );
    assert_eq!(load_batch(&*one), sheets["b"]);
    // A key Excel refuses as a sheet name is an error naming it.
    let bad = BTreeMap::from([("a/b".to_owned(), sample())]);
    let err = writer.save(Data::new(bad)).unwrap_err();
    assert!(err.to_string().contains("sheet name 'a/b'"), "{err}");
}

#[test]
fn dtype_na_values_and_keep_default_na() {
    let dir = tempfile::tempdir().unwrap();
    let batch = RecordBatch::try_from_iter([
        (
            "code",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
        ),
        (
            "v",
            Arc::new(StringArray::from(vec!["NA", "-", "ok"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let file = "d.xlsx";
    saved(
        dir.path(),
        file,
        batch,
        serde_json::json!({}),
        serde_json::json!({}),
    );
    let load = |args: serde_json::Value| {
        load_batch(&*build(
            dir.path(),
            "ExcelDataset",
            serde_json::json!({"filepath": file, "load_args": args}),
        ))
    };
    let loaded = load(serde_json::json!({"dtype": {"code": "str"}, "na_values": ["-"]}));
    assert_eq!(
        loaded.column(0).as_ref(),
        &StringArray::from(vec!["1", "2", "3"]) as &dyn Array
    );
    assert_eq!(
        loaded.column(1).as_ref(),
        &StringArray::from(vec![None, None, Some("ok")]) as &dyn Array
    );
    let loaded = load(serde_json::json!({"usecols": ["code"], "dtype": "float64"}));
    assert_eq!(
        loaded.column(0).as_ref(),
        &Float64Array::from(vec![1.0, 2.0, 3.0]) as &dyn Array
    );
    let loaded = load(serde_json::json!({"keep_default_na": false, "dtype": {"code": "float64"}}));
    assert_eq!(
        loaded.column(1).as_ref(),
        &StringArray::from(vec!["NA", "-", "ok"]) as &dyn Array
    );
    let ds = build(
        dir.path(),
        "ExcelDataset",
        serde_json::json!({"filepath": file, "load_args": {"dtype": {"v": "int64"}}}),
    );
    let err = ds.load().unwrap_err();
    assert!(err.to_string().contains("column 'v'"), "{err}");
}

#[test]
fn header_false_saves_no_header_row() {
    let dir = tempfile::tempdir().unwrap();
    let ds = saved(
        dir.path(),
        "n.xlsx",
        sample(),
        serde_json::json!({"header": false, "index": false}),
        serde_json::json!({"header": null}),
    );
    let loaded = load_batch(&*ds);
    assert_eq!(loaded.num_rows(), 3);
    assert_eq!(loaded.column(0), sample().column(0));
}

#[test]
fn versioned_saves_and_vectors_of_batches() {
    let dir = tempfile::tempdir().unwrap();
    let ds = build_versioned(
        dir.path(),
        "ExcelDataset",
        serde_json::json!({"filepath": "v.xlsx"}),
        Version {
            load: None,
            save: Some("2024-01-01T00.00.00.000Z".into()),
            ..Default::default()
        },
    );
    let batch = sample();
    ds.save(Data::new(vec![batch.slice(0, 2), batch.slice(2, 1)]))
        .unwrap();
    assert!(
        dir.path()
            .join("v.xlsx/2024-01-01T00.00.00.000Z/v.xlsx")
            .is_file()
    );
    assert_eq!(load_batch(&*ds), sample());
}

#[test]
fn bad_options_and_values_are_errors_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    for (options, needle) in [
        (serde_json::json!({"save_args": {"index": true}}), "index"),
        (
            serde_json::json!({"load_args": {"engine": "lotus"}}),
            "unknown engine 'lotus'",
        ),
        (
            serde_json::json!({"save_args": {"sheet_name": "a/b"}}),
            "save_args.sheet_name: sheet name 'a/b' holds '/'",
        ),
        (
            serde_json::json!({"load_args": {"dtype": {"x": "int65"}}}),
            "int65",
        ),
        (serde_json::json!({"load_args": {"header": -1}}), "header"),
        (serde_json::json!({"load_args": {"sheets": 1}}), "sheets"),
    ] {
        let mut options = options;
        options["filepath"] = "t.xlsx".into();
        let err = try_build(&config(dir.path(), "ExcelDataset", options)).unwrap_err();
        assert_eq!(err.kind(), "invalid_config", "{needle}");
        assert!(err.to_string().contains(needle), "{needle}: {err}");
        assert!(err.to_string().contains("entry"), "{needle}: {err}");
    }
    let ds = build(
        dir.path(),
        "ExcelDataset",
        serde_json::json!({"filepath": "t.xlsx"}),
    );
    std::fs::write(dir.path().join("t.xlsx"), b"not a workbook").unwrap();
    let err = ds.load().unwrap_err();
    assert_eq!(err.kind(), "format");
    assert!(err.to_string().contains("t.xlsx"), "{err}");
    let err = ds.save(Data::new(5_i64)).unwrap_err();
    assert!(err.to_string().contains("RecordBatch"), "{err}");
    let zoned = RecordBatch::try_from_iter([(
        "at",
        Arc::new(TimestampMicrosecondArray::from(vec![0]).with_timezone("+00:00")) as ArrayRef,
    )])
    .unwrap();
    let err = ds.save(Data::new(zoned)).unwrap_err();
    assert!(err.to_string().contains("time zones"), "{err}");
}
