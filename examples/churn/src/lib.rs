//! Customer churn classification, a Kedro project in Rust.
//!
//! A seeded generator writes a table of telecom customers (tenure, charges
//! with some missing values, contract type, support calls) and whether each
//! one left. Training splits it, fits an imputer, a scaler, a one-hot
//! encoder and a linfa logistic regression on the training rows, and scores
//! the test rows, drawing their ROC curve and confusion matrix as images
//! ([`plots`]). The inference pipeline applies the same feature nodes and
//! the model to new customers; [`pipelines`] binds the two with
//! `pipeline_ml_factory`, so a training run can pack inference and its
//! fitted artifacts into one model.
//!
//! ```
//! let app = churn::app()?;
//! assert!(format!("{app:?}").contains("churn::fit_model"));
//! let pipelines = churn::pipelines()?;
//! let training = pipelines["training"].as_ml().unwrap();
//! assert_eq!(training.input_name(), "customers");
//! assert_eq!(
//!     training.artifacts(),
//!     ["encoder", "imputer", "model", "params:threshold", "scaler"]
//! );
//! # Ok::<(), tandem_pipeline_ml::Error>(())
//! ```

mod error;
pub mod features;
pub mod generate;
pub mod metrics;
pub mod model;
mod pipelines;
pub mod plots;
pub mod table;

use tandem_cli::App;
use tandem_pipeline_core::FunctionRegistry;

pub use error::Error;
pub use pipelines::{INPUT_NAME, pipelines};

/// Registers every node function under its stable id (`churn::fit_scaler`,
/// `churn::predict`...), for spec files and packed models.
pub fn functions(registry: &mut FunctionRegistry) {
    for function in pipelines::Functions::new().all() {
        registry.register_function(function.clone());
    }
}

/// The CLI application: tandem's builtins, the churn functions and the
/// pipelines, `training` and `__default__` bound to inference (so
/// `churn models save --pipeline training` packs the model), and this
/// package's name and version recorded in every model it saves.
pub fn app() -> Result<App, tandem_pipeline_ml::Error> {
    let mut registry = FunctionRegistry::with_builtins();
    functions(&mut registry);
    let mut app = App::new()
        .with_functions(registry)
        .package(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    for (name, pipeline) in pipelines()? {
        app = app.pipeline(name, pipeline);
    }
    Ok(app)
}
