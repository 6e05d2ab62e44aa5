//! The crate's error type; every variant has a stable kind (see [`Error::kind`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Shorthand for results whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// MLflow's `error_code` vocabulary (`databricks_pb2.ErrorCode`), as the server
/// sends it and as the local store reports the same conditions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `RESOURCE_DOES_NOT_EXIST`: no experiment, run, model… with that id or name.
    ResourceDoesNotExist,
    /// `RESOURCE_ALREADY_EXISTS`: the name is taken (sent with HTTP 400, not 409).
    ResourceAlreadyExists,
    /// `INVALID_PARAMETER_VALUE`: a field is malformed or out of limits.
    InvalidParameterValue,
    /// `INVALID_STATE`: e.g. logging to a deleted run.
    InvalidState,
    /// `BAD_REQUEST`.
    BadRequest,
    /// `NOT_FOUND`.
    NotFound,
    /// `ENDPOINT_NOT_FOUND`: the server has no such route (older server).
    EndpointNotFound,
    /// `UNAUTHENTICATED`: missing or wrong credentials.
    Unauthenticated,
    /// `PERMISSION_DENIED`.
    PermissionDenied,
    /// `REQUEST_LIMIT_EXCEEDED` (HTTP 429).
    RequestLimitExceeded,
    /// `RESOURCE_EXHAUSTED` (HTTP 429).
    ResourceExhausted,
    /// `ABORTED`, `RESOURCE_CONFLICT` or `ALREADY_EXISTS` (HTTP 409).
    Conflict(String),
    /// `NOT_IMPLEMENTED` (HTTP 501), e.g. multipart upload on local storage.
    NotImplemented,
    /// `INTERNAL_ERROR` (HTTP 500).
    InternalError,
    /// `TEMPORARILY_UNAVAILABLE` (HTTP 503).
    TemporarilyUnavailable,
    /// `DEADLINE_EXCEEDED` (HTTP 504).
    DeadlineExceeded,
    /// Any other code, verbatim.
    Other(String),
}

impl ErrorCode {
    /// Parses MLflow's code string; unknown codes are kept verbatim.
    pub fn from_code(code: &str) -> ErrorCode {
        match code {
            "RESOURCE_DOES_NOT_EXIST" => ErrorCode::ResourceDoesNotExist,
            "RESOURCE_ALREADY_EXISTS" => ErrorCode::ResourceAlreadyExists,
            "INVALID_PARAMETER_VALUE" => ErrorCode::InvalidParameterValue,
            "INVALID_STATE" => ErrorCode::InvalidState,
            "BAD_REQUEST" => ErrorCode::BadRequest,
            "NOT_FOUND" => ErrorCode::NotFound,
            "ENDPOINT_NOT_FOUND" => ErrorCode::EndpointNotFound,
            "UNAUTHENTICATED" => ErrorCode::Unauthenticated,
            "PERMISSION_DENIED" => ErrorCode::PermissionDenied,
            "REQUEST_LIMIT_EXCEEDED" => ErrorCode::RequestLimitExceeded,
            "RESOURCE_EXHAUSTED" => ErrorCode::ResourceExhausted,
            "ABORTED" | "RESOURCE_CONFLICT" | "ALREADY_EXISTS" => {
                ErrorCode::Conflict(code.to_owned())
            }
            "NOT_IMPLEMENTED" => ErrorCode::NotImplemented,
            "INTERNAL_ERROR" => ErrorCode::InternalError,
            "TEMPORARILY_UNAVAILABLE" => ErrorCode::TemporarilyUnavailable,
            "DEADLINE_EXCEEDED" => ErrorCode::DeadlineExceeded,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// The code a response without a JSON body implies, the way MLflow's
    /// Python client maps bare HTTP statuses.
    pub fn from_status(status: u16) -> ErrorCode {
        match status {
            400 => ErrorCode::BadRequest,
            401 => ErrorCode::Unauthenticated,
            403 => ErrorCode::PermissionDenied,
            404 => ErrorCode::EndpointNotFound,
            409 => ErrorCode::Conflict("RESOURCE_CONFLICT".to_owned()),
            429 => ErrorCode::RequestLimitExceeded,
            501 => ErrorCode::NotImplemented,
            503 => ErrorCode::TemporarilyUnavailable,
            504 => ErrorCode::DeadlineExceeded,
            _ => ErrorCode::InternalError,
        }
    }

    /// The code as MLflow spells it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            ErrorCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
            ErrorCode::DeadlineExceeded => "DEADLINE_EXCEEDED",
            ErrorCode::Conflict(code) | ErrorCode::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong talking to MLflow or its local store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// MLflow refused the request: the server's error answer, or the local
    /// store's equivalent (then `status` and `endpoint` are `None`).
    #[error("{message} ({code}{})", http_context(*.status, .endpoint))]
    Mlflow {
        /// MLflow's error code.
        code: ErrorCode,
        /// The server's (or store's) message.
        message: String,
        /// The HTTP status, for server errors.
        status: Option<u16>,
        /// `METHOD /path` of the failed request, for server errors.
        endpoint: Option<String>,
    },

    /// The server could not be reached or the connection broke.
    #[error("{endpoint}: cannot reach the MLflow server: {message}")]
    Transport {
        /// `METHOD /path` of the failed request.
        endpoint: String,
        /// What the HTTP stack reported.
        message: String,
    },

    /// Retryable failures went on past the retry policy's count or time budget.
    #[error(
        "{endpoint}: gave up after {attempts} attempts in {:.1}s (retry budget {}s): {last}",
        .elapsed.as_secs_f64(), .budget.as_secs()
    )]
    RetriesExhausted {
        /// `METHOD /path` of the failed request.
        endpoint: String,
        /// How many times it was sent.
        attempts: u32,
        /// Time spent including waits.
        elapsed: Duration,
        /// The policy's time budget.
        budget: Duration,
        /// The last failure.
        last: Box<Error>,
    },

