//! ParquetDataset: round trips, projection, batching, codecs, row groups,
//! dictionary defaults, errors, and valid files of every shape passing the
//! structure checks (hostile ones are in `parquet_hostile.rs`).

use std::sync::Arc;

use ::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use ::parquet::basic::{Compression, Encoding};
use ::parquet::file::metadata::ParquetMetaData;
use ::parquet::file::properties::WriterVersion;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{
    ArrayRef, DictionaryArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray,
};
use arrow_schema::{DataType, Field};
use bytes::Bytes;
use tandem_catalog::Dataset;
use tandem_catalog::parquet::{ParquetBudget, read_bytes};
use tandem_pipeline_core::Data;
use tandem_test_support::parquet;

use crate::common::{build, config, float_table, memory_path, mixed_table, try_build};

fn footer(path: &std::path::Path) -> Arc<ParquetMetaData> {
    let bytes = Bytes::from(std::fs::read(path).expect("the file exists"));
    let meta = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new()).expect("valid parquet");
    Arc::clone(meta.metadata())
}

fn load_batch(ds: &dyn Dataset) -> RecordBatch {
    ds.load()
        .expect("the load succeeds")
        .into_value::<RecordBatch>()
        .expect("a RecordBatch")
}

#[test]
fn round_trips_every_column_type_locally_and_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    for filepath in ["data/t.parquet".to_owned(), memory_path("t.parquet")] {
        let ds = build(
            dir.path(),
            "ParquetDataset",
            serde_json::json!({"filepath": filepath}),
        );
        assert!(!ds.exists().unwrap());
        ds.save(Data::new(mixed_table())).unwrap();
        assert!(ds.exists().unwrap());
        assert_eq!(load_batch(&*ds), mixed_table(), "{filepath}");
    }
    assert!(dir.path().join("data/t.parquet").is_file());
}

/// Struct and list columns have several leaves per root column; a table
/// above the parallel threshold with several row groups exercises the
/// per-column workers on both the write and the read side.
#[test]
fn large_nested_tables_round_trip_across_row_groups() {
    let rows = 300_000;
    let x = Arc::new(Float64Array::from_iter_values((0..rows).map(|i| i as f64)));
    let y = Arc::new(Float64Array::from_iter(
        (0..rows).map(|i| (i % 3 != 0).then_some(-(i as f64))),
    ));
    let point = StructArray::from(vec![
        (
            Arc::new(Field::new("x", DataType::Float64, false)),
            x as ArrayRef,
        ),
        (
            Arc::new(Field::new("y", DataType::Float64, true)),
            y as ArrayRef,
        ),
    ]);
    let tags = ListArray::from_iter_primitive::<Int64Type, _, _>(
        (0..rows).map(|i| (i % 5 != 0).then(|| (0..(i % 4) as i64).map(Some).collect::<Vec<_>>())),
    );
    let label = StringArray::from_iter_values((0..rows).map(|i| format!("row{}", i % 100)));
    let table = RecordBatch::try_from_iter([
        ("point", Arc::new(point) as ArrayRef),
        ("tags", Arc::new(tags) as ArrayRef),
        ("label", Arc::new(label) as ArrayRef),
        ("v", float_table(rows).column(0).clone()),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ds = build(
        dir.path(),
        "ParquetDataset",
        serde_json::json!({"filepath": "big.parquet", "save_args": {"row_group_size": 70_000}}),
    );
    ds.save(Data::new(table.clone())).unwrap();
    assert_eq!(footer(&dir.path().join("big.parquet")).num_row_groups(), 5);
    assert_eq!(load_batch(&*ds), table);

    let projected = build(
        dir.path(),
        "ParquetDataset",
        serde_json::json!({"filepath": "big.parquet", "load_args": {"columns": ["v", "point"]}}),
    );
    assert_eq!(load_batch(&*projected), table.project(&[3, 0]).unwrap());
}

#[test]
fn vectors_of_batches_are_saved_as_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let ds = build(
        dir.path(),
        "ParquetDataset",
        serde_json::json!({"filepath": "t.parquet"}),
    );
    let table = float_table(10);
    ds.save(Data::new(vec![
        table.slice(0, 3),
        table.slice(3, 0),
        table.slice(3, 7),
    ]))
    .unwrap();
    assert_eq!(load_batch(&*ds), table);
}

#[test]
fn columns_select_and_order_and_unknown_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    build(
        dir.path(),
        "ParquetDataset",
        serde_json::json!({"filepath": "t.parquet"}),
    )
    .save(Data::new(mixed_table()))
    .unwrap();
    let load = |columns: serde_json::Value| {
        let options =
            serde_json::json!({"filepath": "t.parquet", "load_args": {"columns": columns}});
        build(dir.path(), "ParquetDataset", options).load()
    };
    let batch = load(serde_json::json!(["name", "id"]))
        .unwrap()
        .into_value::<RecordBatch>()
        .unwrap();
    assert_eq!(batch, mixed_table().project(&[2, 0]).unwrap());
    let none = load(serde_json::json!([]))
        .unwrap()
        .into_value::<RecordBatch>()
        .unwrap();
    assert_eq!((none.num_columns(), none.num_rows()), (0, 5));

    let err = load(serde_json::json!(["id", "nmae"])).unwrap_err();
    assert_eq!(err.kind(), "format");
    let msg = err.to_string();
    assert!(
        msg.contains("'nmae'") && msg.contains("did you mean 'name'"),
        "{msg}"
    );
}

