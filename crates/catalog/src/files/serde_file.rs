//! `SerdeDataset`: fitted objects (models, scalers, encoders) as JSON or
//! MessagePack, tandem's replacement for Kedro's pickles.

use bytes::Bytes;
use serde::Deserialize;
use tandem_pipeline_core::Data;

use super::json::json_value;
use super::{FileFormat, NoArgs, format_error, parse_args, reject_fs_args};
use crate::error::Error;
use crate::registry::DatasetConfig;

/// The encoding a [`SerdeFormat`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SerdeEncoding {
    /// JSON text.
    Json,
    /// MessagePack with field names (`rmp_serde::to_vec_named`), so structs
    /// stay readable by other MessagePack libraries and robust to field order.
    Msgpack,
}

impl SerdeEncoding {
    /// `.msgpack` and `.mp` files are MessagePack; anything else is JSON.
    pub fn from_extension(filepath: &str) -> SerdeEncoding {
        let extension = filepath
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        match extension.as_deref() {
            Some("msgpack" | "mp") => SerdeEncoding::Msgpack,
            _ => SerdeEncoding::Json,
        }
    }

    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SerdeEncoding::Json => "json",
            SerdeEncoding::Msgpack => "msgpack",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    filepath: String,
    #[serde(default)]
    format: Option<SerdeEncoding>,
    #[serde(default)]
    load_args: Option<serde_json::Value>,
    #[serde(default)]
    save_args: Option<serde_json::Value>,
    #[serde(default)]
    fs_args: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Any value declared with `data_value!(serde: T)`, saved through
/// [`Data::to_json`] and loaded as a `serde_json::Value` that converts to the
/// consuming node's declared type.
#[derive(Debug)]
pub struct SerdeFormat {
    encoding: SerdeEncoding,
}

impl SerdeFormat {
    /// The encoding in use.
    pub fn encoding(&self) -> SerdeEncoding {
        self.encoding
    }
}

impl FileFormat for SerdeFormat {
    const TYPE_NAME: &'static str = "SerdeDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let options: Options = config.options_as()?;
        reject_fs_args(config, options.fs_args.as_ref())?;
        // Accepted for a uniform entry shape; there is no setting to put in them.
        let NoArgs {} = parse_args(config, "load_args", options.load_args)?;
        let NoArgs {} = parse_args(config, "save_args", options.save_args)?;
        let encoding = options
            .format
            .unwrap_or_else(|| SerdeEncoding::from_extension(&options.filepath));
        Ok((options.filepath, SerdeFormat { encoding }))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let name = self.encoding.as_str();
        let value = json_value(data, name, location)?;
        let encoded = match self.encoding {
            SerdeEncoding::Json => {
                serde_json::to_vec(&*value).map_err(|e| format_error(name, location, e))
            }
            SerdeEncoding::Msgpack => {
                rmp_serde::to_vec_named(&*value).map_err(|e| format_error(name, location, e))
            }
        }?;
        Ok(Bytes::from(encoded))
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        let name = self.encoding.as_str();
        let value: serde_json::Value = match self.encoding {
            SerdeEncoding::Json => {
                serde_json::from_slice(&bytes).map_err(|e| format_error(name, location, e))
            }
            SerdeEncoding::Msgpack => {
                rmp_serde::from_slice(&bytes).map_err(|e| format_error(name, location, e))
            }
        }?;
        Ok(Data::json(value))
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut details = serde_json::Map::new();
        details.insert("format".to_owned(), self.encoding.as_str().into());
        details
    }
}
