//! PipelineMl: bind a training pipeline to its inference pipeline.
//!
//! [`pipeline_ml_factory`] checks that the two fit together (one inference
//! output, `input_name` an inference input, every other inference input a
//! training input/output or a `params:` entry) and returns a [`PipelineMl`],
//! which behaves as the training pipeline wherever a pipeline is expected.
//! Its [`PipelineMl::artifacts`] are what a training run hands to inference;
//! [`extract_artifacts`] finds them in the catalog a training run used.
//!
//! This crate is the binding only: packing the inference pipeline as an
//! MLflow model and running it is `tandem-pipeline-model`'s, serving it
//! `tandem-serving`'s, and logging it from a tracked run `tandem-tracking`'s.
//!
//! ```
//! use tandem_pipeline_core::{node, Filter, Pipeline};
//! use tandem_pipeline_ml::pipeline_ml_factory;
//!
//! fn scale_fit(x: &[f64]) -> f64 { x.iter().cloned().fold(0.0, f64::max) }
//! fn scale(x: &[f64], max: &f64) -> Vec<f64> { x.iter().map(|v| v / max).collect() }
//!
//! let pipeline = Pipeline::new([
//!     node(scale_fit, "x_train", "scaler").name("fit_scaler").tags(["training"]).build()?,
//!     node(scale, ["x", "scaler"], "x_scaled").name("apply_scaler").tags(["inference"]).build()?,
//! ])?;
//! let ml = pipeline_ml_factory(
//!     pipeline.only_nodes_with_tags(["training"]),
//!     pipeline.only_nodes_with_tags(["inference"]),
//!     "x",
//! )?;
//! assert_eq!(ml.artifacts(), ["scaler"]);
//! // Filters that keep the binding re-validate it:
//! let err = ml.filter(&Filter::default().tags(["nothing"])).unwrap_err();
//! assert_eq!(err.kind(), "empty_pipeline");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod artifacts;
mod error;
mod options;
mod pipeline_ml;
mod spec;

pub use artifacts::{ARTIFACTS_DIR, Artifacts, FileArtifact, extract_artifacts};
pub use error::{Error, listed};
pub use options::{
    CopyModes, LogModelOptions, ModelOptions, PipelineMlOptions, RunnerChoice, SignatureChoice,
};
pub use pipeline_ml::{AnyPipeline, PipelineMl, pipeline_ml_factory};
pub use spec::{MlSpec, SpecDocument};
