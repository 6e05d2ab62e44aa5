//! ParquetDataset with pandas' args: `compression` in any case (`null` and
//! `none` uncompressed), `engine: pyarrow`, `index: false`.

use parquet::basic::Compression;
use parquet::file::reader::{FileReader, SerializedFileReader};
use tandem_pipeline_core::Data;

use crate::common::{build, config, mixed_table, try_build};

fn codec_written(save_args: serde_json::Value) -> Compression {
    let dir = tempfile::tempdir().unwrap();
    let ds = build(
        dir.path(),
        "pandas.ParquetDataset",
        serde_json::json!({"filepath": "t.parquet", "save_args": save_args, "load_args": {"engine": "pyarrow"}}),
    );
    ds.save(Data::new(mixed_table())).unwrap();
    let loaded = ds
        .load()
        .unwrap()
        .into_value::<arrow_array::RecordBatch>()
        .unwrap();
    assert_eq!(loaded.columns(), mixed_table().columns());
    let bytes = bytes::Bytes::from(std::fs::read(dir.path().join("t.parquet")).unwrap());
    let reader = SerializedFileReader::new(bytes).unwrap();
    reader.metadata().row_group(0).column(0).compression()
}

#[test]
fn compression_names_are_case_insensitive() {
    assert!(matches!(
        codec_written(serde_json::json!({})),
        Compression::SNAPPY
    ));
    for (name, expected) in [
        (serde_json::json!("GZIP"), "GZIP"),
        (serde_json::json!("gzip"), "GZIP"),
        (serde_json::json!("Snappy"), "SNAPPY"),
        (serde_json::json!("ZSTD"), "ZSTD"),
        (serde_json::json!("LZ4"), "LZ4_RAW"),
        (serde_json::json!("None"), "UNCOMPRESSED"),
        (serde_json::json!("UNCOMPRESSED"), "UNCOMPRESSED"),
        (serde_json::Value::Null, "UNCOMPRESSED"),
    ] {
        let codec = codec_written(
            serde_json::json!({"compression": name, "engine": "pyarrow", "index": false}),
        );
        assert!(
            format!("{codec:?}").starts_with(expected),
            "{name}: {codec:?}"
        );
    }
}

#[test]
fn other_engines_codecs_and_index_true_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (options, needle) in [
        (
            serde_json::json!({"load_args": {"engine": "fastparquet"}}),
            "engine 'fastparquet'",
        ),
        (
            serde_json::json!({"save_args": {"compression": "BZ2"}}),
            "unsupported codec 'bz2'",
        ),
        (serde_json::json!({"save_args": {"index": true}}), "index"),
    ] {
        let mut options = options;
        options["filepath"] = "t.parquet".into();
        let err = try_build(&config(dir.path(), "ParquetDataset", options)).unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}
