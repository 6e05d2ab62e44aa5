//! Kedro-style data values, nodes and pipelines: the lowest layer of tandem.
//!
//! - [`Data`]: a cheap-to-clone, type-erased value; [`DataValue`] marks types
//!   that flow by value and says how to copy them.
//! - [`Node`]: an ordinary typed Rust function bound to named inputs and
//!   outputs, built with [`node()`]. Arguments are `&T` (borrowed), `T`
//!   (moved or cloned) or untyped [`Data`]; results are a value, a tuple, `()`
//!   or a `Result` of those. `params:` inputs are JSON and deserialize into
//!   the declared type.
//! - [`Pipeline`]: a validated DAG in Kedro's execution order, with Kedro's
//!   filters ([`Filter`]), algebra (`+ - & |`) and modular pipelines
//!   ([`pipeline()`]: namespaces and dataset remapping).
//! - [`PipelineSpec`] and [`FunctionRegistry`]: the serialized form of a
//!   pipeline and the map from function ids back to code.
//!
//! ```
//! use tandem_pipeline_core::{node, Data, Filter, Pipeline};
//!
//! fn split(raw: &Vec<f64>, ratio: f64) -> (Vec<f64>, Vec<f64>) {
//!     let cut = (raw.len() as f64 * ratio) as usize;
//!     (raw[..cut].to_vec(), raw[cut..].to_vec())
//! }
//! fn mean(xs: &Vec<f64>) -> f64 {
//!     xs.iter().sum::<f64>() / xs.len() as f64
//! }
//!
//! let p = Pipeline::new([
//!     node(split, ["raw", "params:ratio"], ["train", "test"]).name("split").build()?,
//!     node(mean, "train", "train_mean").name("fit").tags(["training"]).build()?,
//! ])?;
//! assert_eq!(p.inputs().iter().collect::<Vec<_>>(), ["params:ratio", "raw"]);
//!
//! // Run the nodes by hand (the runners crate does this for real).
//! let raw = Data::new(vec![1.0, 2.0, 3.0, 4.0]);
//! let ratio = Data::json(serde_json::json!(0.5));
//! let split_out = p.node("split").unwrap().run(vec![raw, ratio])?;
//! let fit_out = p.node("fit").unwrap().run(vec![split_out[0].clone()])?;
//! assert_eq!(*fit_out[0].downcast_ref::<f64>()?, 1.5);
//!
//! let training = p.filter(&Filter::default().tags(["training"]))?;
//! assert_eq!(training.len(), 1);
//! # Ok::<(), tandem_pipeline_core::Error>(())
//! ```

mod data;
mod dataset_ids;
mod error;
mod filter;
mod function;
mod modular;
mod names;
mod node;
mod ops;
mod pipeline;
pub mod plain_yaml;
#[cfg(feature = "polars")]
pub mod polars_values;
mod registry;
pub mod spec;
pub mod suggest;
pub mod transcoding;

pub use data::{__private, Data, DataValue};
pub use dataset_ids::DatasetIds;
pub use error::{BoxError, Error};
pub use filter::Filter;
pub use function::{
    Arg, ByRef, ByValue, IntoNodeFunction, IntoOutputs, NodeFunction, Raw, RawRef, SliceRef, StrRef,
};
pub use modular::{PipelineBuilder, pipeline};
pub use names::DatasetNames;
pub use node::{Node, NodeBuilder, node};
pub use pipeline::{Pipeline, PipelineItem};
pub use registry::FunctionRegistry;
pub use spec::{NodeSpec, PipelineSpec, SpecItem};
