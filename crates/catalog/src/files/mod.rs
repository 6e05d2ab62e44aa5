//! File datasets: a [`FileFormat`] (how a value becomes bytes and back) on a
//! [`FileTarget`] (where the bytes live).
//!
//! Every format gets the same storage for free: any `object_store` backend,
//! Kedro versioning and atomic saves. The formats only encode and decode.

mod columns;
mod compression;
mod csv;
mod csv_pandas;
mod csv_write;
mod excel;
mod json;
pub mod parquet;
mod raw;
mod serde_file;

use std::fmt;
use std::sync::Arc;

use arrow_array::RecordBatch;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tandem_pipeline_core::Data;

use crate::dataset::{Dataset, DatasetDescription};
use crate::error::Error;
use crate::location::Location;
use crate::registry::{DatasetConfig, DatasetRegistry};
use crate::target::FileTarget;

pub use self::csv::CsvFormat;
pub use self::excel::ExcelFormat;
pub use self::json::JsonFormat;
pub use self::parquet::ParquetFormat;
pub use self::raw::{BytesFormat, TextFormat};
pub use self::serde_file::{SerdeEncoding, SerdeFormat};

/// How one file format encodes values to bytes and decodes them back.
///
/// Implement it to add a format; [`FileDataset`] supplies storage,
/// versioning and atomic writes.
pub trait FileFormat: fmt::Debug + Send + Sync + Sized + 'static {
    /// The dataset type name, as written in catalog.yml and shown by `describe`.
    const TYPE_NAME: &'static str;

    /// Reads the entry's options; returns the filepath and the format.
    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error>;

    /// The bytes to store for `data`; `location` is for error messages.
    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error>;

    /// The value stored in `bytes`; `location` is for error messages.
    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error>;

    /// The value stored at `location`. The default reads the whole object
    /// and decodes it; formats that read only what they need (Parquet's
    /// column chunks) override it.
    fn load(&self, location: &Location) -> Result<Data, Error> {
        self.decode(location.read()?, location.url())
    }

    /// The settings `describe` reports (load/save args as configured).
    fn details(&self) -> serde_json::Map<String, serde_json::Value>;
}

/// A dataset stored as one file (or object) in a [`FileFormat`].
///
/// ```
/// use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry};
/// use tandem_pipeline_core::Data;
///
/// let options = serde_json::json!({"filepath": "memory://docs/notes.txt"});
/// let options = options.as_object().unwrap().clone();
/// let config = DatasetConfig::new("notes", "text.TextDataset", options);
/// let notes = DatasetRegistry::with_builtins().build(&config)?;
/// notes.save(Data::new(String::from("hello")))?;
/// assert_eq!(notes.load()?.into_value::<String>()?, "hello");
/// assert_eq!(notes.describe().type_name, "TextDataset");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileDataset<F> {
    target: FileTarget,
    format: F,
}

/// Arrow tables in Apache Parquet (Kedro's `pandas.ParquetDataset`).
pub type ParquetDataset = FileDataset<ParquetFormat>;
/// Arrow tables as delimited text (Kedro's `pandas.CSVDataset`).
pub type CsvDataset = FileDataset<CsvFormat>;
/// Arrow tables as one sheet of an Excel workbook (Kedro's `pandas.ExcelDataset`).
pub type ExcelDataset = FileDataset<ExcelFormat>;
/// JSON documents (Kedro's `json.JSONDataset`).
pub type JsonDataset = FileDataset<JsonFormat>;
/// UTF-8 text (Kedro's `text.TextDataset`).
pub type TextDataset = FileDataset<TextFormat>;
/// Raw bytes.
pub type BytesDataset = FileDataset<BytesFormat>;
/// Fitted objects (models, scalers) as JSON or MessagePack.
pub type SerdeDataset = FileDataset<SerdeFormat>;

impl<F: FileFormat> FileDataset<F> {
    /// A dataset writing `format` to `target`.
    pub fn new(target: FileTarget, format: F) -> Self {
        FileDataset { target, format }
    }

