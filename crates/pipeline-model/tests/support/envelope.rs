//! Helpers for the envelope tests.

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use serde_json::Value;
use tandem_pipeline_model::envelope::{
    InputColumn, InputFormat, InputSpec, ModelInput, parse_input,
};

pub fn spec(columns: &[(&str, DataType, bool)]) -> InputSpec {
    InputSpec {
        columns: columns
            .iter()
            .map(|(n, t, required)| InputColumn {
                name: Some((*n).to_owned()),
                data_type: t.clone(),
                required: *required,
            })
            .collect(),
    }
}

pub fn abc() -> InputSpec {
    spec(&[
        ("a", DataType::Float64, true),
        ("b", DataType::Int64, true),
        ("c", DataType::Utf8, false),
    ])
}

pub fn json(
    body: Value,
    spec: Option<&InputSpec>,
) -> Result<ModelInput, tandem_pipeline_model::Error> {
    parse_input(body.to_string().as_bytes(), InputFormat::Json, spec)
}

pub fn batch(input: &ModelInput) -> &RecordBatch {
    input.data.downcast_ref::<RecordBatch>().unwrap()
}

/// The message of an input the model refuses: malformed or unconvertible
/// (`invalid_input`), or not the signature's shape (`schema_mismatch`).
pub fn error(result: Result<ModelInput, tandem_pipeline_model::Error>) -> String {
    let err = result.unwrap_err();
    assert!(
        matches!(err.kind(), "invalid_input" | "schema_mismatch"),
        "{err}"
    );
    err.to_string()
}
