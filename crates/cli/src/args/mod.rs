//! Command-line arguments: the command tree, shared options and their
//! conversion into library types.

mod catalog;
mod deploy;
mod filters;
mod mlflow;
mod mlflow_browse;
mod mlflow_modelify;
mod mlflow_runs;
mod mlflow_ui;
mod models;
mod new;
mod params;
mod pipeline;
mod run;
mod viz;

use std::path::{Path, PathBuf};

use clap::{ArgAction, Args, Parser, Subcommand};

pub(crate) use catalog::{
    CatalogCommand, CatalogDescribeArgs, CatalogListArgs, CatalogPatternsArgs, CatalogPipelineArgs,
};
pub(crate) use deploy::{AirflowArgs, ArgoArgs, DeployCommand, PlanSource};
pub(crate) use filters::FilterArgs;
pub(crate) use mlflow::{
    ArtifactsCommand, ArtifactsDownloadArgs, ArtifactsListArgs, ArtifactsLogArgs,
    ExperimentsCommand, ExperimentsCreateArgs, MlflowCommand, MlflowInitArgs, ModelifyArgs,
    RunsCommand, RunsListArgs, RunsShowArgs, TrackingArgs,
};
pub(crate) use mlflow_runs::{EndStatus, RunsCreateArgs, RunsEndArgs, SharedRunScope};
pub(crate) use mlflow_ui::MlflowUiArgs;
pub(crate) use models::{
    InputKind, ModelsCommand, PredictArgs, SaveArgs, ServeArgs, TrustArgs, WorkerArgs,
};
#[cfg(test)]
pub(crate) use new::TandemSourceArgs;
pub(crate) use new::{NewArgs, PipelineCreateArgs, Starter};
pub(crate) use pipeline::{CheckArgs, DescribeArgs, DescribeFormat, PipelineCommand};
pub(crate) use run::{DEFAULT_PIPELINE, RunArgs, RunnerKind, expand_kedro_short_options};
pub(crate) use viz::{VizArgs, VizBuildArgs, VizCommand, VizSource};

const ABOUT: &str = "Run, describe and check Kedro-style pipelines and their data catalog";

const LONG_ABOUT: &str = "\
Run, describe and check Kedro-style pipelines and their data catalog.

A project keeps its configuration in Kedro's layout: conf/base/ holds
catalog.yml, parameters.yml and credentials.yml, and conf/<env>/ (default
local) overrides them. Pipelines come from spec files (--spec, YAML or JSON,
functions named by id) and, in a project's own binary, from the pipelines it
registers.

Logs go to stderr: -v for debug, -vv for trace, -q for warnings only;
RUST_LOG overrides the level, NO_COLOR turns colours off.

Exit status: 0 on success, 1 when the pipeline, the catalog or the run fails
(the message names the problem; with --json it is a JSON object on stderr), 2
for unusable command-line arguments.";

const EXAMPLES: &str = "\
Examples:
  tandem run --spec pipelines.yml
  tandem run --spec pipelines.yml --pipelines training,inference --runner parallel
  tandem catalog list --env prod
  tandem pipeline describe --spec examples/spaceflights.yml --tags training --json";

/// The `tandem` command line.
#[derive(Debug, Parser)]
#[command(name = "tandem", version, about = ABOUT, long_about = LONG_ABOUT, after_long_help = EXAMPLES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    #[command(flatten)]
    pub(crate) verbosity: Verbosity,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a pipeline against the project's data catalog.
    #[command(long_about = run::LONG_ABOUT, after_long_help = run::EXAMPLES)]
    Run(Box<RunArgs>),
    /// Describe and check pipeline spec files.
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// List and describe the project's data catalog.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Save a trained PipelineMl as a model; predict with or serve a saved model.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// MLflow tracking: set it up, browse experiments, runs and artifacts, log models.
    #[command(subcommand)]
    Mlflow(MlflowCommand),
    /// Deploy a pipeline as orchestrator tasks: plan, Airflow DAG file, Argo manifest.
    #[command(subcommand, long_about = deploy::LONG_ABOUT)]
    Deploy(DeployCommand),
    /// Generate a project in Kedro's layout that builds on tandem (`kedro new`).
    #[command(long_about = new::NEW_LONG_ABOUT, after_long_help = new::NEW_EXAMPLES)]
    New(NewArgs),
    /// Look at the pipelines in kedro-viz, or write its export (`kedro viz`).
    #[command(
        long_about = viz::LONG_ABOUT,
        after_long_help = viz::EXAMPLES,
        args_conflicts_with_subcommands = true
    )]
    Viz(VizArgs),
}

impl Command {
    /// Whether the command prints JSON (then stderr carries only the JSON error).
    pub(crate) fn json(&self) -> bool {
        match self {
            Command::Run(args) => args.json,
            Command::Pipeline(PipelineCommand::Describe(args)) => args.json(),
            Command::Pipeline(PipelineCommand::Check(args)) => args.common.json,
            Command::Catalog(command) => command.json(),
            Command::Models(ModelsCommand::Save(args)) => args.json,
            // Predictions are JSON already; errors stay human-readable.
            Command::Models(ModelsCommand::Predict(_)) => false,
            // A server's output is its log.
            Command::Models(ModelsCommand::Serve(_)) => false,
            // stdout is the worker protocol; errors stay human-readable on stderr.
            Command::Models(ModelsCommand::Worker(_)) => false,
            Command::Mlflow(command) => command.json(),
            Command::Deploy(command) => command.json(),
            Command::New(args) => args.json,
            Command::Viz(args) => matches!(&args.command, Some(VizCommand::Build(b)) if b.json),
            Command::Pipeline(PipelineCommand::Create(args)) => args.json,
        }
    }
}

