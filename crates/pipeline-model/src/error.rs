//! The crate's error type; every variant has a stable kind (see [`Error::kind`]).

/// Why a model could not be saved, loaded or run, or its input read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model directory already holds files.
    #[error("'{path}' already exists and is not empty; choose another directory or remove it")]
    ModelExists {
        /// The directory.
        path: String,
    },

    /// The model needs node functions this binary does not register.
    #[error(
        "the model needs functions this binary does not register: {}; it was built by {package} \
         {version} ({target}): load it with that package's function registry",
        listed(.ids)
    )]
    MissingFunctions {
        /// Every missing function id, sorted.
        ids: Vec<String>,
        /// The package that built the model.
        package: String,
        /// Its version.
        version: String,
        /// The target it was built for.
        target: String,
    },

    /// A model's embedded executable cannot be embedded or run here
    /// (another platform, altered bytes, missing file).
    #[error("cannot use the model's executable {path}: {message}")]
    Executable {
        /// The executable.
        path: String,
        /// Why not.
        message: String,
    },

    /// The executable cache is not private to this user, or there is no
    /// place for it (no HOME).
    #[error("cannot use the executable cache {path}: {message}")]
    ExecutableCache {
        /// The cache directory or file at fault.
        path: String,
        /// Why not.
        message: String,
    },

    /// A model directory is malformed (MLmodel, tandem files, unsafe paths).
    #[error("invalid model at {path}: {message}")]
    InvalidModel {
        /// The file or directory at fault.
        path: String,
        /// What is wrong.
        message: String,
    },

    /// Input data for the model is malformed, or a value cannot be
    /// converted to its column's type.
    #[error("invalid model input: {0}")]
    InvalidInput(String),

    /// The input's shape does not fit the model's signature: required
    /// columns missing, a table where a list is expected, or the reverse.
    #[error("the input does not fit the model's signature: {0}")]
    SchemaMismatch(String),

    /// A predict-time parameter value of the wrong kind or syntax.
    #[error("invalid parameter value: {0}")]
    InvalidParameter(String),

    /// A `models worker` frame is malformed or of another protocol version.
    #[error("worker protocol: {0}")]
    WorkerProtocol(String),

    /// A predict-time parameter the model does not have.
    #[error("unknown parameter '{name}'; the model's parameters are: {}", listed(.valid))]
    UnknownParameter {
        /// The name given.
        name: String,
        /// The model's parameters, sorted.
        valid: Vec<String>,
    },

    /// A signature could not be inferred or read.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),

    /// A value that must be written as JSON has a type that cannot be.
    #[error("{what} of type `{type_name}` cannot be written as JSON: {reason}")]
    Unserializable {
        /// What the value is (a parameter, the predictions...).
        what: String,
        /// Its Rust type.
        type_name: String,
        /// Why.
        reason: String,
    },

    /// Reading or writing a model file failed.
    #[error("cannot {operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file or directory.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The PipelineMl binding or its artifacts.
    #[error(transparent)]
    Ml(#[from] tandem_pipeline_ml::Error),

    /// A pipeline error (filter, spec, node).
    #[error(transparent)]
    Pipeline(#[from] tandem_pipeline_core::Error),

    /// A catalog error (artifact datasets, copy modes).
    #[error(transparent)]
    Catalog(#[from] tandem_catalog::Error),

    /// A run of the inference pipeline failed.
    #[error(transparent)]
    Run(#[from] tandem_runners::Error),
}

impl Error {
    /// The stable, machine-readable kind of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ModelExists { .. } => "model_exists",
            Error::MissingFunctions { .. } => "missing_functions",
            Error::Executable { .. } => "executable",
            Error::ExecutableCache { .. } => "executable_cache",
            Error::InvalidModel { .. } => "invalid_model",
            Error::InvalidInput(_) => "invalid_input",
            Error::SchemaMismatch(_) => "schema_mismatch",
            Error::InvalidParameter(_) => "invalid_parameter",
            Error::WorkerProtocol(_) => "worker_protocol",
            Error::UnknownParameter { .. } => "unknown_parameter",
            Error::InvalidSignature(_) => "invalid_signature",
            Error::Unserializable { .. } => "unserializable",
            Error::Io { .. } => "io",
            Error::Ml(e) => e.kind(),
            Error::Pipeline(e) => e.kind(),
            Error::Catalog(e) => e.kind(),
            Error::Run(e) => e.kind(),
        }
    }

    /// Maps an I/O error on `path` to [`Error::Io`].
    pub(crate) fn io(
        operation: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.display().to_string();
        move |source| Error::Io {
            operation,
            path,
            source,
        }
    }
}

use tandem_pipeline_ml::listed;
