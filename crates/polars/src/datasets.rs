//! kedro-datasets' Polars dataset types on the catalog's file storage.
//!
//! The eager types are [`FileFormat`](tandem_catalog::FileFormat)s on a
//! [`FileDataset`]: they get every backend, Kedro versioning and atomic,
//! durable saves from the catalog. [`LazyPolarsDataset`] uses the same
//! [`FileTarget`] for versions and saves, and scans on load.

use std::sync::Arc;

use bytes::Bytes;
use polars::frame::DataFrame;
use polars::lazy::frame::LazyFrame;
use serde::Deserialize;
use tandem_catalog::{
    Dataset, DatasetConfig, DatasetDescription, DatasetRegistry, Error, FileDataset, FileTarget,
    Location,
};
use tandem_pipeline_core::Data;

use crate::codec::Codec;
use crate::options::FileFormat;

/// The options every Polars dataset shares.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    filepath: String,
    #[serde(default)]
    file_format: Option<FileFormat>,
    #[serde(default)]
    load_args: Option<serde_json::Value>,
    #[serde(default)]
    save_args: Option<serde_json::Value>,
    #[serde(default)]
    fs_args: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Parses an entry: `(filepath, codec)`. `fixed` is the format of the
/// single-format types, which take no `file_format`.
fn parse(config: &DatasetConfig, fixed: Option<FileFormat>) -> Result<(String, Codec), Error> {
    let options: Options = config.options_as()?;
    if let Some(args) = &options.fs_args
        && !args.is_empty()
    {
        return Err(Error::config(
            &config.name,
            "fs_args are not supported: tandem configures storage (endpoints, keys, regions) \
             through the entry's credentials in credentials.yml",
        ));
    }
    let format = match (fixed, options.file_format) {
        (Some(format), None) => format,
        (Some(_), Some(_)) => {
            return Err(Error::config(
                &config.name,
                format!("{} takes no file_format", config.type_name),
            ));
        }
        (None, Some(format)) => format,
        (None, None) => {
            return Err(Error::config(
                &config.name,
                "file_format is required (csv or parquet)",
            ));
        }
    };
    let codec = Codec::parse(&config.name, format, options.load_args, options.save_args)?;
    Ok((options.filepath, codec))
}

/// The frame to save: a `DataFrame`, a `LazyFrame` (collected now), or
/// arrow record batches (viewed without copying).
pub(crate) fn frame_of(data: &Data, type_name: &str, location: &str) -> Result<DataFrame, Error> {
    if let Ok(frame) = data.downcast_ref::<DataFrame>() {
        return Ok(frame.clone());
    }
    if let Ok(lazy) = data.downcast_ref::<LazyFrame>() {
        return lazy.clone().collect().map_err(|e| Error::External {
            operation: "collect the LazyFrame saved to",
            dataset: location.to_owned(),
            kind: "polars",
            source: Box::new(e),
        });
    }
    let batches = if let Ok(batch) = data.downcast_ref::<arrow_array::RecordBatch>() {
        std::slice::from_ref(batch)
    } else if let Ok(batches) = data.downcast_ref::<Vec<arrow_array::RecordBatch>>() {
        batches.as_slice()
    } else {
        return Err(Error::Value(tandem_pipeline_core::Error::TypeMismatch {
            expected: "polars DataFrame, LazyFrame or arrow RecordBatch",
            actual: data.type_name(),
            context: format!(" when saving to a {type_name}"),
        }));
    };
    crate::convert::from_record_batches(batches).map_err(|e| Error::External {
        operation: "convert the record batches saved to",
        dataset: location.to_owned(),
        kind: e.kind(),
        source: Box::new(e),
    })
}

macro_rules! eager_format {
    ($(#[$doc:meta])* $name:ident, $type_name:literal, $fixed:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            codec: Codec,
        }

        impl tandem_catalog::FileFormat for $name {
            const TYPE_NAME: &'static str = $type_name;

            fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
                let (filepath, codec) = parse(config, $fixed)?;
                Ok((filepath, $name { codec }))
            }

            fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
                let mut frame = frame_of(data, Self::TYPE_NAME, location)?;
                self.codec.write(&mut frame, location)
            }

            fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
                self.codec.read(bytes, location).map(Data::new)
            }

            fn details(&self) -> serde_json::Map<String, serde_json::Value> {
                let mut details = self.codec.details();
                details.insert("file_format".to_owned(), self.codec.format().name().into());
                details
            }
        }
    };
}

