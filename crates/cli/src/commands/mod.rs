//! What each command does, independent of how results are printed.

mod catalog;
mod catalog_kedro;
pub(crate) mod conf_source;
mod delegate;
mod deploy;
mod external;
mod mlflow;
mod mlflow_browse;
mod mlflow_modelify;
mod mlflow_runs;
mod mlflow_ui;
mod models;
mod pipeline;
mod registry;
mod run;
mod viz;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tandem_pipeline_ml::AnyPipeline;
use tandem_runners::Hook;

pub(crate) use catalog::{Described, Listing};
pub(crate) use catalog_kedro::KedroCatalog;
pub(crate) use deploy::Deployed;
pub(crate) use mlflow::{ArtifactsLogged, MlflowOutcome};
pub(crate) use mlflow_runs::RunEnded;
pub(crate) use mlflow_ui::UiPlan;
pub(crate) use models::{Prediction, Saved};
pub(crate) use run::{OutputReport, RunReport};
pub(crate) use viz::VizReport;

use crate::app::App;
use crate::args::{CatalogCommand, Command, DescribeFormat, ModelsCommand, PipelineCommand};
use crate::error::Failure;

/// A command's result, handed to the render layer.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// `pipeline describe`: the (filtered) pipeline.
    Described(AnyPipeline),
    /// `pipeline describe --format mermaid|dot`: the pipeline as a diagram.
    Diagram(AnyPipeline, crate::args::DescribeFormat),
    /// `viz build`, or `viz` without kedro installed.
    Viz(Box<VizReport>),
    /// `pipeline check`: the pipeline, every function resolved.
    Checked(AnyPipeline),
    /// `run`: the completed run.
    Ran(Box<RunReport>),
    /// `catalog list`.
    Listed(Listing),
    /// `catalog describe`.
    DatasetDescribed(Box<Described>),
    /// `catalog list-patterns|resolve-patterns|describe-datasets`.
    KedroCatalog(Box<KedroCatalog>),
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
    /// `deploy ...`: the plan and the file written.
    Deployed(Box<Deployed>),
    /// `new` or `pipeline create`: the files generated.
    Created(crate::scaffold::Created),
}

/// Runs `command` for `app`; `hooks` are added to the app's for `run`.
pub(crate) fn execute(
    command: &Command,
    app: &App,
    hooks: &[Arc<dyn Hook>],
) -> Result<Outcome, Failure> {
    Ok(match command {
        Command::Run(args) => Outcome::Ran(Box::new(run::run(args, app, hooks)?)),
        Command::Pipeline(PipelineCommand::Describe(args)) => match args.format {
            format @ (DescribeFormat::Mermaid | DescribeFormat::Dot) => {
                Outcome::Diagram(pipeline::describe(args)?, format)
            }
            DescribeFormat::Text | DescribeFormat::Json => {
                Outcome::Described(pipeline::describe(args)?)
            }
        },
        Command::Pipeline(PipelineCommand::Check(args)) => {
            Outcome::Checked(pipeline::check(args, app.functions())?)
        }
        Command::Catalog(CatalogCommand::List(args)) => Outcome::Listed(catalog::list(args, app)?),
        Command::Catalog(CatalogCommand::Describe(args)) => {
            Outcome::DatasetDescribed(Box::new(catalog::describe(args, app)?))
        }
        Command::Catalog(CatalogCommand::ListPatterns(args)) => {
            Outcome::KedroCatalog(Box::new(catalog_kedro::list_patterns(args, app)?))
        }
        Command::Catalog(CatalogCommand::ResolvePatterns(args)) => {
            Outcome::KedroCatalog(Box::new(catalog_kedro::resolve_patterns(args, app)?))
        }
        Command::Catalog(CatalogCommand::DescribeDatasets(args)) => {
            Outcome::KedroCatalog(Box::new(catalog_kedro::describe_datasets(args, app)?))
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
        Command::Mlflow(command) => mlflow::execute(command, app)?,
        Command::Deploy(command) => Outcome::Deployed(Box::new(deploy::execute(command, app)?)),
        Command::New(args) => Outcome::Created(crate::scaffold::new_project(args)?),
        Command::Pipeline(PipelineCommand::Create(args)) => {
            Outcome::Created(crate::scaffold::create_pipeline(args)?)
        }
        Command::Viz(args) => viz::execute(args, app)?,
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
