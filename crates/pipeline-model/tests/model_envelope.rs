//! MLflow's JSON envelopes, checked and converted against a signature.

mod support;

use std::sync::Arc;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, TimestampNanosecondType,
};
use arrow_schema::{DataType, Field, TimeUnit};
use serde_json::json;
use support::envelope::*;
use tandem_pipeline_model::envelope::{InputColumn, InputFormat, InputSpec, parse_input};

#[test]
fn every_json_envelope_gives_the_same_table() {
    // MLflow's scoring-protocol examples (a: double, b: long, c: string).
    let bodies = [
        json!({"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1.0, 1, "x"], [2.5, 2, "y"]]}}),
        json!({"dataframe_split": {"data": [[1.0, 1, "x"], [2.5, 2, "y"]], "index": [0, 1]}}),
        json!({"dataframe_records": [{"a": 1.0, "b": 1, "c": "x"}, {"c": "y", "b": 2, "a": 2.5}]}),
        json!({"instances": [{"a": 1.0, "b": 1, "c": "x"}, {"a": 2.5, "b": 2, "c": "y"}]}),
        json!({"inputs": {"a": [1.0, 2.5], "b": [1, 2], "c": ["x", "y"]}}),
        json!({"inputs": [{"a": 1, "b": 1, "c": "x"}, {"a": 2.5, "b": 2.0, "c": "y"}]}),
    ];
    let spec = abc();
    for body in bodies {
        let input = json(body.clone(), Some(&spec)).unwrap();
        let b = batch(&input);
        assert_eq!(b.num_rows(), 2, "{body}");
        assert_eq!(
            b.column(0).as_primitive::<Float64Type>().values().as_ref(),
            [1.0, 2.5],
            "{body}"
        );
        assert_eq!(
            b.column(1).as_primitive::<Int64Type>().values().as_ref(),
            [1, 2],
            "{body}"
        );
        assert_eq!(b.column(2).as_string::<i32>().value(1), "y", "{body}");
    }
}

#[test]
fn params_come_with_the_body() {
    let body = json!({"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 1]]}, "params": {"mult": 10}});
    let input = json(body, Some(&abc())).unwrap();
    assert_eq!(input.params["mult"], 10);
    assert!(
        error(json(json!({"inputs": [1], "params": [1]}), None))
            .contains("params must be an object")
    );
}

#[test]
fn columns_are_checked_reordered_and_filled() {
    let body = json!({"dataframe_records": [{"extra": true, "b": 7, "a": 1.5}]});
    let input = json(body, Some(&abc())).unwrap();
    let b = batch(&input);
    let names: Vec<&str> = b
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(
        b.column(2).null_count(),
        1,
        "missing optional column is nulls"
    );

    let message = error(json(
        json!({"dataframe_records": [{"a": 1.0}]}),
        Some(&abc()),
    ));
    assert!(
        message.contains("missing required input column(s) 'b'"),
        "{message}"
    );
}

#[test]
fn only_lossless_conversions_are_made() {
    let spec = spec(&[
        ("i", DataType::Int32, true),
        ("l", DataType::Int64, false),
        ("f", DataType::Float32, false),
        ("flag", DataType::Boolean, false),
        ("s", DataType::Utf8, false),
    ]);
    let ok = json(
        json!({"dataframe_records": [{"i": 1.0, "l": 2, "f": 0.5, "flag": false, "s": "007"}]}),
        Some(&spec),
    )
    .unwrap();
    let b = batch(&ok);
    assert_eq!(b.column(0).as_primitive::<Int32Type>().value(0), 1);
    assert_eq!(b.column(2).as_primitive::<Float32Type>().value(0), 0.5);
    assert!(!b.column(3).as_boolean().value(0));
    for (row, why) in [
        (json!({"i": 1.5}), "1.5 is not"),             // pandas astype: 1
        (json!({"i": 3_000_000_000_i64}), "i"),        // pandas astype: overflow
        (json!({"i": "7"}), "expected an integer"),    // pandas astype: 7
        (json!({"i": 1, "flag": "false"}), "boolean"), // pandas astype: True
        (json!({"i": 1, "s": 7}), "expected a string"),
        (json!({"i": 1, "f": 1e300}), "out of range"),
        (
            json!({"i": 1, "l": 9_223_372_036_854_775_808_u64}),
            "not a 64-bit integer",
        ),
    ] {
        let message = error(json(
            json!({"dataframe_records": [row.clone()]}),
            Some(&spec),
        ));
        assert!(message.contains(why), "{row}: {message}");
    }
    let doubles = self::spec(&[("d", DataType::Float64, true)]);
    let message = error(json(
        json!({"inputs": {"d": [9_007_199_254_740_993_i64]}}),
        Some(&doubles),
    ));
    assert!(message.contains("exactly"), "{message}");
}

#[test]
fn binary_datetimes_and_lists_follow_mlflows_json() {
    let spec = spec(&[
        ("bytes", DataType::Binary, true),
        ("t", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
        (
            "xs",
            DataType::List(Arc::new(Field::new_list_field(DataType::Int16, true))),
            true,
        ),
    ]);
    let body = json!({"dataframe_split": {"columns": ["bytes", "t", "xs"], "data": [["YWI=\n", "2024-01-02T03:04:05", [1, 2]]]}});
    let input = json(body, Some(&spec)).unwrap();
    let b = batch(&input);
    assert_eq!(b.column(0).as_binary::<i32>().value(0), b"ab");
    assert_eq!(
        b.column(1)
            .as_primitive::<TimestampNanosecondType>()
            .value(0),
        1_704_164_645_000_000_000
    );
    let list = b.column(2).as_list::<i32>().value(0);
    assert_eq!(list.as_primitive::<Int16Type>().values().as_ref(), [1, 2]);
    let bad = json!({"dataframe_split": {"columns": ["bytes", "t", "xs"], "data": [["YWI=", "yesterday", [1]]]}});
    assert!(error(json(bad, Some(&spec))).contains("column 't'"));
}

#[test]
fn malformed_envelopes_are_rejected_with_the_reason() {
    for (body, why) in [
        (json!([1, 2]), "must be a JSON object"),
        (
            json!({"columns": ["a"], "data": [[1]]}),
            "unknown key 'columns'",
        ),
        (json!({}), "found none"),
        (
            json!({"inputs": [1], "instances": [1]}),
            "found instances, inputs",
        ),
        (json!({"dataframe_split": [[1]]}), "must be an object"),
        (
            json!({"dataframe_split": {"columns": ["a"]}}),
            "has no data",
        ),
        (
            json!({"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}),
            "has 1 values for 2 columns",
        ),
        (json!({"dataframe_split": {"data": [1]}}), "must be a list"),
        (
            json!({"dataframe_split": {"data": [], "orient": "x"}}),
            "unknown key 'orient'",
        ),
        (json!({"dataframe_records": {"a": 1}}), "list of objects"),
        (json!({"dataframe_records": [1]}), "must be an object"),
        (json!({"instances": [[1, 2], [3, 4]]}), "tensors"),
        (json!({"inputs": {"a": [1, 2], "b": [1]}}), "has 1 values"),
        (json!({"inputs": {"a": [1, "x"]}}), "different JSON types"),
    ] {
        let message = error(json(body.clone(), None));
        assert!(message.contains(why), "{body}: {message}");
    }
    assert!(error(parse_input(b"{not json", InputFormat::Json, None)).contains("not valid JSON"));
}

#[test]
fn without_a_signature_types_are_inferred() {
    // Columns keep the document's order (serde_json's map would sort them).
    let body = br#"{"inputs": {"i": [1, null], "f": [1, 2.5], "b": [true, false], "s": ["x", "y"], "l": [[1], []]}}"#;
    let input = parse_input(body, InputFormat::Json, None).unwrap();
    let fields = batch(&input).schema();
    let names: Vec<&str> = fields.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["i", "f", "b", "s", "l"]);
    let types: Vec<DataType> = fields
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types[..4],
        [
            DataType::Int64,
            DataType::Float64,
            DataType::Boolean,
            DataType::Utf8
        ]
    );
    assert!(matches!(types[4], DataType::List(_)));
    let records = parse_input(
        br#"{"dataframe_records": [{"z": 1, "a": 2}, {"m": 3}]}"#,
        InputFormat::Json,
        None,
    )
    .unwrap();
    let names: Vec<String> = batch(&records)
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["z", "a", "m"]);
    let list = json(json!({"instances": [1.5, 2.0]}), None).unwrap();
    assert_eq!(list.data.downcast_ref::<Vec<f64>>().unwrap(), &[1.5, 2.0]);
    let ints = json(json!({"inputs": [1, 2]}), None).unwrap();
    assert_eq!(ints.data.downcast_ref::<Vec<i64>>().unwrap(), &[1, 2]);
    let words = json(json!({"inputs": ["a"]}), None).unwrap();
    assert_eq!(words.data.downcast_ref::<Vec<String>>().unwrap(), &["a"]);
}

#[test]
fn list_models_take_values_in_any_envelope() {
    let list = InputSpec {
        columns: vec![InputColumn {
            name: None,
            data_type: DataType::Float64,
            required: true,
        }],
    };
    for body in [
        json!({"inputs": [1, 2.5]}),
        json!({"instances": [1, 2.5]}),
        json!({"dataframe_split": {"data": [[1], [2.5]]}}),
    ] {
        let input = json(body.clone(), Some(&list)).unwrap();
        assert_eq!(
            input.data.downcast_ref::<Vec<f64>>().unwrap(),
            &[1.0, 2.5],
            "{body}"
        );
    }
    let csv = parse_input(b"value\n1\n2.5\n", InputFormat::Csv, Some(&list)).unwrap();
    assert_eq!(csv.data.downcast_ref::<Vec<f64>>().unwrap(), &[1.0, 2.5]);
    assert!(error(json(json!({"inputs": [1, null]}), Some(&list))).contains("missing values"));
    assert!(
        error(json(json!({"inputs": {"a": [1], "b": [2]}}), Some(&list))).contains("one column")
    );
    // A list for a one-column table is that column.
    let one = spec(&[("a", DataType::Float64, true)]);
    let input = json(json!({"inputs": [1.0, 2.0]}), Some(&one)).unwrap();
    assert_eq!(batch(&input).num_rows(), 2);
    assert!(error(json(json!({"inputs": [1.0]}), Some(&abc()))).contains("got a list of values"));
}
