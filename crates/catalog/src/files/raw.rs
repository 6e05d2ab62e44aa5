//! `TextDataset` (UTF-8 `String`) and `BytesDataset` (`Vec<u8>`).

use bytes::Bytes;
use tandem_pipeline_core::Data;

use super::{FileFormat, FileOptions, NoArgs, format_error, type_mismatch};
use crate::error::Error;
use crate::registry::DatasetConfig;

/// UTF-8 text, loaded and saved as a `String`. Invalid UTF-8 is a format
/// error, not a lossy conversion.
#[derive(Debug)]
pub struct TextFormat;

impl FileFormat for TextFormat {
    const TYPE_NAME: &'static str = "TextDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let (filepath, NoArgs {}, NoArgs {}) = FileOptions::parse(config)?;
        Ok((filepath, TextFormat))
    }

    fn encode(&self, data: &Data, _location: &str) -> Result<Bytes, Error> {
        let text = data
            .downcast_ref::<String>()
            .map_err(|_| type_mismatch(std::any::type_name::<String>(), data, Self::TYPE_NAME))?;
        Ok(Bytes::copy_from_slice(text.as_bytes()))
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        // `Vec::from(Bytes)` reuses the buffer when it is not shared.
        let text = String::from_utf8(Vec::from(bytes)).map_err(|e| {
            format_error(
                "text",
                location,
                format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
            )
        })?;
        Ok(Data::new(text))
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}

/// Raw bytes, loaded and saved as a `Vec<u8>`.
#[derive(Debug)]
pub struct BytesFormat;

impl FileFormat for BytesFormat {
    const TYPE_NAME: &'static str = "BytesDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let (filepath, NoArgs {}, NoArgs {}) = FileOptions::parse(config)?;
        Ok((filepath, BytesFormat))
    }

    fn encode(&self, data: &Data, _location: &str) -> Result<Bytes, Error> {
        let bytes = data
            .downcast_ref::<Vec<u8>>()
            .map_err(|_| type_mismatch(std::any::type_name::<Vec<u8>>(), data, Self::TYPE_NAME))?;
        Ok(Bytes::copy_from_slice(bytes))
    }

    fn decode(&self, bytes: Bytes, _location: &str) -> Result<Data, Error> {
        Ok(Data::new(Vec::from(bytes)))
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}
