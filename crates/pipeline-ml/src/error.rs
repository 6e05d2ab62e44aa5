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
            Error::Pipeline(e) => e.kind(),
            Error::Catalog(e) => e.kind(),
            Error::Run(e) => e.kind(),
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
