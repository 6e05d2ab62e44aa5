//! `tandem mlflow ...`.

use clap::{Args, Subcommand};

use super::ConfArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum MlflowCommand {
    /// Write a commented mlflow.yml, turning on MLflow tracking for `run`.
    #[command(
        long_about = "\
Write conf/<env>/mlflow.yml (default conf/local/mlflow.yml) with every setting
at its default and a comment saying what it does. A project with an mlflow.yml
(in conf/base or the environment) is tracked: every `tandem run` becomes an
MLflow run, and a training run of a PipelineMl logs its inference pipeline as
a model. Without a tracking URI, runs go to the project's ./mlruns directory.",
        after_long_help = "\
Examples:
  tandem mlflow init
  tandem mlflow init --env base --force"
    )]
    Init(MlflowInitArgs),
}

/// `mlflow init`.
#[derive(Debug, Args)]
pub(crate) struct MlflowInitArgs {
    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    /// Overwrite an existing mlflow.yml.
    #[arg(long)]
    pub(crate) force: bool,

    /// Print the written path as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}
