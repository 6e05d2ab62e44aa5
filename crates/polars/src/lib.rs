//! Polars `DataFrame`s and `LazyFrame`s as tandem node values, kedro-datasets'
//! Polars dataset types, and zero-copy conversion to and from arrow-rs
//! `RecordBatch`es.
//!
//! - **Node values.** A node function takes and returns
//!   `polars::frame::DataFrame` and `polars::lazy::frame::LazyFrame` like any
//!   other type. Their [`DataValue`](tandem_pipeline_core::DataValue) impls
//!   live in `tandem-pipeline-core` behind its `polars` feature, which this
//!   crate turns on: the orphan rule lets only the trait's crate implement a
//!   foreign trait for a foreign type, and a newtype would make every node
//!   wrap and unwrap. Copy modes: Polars' buffers are reference-counted and
//!   copy-on-write, so a deep copy is indistinguishable from a shallow one
//!   and both are `clone` (Kedro infers `assign` for DataFrames too).
//! - **Conversion at the node boundary.** A node asking for a `DataFrame`
//!   gets a stored `LazyFrame` collected (the only place besides a save where
//!   one is), or arrow `RecordBatch`es (from `pandas.CSVDataset`, a model
//!   server's input) viewed without copying. [`register`] (or [`install`])
//!   installs the arrow import, which needs this crate's `unsafe` FFI code.
//!   In the other direction a node returns
//!   a `RecordBatch` with [`to_record_batch`] where a consumer wants arrow.
//! - **Datasets.** `polars.CSVDataset`, `polars.ParquetDataset`,
//!   `polars.EagerPolarsDataset` (`file_format: csv | parquet`) and
//!   `polars.LazyPolarsDataset`, on the catalog's storage (every backend,
//!   versioning, atomic saves); see [`register`].
//! - **Zero copy.** [`from_record_batch`] and [`to_record_batch`] move
//!   buffers across the Arrow C data interface (module [`convert`] lists
//!   where a copy cannot be avoided). `unsafe` is denied in this crate and
//!   allowed only in its private `ffi` module.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch};
//! use polars::prelude::*;
//! use tandem_catalog::{DatasetConfig, DatasetRegistry};
//! use tandem_pipeline_core::Data;
//!
//! let mut registry = DatasetRegistry::with_builtins();
//! tandem_polars::register(&mut registry);
//!
//! // A RecordBatch reaches a node that declared a DataFrame.
//! let batch = RecordBatch::try_from_iter([(
//!     "x",
//!     Arc::new(Int64Array::from(vec![1, 2, 3])) as arrow_array::ArrayRef,
//! )])?;
//! let frame: DataFrame = Data::new(batch).into_value()?;
//! assert_eq!(frame.column("x")?.i64()?.sum(), Some(6));
//!
//! // ... and a LazyFrame dataset stores what a lazy query computes.
//! let options = serde_json::json!({"filepath": "memory://doc/x.parquet", "file_format": "parquet"});
//! let config = DatasetConfig::new("x", "polars.LazyPolarsDataset", options.as_object().unwrap().clone());
//! let dataset = registry.build(&config)?;
//! dataset.save(Data::new(frame.lazy().filter(col("x").gt(lit(1)))))?;
//! let back: DataFrame = dataset.load()?.into_value()?; // collected here
//! assert_eq!(back.height(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod codec;
pub mod convert;
mod datasets;
mod error;
mod ffi;
pub mod options;

pub use convert::{
    from_record_batch, from_record_batches, to_record_batch, to_record_batch_large_utf8,
};
pub use datasets::{
    CsvDataset, EagerPolarsDataset, EagerPolarsFormat, LazyPolarsDataset, ParquetDataset,
    PolarsCsvFormat, PolarsParquetFormat,
};
pub use error::Error;

use tandem_catalog::DatasetRegistry;

/// Registers `polars.CSVDataset`, `polars.ParquetDataset`,
/// `polars.EagerPolarsDataset` and `polars.LazyPolarsDataset`, and
/// [`install`]s the arrow import nodes use.
pub fn register(registry: &mut DatasetRegistry) {
    install();
    datasets::register(registry);
}

/// Lets a node declaring a `DataFrame` or `LazyFrame` receive arrow record
/// batches (converted without copying). [`register`] calls it; call it
/// yourself when you run nodes without registering the datasets.
pub fn install() {
    tandem_pipeline_core::polars_values::install_record_batch_import(|batches| {
        from_record_batches(batches).map_err(|e| e.to_string())
    });
}