    /// A client operation failed: names what was being done ("log_batch for
    /// run <id>"); its kind, code and status are those of the failure.
    #[error("{operation}: {error}")]
    Operation {
        /// The operation, with the run, model or artifact it was for.
        operation: String,
        /// Why it failed.
        error: Box<Error>,
    },

    /// The server answered with a body this client cannot interpret.
    #[error("{endpoint}: unexpected response: {message}")]
    Protocol {
        /// `METHOD /path` of the request.
        endpoint: String,
        /// What was wrong with the body.
        message: String,
    },

    /// A tracking, model or artifact URI is malformed or of an unknown scheme.
    #[error("invalid URI '{uri}': {message}")]
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// What is wrong with it.
        message: String,
    },

    /// An artifact path would escape its root (`..`, absolute, drive prefix).
    #[error("unsafe artifact path '{path}': {message}")]
    UnsafePath {
        /// The offending path.
        path: String,
        /// Why it is refused.
        message: String,
    },

    /// Configuration (environment variables, credentials, TLS files) is invalid.
    #[error("MLflow configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },

    /// A local file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A file of the local `mlruns` store is malformed.
    #[error("{}: malformed MLflow store file: {message}", .path.display())]
    CorruptStore {
        /// The file.
        path: PathBuf,
        /// What could not be parsed.
        message: String,
    },

    /// A SQLite tracking database is at a schema revision this client does
    /// not write (MLflow's own store refuses it too).
    #[error(
        "{}: MLflow database schema revision {found}, but tandem supports only {expected} \
         (MLflow 3.17.2): {hint}",
        .path.display()
    )]
    SchemaRevision {
        /// The database file.
        path: PathBuf,
        /// The revision found (`none` when `alembic_version` is missing).
        found: String,
        /// The one revision supported.
        expected: String,
        /// What to run about it.
        hint: String,
    },

    /// A SQLite tracking database failed (other than a lock held too long,
    /// which is MLflow's `TEMPORARILY_UNAVAILABLE`).
    #[error("{}: SQLite: {message}", .path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported, with the statement's subject.
        message: String,
    },

    /// Object storage behind a direct artifact root (`file:`, `s3:`, …) failed.
    #[error("artifact storage {uri}: {message}")]
    Storage {
        /// The artifact location.
        uri: String,
        /// What the store reported.
        message: String,
    },

    /// The operation is not available on this backend or build.
    #[error("{message}")]
    Unsupported {
        /// What is unavailable and what to do instead.
        message: String,
    },

    /// A wait (e.g. for a model version to become READY) ran out of time.
    #[error("{what} was not ready after {}s", .waited.as_secs())]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it was awaited.
        waited: Duration,
    },

    /// The shared async runtime could not be started.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(String),
}

