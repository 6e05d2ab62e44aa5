//! Datasets and the data catalog: where the data flowing between nodes lives.
//!
//! - [`Dataset`]: load, save, exists, release, describe. [`MemoryDataset`]
//!   keeps values in the process with Kedro's copy modes ([`CopyMode`]).
//! - [`Location`]: a file or object on any `object_store` backend (local,
//!   `memory://`, and behind cargo features `s3://`, `gs://`, `az://`,
//!   `http(s)://`), written atomically. [`FileTarget`] adds Kedro's versioning.
//! - [`DatasetRegistry`]: dataset type names (as written in catalog.yml) →
//!   constructors; tandem's types, other crates' and yours register alike.
//! - [`DataCatalog`]: Kedro's catalog, built from `conf/<env>` over
//!   `conf/base` ([`ProjectConfig`]) with dataset factory patterns, load and
//!   save versions, credentials and [`Parameters`] (`params:<path>`).
//!
//! ```
//! use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry};
//! use tandem_pipeline_core::Data;
//!
//! let registry = DatasetRegistry::with_memory();
//! let options = serde_json::json!({"copy_mode": "assign"});
//! let config = DatasetConfig::new("scratch", "MemoryDataset", options.as_object().unwrap().clone());
//! let ds = registry.build(&config)?;
//! ds.save(Data::new(42_i64))?;
//! assert_eq!(*ds.load()?.downcast_ref::<i64>()?, 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backends;
mod catalog;
mod config;
mod credentials;
mod dataset;
mod error;
mod factory;
mod files;
mod location;
mod memory;
mod params;
mod registry;
mod target;
#[cfg(feature = "s3")]
mod uploads;
mod versioning;

/// [`tandem_io::block_on`] failing with the catalog's [`Error`], so a runtime
/// that cannot start is one more catalog error at every call site.
mod runtime {
    use std::future::Future;

    pub(crate) fn block_on<F>(future: F) -> Result<F::Output, crate::Error>
    where
        F: Future + Send,
        F::Output: Send,
    {
        Ok(tandem_io::block_on(future)?)
    }
}

pub use catalog::{CatalogOptions, DataCatalog, EntryDescription};
pub use config::{
    BASE_ENV, ConfigKind, ConfigOptions, DEFAULT_ENV, Interpolator, Origin, ProjectConfig,
    ResolverFn, Resolvers,
};
pub use credentials::Credentials;
pub use dataset::{Dataset, DatasetDescription};
pub use error::{EntryProblem, Error};
/// tandem's parquet reader with its checks, for parquet bytes read outside
/// a dataset (scoring requests).
pub use files::parquet;
pub use files::{
    BytesDataset, BytesFormat, CsvDataset, CsvFormat, ExcelDataset, ExcelFormat, FileDataset,
    FileFormat, JsonDataset, JsonFormat, ParquetDataset, ParquetFormat, SerdeDataset,
    SerdeEncoding, SerdeFormat, TextDataset, TextFormat,
};
pub use location::Location;
pub use memory::{CopyMode, MemoryDataset};
pub use params::Parameters;
pub use registry::{DatasetConfig, DatasetConstructor, DatasetRegistry};
pub use target::FileTarget;
#[cfg(feature = "s3")]
pub use uploads::DEFAULT_STALE_UPLOAD_AGE;
pub use versioning::{Version, generate_timestamp, validate_version};
