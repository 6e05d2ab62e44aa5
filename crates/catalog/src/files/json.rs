//! `JSONDataset`: any serde value as a JSON document.

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::Data;

use super::{FileFormat, FileOptions, NoArgs, args_details, format_error};
use crate::error::Error;
use crate::registry::DatasetConfig;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    /// Pretty-print with this many spaces per level (Kedro passes it to `json.dump`).
    #[serde(skip_serializing_if = "Option::is_none")]
    indent: Option<usize>,
}

/// JSON documents. Loads a `serde_json::Value` (nodes declare their own
/// type and the value converts at the node boundary, see
/// [`DataValue::from_json`](tandem_pipeline_core::DataValue::from_json));
/// saves any value whose [`Data::to_json`] is available.
#[derive(Debug)]
pub struct JsonFormat {
    save_args: SaveArgs,
}

impl FileFormat for JsonFormat {
    const TYPE_NAME: &'static str = "JSONDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let (filepath, NoArgs {}, save_args) = FileOptions::parse(config)?;
        Ok((filepath, JsonFormat { save_args }))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let value = json_value(data, "json", location)?;
        let encoded = match self.save_args.indent {
            None => serde_json::to_vec(&*value),
            Some(width) => {
                let indent = vec![b' '; width];
                let mut out = Vec::new();
                let formatter = serde_json::ser::PrettyFormatter::with_indent(&indent);
                let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
                value.serialize(&mut serializer).map(|()| out)
            }
        };
        encoded
            .map(Bytes::from)
            .map_err(|e| format_error("json", location, e))
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format_error("json", location, e))?;
        Ok(Data::json(value))
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        args_details(&NoArgs {}, &self.save_args)
    }
}

/// The JSON form of `data`: borrowed when it already is JSON (no copy of a
/// large document), else from [`Data::to_json`].
pub(super) fn json_value<'a>(
    data: &'a Data,
    format: &'static str,
    location: &str,
) -> Result<Cow<'a, serde_json::Value>, Error> {
    if let Ok(value) = data.downcast_ref::<serde_json::Value>() {
        return Ok(Cow::Borrowed(value));
    }
    match data.to_json() {
        Some(Ok(value)) => Ok(Cow::Owned(value)),
        Some(Err(message)) => Err(format_error(
            format,
            location,
            format!("cannot serialize a `{}`: {message}", data.type_name()),
        )),
        None => Err(format_error(
            format,
            location,
            format!(
                "a `{type_name}` cannot be serialized: declare it with \
                 `data_value!(serde: {type_name})` (the type must implement serde's Serialize \
                 and Deserialize)",
                type_name = data.type_name()
            ),
        )),
    }
}
