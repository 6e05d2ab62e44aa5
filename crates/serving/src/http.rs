//! One HTTP request: routing, the content type, the body under its limits
//! (see [`body`](super::body)), and the prediction under the timeout.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Map;
use tokio::time::Instant;

use super::errors::ApiError;
use super::{MLFLOW_VERSION, State, body};
use tandem_pipeline_model::envelope::InputFormat;

const FORMATS: &str = "application/json, text/csv, application/vnd.apache.parquet or \
                       application/vnd.apache.arrow.stream";

/// Answers one request; every failure becomes an error response, so the
/// connection (and the server) outlives any request. The health routes
/// take no permit and no budget, so they answer through any flood.
pub(crate) async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    let method = request.method();
    let response = match path {
        "/ping" | "/health" | "/version" if matches!(*method, Method::GET | Method::HEAD) => {
            let text = if path == "/version" {
                MLFLOW_VERSION
            } else {
                "\n"
            };
            plain(text)
        }
        "/ping" | "/health" | "/version" => {
            ApiError::method_not_allowed(method.as_str(), path, "GET").into_response()
        }
        "/invocations" if *method == Method::POST => match invocations(&state, request).await {
            Ok(body) => json(body),
            Err(error) => {
                tracing::debug!(status = %error.status(), "request refused: {error:?}");
                error.into_response()
            }
        },
        "/invocations" => {
            ApiError::method_not_allowed(method.as_str(), path, "POST").into_response()
        }
        _ => ApiError::not_found(path).into_response(),
    };
    Ok(response)
}

/// `POST /invocations`: the whole request, body included, runs under the
/// timeout, so a client trickling its body (or waiting for the body
/// budget) cannot hold a slot forever.
async fn invocations(state: &State, request: Request<Incoming>) -> Result<Vec<u8>, ApiError> {
    let format = input_format(request.headers())?;
    let deadline = Instant::now() + state.timeout;
    let work = async {
        let (body, reservation) = body::read(request, state.max_body, &state.bodies).await?;
        // The permit bounds concurrent predictions to `workers`; it moves
        // into the blocking task, so a prediction that outlives its
        // timeout still holds its slot until it really ends; so does the
        // body's share of the budget, for the body lives as long.
        let permit = Arc::clone(&state.permits)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the server is shutting down"))?;
        let model = Arc::clone(&state.model);
        let runner = state.runner;
        let timeout = state.timeout;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _reservation = reservation;
            // A request whose client already got its 504 is not worth running.
            if Instant::now() >= deadline {
                return Err(ApiError::timed_out(timeout));
            }
            model
                .predict_request(&body, format, &Map::new(), runner)
                .map_err(|error| ApiError::model(error, model.dir()))
        });
        task.await
            .map_err(|e| ApiError::internal(format!("the prediction failed unexpectedly: {e}")))?
    };
    tokio::time::timeout_at(deadline, work)
        .await
        .map_err(|_| ApiError::timed_out(state.timeout))?
}

/// MLflow's rule: one of its three media types (plus Arrow IPC streams,
/// which MLflow's server does not take), with no parameter but
/// `charset=utf-8` (the 1.x `format=pandas-split` is refused).
fn input_format(headers: &HeaderMap) -> Result<InputFormat, ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(ApiError::unsupported_media_type(format!(
            "the request has no Content-Type; send {FORMATS}"
        )));
    };
    let text = value.to_str().map_err(|_| {
        ApiError::unsupported_media_type(format!("the Content-Type is not text; send {FORMATS}"))
    })?;
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    for parameter in parts.map(str::trim).filter(|p| !p.is_empty()) {
        let utf8 = parameter.split_once('=').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("charset")
                && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        });
        if !utf8 {
            return Err(ApiError::unsupported_media_type(format!(
                "unsupported Content-Type parameter '{parameter}' in '{text}'; only \
                 charset=utf-8 is accepted"
            )));
        }
    }
    match essence.as_str() {
        "application/json" => Ok(InputFormat::Json),
        "text/csv" => Ok(InputFormat::Csv),
        "application/vnd.apache.parquet" => Ok(InputFormat::Parquet),
        "application/vnd.apache.arrow.stream" => Ok(InputFormat::ArrowStream),
        _ => Err(ApiError::unsupported_media_type(format!(
            "unsupported Content-Type '{text}'; send {FORMATS}"
        ))),
    }
}

fn plain(text: &'static str) -> Response<Full<Bytes>> {
    with_type(
        Bytes::from_static(text.as_bytes()),
        "text/plain; charset=utf-8",
    )
}

fn json(body: Vec<u8>) -> Response<Full<Bytes>> {
    with_type(Bytes::from(body), "application/json")
}

fn with_type(body: Bytes, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_of(content_type: &str) -> Result<InputFormat, StatusCode> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        input_format(&headers).map_err(|e| e.status())
    }

    #[test]
    fn content_types_follow_mlflow() {
        assert_eq!(format_of("application/json"), Ok(InputFormat::Json));
        assert_eq!(
            format_of("Application/JSON; charset=UTF-8"),
            Ok(InputFormat::Json)
        );
        assert_eq!(format_of("text/csv"), Ok(InputFormat::Csv));
        assert_eq!(
            format_of("application/vnd.apache.parquet"),
            Ok(InputFormat::Parquet)
        );
        assert_eq!(
            format_of("application/vnd.apache.arrow.stream"),
            Ok(InputFormat::ArrowStream)
        );
        let refused = Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(format_of("application/json; format=pandas-split"), refused);
        assert_eq!(format_of("text/plain"), refused);
        assert_eq!(format_of("json"), refused);
        assert_eq!(
            input_format(&HeaderMap::new()).map_err(|e| e.status()),
            refused
        );
    }
}
