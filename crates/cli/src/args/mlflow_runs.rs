//! `tandem mlflow runs create|end`: one MLflow run opened and closed
//! around the tasks of an orchestrated run (`tandem deploy airflow`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{Map, Value};
use tandem_mlflow_client::RunStatus;

use super::mlflow::TrackingArgs;

/// The pipeline and configuration a shared run belongs to, as `tandem run`
/// selects and loads them.
#[derive(Debug, Args)]
pub(crate) struct SharedRunScope {
    /// The registered pipeline (default: __default__).
    #[arg(long, short = 'p', value_name = "NAME")]
    pub(crate) pipeline: Option<String>,

    /// A pipeline spec file (repeatable), as for `tandem run`.
    #[arg(long, value_name = "FILE")]
    pub(crate) spec: Vec<PathBuf>,

    /// Override parameters: key=value,... (as `tandem run --params`).
    #[arg(long, value_name = "KEY=VALUE,...", value_parser = super::params::parse_params)]
    pub(crate) params: Vec<Map<String, Value>>,

    /// The orchestrated run's id: the version the tasks saved (`tandem run --run-id`).
    #[arg(long, value_name = "ID", env = "TANDEM_RUN_ID")]
    pub(crate) run_id: Option<String>,

    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
}

impl SharedRunScope {
    /// The pipeline name.
    pub(crate) fn pipeline_name(&self) -> String {
        self.pipeline
            .clone()
            .unwrap_or_else(|| super::DEFAULT_PIPELINE.to_owned())
    }

    /// Every `--params` occurrence merged, later ones winning.
    pub(crate) fn params_overrides(&self) -> Map<String, Value> {
        super::params::merged(&self.params)
    }
}

/// `mlflow runs create`.
#[derive(Debug, Args)]
pub(crate) struct RunsCreateArgs {
    #[command(flatten)]
    pub(crate) scope: SharedRunScope,
}

/// How `mlflow runs end` ends a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum EndStatus {
    /// Ended successfully (after logging the PipelineMl's model, if any).
    Finished,
    /// Ended with an error.
    Failed,
    /// Stopped from outside.
    Killed,
}

impl EndStatus {
    /// MLflow's status.
    pub(crate) fn status(self) -> RunStatus {
        match self {
            EndStatus::Finished => RunStatus::Finished,
            EndStatus::Failed => RunStatus::Failed,
            EndStatus::Killed => RunStatus::Killed,
        }
    }
}

/// `mlflow runs end`.
#[derive(Debug, Args)]
pub(crate) struct RunsEndArgs {
    /// The MLflow run id.
    #[arg(value_name = "RUN_ID")]
    pub(crate) mlflow_run_id: String,

    /// The status to end it with.
    #[arg(long, value_enum, default_value = "FINISHED", ignore_case = true)]
    pub(crate) status: EndStatus,

    /// Why it failed (the run's tandem.error tag, with --status FAILED).
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "a task of the orchestrated run failed"
    )]
    pub(crate) reason: String,

    #[command(flatten)]
    pub(crate) scope: SharedRunScope,
}

/// `runs create`'s help.
pub(crate) const CREATE_ABOUT: &str = "\
Open the MLflow run the tasks of an orchestrated run share, and print its id
as the last line of stdout (Airflow's BashOperator pushes that line as XCom).
The run is created as a tracked `tandem run` of --pipeline would start it: in
mlflow.yml's experiment, named after tracking.run.name or the pipeline, with
tandem's tags (tandem.run_id = --run-id) and every parameter the pipeline's
nodes consume, after --params. It stays RUNNING: each task then runs
`tandem run` with MLFLOW_RUN_ID set to it, which logs into it and leaves it
open, and `tandem mlflow runs end` ends it.";

/// `runs create`'s examples.
pub(crate) const CREATE_EXAMPLES: &str = "\
Examples:
  RUN=$(churn mlflow runs create --pipeline training --run-id nightly-1 | tail -n1)
  MLFLOW_RUN_ID=$RUN churn run --pipeline training --nodes split --run-id nightly-1";

/// `runs end`'s help.
pub(crate) const END_ABOUT: &str = "\
End an MLflow run. With --status FINISHED (the default) and a --pipeline that
is a PipelineMl, first log its inference pipeline as a model into the run,
from the catalog at the versions --run-id saved, and register it per
mlflow.yml's tracking.model; a model of that name already READY in the run is
not logged again, so a retried final task logs one model. With --status
FAILED, also fail the logged models the run left PENDING and tag the run
tandem.error with --reason.";

/// `runs end`'s examples.
pub(crate) const END_EXAMPLES: &str = "\
Examples:
  churn mlflow runs end 3d26d2eaf64749c0b403d7a0540539df --pipeline training --run-id nightly-1
  churn mlflow runs end 3d26d2eaf64749c0b403d7a0540539df --status FAILED";