#[test]
fn batch_size_loads_a_vector_of_batches() {
    let dir = tempfile::tempdir().unwrap();
    let options = serde_json::json!({"filepath": "t.parquet", "load_args": {"batch_size": 4}});
    let ds = build(dir.path(), "ParquetDataset", options);
    let table = float_table(10);
    ds.save(Data::new(table.clone())).unwrap();
    let batches = ds.load().unwrap().into_value::<Vec<RecordBatch>>().unwrap();
    let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
    assert_eq!(sizes, [4, 4, 2]);
    let schema = table.schema();
    assert_eq!(
        arrow_select::concat::concat_batches(&schema, &batches).unwrap(),
        table
    );

    let zero = serde_json::json!({"filepath": "t.parquet", "load_args": {"batch_size": 0}});
    assert_eq!(
        try_build(&config(dir.path(), "ParquetDataset", zero))
            .unwrap_err()
            .kind(),
        "invalid_config"
    );
}

#[test]
fn compression_codecs_are_written_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (None, Compression::SNAPPY),
        (Some("zstd"), Compression::ZSTD(Default::default())),
        (Some("LZ4"), Compression::LZ4_RAW),
        (Some("none"), Compression::UNCOMPRESSED),
        (Some("uncompressed"), Compression::UNCOMPRESSED),
    ];
    for (name, expected) in cases {
        let mut options = serde_json::json!({"filepath": "t.parquet"});
        if let Some(name) = name {
            options["save_args"] = serde_json::json!({"compression": name});
        }
        let ds = build(dir.path(), "ParquetDataset", options);
        ds.save(Data::new(mixed_table())).unwrap();
        let meta = footer(&dir.path().join("t.parquet"));
        assert_eq!(
            meta.row_group(0).column(0).compression(),
            expected,
            "{name:?}"
        );
        assert_eq!(load_batch(&*ds), mixed_table());
    }
    let bad = serde_json::json!({"filepath": "t.parquet", "save_args": {"compression": "brotli"}});
    let err = try_build(&config(dir.path(), "ParquetDataset", bad)).unwrap_err();
    assert_eq!(err.kind(), "invalid_config");
    assert!(err.to_string().contains("'brotli'"), "{err}");
}

