//! JSONDataset, TextDataset, BytesDataset and SerdeDataset.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tandem_pipeline_core::{Data, data_value};

use crate::common::{build, config, memory_path, try_build};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Scaler {
    mean: Vec<f64>,
    scale: Vec<f64>,
    fitted_on: String,
    rows: u64,
}
data_value!(serde: Scaler);

fn scaler() -> Scaler {
    Scaler {
        mean: vec![0.5, -1.25, 1e-300],
        scale: vec![2.0, 0.1, f64::MAX],
        fitted_on: "cars é".to_owned(),
        rows: u64::MAX,
    }
}

#[test]
fn json_saves_typed_values_and_loads_json_that_converts_back() {
    let dir = tempfile::tempdir().unwrap();
    for filepath in ["m.json".to_owned(), memory_path("m.json")] {
        let ds = build(
            dir.path(),
            "json.JSONDataset",
            serde_json::json!({"filepath": filepath}),
        );
        ds.save(Data::new(scaler())).unwrap();
        let loaded = ds.load().unwrap();
        assert!(loaded.is::<serde_json::Value>());
        assert_eq!(
            loaded.into_value::<Scaler>().unwrap(),
            scaler(),
            "{filepath}"
        );
    }
    let text = std::fs::read_to_string(dir.path().join("m.json")).unwrap();
    // Kedro's json.JSONDataset default: json.dump(indent=2), no trailing newline.
    assert!(text.starts_with("{\n  \""), "indented by default: {text}");
    assert!(!text.ends_with('\n'), "{text}");

    let ds = build(
        dir.path(),
        "JSONDataset",
        serde_json::json!({"filepath": "v.json"}),
    );
    let value = serde_json::json!({"a": [1, 2.5, null, "x"], "b": {"c": true}});
    ds.save(Data::json(value.clone())).unwrap();
    assert_eq!(
        ds.load()
            .unwrap()
            .into_value::<serde_json::Value>()
            .unwrap(),
        value
    );
    ds.save(Data::new(vec![1_i64, 2])).unwrap();
    assert_eq!(ds.load().unwrap().into_value::<Vec<i64>>().unwrap(), [1, 2]);
}

#[test]
fn json_indent_pretty_prints() {
    let dir = tempfile::tempdir().unwrap();
    let options = serde_json::json!({"filepath": "p.json", "save_args": {"indent": 2}});
    build(dir.path(), "JSONDataset", options)
        .save(Data::json(serde_json::json!({"a": [1]})))
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("p.json")).unwrap();
    assert_eq!(text, "{\n  \"a\": [\n    1\n  ]\n}");
}

#[test]
fn json_writes_as_kedro_datasets_does() {
    let dir = tempfile::tempdir().unwrap();
    let save = |save_args: serde_json::Value, value: serde_json::Value| {
        let options = serde_json::json!({"filepath": "k.json", "save_args": save_args});
        build(dir.path(), "json.JSONDataset", options)
            .save(Data::json(value))
            .unwrap();
        std::fs::read_to_string(dir.path().join("k.json")).unwrap()
    };
    assert_eq!(
        save(
            serde_json::json!({}),
            serde_json::json!({"a": [1], "é": "é"})
        ),
        "{\n  \"a\": [\n    1\n  ],\n  \"\\u00e9\": \"\\u00e9\"\n}"
    );
    assert_eq!(
        save(
            serde_json::json!({"indent": null, "sort_keys": true, "ensure_ascii": false}),
            serde_json::json!({"b": 1, "a": "é"})
        ),
        "{\"a\": \"é\", \"b\": 1}"
    );
    // json.dump keeps insertion order: a mapping's keys as written.
    assert_eq!(
        save(serde_json::json!({}), serde_json::json!({"b": 1, "a": [1]})),
        "{\n  \"b\": 1,\n  \"a\": [\n    1\n  ]\n}"
    );
}

#[test]
fn json_keeps_a_loaded_documents_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{\n  \"zeta\": {\n    \"y\": 1,\n    \"x\": 2\n  },\n  \"alpha\": null\n}";
    std::fs::write(dir.path().join("in.json"), text).unwrap();
    let source = build(
        dir.path(),
        "json.JSONDataset",
        serde_json::json!({"filepath": "in.json"}),
    );
    let sink = build(
        dir.path(),
        "json.JSONDataset",
        serde_json::json!({"filepath": "out.json"}),
    );
    sink.save(source.load().unwrap()).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.json")).unwrap(),
        text
    );
}

#[test]
fn unserializable_values_say_how_to_fix_them() {
    struct Handle;
    let dir = tempfile::tempdir().unwrap();
    for type_name in ["JSONDataset", "SerdeDataset"] {
        let ds = build(
            dir.path(),
            type_name,
            serde_json::json!({"filepath": "x.json"}),
        );
        for data in [Data::opaque(Handle), Data::new(Arc::new(1_u8))] {
            let err = ds.save(data).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("data_value!(serde: "), "{msg}");
        }
    }
    let ds = build(
        dir.path(),
        "JSONDataset",
        serde_json::json!({"filepath": "x.json"}),
    );
    let err = ds.save(Data::opaque(Handle)).unwrap_err();
    assert!(err.to_string().contains("Handle"), "{err}");
    assert!(!ds.exists().unwrap());
}

