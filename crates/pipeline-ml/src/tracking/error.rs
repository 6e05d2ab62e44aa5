//! The tracking integration's error type; every variant has a stable kind.

/// Why MLflow tracking could not be configured, started, logged or ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `mlflow.yml` (or the credentials it names) is malformed.
    #[error("invalid MLflow configuration in {file}: {message}")]
    InvalidConfig {
        /// The file at fault (or `mlflow.yml` for merged settings).
        file: String,
        /// What is wrong, naming the key.
        message: String,
    },

    /// A parameter value exceeds MLflow's limit under `long_params_strategy: fail`.
    #[error(
        "parameter '{key}' is {length} characters long, over MLflow's limit of {limit}; set \
         tracking.params.long_params_strategy to 'tag' or 'truncate' in mlflow.yml"
    )]
    ParamTooLong {
        /// The parameter key.
        key: String,
        /// Its value's length in characters.
        length: usize,
        /// MLflow's limit.
        limit: usize,
    },

    /// A dataset was used outside a tracked run and has no `run_id` to use.
    #[error("dataset '{dataset}' needs an active MLflow run or a `run_id` setting")]
    NoActiveRun {
        /// The dataset name.
        dataset: String,
    },

    /// A file or directory could not be read or written.
    #[error("cannot {operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The path.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The MLflow client failed (server, local store, registry).
    #[error(transparent)]
    Mlflow(#[from] tandem_mlflow_client::Error),

    /// Building, packing or validating the model failed.
    #[error(transparent)]
    Model(#[from] crate::Error),

    /// A catalog operation failed.
    #[error(transparent)]
    Catalog(#[from] tandem_catalog::Error),
}

impl Error {
    /// The stable, machine-readable kind of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidConfig { .. } => "invalid_config",
            Error::ParamTooLong { .. } => "param_too_long",
            Error::NoActiveRun { .. } => "no_active_run",
            Error::Io { .. } => "io",
            Error::Mlflow(e) => e.kind(),
            Error::Model(e) => e.kind(),
            Error::Catalog(e) => e.kind(),
        }
    }

    pub(crate) fn io(
        operation: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.display().to_string();
        move |source| Error::Io {
            operation,
            path,
            source,
        }
    }
}
