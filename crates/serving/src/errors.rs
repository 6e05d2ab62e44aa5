//! MLflow's error responses over HTTP: a [`ScoringError`] (the status,
//! code and message MLflow answers, decided by the envelope) as a hyper
//! response, plus the failures only a server has (routes, limits, timeouts).
//! Messages that come from the model or the server's internals pass
//! through [`redact`], so no file path of the server reaches a client.

use std::path::Path;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use tandem_pipeline_model::envelope::ScoringError;

use super::redact::redact;

/// A request that cannot be answered with predictions.
#[derive(Debug)]
pub(crate) struct ApiError(ScoringError);

impl ApiError {
    /// 400: the request itself is unusable (unreadable body, bad JSON...).
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError(ScoringError::bad_request(message))
    }

    /// 415: a content type the server does not read.
    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError(ScoringError::new(415, "BAD_REQUEST", message))
    }

    /// 413: the body is over the configured limit.
    pub(crate) fn too_large(limit: usize) -> ApiError {
        ApiError(ScoringError::new(
            413,
            "RESOURCE_EXHAUSTED",
            format!("the request body is larger than the server's limit of {limit} bytes"),
        ))
    }

    /// 504: the request ran past the server's timeout.
    pub(crate) fn timed_out(timeout: std::time::Duration) -> ApiError {
        ApiError(ScoringError::new(
            504,
            "DEADLINE_EXCEEDED",
            format!(
                "the request took longer than the server's timeout of {:.3} s",
                timeout.as_secs_f64()
            ),
        ))
    }

    /// 404: no such endpoint.
    pub(crate) fn not_found(path: &str) -> ApiError {
        ApiError(ScoringError::new(
            404,
            "ENDPOINT_NOT_FOUND",
            format!(
                "no endpoint at '{path}'; the server answers GET /ping, /health, /version and \
                 POST /invocations"
            ),
        ))
    }

    /// 405: a known endpoint called with the wrong method.
    pub(crate) fn method_not_allowed(method: &str, path: &str, allowed: &str) -> ApiError {
        ApiError(ScoringError::new(
            405,
            "BAD_REQUEST",
            format!("{path} does not accept {method}; use {allowed}"),
        ))
    }

    /// 500: the server failed, not the request.
    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError(ScoringError::internal(redact(&message.into(), None)))
    }

    /// The status and code MLflow answers for `error`, raised by the model
    /// loaded from `model_dir`, with its paths redacted.
    pub(crate) fn model(error: tandem_pipeline_model::Error, model_dir: &Path) -> ApiError {
        tracing::debug!("the model failed: {error}");
        let mut scoring = ScoringError::from(error);
        scoring.message = redact(&scoring.message, Some(model_dir));
        ApiError(scoring)
    }

    /// The status code.
    pub(crate) fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The JSON response MLflow's clients parse.
    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let status = self.status();
        let mut response = Response::new(Full::new(Bytes::from(self.0.to_json().to_string())));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}
