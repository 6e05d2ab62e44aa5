//! `tandem mlflow modelify`: log an already-trained PipelineMl as a model.

use tandem_pipeline_ml::{CopyModes, LogModelOptions, PipelineMl, SignatureChoice};
use tandem_pipeline_model::SaveOptions;
use tandem_tracking::{LoggedPipelineModel, log_pipeline_model};

use super::mlflow::{tracking_client, tracking_config};
use super::registry::PipelineRegistry;
use crate::app::App;
use crate::args::ModelifyArgs;
use crate::error::Failure;

/// kedro-mlflow's `--infer-input-example` logs `data.iloc[0:1]`: one row.
const EXAMPLE_ROWS: usize = 1;

/// Rebinds the registered PipelineMl to `--input-name` with the command's
/// options and logs its model from the project's catalog.
pub(super) fn modelify(args: &ModelifyArgs, app: &App) -> Result<LoggedPipelineModel, Failure> {
    let selected =
        PipelineRegistry::new(app, &args.spec)?.select(std::slice::from_ref(&args.pipeline))?;
    let registered = selected.as_ml().ok_or_else(|| Failure::NotPipelineMl {
        name: args.pipeline.clone(),
    })?;
    let ml = rebind(registered, args)?;

    let config = tracking_config(&args.tracking, app)?;
    let client = tracking_client(&args.tracking, &config, app)?;
    let experiment_id = match &args.run_id {
        // The model belongs with its run.
        Some(run_id) => client.get_run(run_id)?.info.experiment_id,
        None => {
            let root = args.tracking.conf.project_root();
            client
                .get_or_create_experiment(&config.experiment_name(&root))?
                .experiment_id
        }
    };

    let conf = &args.tracking.conf;
    let (_, catalog) = super::mlflow::project_catalog(app, conf)?;
    let save = SaveOptions {
        example_rows: if args.infer_input_example {
            EXAMPLE_ROWS
        } else {
            0
        },
        ..app.save_options(!args.no_executable)
    };
    Ok(log_pipeline_model(
        &client,
        &experiment_id,
        args.run_id.as_deref(),
        &ml,
        &catalog,
        &save,
    )?)
}

/// `registered` bound to `--input-name`, which `PipelineMl::new` checks
/// against the inference pipeline's inputs (kedro-mlflow checks the
/// training pipeline's, which accepts names the model cannot be fed).
///
/// The logging options come from the command line alone, as in
/// kedro-mlflow, where modelify ignores the pipeline's `log_model_kwargs`;
/// how the model runs (copy modes, runner) stays the pipeline's unless
/// `--copy-mode` is given.
fn rebind(registered: &PipelineMl, args: &ModelifyArgs) -> Result<PipelineMl, Failure> {
    let mut options = registered.options().clone();
    if let Some(mode) = args.copy_mode {
        options.model.copy_mode = CopyModes::All(mode.as_str().to_owned());
    }
    options.log_model = LogModelOptions {
        name: args
            .model_name
            .clone()
            .unwrap_or_else(|| format!("model-{}", args.pipeline)),
        registered_model_name: args.registered_model_name.clone(),
        aliases: args.alias.clone(),
        signature: if args.infer_signature {
            SignatureChoice::Auto
        } else {
            SignatureChoice::None
        },
        input_example: None,
    };
    Ok(PipelineMl::new(
        registered.training().clone(),
        registered.inference().clone(),
        args.input_name.clone(),
        options,
    )?)
}