#[test]
fn row_group_size_and_dictionary_defaults_shape_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let table = RecordBatch::try_from_iter([
        ("f", float_table(100).column(1).clone()),
        (
            "s",
            Arc::new(StringArray::from_iter_values(
                (0..100).map(|i| ["x", "y"][i % 2]),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    let uses_dictionary = |meta: &ParquetMetaData, column: usize| {
        meta.row_group(0)
            .column(column)
            .encodings()
            .any(|e| matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY))
    };
    let path = dir.path().join("t.parquet");

    let options = serde_json::json!({"filepath": "t.parquet", "save_args": {"row_group_size": 30}});
    build(dir.path(), "ParquetDataset", options)
        .save(Data::new(table.clone()))
        .unwrap();
    let meta = footer(&path);
    assert_eq!(meta.num_row_groups(), 4);
    // Floats skip the dictionary by default, other types keep it.
    assert!(!uses_dictionary(&meta, 0) && uses_dictionary(&meta, 1));

    for enabled in [true, false] {
        let options =
            serde_json::json!({"filepath": "t.parquet", "save_args": {"use_dictionary": enabled}});
        build(dir.path(), "ParquetDataset", options)
            .save(Data::new(table.clone()))
            .unwrap();
        let meta = footer(&path);
        assert_eq!(
            (uses_dictionary(&meta, 0), uses_dictionary(&meta, 1)),
            (enabled, enabled)
        );
    }
}

#[test]
fn empty_tables_keep_their_schema() {
    let dir = tempfile::tempdir().unwrap();
    let ds = build(
        dir.path(),
        "ParquetDataset",
        serde_json::json!({"filepath": "t.parquet"}),
    );
    let empty = mixed_table().slice(0, 0);
    ds.save(Data::new(empty.clone())).unwrap();
    let loaded = load_batch(&*ds);
    assert_eq!(loaded.num_rows(), 0);
    assert_eq!(loaded.schema(), empty.schema());
}

#[test]
fn wrong_values_and_inconsistent_batches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ds = build(
        dir.path(),
        "ParquetDataset",
        serde_json::json!({"filepath": "t.parquet"}),
    );

    let err = ds.save(Data::new(vec![1.0_f64])).unwrap_err();
    assert_eq!(err.kind(), "type_mismatch");
    let msg = err.to_string();
    assert!(
        msg.contains("RecordBatch") && msg.contains("Vec<f64>"),
        "{msg}"
    );

    let err = ds.save(Data::new(Vec::<RecordBatch>::new())).unwrap_err();
    assert_eq!(err.kind(), "format");
    let err = ds
        .save(Data::new(vec![float_table(2), mixed_table()]))
        .unwrap_err();
    assert!(err.to_string().contains("batch 1"), "{err}");
    assert!(!ds.exists().unwrap(), "failed saves write nothing");
}

#[test]
fn corrupt_files_are_format_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.parquet"), b"PAR1 not really").unwrap();
    let ds = build(
        dir.path(),
        "ParquetDataset",
        serde_json::json!({"filepath": "t.parquet"}),
    );
    let err = ds.load().unwrap_err();
    assert_eq!(err.kind(), "format");
    assert!(err.to_string().contains("t.parquet"), "{err}");
}

/// A footer larger than the first ranged read (64 KiB) takes a second one.
#[test]
fn large_footers_are_read_in_a_second_request() {
    let dir = tempfile::tempdir().unwrap();
    for filepath in ["t.parquet".to_owned(), memory_path("t.parquet")] {
        let options = serde_json::json!({"filepath": filepath, "save_args": {"row_group_size": 1}});
        let ds = build(dir.path(), "ParquetDataset", options);
        let table = float_table(3_000);
        ds.save(Data::new(table.clone())).unwrap();
        assert_eq!(load_batch(&*ds), table, "{filepath}");
    }
    let meta = footer(&dir.path().join("t.parquet"));
    assert_eq!(meta.num_row_groups(), 3_000);
    assert!(
        std::fs::metadata(dir.path().join("t.parquet"))
            .unwrap()
            .len()
            > 128 * 1024
    );
}

/// Saves `table` with `save_args` and loads it back.
fn round_trip(table: &RecordBatch, save_args: serde_json::Value) -> RecordBatch {
    let dir = tempfile::tempdir().unwrap();
    let options = serde_json::json!({"filepath": "t.parquet", "save_args": save_args});
    let ds = build(dir.path(), "ParquetDataset", options);
    ds.save(Data::new(table.clone())).unwrap();
    load_batch(&*ds)
}

/// The structure checks refuse no valid file: wide tables, dictionaries,
/// lists (more values than rows) and columns that compress to almost
/// nothing all load.
#[test]
fn valid_files_of_every_shape_load() {
    let wide = RecordBatch::try_from_iter((0..1_000).map(|c| {
        let column: ArrayRef = match c % 3 {
            0 => Arc::new(Int64Array::from_iter_values((0..100).map(|r| r * c))),
            1 => Arc::new(Float64Array::from_iter(
                (0..100).map(|r| (r % 4 != 0).then_some(r as f64)),
            )),
            _ => Arc::new(StringArray::from_iter_values(
                (0..100).map(|r| format!("{c}-{r}")),
            )),
        };
        (format!("c{c}"), column)
    }))
    .unwrap();
    assert_eq!(round_trip(&wide, serde_json::json!({})), wide);

    let rows = 200_000;
    let categories: DictionaryArray<Int32Type> =
        (0..rows).map(|i| ["red", "green", "blue"][i % 3]).collect();
    let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(
        (0..rows).map(|i| (i % 9 != 0).then(|| (0..(i % 20) as i64).map(Some).collect::<Vec<_>>())),
    );
    let table = RecordBatch::try_from_iter([
        ("category", Arc::new(categories) as ArrayRef),
        (
            "label",
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| format!("label {}", i % 50)),
            )),
        ),
        ("items", Arc::new(lists)),
    ])
    .unwrap();
    assert_eq!(round_trip(&table, serde_json::json!({})), table);
}

