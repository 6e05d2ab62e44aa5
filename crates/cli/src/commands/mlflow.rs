//! MLflow tracking: the hook `tandem run` installs, and `tandem mlflow ...`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Map;
use tandem_catalog::{DEFAULT_ENV, ProjectConfig};
use tandem_mlflow_client::{Experiment, FileInfo, MlflowClient, Run};
use tandem_pipeline_ml::AnyPipeline;
use tandem_runners::Hook;
use tandem_tracking::{
    ClientFactory, LoggedPipelineModel, MlflowConfig, MlflowHook, TrackingContext, TrackingProject,
    project_name, register_datasets, write_default_config,
};

use super::{mlflow_browse, mlflow_modelify, mlflow_runs};
use crate::app::App;
use crate::args::{
    ArtifactsCommand, ConfArgs, ExperimentsCommand, MlflowCommand, MlflowInitArgs, RunsCommand,
    TrackingArgs,
};
use crate::error::Failure;

/// What an `mlflow` command produced, handed to the render layer.
#[derive(Debug)]
pub(crate) enum MlflowOutcome {
    /// `mlflow init`: the file written.
    Initialized(PathBuf),
    /// `experiments list`.
    Experiments(Vec<Experiment>),
    /// `experiments create`: the new experiment.
    ExperimentCreated(Experiment),
    /// `runs list`, newest first.
    Runs(Vec<Run>),
    /// `runs show`.
    Run(Box<Run>),
    /// `artifacts log`.
    ArtifactsLogged(ArtifactsLogged),
    /// `artifacts list`: where was listed, and what is there.
    Artifacts {
        /// The run or URI listed, as given.
        source: String,
        /// Files and directories directly under it.
        files: Vec<FileInfo>,
    },
    /// `artifacts download`: the local path of what was downloaded.
    Downloaded(PathBuf),
    /// `modelify`: the logged model.
    Modelified(Box<LoggedPipelineModel>),
    /// `ui` that started nothing: where the UI is, or how to start it.
    Ui(super::mlflow_ui::UiPlan),
    /// `runs create`: the MLflow run id.
    RunCreated(String),
    /// `runs end`.
    RunEnded(mlflow_runs::RunEnded),
}

/// What `artifacts log` uploaded.
#[derive(Debug)]
pub(crate) struct ArtifactsLogged {
    /// The run.
    pub(crate) run_id: String,
    /// Where in the run's artifacts: the uploaded file's path, or the
    /// directory the uploaded directory's files went into ("" for the root).
    pub(crate) artifact_path: String,
    /// How many files were uploaded.
    pub(crate) files: usize,
}

/// Runs an `mlflow` subcommand.
pub(super) fn execute(command: &MlflowCommand, app: &App) -> Result<super::Outcome, Failure> {
    let outcome = match command {
        MlflowCommand::Ui(args) => return super::mlflow_ui::ui(args, app),
        MlflowCommand::Init(args) => MlflowOutcome::Initialized(init(args)?),
        MlflowCommand::Experiments(ExperimentsCommand::List(args)) => {
            MlflowOutcome::Experiments(mlflow_browse::list_experiments(args, app)?)
        }
        MlflowCommand::Experiments(ExperimentsCommand::Create(args)) => {
            MlflowOutcome::ExperimentCreated(mlflow_browse::create_experiment(args, app)?)
        }
        MlflowCommand::Runs(RunsCommand::List(args)) => {
            MlflowOutcome::Runs(mlflow_browse::list_runs(args, app)?)
        }
        MlflowCommand::Runs(RunsCommand::Show(args)) => {
            MlflowOutcome::Run(Box::new(mlflow_browse::show_run(args, app)?))
        }
        MlflowCommand::Runs(RunsCommand::Create(args)) => {
            MlflowOutcome::RunCreated(mlflow_runs::create(args, app)?)
        }
        MlflowCommand::Runs(RunsCommand::End(args)) => {
            MlflowOutcome::RunEnded(mlflow_runs::end(args, app)?)
        }
        MlflowCommand::Artifacts(ArtifactsCommand::Log(args)) => {
            MlflowOutcome::ArtifactsLogged(mlflow_browse::log_artifacts(args, app)?)
        }
        MlflowCommand::Artifacts(ArtifactsCommand::List(args)) => {
            mlflow_browse::list_artifacts(args, app)?
        }
        MlflowCommand::Artifacts(ArtifactsCommand::Download(args)) => {
            MlflowOutcome::Downloaded(mlflow_browse::download_artifacts(args, app)?)
        }
        MlflowCommand::Modelify(args) => {
            MlflowOutcome::Modelified(Box::new(mlflow_modelify::modelify(args, app)?))
        }
    };
    Ok(super::Outcome::Mlflow(Box::new(outcome)))
}

