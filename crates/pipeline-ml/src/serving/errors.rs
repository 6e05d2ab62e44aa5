//! MLflow's error responses: `{"error_code": ..., "message": ...}` with the
//! status MLflow's scoring server answers for the same case.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use crate::error::Error;

/// A request that cannot be answered with predictions.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    /// MLflow's `error_class`, which it sets for schema failures only.
    class: Option<&'static str>,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            class: None,
            message: message.into(),
        }
    }

    /// 400: the request itself is unusable (unreadable body, bad JSON...).
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// 415: a content type the server does not read.
    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            message.into(),
        )
    }

    /// 413: the body is over the configured limit.
    pub(crate) fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RESOURCE_EXHAUSTED",
            format!("the request body is larger than the server's limit of {limit} bytes"),
        )
    }

    /// 504: the request ran past the server's timeout.
    pub(crate) fn timed_out(timeout: std::time::Duration) -> ApiError {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "DEADLINE_EXCEEDED",
            format!(
                "the request took longer than the server's timeout of {:.3} s",
                timeout.as_secs_f64()
            ),
        )
    }

    /// 404: no such endpoint.
    pub(crate) fn not_found(path: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ENDPOINT_NOT_FOUND",
            format!(
                "no endpoint at '{path}'; the server answers GET /ping, /health, /version and \
                 POST /invocations"
            ),
        )
    }

    /// 405: a known endpoint called with the wrong method.
    pub(crate) fn method_not_allowed(method: &str, path: &str, allowed: &str) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            format!("{path} does not accept {method}; use {allowed}"),
        )
    }

    /// 500: the server failed, not the request.
    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", message)
    }

    /// The status code.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// MLflow's `error_code` (`BAD_REQUEST`, `INTERNAL_ERROR`...).
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// The message.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The JSON response MLflow's clients parse.
    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let mut body = serde_json::json!({"error_code": self.code, "message": self.message});
        if let Some(class) = self.class {
            body["error_class"] = class.into();
        }
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = self.status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

impl From<Error> for ApiError {
    /// What MLflow answers: the input's fault is a 400 — `BAD_REQUEST` for
    /// an unreadable body or an unconvertible value, `INVALID_PARAMETER_VALUE`
    /// for an input that does not fit the signature (with MLflow's
    /// `SCHEMA_ENFORCEMENT_FAILED` class) or a bad parameter — and so is a
    /// failing node, as MLflow reports exceptions inside `predict`; a model
    /// that cannot produce JSON is the server's fault.
    fn from(error: Error) -> ApiError {
        match &error {
            Error::InvalidInput(_) => ApiError::bad_request(error.to_string()),
            Error::SchemaMismatch(_) => ApiError {
                class: Some("SCHEMA_ENFORCEMENT_FAILED"),
                ..ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_PARAMETER_VALUE",
                    error.to_string(),
                )
            },
            Error::UnknownParameter { .. } | Error::InvalidParameter(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER_VALUE",
                error.to_string(),
            ),
            Error::Run(_) | Error::Pipeline(_) => ApiError::bad_request(format!(
                "Encountered an unexpected error while evaluating the model: {error}"
            )),
            _ => ApiError::internal(error.to_string()),
        }
    }
}