#[test]
fn constant_columns_of_a_million_rows_load_with_every_codec() {
    let rows = 1_000_000;
    let table = RecordBatch::try_from_iter([
        (
            "f",
            Arc::new(Float64Array::from_iter_values((0..rows).map(|_| 0.5))) as ArrayRef,
        ),
        (
            "i",
            Arc::new(Int64Array::from_iter_values((0..rows).map(|_| 7))),
        ),
        (
            "s",
            Arc::new(StringArray::from_iter_values((0..rows).map(|_| "same"))),
        ),
        (
            "n",
            Arc::new(Int64Array::from_iter((0..rows).map(|_| None))),
        ),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (codec, dictionary) in [
        ("zstd", true),
        ("zstd", false),
        ("snappy", false),
        ("lz4", false),
    ] {
        let options = serde_json::json!({
            "filepath": "t.parquet",
            "save_args": {"compression": codec, "use_dictionary": dictionary},
        });
        let ds = build(dir.path(), "ParquetDataset", options);
        ds.save(Data::new(table.clone())).unwrap();
        let size = std::fs::metadata(dir.path().join("t.parquet"))
            .unwrap()
            .len();
        // Zstd makes the 29 MB of values more than 64 times smaller, the
        // most a request body may decode to per byte: a file's limits
        // come from its structure, not its size.
        if codec == "zstd" {
            let decoded = table.get_array_memory_size() as u64;
            assert!(size * 64 < decoded, "{codec} {dictionary}: {size} bytes");
        }
        assert_eq!(load_batch(&*ds), table, "{codec} {dictionary}");
    }
}

#[test]
fn page_headers_of_every_kind_are_read() {
    // v1 and v2 data pages, dictionaries, every codec, many pages, lists
    // and nulls: the page headers are all read before the reader's.
    let table = parquet::every_page_kind();
    for version in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0] {
        for compression in [
            Compression::UNCOMPRESSED,
            Compression::SNAPPY,
            Compression::ZSTD(Default::default()),
            Compression::LZ4_RAW,
        ] {
            let file = parquet::write(&table, parquet::paged(version, compression));
            let body = ParquetBudget::for_body(file.len());
            for budget in [ParquetBudget::FILE, body] {
                let read = read_bytes(Bytes::from(file.clone()), "t", budget)
                    .unwrap_or_else(|e| panic!("{version:?} {compression:?}: {e}"));
                assert_eq!(read, table, "{version:?} {compression:?} {budget:?}");
            }
        }
    }
}
