//! The crate's error type; every variant has a stable kind (see [`Error::kind`]).

/// Why tracking a run, reading `mlflow.yml` or logging a model failed.
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

    /// Reading or writing a file (mlflow.yml, a scratch copy) failed.
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

    /// The MLflow client failed (server, local store, registry).
    #[error(transparent)]
    Mlflow(#[from] tandem_mlflow_client::Error),

    /// Saving or loading the model failed.
    #[error(transparent)]
    Model(#[from] tandem_pipeline_model::Error),

    /// The PipelineMl binding or its artifacts.
    #[error(transparent)]
    Ml(#[from] tandem_pipeline_ml::Error),

    /// A pipeline error (filter, spec, node).
    #[error(transparent)]
    Pipeline(#[from] tandem_pipeline_core::Error),

    /// A catalog error (artifact datasets, copy modes).
    #[error(transparent)]
    Catalog(#[from] tandem_catalog::Error),

    /// A pipeline run failed.
    #[error(transparent)]
    Run(#[from] tandem_runners::Error),
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