    /// Builds the dataset a catalog entry describes.
    pub fn from_config(config: &DatasetConfig) -> Result<Self, Error> {
        let (filepath, format) = F::from_config(config)?;
        Ok(FileDataset::new(
            FileTarget::new(config, &filepath)?,
            format,
        ))
    }

    /// The format.
    pub fn format(&self) -> &F {
        &self.format
    }

    /// Where the bytes are stored.
    pub fn target(&self) -> &FileTarget {
        &self.target
    }

    fn url(&self) -> &str {
        self.target.location().url()
    }
}

impl<F: FileFormat> Dataset for FileDataset<F> {
    fn load(&self) -> Result<Data, Error> {
        let location = self.target.load_location()?;
        self.format.load(&location).map_err(|e| match e {
            // A pinned version that was never saved.
            Error::Storage {
                source: object_store::Error::NotFound { .. },
                ..
            } if self.target.is_versioned() => Error::VersionNotFound {
                path: location.url().to_owned(),
            },
            other => other,
        })
    }

    fn save(&self, data: Data) -> Result<(), Error> {
        let bytes = self.format.encode(&data, self.url())?;
        self.target.write(bytes)
    }

    fn exists(&self) -> Result<bool, Error> {
        self.target.exists()
    }

    fn release(&self) {
        self.target.release();
    }

    fn describe(&self) -> DatasetDescription {
        DatasetDescription {
            type_name: F::TYPE_NAME.to_owned(),
            filepath: Some(self.url().to_owned()),
            versioned: self.target.is_versioned(),
            details: self.format.details(),
        }
    }

    fn location(&self) -> Option<Location> {
        self.target.current_location()
    }
}

/// Registers every file dataset under its tandem name and Kedro's aliases.
pub(crate) fn register(registry: &mut DatasetRegistry) {
    fn add<F: FileFormat>(registry: &mut DatasetRegistry, aliases: &[&str]) {
        registry.register(F::TYPE_NAME, |config: &DatasetConfig| {
            Ok(Arc::new(FileDataset::<F>::from_config(config)?) as Arc<dyn Dataset>)
        });
        for alias in aliases {
            registry.alias(*alias, F::TYPE_NAME);
        }
    }
    add::<ParquetFormat>(registry, &["pandas.ParquetDataset"]);
    add::<CsvFormat>(registry, &["pandas.CSVDataset"]);
    add::<ExcelFormat>(registry, &["pandas.ExcelDataset"]);
    add::<JsonFormat>(registry, &["json.JSONDataset"]);
    add::<TextFormat>(registry, &["text.TextDataset"]);
    add::<BytesFormat>(registry, &[]);
    add::<SerdeFormat>(registry, &[]);
}

/// The options every file dataset shares. `load_args`/`save_args` may be
/// absent or `null` (an empty YAML key), as in Kedro.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOptions {
    filepath: String,
    #[serde(default)]
    load_args: Option<serde_json::Value>,
    #[serde(default)]
    save_args: Option<serde_json::Value>,
    #[serde(default)]
    fs_args: Option<serde_json::Map<String, serde_json::Value>>,
}

impl FileOptions {
    /// Parses and checks the options: `(filepath, load_args, save_args)`.
    fn parse<L: DeserializeOwned + Default, S: DeserializeOwned + Default>(
        config: &DatasetConfig,
    ) -> Result<(String, L, S), Error> {
        let options: FileOptions = config.options_as()?;
        reject_fs_args(config, options.fs_args.as_ref())?;
        Ok((
            options.filepath,
            parse_args(config, "load_args", options.load_args)?,
            parse_args(config, "save_args", options.save_args)?,
        ))
    }
}

/// Deserializes one args mapping separately, so an error says which one
/// it is about (serde's messages name the bad key but not its parent).
fn parse_args<T: DeserializeOwned + Default>(
    config: &DatasetConfig,
    key: &str,
    value: Option<serde_json::Value>,
) -> Result<T, Error> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(value) => {
            T::deserialize(value).map_err(|e| Error::config(&config.name, format!("{key}: {e}")))
        }
    }
}