/// How much to log; global, so it may follow the subcommand.
#[derive(Debug, Args)]
pub(crate) struct Verbosity {
    /// Log more: -v for debug, -vv for trace.
    #[arg(
        long,
        short = 'v',
        action = ArgAction::Count,
        global = true,
        conflicts_with = "quiet",
        help_heading = "Logging",
        long_help = "Log more on stderr: -v adds debug messages, -vv trace messages. RUST_LOG, \
                     when set, replaces these levels with its own directives.\n\n\
                     Example: tandem run -v"
    )]
    pub(crate) verbose: u8,

    /// Log warnings and errors only, and show no progress bar.
    #[arg(long, short = 'q', global = true, help_heading = "Logging")]
    pub(crate) quiet: bool,
}

/// Where the project configuration is, for commands that read it.
#[derive(Debug, Args)]
pub(crate) struct ConfArgs {
    /// The configuration directory; the project root is its parent.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "conf",
        long_help = "The configuration directory, with base/ and one directory per \
                     environment. Relative file paths in catalog.yml resolve against its \
                     parent, the project root (Kedro's <project>/conf layout).\n\n\
                     Example: --conf ~/projects/spaceflights/conf"
    )]
    pub(crate) conf: PathBuf,

    /// Kedro's spelling: the configuration as a directory or an archive;
    /// the project root is the current directory.
    #[arg(
        long = "conf-source",
        value_name = "DIR|ARCHIVE",
        conflicts_with = "conf",
        value_parser = existing_path,
        long_help = "Kedro's --conf-source: the configuration directory, or an archive \
                     (.tar, .tar.gz, .tgz, .tar.bz2, .zip) holding one top-level folder with \
                     base/ and the environments, as `kedro package` writes it. Relative file \
                     paths in catalog.yml resolve against the current directory, the \
                     project root, as in Kedro.\n\n\
                     Example: --conf-source dist/conf-spaceflights.tar.gz"
    )]
    pub(crate) conf_source: Option<PathBuf>,

    /// The unpacked `--conf-source` archive, once read.
    #[arg(skip)]
    pub(crate) unpacked: std::sync::OnceLock<crate::commands::conf_source::Unpacked>,

    /// The environment overriding conf/base [default: local].
    #[arg(
        long,
        short = 'e',
        value_name = "ENV",
        env = "TANDEM_ENV",
        long_help = "The environment whose files override conf/base: conf/<ENV>/. Without \
                     it (or TANDEM_ENV), `tandem run` reads Kedro's KEDRO_ENV, and otherwise \
                     conf/local/ is used when it exists. An environment named here must \
                     exist.\n\n\
                     Example: --env prod"
    )]
    pub(crate) env: Option<String>,
}

/// `--conf-source` must exist, as Kedro's click option checks.
fn existing_path(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!("Path '{value}' does not exist."))
    }
}

impl ConfArgs {
    /// The configuration directory: --conf, or --conf-source (an archive
    /// unpacked on first use, for the rest of the command).
    pub(crate) fn dir(&self) -> Result<&Path, crate::error::Failure> {
        use crate::commands::conf_source;
        let Some(source) = &self.conf_source else {
            return Ok(&self.conf);
        };
        if !conf_source::is_archive(source) {
            return Ok(source);
        }
        if let Some(unpacked) = self.unpacked.get() {
            return Ok(&unpacked.conf);
        }
        let fresh = conf_source::unpack(source)?;
        Ok(&self.unpacked.get_or_init(|| fresh).conf)
    }

    /// The project root relative file paths resolve against: the parent of
    /// --conf, or the current directory with --conf-source (Kedro's root).
    pub(crate) fn project_root(&self) -> PathBuf {
        match &self.conf_source {
            Some(_) => PathBuf::from("."),
            None => crate::commands::project_root(&self.conf),
        }
    }

    /// The environment to read: --env (or TANDEM_ENV), else Kedro's
    /// KEDRO_ENV; an empty KEDRO_ENV counts as unset, as in Kedro.
    pub(crate) fn env_or_kedro_env(&self) -> Option<String> {
        self.env.clone().or_else(|| {
            std::env::var("KEDRO_ENV")
                .ok()
                .filter(|env| !env.is_empty())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn verbosity_is_global_and_exclusive() {
        let cli = Cli::try_parse_from(["tandem", "catalog", "list", "-vv"]).unwrap();
        assert_eq!(cli.verbosity.verbose, 2);
        let cli = Cli::try_parse_from(["tandem", "-q", "catalog", "list", "--json"]).unwrap();
        assert!(cli.verbosity.quiet && cli.command.json());
        let err = Cli::try_parse_from(["tandem", "-q", "-v", "catalog", "list"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn aliases_need_a_registered_model() {
        let modelify = ["tandem", "mlflow", "modelify", "-p", "training", "-i", "x"];
        let alone = Cli::try_parse_from(modelify.iter().chain(&["--alias", "champion"]));
        assert_eq!(alone.unwrap_err().exit_code(), 2);
        let named = [
            "--registered-model-name",
            "churn",
            "--alias",
            "a",
            "--alias",
            "b",
        ];
        let cli = Cli::try_parse_from(modelify.iter().chain(&named)).unwrap();
        let Command::Mlflow(MlflowCommand::Modelify(args)) = cli.command else {
            panic!("not modelify: {:?}", cli.command)
        };
        assert_eq!(args.alias, ["a", "b"]);
    }
}
