//! The input example files, as MLflow's `_Example` writes them: a table's
//! first rows in pandas' split orient (without the index), a list as
//! `{"inputs": [...]}`, and the matching `/invocations` request body.

use arrow_array::RecordBatch;
use serde_json::{Value, json};
use tandem_pipeline_core::Data;

use super::mlmodel::ExampleInfo;
use super::{INPUT_EXAMPLE, SERVING_INPUT_EXAMPLE, pyjson};
use crate::error::Error;
use crate::values;

/// The two example files and what `MLmodel` says about them.
pub(crate) struct Example {
    pub(crate) info: ExampleInfo,
    /// `input_example.json`.
    pub(crate) input: String,
    /// `serving_input_example.json`.
    pub(crate) serving: String,
}

impl Example {
    /// The first `rows` rows of the model's input, when MLflow can
    /// describe it: a table, or a list of values.
    pub(crate) fn from_data(data: &Data, rows: usize) -> Option<Example> {
        if let Ok(batch) = data.downcast_ref::<RecordBatch>() {
            return Some(Example::split(&batch.slice(0, rows.min(batch.num_rows()))));
        }
        if let Ok(batches) = data.downcast_ref::<Vec<RecordBatch>>() {
            let first = batches.first()?;
            let mut taken = Vec::new();
            let mut left = rows;
            for batch in batches {
                if left == 0 {
                    break;
                }
                let n = left.min(batch.num_rows());
                taken.push(batch.slice(0, n));
                left -= n;
            }
            let head = arrow_select::concat::concat_batches(&first.schema(), &taken).ok()?;
            return Some(Example::split(&head));
        }
        match data.to_json()? {
            Ok(Value::Array(items)) if items.iter().all(is_scalar) => {
                Some(Example::list(items.into_iter().take(rows).collect()))
            }
            _ => None,
        }
    }

    /// An example given in the options: split-oriented JSON
    /// (`{"columns", "data"}`), a list of values, or `{"inputs": [...]}`.
    pub(crate) fn from_explicit(value: &Value) -> Result<Example, Error> {
        match value {
            Value::Object(map) if map.contains_key("data") => {
                Ok(Example::split_json(value.clone()))
            }
            Value::Object(map) if map.len() == 1 && map.contains_key("inputs") => {
                match &map["inputs"] {
                    Value::Array(items) => Ok(Example::list(items.clone())),
                    _ => Err(explicit_error(value)),
                }
            }
            Value::Array(items) if items.iter().all(is_scalar) => Ok(Example::list(items.clone())),
            _ => Err(explicit_error(value)),
        }
    }

    fn split(batch: &RecordBatch) -> Example {
        let columns: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        Example::split_json(json!({"columns": columns, "data": values::rows(batch)}))
    }

    fn split_json(data: Value) -> Example {
        Example {
            info: ExampleInfo {
                artifact_path: INPUT_EXAMPLE.to_owned(),
                pandas_orient: Some("split".to_owned()),
                format: None,
                serving_input_path: Some(SERVING_INPUT_EXAMPLE.to_owned()),
                example_type: "dataframe".to_owned(),
            },
            input: pyjson::dumps(&data),
            serving: pyjson::dumps_indented(&json!({"dataframe_split": data})),
        }
    }

    fn list(items: Vec<Value>) -> Example {
        let data = json!({"inputs": items});
        Example {
            info: ExampleInfo {
                artifact_path: INPUT_EXAMPLE.to_owned(),
                pandas_orient: None,
                format: Some("tf-serving".to_owned()),
                serving_input_path: Some(SERVING_INPUT_EXAMPLE.to_owned()),
                example_type: "ndarray".to_owned(),
            },
            input: pyjson::dumps(&data),
            serving: pyjson::dumps_indented(&data),
        }
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

fn explicit_error(value: &Value) -> Error {
    Error::Ml(tandem_pipeline_ml::Error::InvalidOption(format!(
        "input_example must be split-oriented JSON ({{\"columns\": [...], \"data\": [[...]]}}), a list of \
         values or {{\"inputs\": [...]}}, found {value}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array};
    use arrow_schema::{DataType, Field, Schema};

    #[test]
    fn tables_are_split_oriented_and_lists_tf_serving() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Float64, true),
            Field::new("b", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])),
                Arc::new(Int64Array::from(vec![1, 2, 3])),
            ],
        )
        .unwrap();
        let example = Example::from_data(&Data::new(batch.clone()), 2).unwrap();
        assert_eq!(
            example.input,
            r#"{"columns": ["a", "b"], "data": [[1.0, 1], [null, 2]]}"#
        );
        assert!(
            example
                .serving
                .starts_with("{\n  \"dataframe_split\": {\n    \"columns\": [")
        );
        assert_eq!(example.info.pandas_orient.as_deref(), Some("split"));
        let split =
            Example::from_data(&Data::new(vec![batch.slice(0, 1), batch.slice(1, 2)]), 2).unwrap();
        assert_eq!(split.input, example.input);

        let list = Example::from_data(&Data::new(vec![1.5_f64, 2.0, 3.0]), 2).unwrap();
        assert_eq!(list.input, r#"{"inputs": [1.5, 2.0]}"#);
        assert_eq!(list.info.example_type, "ndarray");
        assert!(Example::from_data(&Data::opaque(3_u8), 2).is_none());
    }

    #[test]
    fn explicit_examples_keep_their_shape() {
        let split = Example::from_explicit(&json!({"columns": ["x"], "data": [[1]]})).unwrap();
        assert_eq!(split.input, r#"{"columns": ["x"], "data": [[1]]}"#);
        let list = Example::from_explicit(&json!([1, 2])).unwrap();
        assert_eq!(list.input, r#"{"inputs": [1, 2]}"#);
        let err = Example::from_explicit(&json!("nope")).err().unwrap();
        assert_eq!(err.kind(), "invalid_option");
    }
}
