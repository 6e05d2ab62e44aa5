//! `tandem mlflow runs create|end`: the first and final steps of one MLflow
//! run shared by the tasks of an orchestrated run. The run is opened and
//! its model logged by the same [`MlflowHook`] `tandem run` installs, so
//! the experiment, run name, tags, parameters and model are what one
//! single-process `tandem run` would have logged.

use tandem_catalog::{
    CatalogOptions, ConfigOptions, DataCatalog, ProjectConfig, generate_timestamp,
};
use tandem_pipeline_ml::AnyPipeline;
use tandem_runners::RunInfo;
use tandem_tracking::{
    LoggedPipelineModel, MlflowHook, TrackingContext, TrackingProject, end_shared_run,
};

use super::mlflow::{project_datasets, tracking_client, tracking_config};
use super::registry::PipelineRegistry;
use crate::app::App;
use crate::args::{EndStatus, RunsCreateArgs, RunsEndArgs, SharedRunScope};
use crate::error::Failure;

/// What `runs end` did.
#[derive(Debug)]
pub(crate) struct RunEnded {
    /// The MLflow run.
    pub(crate) run_id: String,
    /// The status it was ended with.
    pub(crate) status: EndStatus,
    /// The model logged into it, if this call logged one.
    pub(crate) model: Option<Box<LoggedPipelineModel>>,
}

/// The pipeline, its catalog at the shared run's versions and the hook.
struct Scoped {
    pipeline: AnyPipeline,
    catalog: DataCatalog,
    run_id: String,
    hook: MlflowHook,
}

fn scoped(scope: &SharedRunScope, app: &App) -> Result<Scoped, Failure> {
    let name = scope.pipeline_name();
    let pipeline = PipelineRegistry::new(app, &scope.spec)?.select(std::slice::from_ref(&name))?;
    let conf = &scope.tracking.conf;
    let env = conf.env_or_kedro_env();
    let params_overrides = scope.params_overrides();
    let options = ConfigOptions {
        runtime_params: params_overrides.clone(),

        resolvers: app.resolvers().clone(),
    };
    let config = ProjectConfig::load_with(conf.dir()?, env.as_deref(), &options)?;
    let root = conf.project_root();
    // mlflow.yml (or the defaults), with --tracking-uri over it.
    let mlflow = tracking_config(&scope.tracking, app)?;
    let context = TrackingContext::new();
    let registry = project_datasets(
        app,
        mlflow.clone(),
        root.clone(),
        config.credentials.clone(),
        &context,
    );
    let run_id = scope.run_id.clone().unwrap_or_else(generate_timestamp);
    let options = CatalogOptions {
        load_versions: Default::default(),
        save_version: Some(run_id.clone()),
        replace_saved_versions: scope.run_id.is_some(),
        params_overrides,
        registry,
    };
    let shared = scope.run_id.is_some().then_some(&*pipeline);
    let catalog = super::run::run_catalog(&config, options, &root, shared)?;
    let save = app.save_options(mlflow.tracking.model.embed_executable);
    let project = TrackingProject {
        root,
        credentials: config.credentials.clone(),
    };
    let hook = MlflowHook::new(mlflow, project, name, pipeline.as_ml().cloned(), save)
        .with_context(context)
        .with_command_line(std::env::args().collect::<Vec<_>>().join(" "));
    Ok(Scoped {
        pipeline,
        catalog,
        run_id,
        hook,
    })
}

impl Scoped {
    fn info(&self) -> RunInfo<'_> {
        RunInfo {
            run_id: &self.run_id,
            pipeline: &self.pipeline,
            catalog: &self.catalog,
        }
    }
}

/// `runs create`: opens the run; returns its MLflow id.
pub(super) fn create(args: &RunsCreateArgs, app: &App) -> Result<String, Failure> {
    let scoped = scoped(&args.scope, app)?;
    Ok(scoped.hook.open_run(&scoped.info())?)
}

/// `runs end`: logs the model once and ends FINISHED, or ends FAILED or
/// KILLED.
pub(super) fn end(args: &RunsEndArgs, app: &App) -> Result<RunEnded, Failure> {
    let run_id = args.mlflow_run_id.clone();
    let model = match args.status {
        EndStatus::Finished => {
            let scoped = scoped(&args.scope, app)?;
            scoped.hook.close_run(&run_id, &scoped.info())?
        }
        status => {
            // No pipeline or catalog needed: a failure path must not fail on
            // the configuration that made the task fail.
            let config = tracking_config(&args.scope.tracking, app)?;
            let client = tracking_client(&args.scope.tracking, &config, app)?;
            end_shared_run(&client, &run_id, status.status(), &args.reason)?;
            None
        }
    };
    Ok(RunEnded {
        run_id,
        status: args.status,
        model: model.map(Box::new),
    })
}
