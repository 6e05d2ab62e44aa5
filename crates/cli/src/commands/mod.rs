//! What each command does, independent of how results are printed.

mod catalog;
mod delegate;
mod mlflow;
mod mlflow_browse;
mod mlflow_modelify;
mod models;
mod pipeline;
mod registry;
mod run;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tandem_pipeline_ml::AnyPipeline;
use tandem_runners::Hook;

pub(crate) use catalog::{Described, Listing};
pub(crate) use mlflow::{ArtifactsLogged, MlflowOutcome};
pub(crate) use models::{Prediction, Saved};
pub(crate) use run::{OutputReport, RunReport};

use crate::app::App;
use crate::args::{CatalogCommand, Command, ModelsCommand, PipelineCommand};
use crate::error::Failure;

/// A command's result, handed to the render layer.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// `pipeline describe`: the (filtered) pipeline.
    Described(AnyPipeline),
    /// `pipeline check`: the pipeline, every function resolved.
    Checked(AnyPipeline),
    /// `run`: the completed run.
    Ran(Box<RunReport>),
    /// `catalog list`.
    Listed(Listing),
    /// `catalog describe`.
    DatasetDescribed(Box<Described>),
    /// `models save`.
    ModelSaved(Box<Saved>),
    /// `models predict`.
    Predicted(Prediction),
    /// `models serve` or `models worker`: the server ran and stopped.
    Served,
    /// `models serve|predict` ran in the model's embedded executable, which
    /// wrote its own output and exited with this code.
    Delegated(u8),
    /// `mlflow ...`.
    Mlflow(Box<MlflowOutcome>),
}

/// Runs `command` for `app`; `hooks` are added to the app's for `run`.
pub(crate) fn execute(
    command: &Command,
    app: &App,
    hooks: &[Arc<dyn Hook>],
) -> Result<Outcome, Failure> {
    Ok(match command {
        Command::Run(args) => Outcome::Ran(Box::new(run::run(args, app, hooks)?)),
        Command::Pipeline(PipelineCommand::Describe(args)) => {
            Outcome::Described(pipeline::describe(args)?)
        }
        Command::Pipeline(PipelineCommand::Check(args)) => {
            Outcome::Checked(pipeline::check(args, app.functions())?)
        }
        Command::Catalog(CatalogCommand::List(args)) => Outcome::Listed(catalog::list(args, app)?),
        Command::Catalog(CatalogCommand::Describe(args)) => {
            Outcome::DatasetDescribed(Box::new(catalog::describe(args, app)?))
        }
        Command::Models(ModelsCommand::Save(args)) => {
            Outcome::ModelSaved(Box::new(models::save(args, app)?))
        }
        Command::Models(ModelsCommand::Predict(args)) => models::predict(args, app)?,
        Command::Models(ModelsCommand::Serve(args)) => models::serve(args, app)?,
        Command::Models(ModelsCommand::Worker(args)) => {
            worker::worker(args, app)?;
            Outcome::Served
        }
        Command::Mlflow(command) => Outcome::Mlflow(Box::new(mlflow::execute(command, app)?)),
    })
}

/// The project root of a configuration directory: its parent (Kedro's
/// `<project>/conf` layout), or the current directory for a bare `conf`.
pub(crate) fn project_root(conf_dir: &Path) -> PathBuf {
    conf_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