/// Kedro passes `fs_args` to fsspec; tandem has no fsspec and configures
/// storage (endpoints, keys, regions) through the entry's credentials.
/// `open_args_save.mode` is checked (a write replaces the whole file, so an
/// append or exclusive mode cannot be honoured and is refused), the
/// encodings are read by the text formats that use them (CSV), and every
/// other key is accepted and ignored with a debug log.
fn reject_fs_args(
    config: &DatasetConfig,
    fs_args: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<(), Error> {
    let Some(args) = fs_args else {
        return Ok(());
    };
    for (key, value) in args {
        match (key.as_str(), value) {
            ("open_args_load" | "open_args_save", serde_json::Value::Object(open)) => {
                for (name, value) in open {
                    match name.as_str() {
                        "mode" if key == "open_args_save" => {
                            let mode = value.as_str().unwrap_or_default();
                            if !matches!(mode, "w" | "wb" | "wt" | "w+" | "wb+") {
                                return Err(Error::config(
                                    &config.name,
                                    format!(
                                        "fs_args.open_args_save.mode {value} is not supported: every save replaces the whole file (use w or wb)"
                                    ),
                                ));
                            }
                        }
                        "encoding" => {}
                        _ => tracing::debug!(
                            dataset = config.name.as_str(),
                            "fs_args.{key}.{name} ignored: tandem opens files itself"
                        ),
                    }
                }
            }
            ("open_args_load" | "open_args_save", serde_json::Value::Null) => {}
            ("open_args_load" | "open_args_save", other) => {
                return Err(Error::config(
                    &config.name,
                    format!("fs_args.{key} must be a mapping, got {other}"),
                ));
            }
            _ => tracing::debug!(
                dataset = config.name.as_str(),
                "fs_args.{key} ignored: storage settings come from the entry's credentials"
            ),
        }
    }
    Ok(())
}

/// `load_args`/`save_args` for formats that take none.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

/// A format error at `location`.
fn format_error(format: &'static str, location: &str, message: impl fmt::Display) -> Error {
    Error::Format {
        format,
        location: location.to_owned(),
        message: message.to_string(),
    }
}

/// The error for saving a value of the wrong type.
fn type_mismatch(expected: &'static str, data: &Data, dataset: &str) -> Error {
    Error::Value(tandem_pipeline_core::Error::TypeMismatch {
        expected,
        actual: data.type_name(),
        context: format!(" when saving to a {dataset}"),
    })
}

/// The batches of a table value: one `RecordBatch` or a `Vec` of them.
fn record_batches<'a>(data: &'a Data, dataset: &str) -> Result<&'a [RecordBatch], Error> {
    if let Ok(batch) = data.downcast_ref::<RecordBatch>() {
        return Ok(std::slice::from_ref(batch));
    }
    data.downcast_ref::<Vec<RecordBatch>>()
        .map(Vec::as_slice)
        .map_err(|_| type_mismatch("arrow_array::RecordBatch (or a Vec of them)", data, dataset))
}

/// `describe` details: the non-empty load and save args, as configured.
fn args_details(
    load_args: &impl serde::Serialize,
    save_args: &impl serde::Serialize,
) -> serde_json::Map<String, serde_json::Value> {
    let mut details = serde_json::Map::new();
    for (key, args) in [
        ("load_args", serde_json::to_value(load_args)),
        ("save_args", serde_json::to_value(save_args)),
    ] {
        if let Ok(serde_json::Value::Object(map)) = args
            && !map.is_empty()
        {
            details.insert(key.to_owned(), serde_json::Value::Object(map));
        }
    }
    details
}

/// Parses a one-character delimiter (`delimiter: ";"`) into its byte.
fn delimiter_byte(entry: &str, field: &str, delimiter: &str) -> Result<u8, Error> {
    match delimiter.as_bytes() {
        [byte] => Ok(*byte),
        _ => Err(Error::config(
            entry,
            format!("{field} must be one ASCII character, got {delimiter:?}"),
        )),
    }
}
