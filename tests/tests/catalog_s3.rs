//! The file datasets on S3, against a real S3-speaking server (moto):
//! every format, versioning, conditional puts and multipart uploads.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry, Version};
use tandem_pipeline_core::{Data, data_value};
use tandem_tests::moto::{SECRET, credentials, moto};

fn dataset(
    type_name: &str,
    filepath: &str,
    extra: serde_json::Value,
    version: Option<Version>,
) -> Arc<dyn Dataset> {
    let mut options = serde_json::Map::new();
    options.insert("filepath".to_owned(), filepath.into());
    if let serde_json::Value::Object(extra) = extra {
        options.extend(extra);
    }
    let mut config = DatasetConfig::new("entry", type_name, options);
    config.credentials = Some(credentials());
    config.version = version;
    DatasetRegistry::with_builtins()
        .build(&config)
        .expect("the entry is valid")
}

fn table() -> RecordBatch {
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "x",
            Arc::new(Float64Array::from(vec![0.5, -1.0, 2.25])) as ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
        ),
    ])
    .expect("columns have equal lengths")
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Model {
    weights: Vec<f64>,
    bias: f64,
}
data_value!(serde: Model);

#[test]
fn tables_round_trip_as_parquet_and_csv() {
    let bucket = moto().new_bucket();
    for (type_name, file) in [
        ("pandas.ParquetDataset", "t.parquet"),
        ("pandas.CSVDataset", "t.csv"),
    ] {
        let url = format!("s3://{bucket}/data/{file}");
        let ds = dataset(type_name, &url, serde_json::json!({}), None);
        assert!(!ds.exists().unwrap(), "{type_name}");
        ds.save(Data::new(table())).unwrap();
        assert!(ds.exists().unwrap());
        // CSV columns load as nullable, so compare the values.
        let loaded = ds.load().unwrap().into_value::<RecordBatch>().unwrap();
        assert_eq!(loaded.columns(), table().columns(), "{type_name}");
        assert_eq!(ds.describe().filepath.as_deref(), Some(url.as_str()));
    }
}

#[test]
fn documents_round_trip_as_json_text_bytes_and_serde() {
    let bucket = moto().new_bucket();
    let model = Model {
        weights: vec![0.25, -3.5],
        bias: 1e-9,
    };

    let json = dataset(
        "json.JSONDataset",
        &format!("s3://{bucket}/m.json"),
        serde_json::json!({"save_args": {"indent": 2}}),
        None,
    );
    json.save(Data::new(model.clone())).unwrap();
    assert_eq!(json.load().unwrap().into_value::<Model>().unwrap(), model);

    for file in ["m.msgpack", "m2.json"] {
        let serde = dataset(
            "SerdeDataset",
            &format!("s3://{bucket}/{file}"),
            serde_json::json!({}),
            None,
        );
        serde.save(Data::new(model.clone())).unwrap();
        assert_eq!(
            serde.load().unwrap().into_value::<Model>().unwrap(),
            model,
            "{file}"
        );
    }

    let text = dataset(
        "text.TextDataset",
        &format!("s3://{bucket}/notes/a.txt"),
        serde_json::json!({}),
        None,
    );
    text.save(Data::new(String::from("héllo"))).unwrap();
    assert_eq!(
        text.load().unwrap().into_value::<String>().unwrap(),
        "héllo"
    );
}

/// Files larger than the first ranged read (64 KiB) are read as a footer
/// request plus conditional (If-Match) ranged reads of the column chunks.
#[test]
fn large_parquet_files_are_read_in_ranges() {
    let bucket = moto().new_bucket();
    let rows = 200_000_u32;
    let noise = |seed: u32| {
        Float64Array::from_iter_values(
            (0..rows).map(move |i| f64::from(i.wrapping_mul(2_654_435_761) ^ seed)),
        )
    };
    let table = RecordBatch::try_from_iter([
        ("a", Arc::new(noise(1)) as ArrayRef),
        ("b", Arc::new(noise(2)) as ArrayRef),
        (
            "c",
            Arc::new(Int64Array::from_iter_values((0..i64::from(rows)).rev())) as ArrayRef,
        ),
    ])
    .unwrap();
    let url = format!("s3://{bucket}/big.parquet");
    let options = serde_json::json!({"save_args": {"row_group_size": 50_000}});
    dataset("ParquetDataset", &url, options, None)
        .save(Data::new(table.clone()))
        .unwrap();
    let all = dataset("ParquetDataset", &url, serde_json::json!({}), None);
    assert_eq!(
        all.load().unwrap().into_value::<RecordBatch>().unwrap(),
        table
    );
    let projected = dataset(
        "ParquetDataset",
        &url,
        serde_json::json!({"load_args": {"columns": ["c", "a"]}}),
        None,
    );
    let loaded = projected
        .load()
        .unwrap()
        .into_value::<RecordBatch>()
        .unwrap();
    assert_eq!(loaded, table.project(&[2, 0]).unwrap());
}

