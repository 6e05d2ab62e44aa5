//! CSV and parquet inputs, input formats, and `{"predictions": ...}`.

mod support;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::json;
use support::envelope::*;
use tandem_pipeline_core::Data;
use tandem_pipeline_model::envelope::{InputFormat, parse_input, predictions, predictions_json};
use tandem_test_support::parquet;

#[test]
fn csv_is_read_as_text_then_converted() {
    let body = b"c,a,b,extra\n007,1.5,2,z\n,2,3,z\n";
    let input = parse_input(body, InputFormat::Csv, Some(&abc())).unwrap();
    let b = batch(&input);
    assert_eq!(
        b.column(0).as_primitive::<Float64Type>().values().as_ref(),
        [1.5, 2.0]
    );
    assert_eq!(b.column(2).as_string::<i32>().value(0), "007");
    assert!(b.column(2).is_null(1), "an empty cell is a missing value");
    assert!(
        error(parse_input(
            b"a,b\n1.5,2.5\n",
            InputFormat::Csv,
            Some(&abc())
        ))
        .contains("column 'b'")
    );
    let flags = spec(&[("f", DataType::Boolean, true)]);
    let parsed = parse_input(b"f\nTrue\nfalse\n", InputFormat::Csv, Some(&flags)).unwrap();
    assert_eq!(
        batch(&parsed).column(0).as_boolean(),
        &BooleanArray::from(vec![true, false])
    );
    assert!(
        error(parse_input(b"f\nyes\n", InputFormat::Csv, Some(&flags)))
            .contains("not true or false")
    );

    let inferred = parse_input(
        b"i,f,b,s,e\n1,1.5,true,x,\n2,2,false,007,\n",
        InputFormat::Csv,
        None,
    )
    .unwrap();
    let types: Vec<DataType> = batch(&inferred)
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Int64,
            DataType::Float64,
            DataType::Boolean,
            DataType::Utf8,
            DataType::Float64
        ]
    );
    assert!(error(parse_input(b"", InputFormat::Csv, None)).contains("CSV"));
}

#[test]
fn parquet_columns_convert_within_their_kind() {
    let schema = Schema::new(vec![
        Field::new("b", DataType::Int32, false),
        Field::new("a", DataType::Int64, false),
        Field::new("c", DataType::Utf8, false),
    ]);
    let source = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(arrow_array::Int32Array::from(vec![1, 2])),
            Arc::new(Int64Array::from(vec![3, 4])),
            Arc::new(StringArray::from(vec!["x", "y"])),
        ],
    )
    .unwrap();
    let file = parquet::write(&source, Default::default());
    let input = parse_input(&file, InputFormat::Parquet, Some(&abc())).unwrap();
    let b = batch(&input);
    assert_eq!(
        b.column(0).as_primitive::<Float64Type>().values().as_ref(),
        [3.0, 4.0]
    );
    assert_eq!(
        b.column(1).as_primitive::<Int64Type>().values().as_ref(),
        [1, 2]
    );
    let untouched = parse_input(&file, InputFormat::Parquet, None).unwrap();
    assert_eq!(batch(&untouched), &source);

    let fractional = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("b", DataType::Float64, false),
            Field::new("a", DataType::Float64, false),
        ])),
        vec![
            Arc::new(Float64Array::from(vec![1.5])),
            Arc::new(Float64Array::from(vec![1.0])),
        ],
    )
    .unwrap();
    assert!(
        error(parse_input(
            &parquet::write(&fractional, Default::default()),
            InputFormat::Parquet,
            Some(&abc())
        ))
        .contains("change values")
    );
    let text = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("a", DataType::Utf8, false),
            Field::new("b", DataType::Int64, false),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["1.0"])),
            Arc::new(Int64Array::from(vec![1])),
        ],
    )
    .unwrap();
    assert!(
        error(parse_input(
            &parquet::write(&text, Default::default()),
            InputFormat::Parquet,
            Some(&abc())
        ))
        .contains("cannot convert Utf8")
    );
    assert!(error(parse_input(b"PAR1", InputFormat::Parquet, None)).contains("parquet"));
}

#[test]
fn formats_are_named_like_mlflows_content_types() {
    assert_eq!("json".parse::<InputFormat>().unwrap(), InputFormat::Json);
    assert_eq!(
        "application/json; charset=utf-8"
            .parse::<InputFormat>()
            .unwrap(),
        InputFormat::Json
    );
    assert_eq!("text/csv".parse::<InputFormat>().unwrap(), InputFormat::Csv);
    assert_eq!(
        "application/vnd.apache.parquet"
            .parse::<InputFormat>()
            .unwrap(),
        InputFormat::Parquet
    );
    assert_eq!(
        "xml".parse::<InputFormat>().unwrap_err().kind(),
        "invalid_input"
    );
    assert_eq!(
        InputFormat::from_path(std::path::Path::new("in.PARQUET")),
        InputFormat::Parquet
    );
    assert_eq!(
        InputFormat::from_path(std::path::Path::new("in.csv")),
        InputFormat::Csv
    );
    assert_eq!(
        InputFormat::from_path(std::path::Path::new("in")),
        InputFormat::Json
    );
}

fn two_columns() -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("score", DataType::Float64, true),
            Field::new("label", DataType::Boolean, true),
        ])),
        vec![
            Arc::new(Float64Array::from(vec![Some(0.5), Some(f64::NAN)])),
            Arc::new(BooleanArray::from(vec![Some(true), None])),
        ],
    )
    .unwrap()
}

#[test]
fn predictions_are_written_like_mlflow_models_predict() {
    let one = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "score",
            DataType::Float64,
            true,
        )])),
        vec![Arc::new(Float64Array::from(vec![
            Some(0.5),
            Some(f64::NAN),
            None,
        ]))],
    )
    .unwrap();
    assert_eq!(
        predictions(&Data::new(one.clone())).unwrap(),
        json!({"predictions": [0.5, null, null]})
    );
    assert_eq!(
        predictions(&Data::new(two_columns().slice(0, 1))).unwrap(),
        json!({"predictions": [{"score": 0.5, "label": true}]})
    );
    assert_eq!(
        predictions(&Data::new(vec![one.clone(), one])).unwrap()["predictions"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        predictions(&Data::new(vec![1.0_f64, f64::INFINITY])).unwrap(),
        json!({"predictions": [1.0, null]})
    );
    assert_eq!(
        predictions(&Data::new(vec![true])).unwrap(),
        json!({"predictions": [true]})
    );
    assert_eq!(
        predictions(&Data::new(6_i64)).unwrap(),
        json!({"predictions": 6})
    );
    let err = predictions(&Data::opaque(3_u8)).unwrap_err();
    assert_eq!(err.kind(), "unserializable");
    // As text, records keep the column order and NaN is null.
    let text = predictions_json(&Data::new(two_columns())).unwrap();
    assert_eq!(
        String::from_utf8(text).unwrap(),
        r#"{"predictions":[{"score":0.5,"label":true},{"score":null,"label":null}]}"#
    );
}
