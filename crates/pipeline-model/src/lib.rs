//! The tandem model: a [`PipelineMl`]'s inference pipeline and the
//! artifacts training fitted, packed as one MLflow model directory, and
//! [`PipelineModel`], which loads such a directory and predicts.
//!
//! - [`model`]: the directory format ([`save_model`] writes it): MLmodel
//!   with the `tandem` and `python_function` flavors, the signature, input
//!   examples, the inference pipeline's spec, catalog and parameters, the
//!   artifacts' bytes and, optionally, the executable holding the model's
//!   functions.
//! - [`PipelineModel`]: a loaded model; every file it names is checked to
//!   stay inside the directory (symlinks included) before it is read.
//! - [`envelope`]: MLflow's scoring input (JSON envelopes, CSV, parquet,
//!   Arrow IPC), schema enforcement and the error codes MLflow answers,
//!   independent of any transport.
//! - [`worker`]: `models worker`, the length-prefixed Arrow IPC protocol
//!   MLflow's Python loader (`code/tandem_pyfunc.py`) speaks to the
//!   model's executable.
//!
//! ```
//! use serde_json::{Map, json};
//! use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
//! use tandem_pipeline_core::{Data, FunctionRegistry, Pipeline, node};
//! use tandem_pipeline_ml::pipeline_ml_factory;
//! use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};
//!
//! fn fit(x: &Vec<f64>) -> f64 { x.iter().cloned().fold(0.0, f64::max) }
//! fn scale(x: &Vec<f64>, max: &f64) -> Vec<f64> { x.iter().map(|v| v / max).collect() }
//!
//! let mut functions = FunctionRegistry::with_builtins();
//! functions.register("doc.fit", fit).register("doc.scale", scale);
//! let training = Pipeline::new([node(functions.get("doc.fit").unwrap().clone(), "x_train", "scaler")
//!     .name("fit").build()?])?;
//! let inference = Pipeline::new([node(functions.get("doc.scale").unwrap().clone(), ["x", "scaler"], "y")
//!     .name("scale").build()?])?;
//! let ml = pipeline_ml_factory(training, inference, "x")?;
//!
//! // A training run's catalog, where the fitted scaler is a file.
//! let dir = tempfile::tempdir()?;
//! let entries = json!({"scaler": {"type": "SerdeDataset", "filepath": "scaler.json"}});
//! let options = CatalogOptions::new(DatasetRegistry::with_builtins());
//! let catalog = DataCatalog::from_config(entries.as_object().unwrap(), &Map::new(), &options, dir.path())?;
//! catalog.save("scaler", Data::new(4.0_f64))?;
//!
//! save_model(&ml, &catalog, dir.path().join("model"), &save_options!())?;
//! let model = PipelineModel::load(dir.path().join("model"), &functions, &LoadOptions::default())?;
//! let y = model.predict(Data::new(vec![2.0_f64, 1.0]), &Map::new(), None)?;
//! assert_eq!(*y.downcast_ref::<Vec<f64>>()?, vec![0.5, 0.25]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`PipelineMl`]: tandem_pipeline_ml::PipelineMl

pub mod envelope;
mod error;
pub mod model;
mod pipeline_model;
mod values;
pub mod worker;

pub use error::Error;
pub use model::{MlModel, SaveOptions, TandemFlavor, save_model};
pub use pipeline_model::{LoadOptions, PipelineModel};

/// The one place the MLflow release is written: a literal, so the
/// loader's pinned requirement can be built from it with `concat!`.
macro_rules! mlflow_release {
    () => {
        "3.17.2"
    };
}
pub(crate) use mlflow_release;

/// The MLflow release whose model format and scoring protocol tandem
/// follows: a model's `mlflow_version`, the loader's pinned requirement
/// ([`model::PYFUNC_REQUIREMENTS`]), and the scoring server's
/// `GET /version` answer, as MLflow's own server answers its version.
pub const MLFLOW_VERSION: &str = mlflow_release!();
