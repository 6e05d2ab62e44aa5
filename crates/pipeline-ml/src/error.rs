//! The crate's error type; every variant has a stable kind (see [`Error::kind`]).

/// Why a `PipelineMl` could not be built, filtered, packed or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The inference pipeline does not have exactly one free output.
    #[error(
        "the inference pipeline must have one and only one output; it has {}: {}",
        .outputs.len(),
        listed(.outputs)
    )]
    InferenceOutputCount {
        /// The inference pipeline's free outputs, sorted.
        outputs: Vec<String>,
    },

    /// `input_name` is not a free input of the inference pipeline.
    #[error(
        "input_name '{input_name}' must be an input of the inference pipeline, i.e. one of: {}",
        listed(.inputs)
    )]
    InvalidInputName {
        /// The name given.
        input_name: String,
        /// The inference pipeline's free inputs, sorted.
        inputs: Vec<String>,
    },

    /// Inference inputs that training neither consumes nor produces.
    #[error(
        "the following inputs are free for the inference pipeline: {}. No free input is \
         allowed: every inference input except input_name and 'params:' entries must be an \
         input or an output of the training pipeline",
        listed(.inputs)
    )]
    FreeInferenceInputs {
        /// Every offending input, sorted.
        inputs: Vec<String>,
    },

    /// An option (copy mode, runner, log_model settings) is invalid.
    #[error("invalid option: {0}")]
    InvalidOption(String),

    /// An artifact lives only in memory, so the model could not load it.
    #[error(
        "artifact '{name}' is a {type_name}, which is not persisted: the model cannot pack it. \
         Add a catalog entry for '{name}' with a file dataset (e.g. `type: SerdeDataset, \
         filepath: data/06_models/{name}.json`) and run the training pipeline again"
    )]
    ArtifactNotPersisted {
        /// The dataset name.
        name: String,
        /// Its dataset type.
        type_name: String,
    },

    /// An artifact is persisted, but not as a file or object the model can copy.
    #[error(
        "artifact '{name}' is a {type_name}, which is not stored in a file or object: the model \
         can only pack file datasets (ParquetDataset, SerdeDataset, JSONDataset...)"
    )]
    ArtifactNotFile {
        /// The dataset name.
        name: String,
        /// Its dataset type.
        type_name: String,
    },

    /// An artifact has no data yet: training has not produced it.
    #[error("artifact '{name}' has no data at {location}; run the training pipeline first")]
    ArtifactMissing {
        /// The dataset name.
        name: String,
        /// Where the data should be.
        location: String,
    },

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

    /// The MLflow client failed (server, local store, registry).
    #[error(transparent)]
    Mlflow(#[from] tandem_mlflow_client::Error),

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
            Error::InferenceOutputCount { .. } => "inference_output_count",
            Error::InvalidInputName { .. } => "invalid_input_name",
            Error::FreeInferenceInputs { .. } => "free_inference_inputs",
            Error::InvalidOption(_) => "invalid_option",
            Error::InvalidConfig { .. } => "invalid_config",
            Error::ParamTooLong { .. } => "param_too_long",
            Error::NoActiveRun { .. } => "no_active_run",
            Error::Mlflow(e) => e.kind(),
            Error::ArtifactNotPersisted { .. } => "artifact_not_persisted",
            Error::ArtifactNotFile { .. } => "artifact_not_file",
            Error::ArtifactMissing { .. } => "artifact_missing",
            Error::ModelExists { .. } => "model_exists",
            Error::MissingFunctions { .. } => "missing_functions",
            Error::Executable { .. } => "executable",
            Error::InvalidModel { .. } => "invalid_model",
            Error::InvalidInput(_) => "invalid_input",
            Error::SchemaMismatch(_) => "schema_mismatch",
            Error::InvalidParameter(_) => "invalid_parameter",
            Error::WorkerProtocol(_) => "worker_protocol",
            Error::UnknownParameter { .. } => "unknown_parameter",
            Error::InvalidSignature(_) => "invalid_signature",
            Error::Unserializable { .. } => "unserializable",
            Error::Io { .. } => "io",
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

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
