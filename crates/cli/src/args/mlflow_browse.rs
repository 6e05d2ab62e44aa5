//! `tandem mlflow experiments|runs|artifacts ...`: browse and fill the
//! tracking server or the local `mlruns` store.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::mlflow::TrackingArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum ExperimentsCommand {
    /// List the active experiments.
    #[command(after_long_help = "\
Examples:
  tandem mlflow experiments list
  tandem mlflow experiments list --tracking-uri http://127.0.0.1:5000 --json")]
    List(TrackingArgs),
    /// Create an experiment and print its id.
    #[command(
        long_about = "Create an experiment and print its id. A name already taken, even by a \
                      deleted experiment, is an error (kind `already_exists`).",
        after_long_help = "\
Examples:
  tandem mlflow experiments create churn-tuning
  tandem mlflow experiments create churn-tuning --tracking-uri ./mlruns --json"
    )]
    Create(ExperimentsCreateArgs),
}

/// `mlflow experiments create`.
#[derive(Debug, Args)]
pub(crate) struct ExperimentsCreateArgs {
    /// The new experiment's name.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,

    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RunsCommand {
    /// List runs, newest first: of one experiment, or of every active one.
    #[command(after_long_help = "\
Examples:
  tandem mlflow runs list
  tandem mlflow runs list --experiment churn
  tandem mlflow runs list --experiment-id 0 --json")]
    List(RunsListArgs),
    /// Show a run: status, times, parameters, latest metrics and tags.
    #[command(after_long_help = "\
Examples:
  tandem mlflow runs show 3d26d2eaf64749c0b403d7a0540539df
  tandem mlflow runs show 3d26d2eaf64749c0b403d7a0540539df --json")]
    Show(RunsShowArgs),
    /// Open the run an orchestrated run's tasks share; print its id last.
    #[command(
        long_about = super::mlflow_runs::CREATE_ABOUT,
        after_long_help = super::mlflow_runs::CREATE_EXAMPLES
    )]
    Create(Box<super::mlflow_runs::RunsCreateArgs>),
    /// End a run: FINISHED after logging the PipelineMl's model once, or FAILED.
    #[command(
        long_about = super::mlflow_runs::END_ABOUT,
        after_long_help = super::mlflow_runs::END_EXAMPLES
    )]
    End(Box<super::mlflow_runs::RunsEndArgs>),
}

/// `mlflow runs list`.
#[derive(Debug, Args)]
pub(crate) struct RunsListArgs {
    /// Only the runs of the experiment with this name.
    #[arg(long, value_name = "NAME", conflicts_with = "experiment_id")]
    pub(crate) experiment: Option<String>,

    /// Only the runs of the experiment with this id.
    #[arg(long, value_name = "ID")]
    pub(crate) experiment_id: Option<String>,

    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
}

/// `mlflow runs show`.
#[derive(Debug, Args)]
pub(crate) struct RunsShowArgs {
    /// The run id.
    #[arg(value_name = "RUN_ID")]
    pub(crate) run_id: String,

    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ArtifactsCommand {
    /// Upload a file or a directory (recursively) into a run's artifacts.
    #[command(after_long_help = "\
Examples:
  tandem mlflow artifacts log data/08_reporting/metrics.json --run-id 3d26d2eaf64749c0b403d7a0540539df
  tandem mlflow artifacts log data/08_reporting --run-id 3d26d2eaf64749c0b403d7a0540539df --artifact-path reports")]
    Log(ArtifactsLogArgs),
    /// List the artifacts directly under a path of a run, or at a URI.
    #[command(after_long_help = "\
Examples:
  tandem mlflow artifacts list --run-id 3d26d2eaf64749c0b403d7a0540539df
  tandem mlflow artifacts list --run-id 3d26d2eaf64749c0b403d7a0540539df --artifact-path reports --json
  tandem mlflow artifacts list --uri models:/m-0a1b2c3d4e5f")]
    List(ArtifactsListArgs),
    /// Download a run's artifacts (a file or a directory), or everything at a URI.
    #[command(
        long_about = "\
Download a run artifact, a file or a whole directory (the run's whole artifact
root without --artifact-path), to <OUTPUT>/<artifact path>; or, with --uri,
everything at an MLflow URI (runs:/<run_id>/<path>, models:/<name>/<version>,
models:/<name>@<alias>, models:/m-<id>) into OUTPUT. Prints the local path.",
        after_long_help = "\
Examples:
  tandem mlflow artifacts download --run-id 3d26d2eaf64749c0b403d7a0540539df -o /tmp/run
  tandem mlflow artifacts download --run-id 3d26d2eaf64749c0b403d7a0540539df --artifact-path reports/metrics.json
  tandem mlflow artifacts download --uri models:/m-0a1b2c3d4e5f -o model"
    )]
    Download(ArtifactsDownloadArgs),
}

/// `mlflow artifacts log`.
#[derive(Debug, Args)]
pub(crate) struct ArtifactsLogArgs {
    /// The file or directory to upload.
    #[arg(value_name = "PATH")]
    pub(crate) path: PathBuf,

    /// The run to log to.
    #[arg(long, value_name = "ID")]
    pub(crate) run_id: String,

    /// The directory inside the run's artifacts (default: the root).
    #[arg(long, value_name = "DIR")]
    pub(crate) artifact_path: Option<String>,

    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
}

/// Which artifacts `list` and `download` act on: a run's, or a URI's.
#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "source")]
pub(crate) struct ArtifactSource {
    /// The run whose artifacts to use.
    #[arg(long, value_name = "ID")]
    pub(crate) run_id: Option<String>,

    /// An MLflow URI instead of a run: runs:/..., models:/..., or an artifact location.
    #[arg(long, value_name = "URI")]
    pub(crate) uri: Option<String>,
}

impl ArtifactSource {
    /// The run id, when no `--uri` was given (clap then requires one).
    pub(crate) fn run_id(&self) -> &str {
        self.run_id.as_deref().unwrap_or_default()
    }
}

/// `mlflow artifacts list`.
#[derive(Debug, Args)]
pub(crate) struct ArtifactsListArgs {
    #[command(flatten)]
    pub(crate) source: ArtifactSource,

    /// The directory inside the run's artifacts (default: the root).
    #[arg(long, value_name = "PATH", conflicts_with = "uri")]
    pub(crate) artifact_path: Option<String>,

    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
}

/// `mlflow artifacts download`.
#[derive(Debug, Args)]
pub(crate) struct ArtifactsDownloadArgs {
    #[command(flatten)]
    pub(crate) source: ArtifactSource,

    /// The file or directory inside the run's artifacts (default: all of them).
    #[arg(long, value_name = "PATH", conflicts_with = "uri")]
    pub(crate) artifact_path: Option<String>,

    /// The local directory to download into.
    #[arg(long, short = 'o', value_name = "DST", default_value = ".")]
    pub(crate) output: PathBuf,

    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
}
