//! `tandem models save|predict`: pack a trained PipelineMl, predict with a model.

use tandem_catalog::{CatalogOptions, DataCatalog};
use tandem_pipeline_ml::envelope::InputFormat;
use tandem_pipeline_ml::{LoadOptions, MlModel, PipelineModel, SaveOptions, save_model};

use super::registry::PipelineRegistry;
use crate::app::App;
use crate::args::{InputKind, PredictArgs, SaveArgs};
use crate::error::Failure;

/// A written model directory.
#[derive(Debug)]
pub(crate) struct Saved {
    /// Where it was written.
    pub(crate) dir: std::path::PathBuf,
    /// Its MLmodel.
    pub(crate) mlmodel: MlModel,
}

/// Packs the registered PipelineMl `args.pipeline` from the project's catalog.
pub(crate) fn save(args: &SaveArgs, app: &App) -> Result<Saved, Failure> {
    let selected =
        PipelineRegistry::new(app, &args.spec)?.select(std::slice::from_ref(&args.pipeline))?;
    let ml = selected.as_ml().ok_or_else(|| Failure::NotPipelineMl {
        name: args.pipeline.clone(),
    })?;
    let options = CatalogOptions::new(app.datasets().clone());
    let catalog = DataCatalog::from_conf_dir(&args.conf.conf, args.conf.env.as_deref(), &options)?;
    let (package, version) = app.package_id();
    let save_options = SaveOptions {
        registry: app.datasets().clone(),
        ..SaveOptions::new(package, version)
    };
    let mlmodel = save_model(ml, &catalog, &args.output, &save_options)?;
    Ok(Saved {
        dir: args.output.clone(),
        mlmodel,
    })
}

/// The predictions of `models predict`.
#[derive(Debug)]
pub(crate) struct Prediction {
    /// The `{"predictions": ...}` JSON.
    pub(crate) body: Vec<u8>,
    /// The file it was written to, when `-o` was given.
    pub(crate) written_to: Option<std::path::PathBuf>,
}

/// Predicts on `args.input`; writes the predictions to `-o` when given.
pub(crate) fn predict(args: &PredictArgs, app: &App) -> Result<Prediction, Failure> {
    let options = LoadOptions {
        registry: Some(app.datasets().clone()),
        ..LoadOptions::default()
    };
    let model = PipelineModel::load(&args.model, app.functions(), &options)?;
    let body = std::fs::read(&args.input).map_err(|source| Failure::File {
        path: args.input.display().to_string(),
        source,
    })?;
    let format = match args.format {
        Some(InputKind::Json) => InputFormat::Json,
        Some(InputKind::Csv) => InputFormat::Csv,
        Some(InputKind::Parquet) => InputFormat::Parquet,
        None => InputFormat::from_path(&args.input),
    };
    let params = model.parse_params(args.param_pairs())?;
    let body = model.predict_request(&body, format, &params, None)?;
    if let Some(path) = &args.output {
        std::fs::write(path, &body).map_err(|source| Failure::File {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(Prediction {
        body,
        written_to: args.output.clone(),
    })
}
