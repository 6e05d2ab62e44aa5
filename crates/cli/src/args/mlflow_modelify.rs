//! `tandem mlflow modelify`.

use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;
use tandem_catalog::CopyMode;

use super::mlflow::TrackingArgs;

pub(super) const LONG_ABOUT: &str = "\
Log a PipelineMl that was already trained as an MLflow model, without running
training again (kedro-mlflow's `kedro mlflow modelify`). The inference
pipeline is bound to --input-name, its artifacts (fitted models, parameters)
are read from the project's catalog as training left them, and the model
directory `models save` writes is logged:

- with --run-id, as a model output of that run (in the run's experiment);
- otherwise as an MLflow 3 logged model of the project's experiment
  (mlflow.yml's tracking.experiment.name, default the project's name) with no
  run, loadable from models:/m-<id>.

--input-name must be an input of the inference pipeline (kedro-mlflow checks
the training pipeline's inputs instead, and logs a model that cannot load);
the error lists the valid ones. --registered-model-name also registers a new
model version, which needs a model registry: a tracking server or the SQLite
store (the default) has one, the mlruns file store has none; --alias then points aliases (champion) at that version. The
model embeds this executable (bin/) unless --no-executable is given.

Prints the model id and URI; `tandem mlflow artifacts download --uri <URI>`
fetches the model for `models predict`.";

pub(super) const EXAMPLES: &str = "\
Examples:
  churn mlflow modelify --pipeline training --input-name customers
  churn mlflow modelify -p training -i customers --infer-signature --infer-input-example
  churn mlflow modelify -p training -i customers --run-id 3d26d2eaf64749c0b403d7a0540539df --json
  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 churn mlflow modelify -p training -i customers \\
    --registered-model-name churn --alias champion";

/// `mlflow modelify`.
#[derive(Debug, Args)]
pub(crate) struct ModelifyArgs {
    /// The registered PipelineMl (or `ml:` spec pipeline) to log.
    #[arg(long, short = 'p', value_name = "NAME")]
    pub(crate) pipeline: String,

    /// The inference input that receives the data to predict on.
    #[arg(long, short = 'i', value_name = "DATASET")]
    pub(crate) input_name: String,

    /// The model's name [default: model-<pipeline>].
    #[arg(
        long,
        value_name = "NAME",
        long_help = "The logged model's name [default: model-<pipeline>, as kedro-mlflow]. \
                     The default differs from the `model` a training run logs, so \
                     modelify into a training run (--run-id) adds a model beside it.\n\n\
                     Example: --model-name churn-v2"
    )]
    pub(crate) model_name: Option<String>,

    /// Register a new version of this registered model (tracking server only).
    #[arg(long, value_name = "NAME")]
    pub(crate) registered_model_name: Option<String>,

    /// Point this alias at the registered version (repeatable; needs
    /// --registered-model-name).
    #[arg(long, value_name = "ALIAS", requires = "registered_model_name")]
    pub(crate) alias: Vec<String>,

    /// How the model hands data between its datasets: assign, copy or deepcopy.
    #[arg(
        long,
        value_name = "MODE",
        value_parser = CopyMode::from_str,
        long_help = "How the packed model hands data between its datasets: assign, copy or \
                     deepcopy [default: the PipelineMl's own, assign unless it sets one]. \
                     kedro-mlflow's modelify defaults to deepcopy to protect values from \
                     nodes mutating their inputs; Rust nodes cannot mutate what they \
                     share, so tandem keeps assign, which copies nothing.\n\n\
                     Example: --copy-mode deepcopy"
    )]
    pub(crate) copy_mode: Option<CopyMode>,

    /// Infer the model signature from the input data and the parameters.
    #[arg(long)]
    pub(crate) infer_signature: bool,

    /// Log the first row of the input data as the model's input example.
    #[arg(long)]
    pub(crate) infer_input_example: bool,

    /// Do not copy this executable into the model's bin/ (smaller model,
    /// but only a binary registering its functions can then run it).
    #[arg(long)]
    pub(crate) no_executable: bool,

    /// Log the model as an output of this run instead of as a run-less logged model.
    #[arg(long, value_name = "ID")]
    pub(crate) run_id: Option<String>,

    /// Spec files adding pipelines (as for `tandem run`).
    #[arg(long, value_name = "FILE")]
    pub(crate) spec: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
}
