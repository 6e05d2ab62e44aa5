//! Test harnesses shared by tandem's crates, so each has one home.
//!
//! - `project` (feature `project`): the demo project the model, serving and
//!   tracking tests train for real: a column scaler and a linear model on
//!   arrow tables, bound as a `PipelineMl`, on a catalog of temp files.
//! - `model` (feature `model`): that project trained, saved as a model
//!   directory and loaded, and requests to it.
//!
//! ```
//! # #[cfg(feature = "project")] {
//! let ml = tandem_test_support::project::ml_pipeline(Default::default());
//! assert_eq!(ml.input_name(), "features");
//! # }
//! ```

#[cfg(feature = "model")]
pub mod model;
#[cfg(feature = "project")]
pub mod project;
