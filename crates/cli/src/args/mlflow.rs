//! `tandem mlflow ...`.

use clap::{Args, Subcommand};

use super::ConfArgs;
pub(crate) use super::mlflow_browse::{
    ArtifactsCommand, ArtifactsDownloadArgs, ArtifactsListArgs, ArtifactsLogArgs,
    ExperimentsCommand, ExperimentsCreateArgs, RunsCommand, RunsListArgs, RunsShowArgs,
};
pub(crate) use super::mlflow_modelify::ModelifyArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum MlflowCommand {
    /// Write a commented mlflow.yml, turning on MLflow tracking for `run`.
    #[command(
        long_about = "\
Write conf/<env>/mlflow.yml (default conf/local/mlflow.yml) with every setting
at its default and a comment saying what it does. A project with an mlflow.yml
(in conf/base or the environment) is tracked: every `tandem run` becomes an
MLflow run, and a training run of a PipelineMl logs its inference pipeline as
a model. Without a tracking URI, runs go to MLflow's default store at the
project root: the SQLite database mlflow.db, artifacts in mlruns/, which a
plain `mlflow ui` there shows.",
        after_long_help = "\
Examples:
  tandem mlflow init
  tandem mlflow init --env base --force"
    )]
    Init(MlflowInitArgs),
    /// List or create MLflow experiments.
    #[command(subcommand)]
    Experiments(ExperimentsCommand),
    /// List MLflow runs or show one with its parameters, metrics and tags.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Upload, list and download the artifacts of an MLflow run.
    #[command(subcommand)]
    Artifacts(ArtifactsCommand),
    /// Start MLflow's UI on the project's store.
    #[command(
        long_about = super::mlflow_ui::LONG_ABOUT,
        after_long_help = super::mlflow_ui::EXAMPLES
    )]
    Ui(super::mlflow_ui::MlflowUiArgs),
    /// Log an already-trained PipelineMl as an MLflow model, without training again.
    #[command(
        long_about = super::mlflow_modelify::LONG_ABOUT,
        after_long_help = super::mlflow_modelify::EXAMPLES
    )]
    Modelify(Box<ModelifyArgs>),
}

impl MlflowCommand {
    /// Whether the command prints JSON.
    pub(crate) fn json(&self) -> bool {
        match self {
            MlflowCommand::Init(args) => args.json,
            MlflowCommand::Experiments(ExperimentsCommand::List(args)) => args.json,
            MlflowCommand::Experiments(ExperimentsCommand::Create(args)) => args.tracking.json,
            MlflowCommand::Runs(RunsCommand::List(args)) => args.tracking.json,
            MlflowCommand::Runs(RunsCommand::Show(args)) => args.tracking.json,
            MlflowCommand::Runs(RunsCommand::Create(args)) => args.scope.tracking.json,
            MlflowCommand::Runs(RunsCommand::End(args)) => args.scope.tracking.json,
            MlflowCommand::Artifacts(ArtifactsCommand::Log(args)) => args.tracking.json,
            MlflowCommand::Artifacts(ArtifactsCommand::List(args)) => args.tracking.json,
            MlflowCommand::Artifacts(ArtifactsCommand::Download(args)) => args.tracking.json,
            MlflowCommand::Modelify(args) => args.tracking.json,
            MlflowCommand::Ui(args) => args.tracking.json,
        }
    }
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

/// Where the MLflow commands find the tracking server or store, and how
/// they print.
#[derive(Debug, Args)]
pub(crate) struct TrackingArgs {
    /// The tracking server or store (default: mlflow.yml, MLFLOW_TRACKING_URI, ./mlflow.db).
    #[arg(
        long,
        value_name = "URI",
        long_help = "The MLflow tracking server (http://host:port) or local store (a \
                     sqlite:/// database, or an mlruns directory or file: URI). It \
                     overrides, in order, server.mlflow_tracking_uri of the project's \
                     mlflow.yml, MLFLOW_TRACKING_URI, and MLflow's default: mlflow.db at the \
                     project root (the parent of --conf), or its mlruns file store if one \
                     with experiments is there. A relative path is taken from the current \
                     directory.\n\n\
                     Example: --tracking-uri http://127.0.0.1:5000"
    )]
    pub(crate) tracking_uri: Option<String>,

    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::args::{ArtifactsCommand, Cli, Command, MlflowCommand};

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tandem").chain(args.iter().copied()))
    }

    #[test]
    fn artifacts_come_from_a_run_or_a_uri_not_both() {
        let cli = parse(&["mlflow", "artifacts", "download", "--uri", "models:/m-1"]).unwrap();
        let Command::Mlflow(MlflowCommand::Artifacts(ArtifactsCommand::Download(args))) =
            &cli.command
        else {
            panic!("parsed {cli:?}");
        };
        assert_eq!(args.source.uri.as_deref(), Some("models:/m-1"));
        for bad in [
            &["mlflow", "artifacts", "list"][..],
            &[
                "mlflow",
                "artifacts",
                "list",
                "--run-id",
                "r",
                "--uri",
                "runs:/r/",
            ],
            &[
                "mlflow",
                "artifacts",
                "list",
                "--uri",
                "runs:/r/",
                "--artifact-path",
                "a",
            ],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn modelify_checks_copy_modes_and_reports_json() {
        let base = ["mlflow", "modelify", "-p", "training", "-i", "customers"];
        let cli = parse(&[&base[..], &["--copy-mode", "deepcopy", "--json"]].concat()).unwrap();
        assert!(cli.command.json());
        let bad = parse(&[&base[..], &["--copy-mode", "clone"]].concat()).unwrap_err();
        assert_eq!(bad.exit_code(), 2);
        let both = [
            "mlflow",
            "runs",
            "list",
            "--experiment",
            "a",
            "--experiment-id",
            "1",
        ];
        assert_eq!(parse(&both).unwrap_err().exit_code(), 2);
    }
}
