//! MLflow tracking: the hook `tandem run` installs, and `tandem mlflow ...`.

use std::path::PathBuf;
use std::sync::Arc;

use tandem_catalog::{DEFAULT_ENV, ProjectConfig};
use tandem_pipeline_ml::tracking::{
    MlflowConfig, MlflowHook, TrackingProject, project_name, write_default_config,
};
use tandem_pipeline_ml::{AnyPipeline, SaveOptions};
use tandem_runners::Hook;

use crate::app::App;
use crate::args::{MlflowInitArgs, RunArgs};
use crate::error::Failure;

/// The MLflow hook for a run, when the project has an `mlflow.yml`.
///
/// Tracking is opt-in (`tandem mlflow init`), unlike kedro-mlflow where
/// installing the plugin turns it on: a project that never asked for MLflow
/// gets no `mlruns` directory.
pub(super) fn run_hook(
    args: &RunArgs,
    app: &App,
    config: &ProjectConfig,
    root: PathBuf,
    names: &[String],
    pipeline: &AnyPipeline,
) -> Result<Option<Arc<dyn Hook>>, Failure> {
    let Some(mlflow) = MlflowConfig::load_if_present(&args.conf.conf, args.conf.env.as_deref())?
    else {
        return Ok(None);
    };
    let (package, version) = app.package_id();
    let save = SaveOptions {
        registry: app.datasets().clone(),
        ..SaveOptions::new(package, version)
    };
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
    .with_command_line(command_line);
    Ok(Some(Arc::new(hook)))
}

/// `mlflow init`: writes the commented default `mlflow.yml`.
pub(super) fn init(args: &MlflowInitArgs) -> Result<PathBuf, Failure> {
    let root = super::project_root(&args.conf.conf);
    let env = args.conf.env.as_deref().unwrap_or(DEFAULT_ENV);
    Ok(write_default_config(
        &args.conf.conf,
        env,
        &project_name(&root),
        args.force,
    )?)
}
