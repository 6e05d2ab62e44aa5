//! `models worker`: a model answering MLflow's Python loader over
//! stdin/stdout (see `tandem_pipeline_model::worker` for the frames).

use tandem_pipeline_model::worker::run_worker;
use tandem_pipeline_model::{LoadOptions, PipelineModel};

use crate::app::App;
use crate::args::WorkerArgs;
use crate::error::Failure;

/// Loads `args.model` as `models serve` does and answers frames until
/// stdin closes. Nothing but frames reaches stdout: logs and a load
/// failure go to stderr, where the loader's user sees them.
pub(crate) fn worker(args: &WorkerArgs, app: &App) -> Result<(), Failure> {
    let model = PipelineModel::load(&args.model, app.functions(), &LoadOptions::default())?;
    tracing::debug!("worker ready for {}", args.model.display());
    run_worker(&model, std::io::stdin().lock(), std::io::stdout().lock())?;
    Ok(())
}
