//! Predictions as `mlflow models predict` writes them.

use std::borrow::Cow;

use arrow_array::RecordBatch;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use tandem_pipeline_core::Data;

use crate::error::Error;
use crate::values::{Column, Records};

/// `{"predictions": ...}` for a model's output:
/// - a `RecordBatch` (or `Vec` of them) with one column → its values, as
///   MLflow writes an array; with several → a list of records, as it
///   writes a DataFrame;
/// - any other value with a JSON form (`Vec<f64>`, `Vec<bool>`, serde
///   types) → that form.
///
/// NaN and infinities become null: MLflow writes bare `NaN`, which is not JSON.
pub fn predictions(output: &Data) -> Result<Value, Error> {
    serde_json::to_value(Body::new(output)?).map_err(|e| unserializable(output, e.to_string()))
}

/// [`predictions`] as JSON text, written without building the JSON value
/// first (a large table's response is cheaper to write than to build).
pub fn predictions_json(output: &Data) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(&Body::new(output)?).map_err(|e| unserializable(output, e.to_string()))
}

fn unserializable(output: &Data, reason: String) -> Error {
    Error::Unserializable {
        what: "the predictions".to_owned(),
        type_name: output.type_name().to_owned(),
        reason,
    }
}

/// The response body.
enum Body<'a> {
    Table(Cow<'a, RecordBatch>),
    Value(Value),
}

impl<'a> Body<'a> {
    fn new(output: &'a Data) -> Result<Body<'a>, Error> {
        if let Ok(batch) = output.downcast_ref::<RecordBatch>() {
            return Ok(Body::Table(Cow::Borrowed(batch)));
        }
        if let Ok(batches) = output.downcast_ref::<Vec<RecordBatch>>() {
            return match batches.first() {
                None => Ok(Body::Value(Value::Array(Vec::new()))),
                Some(first) => arrow_select::concat::concat_batches(&first.schema(), batches)
                    .map(|b| Body::Table(Cow::Owned(b)))
                    .map_err(|e| unserializable(output, e.to_string())),
            };
        }
        match output.to_json() {
            Some(Ok(value)) => Ok(Body::Value(value)),
            Some(Err(e)) => Err(unserializable(output, e)),
            None => Err(unserializable(
                output,
                "return a RecordBatch, a Vec of numbers or a type declared with data_value!(serde: ...)".to_owned(),
            )),
        }
    }
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Body::Table(batch) => match batch.columns() {
                [only] => map.serialize_entry("predictions", &Column(only))?,
                _ => map.serialize_entry("predictions", &Records(batch))?,
            },
            Body::Value(value) => map.serialize_entry("predictions", value)?,
        }
        map.end()
    }
}