eager_format!(
    /// `polars.CSVDataset`: a CSV file loaded as a `DataFrame`.
    PolarsCsvFormat,
    "polars.CSVDataset",
    Some(FileFormat::Csv)
);
eager_format!(
    /// `polars.ParquetDataset`: a Parquet file loaded as a `DataFrame`
    /// (`EagerPolarsDataset` with `file_format: parquet`, as a type of its own).
    PolarsParquetFormat,
    "polars.ParquetDataset",
    Some(FileFormat::Parquet)
);
eager_format!(
    /// `polars.EagerPolarsDataset`: a file in `file_format` loaded as a `DataFrame`.
    EagerPolarsFormat,
    "polars.EagerPolarsDataset",
    None
);

/// `polars.CSVDataset`.
pub type CsvDataset = FileDataset<PolarsCsvFormat>;
/// `polars.ParquetDataset`.
pub type ParquetDataset = FileDataset<PolarsParquetFormat>;
/// `polars.EagerPolarsDataset`.
pub type EagerPolarsDataset = FileDataset<EagerPolarsFormat>;

/// `polars.LazyPolarsDataset`: loads a `LazyFrame` that reads the file only
/// when collected; saves a `LazyFrame` (collected then) or a `DataFrame`.
///
/// A local file is scanned in place, so Polars reads only the columns and
/// row groups the query needs. On other stores (`memory://`, `s3://`...)
/// the object is read at load and the query runs over those bytes.
#[derive(Debug)]
pub struct LazyPolarsDataset {
    target: FileTarget,
    codec: Codec,
}

impl LazyPolarsDataset {
    /// Builds the dataset a catalog entry describes (no I/O).
    pub fn from_config(config: &DatasetConfig) -> Result<Self, Error> {
        let (filepath, codec) = parse(config, None)?;
        Ok(LazyPolarsDataset {
            target: FileTarget::new(config, &filepath)?,
            codec,
        })
    }

    fn scan(&self, location: &Location) -> Result<LazyFrame, Error> {
        let Some(path) = location.local_path() else {
            return self.codec.scan_bytes(location.read()?, location.url());
        };
        // A scan opens the file only when collected; a missing file must
        // fail the load, as it does for every other dataset.
        if let Err(e) = std::fs::metadata(path) {
            if e.kind() == std::io::ErrorKind::NotFound && self.target.is_versioned() {
                return Err(Error::VersionNotFound {
                    path: location.url().to_owned(),
                });
            }
            return Err(Error::External {
                operation: "load",
                dataset: location.url().to_owned(),
                kind: "storage",
                source: Box::new(e),
            });
        }
        self.codec.scan_path(path, location.url())
    }
}

impl Dataset for LazyPolarsDataset {
    fn load(&self) -> Result<Data, Error> {
        let location = self.target.load_location()?;
        self.scan(&location).map(Data::new)
    }

    fn save(&self, data: Data) -> Result<(), Error> {
        let url = self.target.location().url();
        let mut frame = frame_of(&data, "polars.LazyPolarsDataset", url)?;
        let bytes = self.codec.write(&mut frame, url)?;
        self.target.write(bytes)
    }

    fn exists(&self) -> Result<bool, Error> {
        self.target.exists()
    }

    fn release(&self) {
        self.target.release();
    }

    fn describe(&self) -> DatasetDescription {
        let mut details = self.codec.details();
        details.insert("file_format".to_owned(), self.codec.format().name().into());
        DatasetDescription {
            type_name: "polars.LazyPolarsDataset".to_owned(),
            filepath: Some(self.target.location().url().to_owned()),
            versioned: self.target.is_versioned(),
            details,
        }
    }

    fn location(&self) -> Option<Location> {
        self.target.current_location()
    }
}

/// Registers the four types under kedro-datasets' names.
pub(crate) fn register(registry: &mut DatasetRegistry) {
    fn add<F: tandem_catalog::FileFormat>(registry: &mut DatasetRegistry) {
        registry.register(F::TYPE_NAME, |config: &DatasetConfig| {
            Ok(Arc::new(FileDataset::<F>::from_config(config)?) as Arc<dyn Dataset>)
        });
    }
    add::<PolarsCsvFormat>(registry);
    add::<PolarsParquetFormat>(registry);
    add::<EagerPolarsFormat>(registry);
    registry.register("polars.LazyPolarsDataset", |config: &DatasetConfig| {
        Ok(Arc::new(LazyPolarsDataset::from_config(config)?) as Arc<dyn Dataset>)
    });
}