#[test]
fn invalid_json_is_a_format_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.json"), "{\"a\": ").unwrap();
    let ds = build(
        dir.path(),
        "JSONDataset",
        serde_json::json!({"filepath": "bad.json"}),
    );
    assert_eq!(ds.load().unwrap_err().kind(), "format");
}

#[test]
fn text_round_trips_and_rejects_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    for filepath in ["notes.txt".to_owned(), memory_path("notes.txt")] {
        let ds = build(
            dir.path(),
            "text.TextDataset",
            serde_json::json!({"filepath": filepath}),
        );
        ds.save(Data::new(String::from("héllo\nworld"))).unwrap();
        assert_eq!(
            ds.load().unwrap().into_value::<String>().unwrap(),
            "héllo\nworld"
        );
    }
    std::fs::write(dir.path().join("bin.txt"), [b'o', b'k', 0xff, 0xfe]).unwrap();
    let ds = build(
        dir.path(),
        "TextDataset",
        serde_json::json!({"filepath": "bin.txt"}),
    );
    let err = ds.load().unwrap_err();
    assert_eq!(err.kind(), "format");
    assert!(
        err.to_string().contains("UTF-8") && err.to_string().contains("byte 2"),
        "{err}"
    );
    let err = ds.save(Data::new(vec![1_u8])).unwrap_err();
    assert_eq!(err.kind(), "type_mismatch");
    assert!(
        err.to_string().contains("String") && err.to_string().contains("Vec<u8>"),
        "{err}"
    );
}

#[test]
fn bytes_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let payload: Vec<u8> = (0..=255).collect();
    for filepath in ["blob.bin".to_owned(), memory_path("blob.bin")] {
        let ds = build(
            dir.path(),
            "BytesDataset",
            serde_json::json!({"filepath": filepath}),
        );
        ds.save(Data::new(payload.clone())).unwrap();
        assert_eq!(ds.load().unwrap().into_value::<Vec<u8>>().unwrap(), payload);
    }
    assert_eq!(std::fs::read(dir.path().join("blob.bin")).unwrap(), payload);
    let ds = build(
        dir.path(),
        "BytesDataset",
        serde_json::json!({"filepath": "blob.bin"}),
    );
    assert_eq!(
        ds.save(Data::new(String::new())).unwrap_err().kind(),
        "type_mismatch"
    );
}

#[test]
fn serde_picks_the_encoding_from_the_extension_or_the_format_option() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (serde_json::json!({"filepath": "m.json"}), "m.json", false),
        (
            serde_json::json!({"filepath": "m.msgpack"}),
            "m.msgpack",
            true,
        ),
        (serde_json::json!({"filepath": "m.MP"}), "m.MP", true),
        (
            serde_json::json!({"filepath": "m.bin", "format": "msgpack"}),
            "m.bin",
            true,
        ),
        (
            serde_json::json!({"filepath": "m2.msgpack", "format": "json"}),
            "m2.msgpack",
            false,
        ),
    ];
    for (options, file, msgpack) in cases {
        let ds = build(dir.path(), "SerdeDataset", options);
        ds.save(Data::new(scaler())).unwrap();
        let bytes = std::fs::read(dir.path().join(file)).unwrap();
        // A MessagePack map of 4 named fields starts with the fixmap byte 0x84.
        assert_eq!(bytes[0] == 0x84, msgpack, "{file}");
        assert_eq!(bytes[0] == b'{', !msgpack, "{file}");
        assert_eq!(
            ds.load().unwrap().into_value::<Scaler>().unwrap(),
            scaler(),
            "{file}"
        );
        let format = if msgpack { "msgpack" } else { "json" };
        assert_eq!(ds.describe().details["format"], format);
    }
    let decoded: Scaler =
        rmp_serde::from_slice(&std::fs::read(dir.path().join("m.bin")).unwrap()).unwrap();
    assert_eq!(
        decoded,
        scaler(),
        "other MessagePack readers see named fields"
    );
}

#[test]
fn serde_rejects_unknown_formats_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let bad = serde_json::json!({"filepath": "m.bin", "format": "pickle"});
    let err = try_build(&config(dir.path(), "SerdeDataset", bad)).unwrap_err();
    assert_eq!(err.kind(), "invalid_config");
    assert!(err.to_string().contains("pickle"), "{err}");
    let args = serde_json::json!({"filepath": "m.bin", "save_args": {"protocol": 5}});
    assert_eq!(
        try_build(&config(dir.path(), "SerdeDataset", args))
            .unwrap_err()
            .kind(),
        "invalid_config"
    );

    std::fs::write(dir.path().join("m.msgpack"), [0xc1]).unwrap();
    let ds = build(
        dir.path(),
        "SerdeDataset",
        serde_json::json!({"filepath": "m.msgpack"}),
    );
    let err = ds.load().unwrap_err();
    assert_eq!(err.kind(), "format");
    assert!(err.to_string().starts_with("msgpack error"), "{err}");
}
