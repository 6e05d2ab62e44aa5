//! Signature inference with MLflow's type names, checked against what
//! MLflow 3.17's `infer_signature` writes for the same pandas data.

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, ListBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Float32Array, Float64Array, Int8Array,
    Int16Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StructArray,
    TimestampNanosecondArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::{Value, json};
use tandem_pipeline_core::Data;
use tandem_pipeline_model::envelope::InputSpec;
use tandem_pipeline_model::model::{
    ColType, FieldText, SignatureText, infer_inputs, infer_param, infer_schema,
};

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

fn inputs_text(batch: &RecordBatch) -> String {
    SignatureText::new(Some(&infer_schema(batch).unwrap()), &[])
        .inputs
        .unwrap()
}

#[test]
fn every_arrow_type_gets_mlflows_name() {
    let list = {
        let mut b = ListBuilder::new(Int64Builder::new());
        b.values().append_slice(&[1, 2]);
        b.append(true);
        b.values().append_value(3);
        b.append(true);
        Arc::new(b.finish()) as ArrayRef
    };
    let dict = {
        let mut b = StringDictionaryBuilder::<Int32Type>::new();
        b.append_value("a");
        b.append_value("b");
        Arc::new(b.finish()) as ArrayRef
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "a",
            Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::NAN)])),
        ),
        ("b", Arc::new(Int64Array::from(vec![1, 2]))),
        ("c", Arc::new(StringArray::from(vec!["x", "é"]))),
        ("d", Arc::new(BooleanArray::from(vec![true, false]))),
        ("e", Arc::new(TimestampNanosecondArray::from(vec![0, 1]))),
        ("f", Arc::new(BinaryArray::from(vec![&b"ab"[..], b"cd"]))),
        ("g", Arc::new(Int32Array::from(vec![1, 2]))),
        ("h", Arc::new(Float32Array::from(vec![1.0, 2.0]))),
        ("i8", Arc::new(Int8Array::from(vec![1, 2]))),
        ("i16", Arc::new(Int16Array::from(vec![1, 2]))),
        ("u8", Arc::new(UInt8Array::from(vec![1, 2]))),
        ("u16", Arc::new(UInt16Array::from(vec![1, 2]))),
        ("u32", Arc::new(UInt32Array::from(vec![1, 2]))),
        ("n", Arc::new(Int64Array::from(vec![Some(1), None]))),
        ("big", Arc::new(LargeStringArray::from(vec!["x", "y"]))),
        ("day", Arc::new(Date32Array::from(vec![0, 1]))),
        ("cat", dict),
        ("l", list),
    ];
    // MLflow 3.17.2, `infer_signature(df)` on the pandas equivalent.
    let expected = concat!(
        r#"[{"type": "double", "name": "a", "required": false}, "#,
        r#"{"type": "long", "name": "b", "required": true}, "#,
        r#"{"type": "string", "name": "c", "required": true}, "#,
        r#"{"type": "boolean", "name": "d", "required": true}, "#,
        r#"{"type": "datetime", "name": "e", "required": true}, "#,
        r#"{"type": "binary", "name": "f", "required": true}, "#,
        r#"{"type": "integer", "name": "g", "required": true}, "#,
        r#"{"type": "float", "name": "h", "required": true}, "#,
        r#"{"type": "integer", "name": "i8", "required": true}, "#,
        r#"{"type": "integer", "name": "i16", "required": true}, "#,
        r#"{"type": "integer", "name": "u8", "required": true}, "#,
        r#"{"type": "integer", "name": "u16", "required": true}, "#,
        r#"{"type": "long", "name": "u32", "required": true}, "#,
        r#"{"type": "long", "name": "n", "required": false}, "#,
        r#"{"type": "string", "name": "big", "required": true}, "#,
        r#"{"type": "datetime", "name": "day", "required": true}, "#,
        r#"{"type": "string", "name": "cat", "required": true}, "#,
        r#"{"type": "array", "items": {"type": "long"}, "name": "l", "required": true}]"#,
    );
    assert_eq!(inputs_text(&batch(columns)), expected);
}

#[test]
fn structs_are_objects_with_sorted_properties() {
    let fields = Fields::from(vec![
        Field::new("y", DataType::Utf8, true),
        Field::new("x", DataType::Int64, true),
    ]);
    let s = StructArray::new(
        fields,
        vec![
            Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
            Arc::new(Int64Array::from(vec![1, 2])),
        ],
        None,
    );
    let text = inputs_text(&batch(vec![("o", Arc::new(s))]));
    assert_eq!(
        text,
        r#"[{"type": "object", "properties": {"x": {"type": "long", "required": true}, "y": {"type": "string", "required": false}}, "name": "o", "required": true}]"#
    );
}

#[test]
fn types_mlflow_cannot_describe_are_errors() {
    let err = infer_schema(&batch(vec![(
        "u",
        Arc::new(UInt64Array::from(vec![1_u64])),
    )]))
    .unwrap_err();
    assert_eq!(err.kind(), "invalid_signature");
    assert!(err.to_string().contains("'u'"), "{err}");
    let decimal = ColType::from_arrow(&DataType::Decimal128(10, 2), None);
    assert!(decimal.is_err());
    let naive = ColType::from_arrow(
        &DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
        None,
    );
    assert_eq!(naive.unwrap(), ColType::Datetime);
}

