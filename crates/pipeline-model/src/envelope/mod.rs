//! Model inputs and outputs on the wire, as `mlflow models predict` and
//! MLflow's scoring server read and write them.
//!
//! Inputs: MLflow's JSON envelopes (`dataframe_split`, `dataframe_records`,
//! `instances`, `inputs`, with optional `params`), CSV, parquet and Arrow
//! IPC streams, parsed into an arrow `RecordBatch` (or, for a model fed a list, a `Vec`). With
//! an [`InputSpec`] (the model's signature), columns are checked and
//! converted as MLflow's schema enforcement does: missing required columns
//! are errors, missing optional ones are nulls, extra ones are dropped, the
//! order is the signature's, and types convert only losslessly.
//!
//! Outputs: `{"predictions": ...}`, as a JSON value or as text.
//!
//! Bodies are untrusted: a malformed one is an error, never a panic, and
//! what a body decodes to is bounded by its size (the larger of 128 MiB
//! and 64 bytes a byte of body; a `dataframe_records` table, of 4 million
//! cells and 8 cells a value given): a body over that is refused, not
//! allocated. `crates/pipeline-model/fuzz` fuzzes [`parse_input`].
//!
//! ```
//! use tandem_pipeline_model::envelope::{self, InputFormat};
//!
//! let body = br#"{"dataframe_records": [{"a": 1.5, "b": "x"}], "params": {"threshold": 0.8}}"#;
//! let input = envelope::parse_input(body, InputFormat::Json, None)?;
//! let batch = input.data.downcast_ref::<arrow_array::RecordBatch>()?;
//! assert_eq!(batch.num_rows(), 1);
//! assert_eq!(input.params["threshold"], 0.8);
//! let out = envelope::predictions(&tandem_pipeline_core::Data::new(vec![0.25_f64, f64::NAN]))?;
//! assert_eq!(out.to_string(), r#"{"predictions":[0.25,null]}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod convert;
mod ipc;
mod json;
mod limits;
mod output;
mod scoring_error;
mod table;

use std::str::FromStr;

use arrow_schema::DataType;
use serde_json::{Map, Value};
use tandem_pipeline_core::Data;

use crate::error::Error;
use crate::model::{ColType, FieldText};

pub use output::{predictions, predictions_json};
pub use scoring_error::ScoringError;

/// How an input body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// An MLflow JSON envelope.
    Json,
    /// CSV with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// An Arrow IPC stream (what pyarrow's `ipc.new_stream` writes): typed
    /// columns like parquet, without the encoding cost, which is why MLflow's
    /// Python loader sends its DataFrames this way.
    ArrowStream,
}

impl FromStr for InputFormat {
    type Err = Error;

    /// `json`, `csv`, `parquet` or `arrow`, or the matching content types.
    fn from_str(s: &str) -> Result<Self, Error> {
        let essence = s
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "json" | "application/json" => Ok(InputFormat::Json),
            "csv" | "text/csv" => Ok(InputFormat::Csv),
            "parquet" | "application/vnd.apache.parquet" => Ok(InputFormat::Parquet),
            "arrow" | "application/vnd.apache.arrow.stream" => Ok(InputFormat::ArrowStream),
            _ => Err(Error::InvalidInput(format!(
                "unknown input format '{s}'; use json, csv, parquet or arrow"
            ))),
        }
    }
}

impl InputFormat {
    /// The format a file's extension names (`.csv`, `.parquet`/`.pq`,
    /// `.arrows` for an Arrow IPC stream), JSON otherwise.
    pub fn from_path(path: &std::path::Path) -> InputFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => InputFormat::Csv,
            Some("parquet" | "pq") => InputFormat::Parquet,
            Some("arrows") => InputFormat::ArrowStream,
            _ => InputFormat::Json,
        }
    }
}

/// A parsed request: the data to predict on and the `params` it carried.
#[derive(Clone, Debug)]
pub struct ModelInput {
    /// A `RecordBatch`, or a `Vec` for a list input.
    pub data: Data,
    /// Predict-time parameters (JSON envelopes only; the other formats
    /// carry none).
    pub params: Map<String, Value>,
}

/// What a model accepts: its signature's columns with exact arrow types.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSpec {
    /// The columns, in the signature's order.
    pub columns: Vec<InputColumn>,
}

/// One column of an [`InputSpec`].
#[derive(Clone, Debug, PartialEq)]
pub struct InputColumn {
    /// The name; `None` for a model fed a list of values.
    pub name: Option<String>,
    /// The arrow type values are converted to.
    pub data_type: DataType,
    /// Whether the column must be present.
    pub required: bool,
}

