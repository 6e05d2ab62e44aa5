//! The crate's error type; every variant has a stable kind (see [`Error::kind`]).

/// Why a `PipelineMl` could not be built, filtered or configured, or its
/// artifacts could not be extracted.
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

    /// A pipeline error (filter, spec, node).
    #[error(transparent)]
    Pipeline(#[from] tandem_pipeline_core::Error),

    /// A catalog error (artifact datasets, copy modes).
    #[error(transparent)]
    Catalog(#[from] tandem_catalog::Error),
}

impl Error {
    /// The stable, machine-readable kind of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InferenceOutputCount { .. } => "inference_output_count",
            Error::InvalidInputName { .. } => "invalid_input_name",
            Error::FreeInferenceInputs { .. } => "free_inference_inputs",
            Error::InvalidOption(_) => "invalid_option",
            Error::ArtifactNotPersisted { .. } => "artifact_not_persisted",
            Error::ArtifactNotFile { .. } => "artifact_not_file",
            Error::ArtifactMissing { .. } => "artifact_missing",
            Error::Unserializable { .. } => "unserializable",
            Error::Pipeline(e) => e.kind(),
            Error::Catalog(e) => e.kind(),
        }
    }
}

/// `names` quoted and comma-separated, or `none`: how error messages list names.
pub fn listed(names: &[String]) -> String {
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