/// The project's MLflow settings (every default without an `mlflow.yml`,
/// so the commands work outside a project too), with `--tracking-uri`
/// replacing the configured URI.
///
/// mlflow.yml is read as `tandem run` reads it (the project's globals and
/// the app's resolvers), without loading the rest of the configuration, so
/// a broken catalog does not stop `tandem mlflow ui`.
pub(super) fn tracking_config(args: &TrackingArgs, app: &App) -> Result<MlflowConfig, Failure> {
    let dir = args.conf.dir()?;
    let env = args.conf.env_or_kedro_env();
    let options = tandem_catalog::ConfigOptions {
        runtime_params: Map::new(),
        resolvers: app.resolvers().clone(),
    };
    let globals = ProjectConfig::load_globals(dir, env.as_deref(), &options)?;
    let interpolator = tandem_catalog::Interpolator::new()
        .with_resolvers(app.resolvers())
        .with_globals(globals);
    let mut config = MlflowConfig::load_with(
        dir,
        env.as_deref(),
        &MlflowConfig::project_interpolator(interpolator),
    )?
    .unwrap_or_default();
    if let Some(uri) = &args.tracking_uri {
        config.server.mlflow_tracking_uri = Some(command_line_uri(uri));
    }
    Ok(config)
}

/// A client for `config`, as `tandem run` would track to: credentials.yml
/// is only read when mlflow.yml names an entry of it, so a directory
/// without a project configuration still works.
pub(super) fn tracking_client(
    args: &TrackingArgs,
    config: &MlflowConfig,
    app: &App,
) -> Result<MlflowClient, Failure> {
    let root = args.conf.project_root();
    let credentials = match &config.server.credentials {
        Some(_) => {
            let options = tandem_catalog::ConfigOptions {
                runtime_params: Map::new(),
                resolvers: app.resolvers().clone(),
            };
            ProjectConfig::load_with(
                args.conf.dir()?,
                args.conf.env_or_kedro_env().as_deref(),
                &options,
            )?
            .credentials
        }
        None => Map::new(),
    };
    Ok(config.client(&root, &credentials)?)
}

/// A client for the tracking server or store the arguments select.
pub(super) fn client(args: &TrackingArgs, app: &App) -> Result<MlflowClient, Failure> {
    tracking_client(args, &tracking_config(args, app)?, app)
}

/// `uri` as given on the command line: a relative path is made absolute
/// against the current directory, because mlflow.yml's relative paths
/// (which it replaces) resolve against the project root instead.
fn command_line_uri(uri: &str) -> String {
    if let Some(path) = uri.strip_prefix("sqlite:///")
        && !path.is_empty()
        && Path::new(path).is_relative()
    {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.into());
        return format!("sqlite:///{}", path.display());
    }
    if uri.contains("://") || uri.starts_with("file:") || Path::new(uri).is_absolute() {
        return uri.to_owned();
    }
    std::path::absolute(uri).map_or_else(|_| uri.to_owned(), |p| p.display().to_string())
}

/// The MLflow side of `tandem run`: the MLflow dataset types, added to the
/// app's, and the tracking hook when the project has an `mlflow.yml`. Both
/// share one [`TrackingContext`], so datasets log to the hook's run.
///
/// Tracking is opt-in (`tandem mlflow init`), unlike kedro-mlflow where
/// installing the plugin turns it on: a project that never asked for MLflow
/// gets no MLflow store, and its `mlflow.*` datasets log nothing.
pub(super) struct RunTracking {
    /// The app's dataset types plus MLflow's.
    pub(super) datasets: tandem_catalog::DatasetRegistry,
    /// The hook, when the project is tracked.
    pub(super) hook: Option<Arc<dyn Hook>>,
    /// The run the hook and the datasets share (ended on a signal).
    pub(super) context: TrackingContext,
}

/// The project's dataset types: the app's plus the `mlflow.*` ones, sharing
/// `context` (the run a hook fills; none outside `tandem run`, so their
/// saves log nothing). Reads outside a run (`run_id:` settings, the
/// registry) get a client for `mlflow` (mlflow.yml, or the defaults) when
/// they first need one; building the registry does no I/O.
pub(super) fn project_datasets(
    app: &App,
    mlflow: MlflowConfig,
    root: PathBuf,
    credentials: Map<String, serde_json::Value>,
    context: &TrackingContext,
) -> tandem_catalog::DatasetRegistry {
    let mut datasets = app.datasets().clone();
    let clients: ClientFactory = Arc::new(move || mlflow.client(&root, &credentials));
    register_datasets(
        &mut datasets,
        context.clone(),
        clients,
        app.functions().clone(),
    );
    datasets
}

