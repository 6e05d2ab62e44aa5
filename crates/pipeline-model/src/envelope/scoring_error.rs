//! How a failed prediction is reported, protocol-neutral: the HTTP status,
//! MLflow's `error_code` and `error_class`, and the message MLflow's
//! scoring server answers for the same case. The HTTP server and the
//! worker protocol both send this, so `mlflow models serve` (through the
//! worker) and `tandem models serve` fail alike.

use serde_json::{Value, json};

use crate::error::Error;

/// A request that cannot be answered with predictions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringError {
    /// The HTTP status MLflow's server answers (400, 413, 500...).
    pub status: u16,
    /// MLflow's `error_code` (`BAD_REQUEST`, `INVALID_PARAMETER_VALUE`...).
    pub code: &'static str,
    /// MLflow's `error_class`, which it sets for schema failures only.
    pub class: Option<&'static str>,
    /// What went wrong, for people.
    pub message: String,
}

impl ScoringError {
    /// A failure with this status and code.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ScoringError {
        ScoringError {
            status,
            code,
            class: None,
            message: message.into(),
        }
    }

    /// 400: the request itself is unusable (unreadable body, bad JSON...).
    pub fn bad_request(message: impl Into<String>) -> ScoringError {
        ScoringError::new(400, "BAD_REQUEST", message)
    }

    /// 500: the server failed, not the request.
    pub fn internal(message: impl Into<String>) -> ScoringError {
        ScoringError::new(500, "INTERNAL_ERROR", message)
    }

    /// The JSON body MLflow's clients parse:
    /// `{"error_code": ..., "message": ...}`, plus `error_class` when set.
    pub fn to_json(&self) -> Value {
        let mut body = json!({"error_code": self.code, "message": self.message});
        if let Some(class) = self.class {
            body["error_class"] = class.into();
        }
        body
    }
}

impl From<Error> for ScoringError {
    /// What MLflow answers: the input's fault is a 400 — `BAD_REQUEST` for
    /// an unreadable body or an unconvertible value, `INVALID_PARAMETER_VALUE`
    /// for an input that does not fit the signature (with MLflow's
    /// `SCHEMA_ENFORCEMENT_FAILED` class) or a bad parameter — and so is a
    /// failing node, as MLflow reports exceptions inside `predict`; a model
    /// that cannot produce JSON is the server's fault.
    fn from(error: Error) -> ScoringError {
        match &error {
            Error::InvalidInput(_) => ScoringError::bad_request(error.to_string()),
            Error::SchemaMismatch(_) => ScoringError {
                class: Some("SCHEMA_ENFORCEMENT_FAILED"),
                ..ScoringError::new(400, "INVALID_PARAMETER_VALUE", error.to_string())
            },
            Error::UnknownParameter { .. } | Error::InvalidParameter(_) => {
                ScoringError::new(400, "INVALID_PARAMETER_VALUE", error.to_string())
            }
            Error::Run(_) | Error::Pipeline(_) => ScoringError::bad_request(format!(
                "Encountered an unexpected error while evaluating the model: {error}"
            )),
            _ => ScoringError::internal(error.to_string()),
        }
    }
}