/// 40 MB crosses the catalog's multipart threshold (32 MB), so the object is
/// uploaded in parts and only appears when the upload completes.
#[test]
fn large_objects_are_uploaded_in_parts() {
    let bucket = moto().new_bucket();
    let payload: Vec<u8> = (0..40 * 1024 * 1024_u32).map(|i| (i % 251) as u8).collect();
    let ds = dataset(
        "BytesDataset",
        &format!("s3://{bucket}/big.bin"),
        serde_json::json!({}),
        None,
    );
    ds.save(Data::new(payload.clone())).unwrap();
    assert!(ds.load().unwrap().into_value::<Vec<u8>>().unwrap() == payload);
}

#[test]
fn versions_are_listed_pinned_and_never_overwritten() {
    let bucket = moto().new_bucket();
    let url = format!("s3://{bucket}/data/t.parquet");
    let (v1, v2) = ("2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z");
    let save = |v: &str| Version {
        load: None,
        save: Some(v.to_owned()),
        ..Default::default()
    };

    let latest = dataset(
        "ParquetDataset",
        &url,
        serde_json::json!({}),
        Some(Version::default()),
    );
    assert!(!latest.exists().unwrap());
    assert_eq!(latest.load().unwrap_err().kind(), "version_not_found");

    let first = dataset(
        "ParquetDataset",
        &url,
        serde_json::json!({}),
        Some(save(v1)),
    );
    first.save(Data::new(table().slice(0, 1))).unwrap();
    // S3 conditional put (If-None-Match) refuses to replace a version.
    assert_eq!(
        first.save(Data::new(table())).unwrap_err().kind(),
        "version_exists"
    );
    dataset(
        "ParquetDataset",
        &url,
        serde_json::json!({}),
        Some(save(v2)),
    )
    .save(Data::new(table()))
    .unwrap();

    assert_eq!(
        latest.load().unwrap().into_value::<RecordBatch>().unwrap(),
        table()
    );
    assert_eq!(
        latest.location().unwrap().url(),
        format!("s3://{bucket}/data/t.parquet/{v2}/t.parquet")
    );
    let pinned = dataset(
        "ParquetDataset",
        &url,
        serde_json::json!({}),
        Some(Version {
            load: Some(v1.to_owned()),
            save: None,
            ..Default::default()
        }),
    );
    assert_eq!(
        pinned
            .load()
            .unwrap()
            .into_value::<RecordBatch>()
            .unwrap()
            .num_rows(),
        1
    );

    let json_url = format!("s3://{bucket}/metrics.json");
    let metrics = dataset(
        "JSONDataset",
        &json_url,
        serde_json::json!({}),
        Some(save(v1)),
    );
    metrics
        .save(Data::json(serde_json::json!({"rmse": 0.5})))
        .unwrap();
    let read = dataset(
        "JSONDataset",
        &json_url,
        serde_json::json!({}),
        Some(Version::default()),
    );
    assert_eq!(
        read.load()
            .unwrap()
            .into_value::<serde_json::Value>()
            .unwrap()["rmse"],
        0.5
    );
}

#[test]
fn missing_buckets_are_storage_errors_naming_the_url() {
    moto();
    let ds = dataset(
        "TextDataset",
        "s3://no-such-bucket/x.txt",
        serde_json::json!({}),
        None,
    );
    let err = ds.load().unwrap_err();
    assert_eq!(err.kind(), "storage");
    assert!(
        err.to_string().contains("s3://no-such-bucket/x.txt"),
        "{err}"
    );
    assert!(
        !err.to_string().contains(SECRET),
        "no secrets in errors: {err}"
    );
}
