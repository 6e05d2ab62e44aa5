//! Runners: execute a pipeline against a data catalog.
//!
//! - [`SequentialRunner`] runs nodes in Kedro's execution order.
//! - [`ParallelRunner`] runs each node as soon as its inputs exist, on a
//!   rayon pool of `max_workers` threads sharing memory.
//!
//! Both resolve every dataset before starting (outputs without an entry get a
//! `MemoryDataset`), fail with one error listing all missing free inputs,
//! release each dataset once its last consumer finished, call [`Hook`]s, catch
//! node errors and panics, and on failure report the completed nodes with
//! Kedro's `--from-nodes` resume suggestion ([`ResumeHint`]).
//!
//! ```
//! use std::sync::Arc;
//! use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
//! use tandem_pipeline_core::{node, Data, Pipeline};
//! use tandem_runners::{ParallelRunner, RunOptions, Runner, SequentialRunner};
//!
//! fn double(x: &i64) -> i64 { x * 2 }
//! fn add(a: &i64, b: &i64) -> i64 { a + b }
//! let pipeline = Pipeline::new([
//!     node(double, "x", "a").name("left").build()?,
//!     node(double, "x", "b").name("right").build()?,
//!     node(add, ["a", "b"], "sum").name("join").build()?,
//! ])?;
//! let no_entries = serde_json::Map::new();
//! let options = CatalogOptions::new(DatasetRegistry::with_memory());
//! let catalog = DataCatalog::from_config(&no_entries, &no_entries, &options, ".")?;
//! catalog.insert_data("x", Data::new(21_i64));
//! for runner in [&SequentialRunner as &dyn Runner, &ParallelRunner::new(Some(2))?] {
//!     let out = runner.run(&pipeline, &catalog, &[], &RunOptions::default())?;
//!     assert_eq!(*out.outputs["sum"].downcast_ref::<i64>()?, 84);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod hooks;
mod missing;
mod parallel;
mod plan;
mod release;
mod resume;
mod runner;
mod sequential;
mod task;

pub use error::{Error, RunFailure};
pub use hooks::{DataMap, Hook, HookResult, RunInfo};
pub use parallel::ParallelRunner;
pub use resume::ResumeHint;
pub use runner::{NodeRun, RunOptions, RunOutput, Runner};
pub use sequential::SequentialRunner;
