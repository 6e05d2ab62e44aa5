//! The `Dataset` trait: how the catalog loads and saves one entry.

use std::fmt;

use tandem_pipeline_core::Data;

use crate::error::Error;
use crate::location::Location;

/// A source and/or sink of [`Data`].
///
/// Implementations are shared between threads (the parallel runner loads and
/// saves from rayon workers), so they use interior mutability where they keep
/// state. Errors need not name the catalog entry: the catalog adds it.
pub trait Dataset: Send + Sync + fmt::Debug {
    /// Reads the value.
    fn load(&self) -> Result<Data, Error>;

    /// Writes the value. Persistent datasets write atomically: a reader never
    /// sees a partial file.
    fn save(&self, data: Data) -> Result<(), Error>;

    /// Whether there is something to load.
    fn exists(&self) -> Result<bool, Error>;

    /// Frees what the dataset holds in memory; persisted data is untouched.
    fn release(&self) {}

    /// Type, location and settings, for `tandem catalog` and error messages.
    fn describe(&self) -> DatasetDescription;

    /// Whether the data lives only in this process (Kedro's `_EPHEMERAL`).
    fn is_ephemeral(&self) -> bool {
        false
    }

    /// Where the data is persisted, if it is a file or object. For a
    /// versioned dataset, the location of the version the last save wrote,
    /// or else the one a load would read.
    fn location(&self) -> Option<Location> {
        None
    }
}

/// What [`Dataset::describe`] reports.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct DatasetDescription {
    /// The dataset type (`ParquetDataset`, `MemoryDataset`...).
    pub type_name: String,
    /// The configured filepath as a URL, for file datasets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filepath: Option<String>,
    /// Whether the dataset is versioned.
    pub versioned: bool,
    /// Type-specific settings (copy mode, load/save args...), never credentials.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}