/// The project's configuration and catalog for a command that reads the
/// catalog outside a run (`catalog`, `models save`, `mlflow modelify`,
/// `viz`): every type `tandem run` knows, the `mlflow.*` ones included,
/// with the project's mlflow.yml (when it has one) for their reads.
pub(super) fn project_catalog(
    app: &App,
    conf: &crate::args::ConfArgs,
) -> Result<(ProjectConfig, tandem_catalog::DataCatalog), Failure> {
    project_catalog_with(app, conf, &Map::new())
}

/// [`project_catalog`] with runtime parameters (`--params`), loaded as
/// `tandem run` loads them: they feed `${runtime_params:...}` and override
/// the parameters files.
pub(super) fn project_catalog_with(
    app: &App,
    conf: &crate::args::ConfArgs,
    runtime_params: &Map<String, serde_json::Value>,
) -> Result<(ProjectConfig, tandem_catalog::DataCatalog), Failure> {
    let env = conf.env_or_kedro_env();
    let config_options = tandem_catalog::ConfigOptions {
        runtime_params: runtime_params.clone(),

        resolvers: app.resolvers().clone(),
    };
    let config = ProjectConfig::load_with(conf.dir()?, env.as_deref(), &config_options)?;
    let mlflow = project_mlflow(conf, &config)?.unwrap_or_default();
    let root = conf.project_root();
    let datasets = project_datasets(
        app,
        mlflow,
        root.clone(),
        config.credentials.clone(),
        &TrackingContext::new(),
    );
    let mut options = tandem_catalog::CatalogOptions::new(datasets);
    options.params_overrides = runtime_params.clone();
    let catalog = tandem_catalog::DataCatalog::from_project(&config, &options, root)?;
    Ok((config, catalog))
}

/// The project's `mlflow.yml` (`None` without one), read with `config`'s
/// globals, `--params` and the app's resolvers, as a Kedro session reads it.
pub(super) fn project_mlflow(
    conf: &ConfArgs,
    config: &ProjectConfig,
) -> Result<Option<MlflowConfig>, Failure> {
    let env = conf.env_or_kedro_env();
    Ok(MlflowConfig::load_with(
        conf.dir()?,
        env.as_deref(),
        &MlflowConfig::project_interpolator(config.interpolator()),
    )?)
}

/// Sets up [`RunTracking`] for a run of `pipeline`; with `joined` (a run
/// id from `MLFLOW_RUN_ID`) the hook logs into that run and leaves it open
/// (one task of a DAG run).
pub(super) fn run_tracking(
    conf: &ConfArgs,
    app: &App,
    config: &ProjectConfig,
    root: PathBuf,
    names: &[String],
    pipeline: &AnyPipeline,
    joined: Option<String>,
) -> Result<RunTracking, Failure> {
    let mlflow = project_mlflow(conf, config)?;
    let context = TrackingContext::new();
    let datasets = project_datasets(
        app,
        mlflow.clone().unwrap_or_default(),
        root.clone(),
        config.credentials.clone(),
        &context,
    );
    let Some(mlflow) = mlflow else {
        return Ok(RunTracking {
            datasets,
            hook: None,
            context,
        });
    };
    let save = app.save_options(mlflow.tracking.model.embed_executable);
    let project = TrackingProject {
        root,
        credentials: config.credentials.clone(),
    };
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let hook = MlflowHook::new(
        mlflow,
        project,
        names.join(","),
        pipeline.as_ml().cloned(),
        save,
    )
    .with_context(context.clone())
    .with_command_line(command_line)
    .joining(joined);
    Ok(RunTracking {
        datasets,
        hook: Some(Arc::new(hook)),
        context,
    })
}

/// `mlflow init`: writes the commented default `mlflow.yml`.
fn init(args: &MlflowInitArgs) -> Result<PathBuf, Failure> {
    if let Some(source) = &args.conf.conf_source
        && super::conf_source::is_archive(source)
    {
        return Err(Failure::ConfSource {
            path: source.display().to_string(),
            reason: "`mlflow init` writes mlflow.yml into a configuration directory, not an \
                     archive"
                .into(),
        });
    }
    let root = args.conf.project_root();
    let env = args.conf.env_or_kedro_env();
    Ok(write_default_config(
        args.conf.dir()?,
        env.as_deref().unwrap_or(DEFAULT_ENV),
        &project_name(&root),
        args.force,
    )?)
}