fn http_context(status: Option<u16>, endpoint: &Option<String>) -> String {
    match (status, endpoint) {
        (Some(status), Some(endpoint)) => format!(", HTTP {status} on {endpoint}"),
        (Some(status), None) => format!(", HTTP {status}"),
        (None, Some(endpoint)) => format!(" on {endpoint}"),
        (None, None) => String::new(),
    }
}

impl From<tandem_io::RuntimeError> for Error {
    fn from(e: tandem_io::RuntimeError) -> Error {
        Error::Runtime(e.0)
    }
}

impl Error {
    /// A stable, machine-readable name for the error, for CLIs and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Mlflow { code, .. } => match code {
                ErrorCode::ResourceDoesNotExist | ErrorCode::NotFound => "not_found",
                ErrorCode::EndpointNotFound => "endpoint_not_found",
                ErrorCode::ResourceAlreadyExists => "already_exists",
                ErrorCode::InvalidParameterValue
                | ErrorCode::InvalidState
                | ErrorCode::BadRequest => "invalid_request",
                ErrorCode::Unauthenticated => "unauthenticated",
                ErrorCode::PermissionDenied => "permission_denied",
                ErrorCode::RequestLimitExceeded | ErrorCode::ResourceExhausted => "rate_limited",
                ErrorCode::Conflict(_) => "conflict",
                ErrorCode::NotImplemented => "not_implemented",
                ErrorCode::InternalError
                | ErrorCode::TemporarilyUnavailable
                | ErrorCode::DeadlineExceeded => "server_error",
                ErrorCode::Other(_) => "mlflow",
            },
            Error::Operation { error, .. } => error.kind(),
            Error::Transport { .. } => "transport",
            Error::RetriesExhausted { .. } => "retries_exhausted",
            Error::Protocol { .. } => "protocol",
            Error::InvalidUri { .. } => "invalid_uri",
            Error::UnsafePath { .. } => "unsafe_path",
            Error::Config { .. } => "config",
            Error::Io { .. } => "io",
            Error::CorruptStore { .. } => "corrupt_store",
            Error::Storage { .. } => "storage",
            Error::SchemaRevision { .. } => "schema_revision",
            Error::Database { .. } => "database",
            Error::Unsupported { .. } => "unsupported",
            Error::Timeout { .. } => "timeout",
            Error::Runtime(_) => "runtime",
        }
    }

    /// MLflow's error code, when the server or store gave one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Mlflow { code, .. } => Some(code),
            Error::RetriesExhausted { last, .. } => last.code(),
            Error::Operation { error, .. } => error.code(),
            _ => None,
        }
    }

    /// The HTTP status of a server error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Mlflow { status, .. } => *status,
            Error::RetriesExhausted { last, .. } => last.status(),
            Error::Operation { error, .. } => error.status(),
            _ => None,
        }
    }

    /// True when the experiment, run, model… does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind() == "not_found"
    }

    /// True when a create call hit an existing name.
    pub fn is_already_exists(&self) -> bool {
        self.kind() == "already_exists"
    }

    /// A local-store (or client-side) error with an MLflow code, phrased as
    /// the server would phrase it.
    pub(crate) fn mlflow(code: ErrorCode, message: impl Into<String>) -> Error {
        Error::Mlflow {
            code,
            message: message.into(),
            status: None,
            endpoint: None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Error {
        Error::Unsupported {
            message: message.into(),
        }
    }

    pub(crate) fn invalid_uri(uri: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidUri {
            uri: uri.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stable_across_backends() {
        let server = Error::Mlflow {
            code: ErrorCode::from_code("RESOURCE_DOES_NOT_EXIST"),
            message: "Run 'x' not found".into(),
            status: Some(404),
            endpoint: Some("GET /api/2.0/mlflow/runs/get".into()),
        };
        let local = Error::mlflow(ErrorCode::ResourceDoesNotExist, "Run 'x' not found");
        assert_eq!(server.kind(), "not_found");
        assert_eq!(local.kind(), "not_found");
        assert_eq!(
            server.to_string(),
            "Run 'x' not found (RESOURCE_DOES_NOT_EXIST, HTTP 404 on GET /api/2.0/mlflow/runs/get)"
        );
        assert_eq!(
            local.to_string(),
            "Run 'x' not found (RESOURCE_DOES_NOT_EXIST)"
        );
        assert_eq!(ErrorCode::from_status(404), ErrorCode::EndpointNotFound);
        assert_eq!(ErrorCode::from_code("WHATEVER").as_str(), "WHATEVER");
    }
}