#[test]
fn lists_of_values_are_one_unnamed_column() {
    for (data, name) in [
        (Data::new(vec![1.0_f64]), "double"),
        (Data::new(vec![1.0_f32]), "float"),
        (Data::new(vec![1_i64]), "long"),
        (Data::new(vec![1_i32]), "integer"),
        (Data::new(vec![true]), "boolean"),
        (Data::new(vec!["a".to_owned()]), "string"),
        (Data::json(json!([1, 2.5])), "double"),
    ] {
        let inputs = infer_inputs(&data).unwrap().unwrap();
        let text = SignatureText::new(Some(&inputs), &[]).inputs.unwrap();
        assert_eq!(text, format!(r#"[{{"type": "{name}", "required": true}}]"#));
    }
    assert!(infer_inputs(&Data::new(3.0_f64)).unwrap().is_none());
    assert!(
        infer_inputs(&Data::json(json!({"a": 1})))
            .unwrap()
            .is_none()
    );
}

#[test]
fn params_get_mlflows_param_specs() {
    let specs: Vec<_> = [
        ("threshold", json!(0.5)),
        ("n", json!(3)),
        ("name", json!("x")),
        ("flag", json!(true)),
        ("lst", json!([1, 2])),
        ("f", json!([1.5, 2])),
        ("d", json!({"a": 1})),
    ]
    .iter()
    .map(|(n, v)| infer_param(n, v).unwrap())
    .collect();
    // MLflow 3.17.2, `infer_signature(df, params={...})`.
    let expected = concat!(
        r#"[{"name": "threshold", "default": 0.5, "shape": null, "type": "double"}, "#,
        r#"{"name": "n", "default": 3, "shape": null, "type": "long"}, "#,
        r#"{"name": "name", "default": "x", "shape": null, "type": "string"}, "#,
        r#"{"name": "flag", "default": true, "shape": null, "type": "boolean"}, "#,
        r#"{"name": "lst", "default": [1, 2], "shape": [-1], "type": "long"}, "#,
        r#"{"name": "f", "default": [1.5, 2.0], "shape": [-1], "type": "double"}, "#,
        r#"{"name": "d", "default": {"a": 1}, "shape": null, "type": "object", "properties": {"a": {"type": "long", "required": true}}}]"#,
    );
    assert_eq!(SignatureText::new(None, &specs).params.unwrap(), expected);
    for undescribable in [json!(null), json!([]), json!([[1]]), json!([1, "a"])] {
        assert!(
            infer_param("p", &undescribable).is_none(),
            "{undescribable}"
        );
    }
}

#[test]
fn explicit_signatures_pass_through() {
    let inputs = r#"[{"type": "long", "name": "a", "required": true}]"#;
    let text = SignatureText::from_explicit(&json!({"inputs": inputs})).unwrap();
    assert_eq!(text.inputs.as_deref(), Some(inputs));
    assert_eq!(text.params, None);
    let from_value = SignatureText::from_explicit(
        &json!({"inputs": [{"type": "long", "name": "a", "required": true}]}),
    )
    .unwrap();
    assert_eq!(from_value.inputs.as_deref(), Some(inputs));
    for bad in [
        json!("auto"),
        json!({"inputs": "not json"}),
        json!({"input": []}),
        json!({"inputs": 3}),
    ] {
        assert_eq!(
            SignatureText::from_explicit(&bad).unwrap_err().kind(),
            "invalid_signature",
            "{bad}"
        );
    }
}

#[test]
fn input_specs_prefer_the_recorded_arrow_types() {
    let inputs = r#"[{"type": "integer", "name": "a", "required": true}, {"type": "datetime", "name": "t", "required": false}, {"type": "long", "name": "b", "required": true}]"#;
    let recorded = vec![
        FieldText::new(&Field::new("a", DataType::Int16, false)),
        FieldText::new(&Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+01:00".into())),
            true,
        )),
        FieldText::new(&Field::new("b", DataType::Utf8, true)),
    ];
    let spec = InputSpec::from_signature(inputs, Some(&recorded))
        .unwrap()
        .unwrap();
    let types: Vec<&DataType> = spec.columns.iter().map(|c| &c.data_type).collect();
    assert_eq!(
        types,
        [
            &DataType::Int16,
            &DataType::Timestamp(TimeUnit::Microsecond, Some("+01:00".into())),
            // A recorded type of another kind is ignored: MLflow's wins.
            &DataType::Int64,
        ]
    );
    let plain = InputSpec::from_signature(inputs, None).unwrap().unwrap();
    assert_eq!(plain.columns[0].data_type, DataType::Int32);
    assert_eq!(
        plain.columns[1].data_type,
        DataType::Timestamp(TimeUnit::Nanosecond, None)
    );
    assert!(!plain.columns[1].required && !plain.is_list());
    let tensor = r#"[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]"#;
    assert!(InputSpec::from_signature(tensor, None).unwrap().is_none());
    let list = InputSpec::from_signature(r#"[{"type": "double", "required": true}]"#, None)
        .unwrap()
        .unwrap();
    assert!(list.is_list());
    assert_eq!(
        InputSpec::from_signature("{", None).unwrap_err().kind(),
        "invalid_signature"
    );
    let arrow_text: Value = serde_json::to_value(&recorded[1]).unwrap();
    assert_eq!(arrow_text["type"], r#"Timestamp(µs, "+01:00")"#);
}
