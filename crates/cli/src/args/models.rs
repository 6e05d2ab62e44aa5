//! `tandem models save|predict`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::ConfArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum ModelsCommand {
    /// Pack a trained PipelineMl's inference pipeline and artifacts as a model.
    #[command(
        long_about = "\
Write the model directory of a registered PipelineMl: an MLmodel file (MLflow's
format, with a `tandem` flavor and a signature inferred from the input data),
the inference pipeline, its catalog with every artifact copied into the model,
the parameters it uses, and input examples.

The training outputs the inference pipeline needs (fitted models, scalers...)
must already exist in the catalog: run the training pipeline first. A
versioned artifact contributes its latest version. The output directory must
not exist or be empty; it is written atomically.",
        after_long_help = "\
Examples:
  churn models save --pipeline training -o data/06_models/churn_model
  churn models save --pipeline training -o /tmp/model --env prod --json"
    )]
    Save(SaveArgs),
    /// Predict with a saved model on a JSON, CSV or parquet input file.
    #[command(
        long_about = "\
Load a model directory written by `models save` (or logged to MLflow and
downloaded), run its inference pipeline on an input file and write
{\"predictions\": ...} as `mlflow models predict` does.

The input is an MLflow JSON envelope (dataframe_split, dataframe_records,
instances or inputs, with optional params), a CSV file with a header, or a
parquet file; its format comes from -t or the file extension. Columns are
checked against the model's signature: missing columns and unsafe conversions
are errors, extra columns are ignored. The model's functions must be
registered in this binary (the error lists any that are not).",
        after_long_help = "\
Examples:
  churn models predict -m data/06_models/churn_model -i customers.json
  churn models predict -m model -i customers.parquet -o predictions.json --params threshold=0.7"
    )]
    Predict(PredictArgs),
}

/// `models save`.
#[derive(Debug, Args)]
pub(crate) struct SaveArgs {
    /// The registered PipelineMl to pack.
    #[arg(long, short = 'p', value_name = "NAME")]
    pub(crate) pipeline: String,

    /// The model directory to write.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub(crate) output: PathBuf,

    /// Spec files adding pipelines (as for `tandem run`).
    #[arg(long, value_name = "FILE")]
    pub(crate) spec: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    /// Print the written MLmodel as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The format of a `models predict` input file.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum InputKind {
    /// An MLflow JSON envelope.
    Json,
    /// CSV with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// `models predict`.
#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// The model directory.
    #[arg(long, short = 'm', value_name = "MODEL")]
    pub(crate) model: PathBuf,

    /// The input file.
    #[arg(long, short = 'i', value_name = "INPUT")]
    pub(crate) input: PathBuf,

    /// Where to write the predictions (default: stdout).
    #[arg(long, short = 'o', value_name = "OUTPUT")]
    pub(crate) output: Option<PathBuf>,

    /// The input format (default: from the file extension).
    #[arg(long = "content-type", short = 't', value_enum)]
    pub(crate) format: Option<InputKind>,

    /// Parameter overrides for this prediction, `name=value[,name=value]`.
    #[arg(
        long,
        value_name = "NAME=VALUE,...",
        long_help = "Parameter overrides for this prediction only, comma-separated \
                     name=value pairs; each value is read as its default's type. Unknown \
                     names are errors that list the model's parameters.\n\n\
                     Example: --params threshold=0.7"
    )]
    pub(crate) params: Vec<String>,
}

impl PredictArgs {
    /// Every `--params` pair, in order.
    pub(crate) fn param_pairs(&self) -> Vec<&str> {
        self.params
            .iter()
            .flat_map(|p| p.split(','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect()
    }
}