impl InputSpec {
    /// The spec of a signature's `inputs` JSON. Each column takes the
    /// training-time arrow type recorded in `recorded` when it matches the
    /// MLflow type (an `integer` column trained as int16 stays int16),
    /// else MLflow's (`integer` → int32, `datetime` → `Timestamp(ns)`).
    /// `None` when the signature uses types tandem cannot enforce
    /// (tensors, maps, `any`): the input is then taken as it comes.
    pub fn from_signature(
        inputs: &str,
        recorded: Option<&[FieldText]>,
    ) -> Result<Option<InputSpec>, Error> {
        let specs: Vec<Value> = serde_json::from_str(inputs)
            .map_err(|e| Error::InvalidSignature(format!("inputs are not a JSON list: {e}")))?;
        let mut columns = Vec::with_capacity(specs.len());
        for (position, spec) in specs.iter().enumerate() {
            let Some(col_type) = col_type(spec) else {
                return Ok(None);
            };
            let name = spec.get("name").and_then(Value::as_str).map(str::to_owned);
            let recorded_type = recorded
                .and_then(|fields| match &name {
                    Some(name) => fields.iter().find(|f| &f.name == name),
                    None => fields.get(position),
                })
                .and_then(FieldText::arrow_type)
                .filter(|t| ColType::from_arrow(t, None).is_ok_and(|c| same_kind(&c, &col_type)));
            let Some(data_type) = recorded_type.or_else(|| default_arrow_type(&col_type)) else {
                return Ok(None);
            };
            columns.push(InputColumn {
                name,
                data_type,
                required: spec
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            });
        }
        Ok(Some(InputSpec { columns }))
    }

    /// Whether the model is fed a list of values (one unnamed column).
    pub fn is_list(&self) -> bool {
        matches!(self.columns.as_slice(), [only] if only.name.is_none())
    }
}

fn same_kind(a: &ColType, b: &ColType) -> bool {
    match (a, b) {
        (ColType::Array(x), ColType::Array(y)) => same_kind(x, y),
        (ColType::Object(_), ColType::Object(_)) => true,
        _ => a == b,
    }
}

/// An MLflow column type from its JSON spec; `None` for those tandem
/// does not enforce.
fn col_type(spec: &Value) -> Option<ColType> {
    Some(match spec.get("type")?.as_str()? {
        "boolean" => ColType::Boolean,
        "integer" => ColType::Integer,
        "long" => ColType::Long,
        "float" => ColType::Float,
        "double" => ColType::Double,
        "string" => ColType::String,
        "binary" => ColType::Binary,
        "datetime" => ColType::Datetime,
        "array" => ColType::Array(Box::new(col_type(spec.get("items")?)?)),
        _ => return None,
    })
}

fn default_arrow_type(col_type: &ColType) -> Option<DataType> {
    Some(match col_type {
        ColType::Boolean => DataType::Boolean,
        ColType::Integer => DataType::Int32,
        ColType::Long => DataType::Int64,
        ColType::Float => DataType::Float32,
        ColType::Double => DataType::Float64,
        ColType::String => DataType::Utf8,
        ColType::Binary => DataType::Binary,
        ColType::Datetime => DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, None),
        ColType::Array(items) => DataType::List(std::sync::Arc::new(
            arrow_schema::Field::new_list_field(default_arrow_type(items)?, true),
        )),
        ColType::Object(_) => return None,
    })
}

/// Parses a request body; `spec` (the model's) checks and converts it.
pub fn parse_input(
    body: &[u8],
    format: InputFormat,
    spec: Option<&InputSpec>,
) -> Result<ModelInput, Error> {
    match format {
        InputFormat::Json => {
            let document: json::Json = serde_json::from_slice(body)
                .map_err(|e| Error::InvalidInput(format!("the body is not valid JSON: {e}")))?;
            parse_json(&document, spec)
        }
        InputFormat::Csv => Ok(ModelInput {
            data: table::csv(body, spec)?,
            params: Map::new(),
        }),
        InputFormat::Parquet => Ok(ModelInput {
            data: table::parquet(body, spec)?,
            params: Map::new(),
        }),
        InputFormat::ArrowStream => Ok(ModelInput {
            data: table::arrow_stream(body, spec)?,
            params: Map::new(),
        }),
    }
}

/// Parses an MLflow JSON envelope already read as a JSON value. Object
/// keys come in `serde_json`'s order, so without a signature the columns
/// of `dataframe_records` and columnar `inputs` are sorted by name; parse
/// the bytes with [`parse_input`] to keep the document's order.
pub fn parse_json_value(body: &Value, spec: Option<&InputSpec>) -> Result<ModelInput, Error> {
    parse_json(&json::Json::from(body), spec)
}

fn parse_json(body: &json::Json, spec: Option<&InputSpec>) -> Result<ModelInput, Error> {
    let (parsed, params) = json::envelope(body, spec)?;
    Ok(ModelInput {
        data: table::assemble(parsed, spec)?,
        params,
    })
}
