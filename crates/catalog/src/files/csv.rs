//! `CSVDataset`: an arrow `RecordBatch` as delimited text.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::Data;

use super::{FileFormat, FileOptions, args_details, delimiter_byte, format_error, record_batches};
use crate::error::Error;
use crate::registry::DatasetConfig;

/// Rows read to infer column types when no schema is given (arrow's and
/// pandas' inference both look at a prefix of the file).
const DEFAULT_INFER_ROWS: usize = 1000;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<bool>,
    /// `sep` is pandas' name for it.
    #[serde(alias = "sep", skip_serializing_if = "Option::is_none")]
    delimiter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<Vec<ColumnSpec>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    infer_rows: Option<usize>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ColumnSpec {
    name: String,
    #[serde(rename = "type")]
    data_type: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<bool>,
    #[serde(alias = "sep", skip_serializing_if = "Option::is_none")]
    delimiter: Option<String>,
    /// Kedro catalogs write `index: false` for pandas; arrow tables have no
    /// index, so only `false` is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<bool>,
}

/// Delimited text read with arrow-csv into one `RecordBatch`, column types
/// from `load_args.schema` or inferred from the first `infer_rows` rows.
#[derive(Debug)]
pub struct CsvFormat {
    load_args: LoadArgs,
    save_args: SaveArgs,
    read_format: arrow_csv::reader::Format,
    schema: Option<SchemaRef>,
    save_header: bool,
    save_delimiter: u8,
}

impl FileFormat for CsvFormat {
    const TYPE_NAME: &'static str = "CSVDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let (filepath, load_args, save_args): (String, LoadArgs, SaveArgs) =
            FileOptions::parse(config)?;
        let entry = config.name.as_str();
        let delimiter = |field: &str, value: &Option<String>| {
            value
                .as_deref()
                .map_or(Ok(b','), |d| delimiter_byte(entry, field, d))
        };
        let read_format = arrow_csv::reader::Format::default()
            .with_header(load_args.header.unwrap_or(true))
            .with_delimiter(delimiter("load_args.delimiter", &load_args.delimiter)?);
        let schema = load_args
            .schema
            .as_deref()
            .map(|columns| explicit_schema(columns).map_err(|e| Error::config(entry, e)))
            .transpose()?;
        if save_args.index == Some(true) {
            return Err(Error::config(
                entry,
                "save_args.index: true is not supported: arrow tables have no index to write",
            ));
        }
        let format = CsvFormat {
            read_format,
            schema,
            save_header: save_args.header.unwrap_or(true),
            save_delimiter: delimiter("save_args.delimiter", &save_args.delimiter)?,
            load_args,
            save_args,
        };
        Ok((filepath, format))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let batches = record_batches(data, Self::TYPE_NAME)?;
        let mut writer = arrow_csv::WriterBuilder::new()
            .with_header(self.save_header)
            .with_delimiter(self.save_delimiter)
            .build(Vec::new());
        for batch in batches {
            writer
                .write(batch)
                .map_err(|e| format_error("csv", location, e))?;
        }
        Ok(Bytes::from(writer.into_inner()))
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        let (schema, inferred_from) = match &self.schema {
            Some(schema) => (Arc::clone(schema), None),
            None => {
                let rows = self.load_args.infer_rows.unwrap_or(DEFAULT_INFER_ROWS);
                let (schema, _) = self
                    .read_format
                    .infer_schema(Cursor::new(&bytes), Some(rows))
                    .map_err(|e| format_error("csv", location, e))?;
                (Arc::new(schema), Some(rows))
            }
        };
        let hint = |e: arrow_schema::ArrowError| match inferred_from {
            Some(rows) => format_error(
                "csv",
                location,
                format!(
                    "{e} (column types were inferred from the first {rows} rows: raise \
                     load_args.infer_rows or give load_args.schema)"
                ),
            ),
            None => format_error("csv", location, e),
        };
        // A row ends at a newline, so their count bounds the rows: one batch
        // that size holds the whole file and needs no concatenation copy.
        let max_rows = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
        let reader = arrow_csv::ReaderBuilder::new(Arc::clone(&schema))
            .with_format(self.read_format.clone())
            .with_batch_size(max_rows)
            .build_buffered(Cursor::new(bytes))
            .map_err(hint)?;
        let mut batches = reader.collect::<Result<Vec<_>, _>>().map_err(hint)?;
        let batch = match batches.len() {
            0 => RecordBatch::new_empty(schema),
            1 => batches.remove(0),
            _ => arrow_select::concat::concat_batches(&schema, &batches)
                .map_err(|e| format_error("csv", location, e))?,
        };
        Ok(Data::new(batch))
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        args_details(&self.load_args, &self.save_args)
    }
}

fn explicit_schema(columns: &[ColumnSpec]) -> Result<SchemaRef, String> {
    let fields = columns
        .iter()
        .map(|c| {
            parse_type(&c.data_type)
                .map(|t| Field::new(&c.name, t, true))
                .map_err(|e| format!("load_args.schema: column '{}': {e}", c.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// A column type by its common name (`int64`, `float64`, `utf8`/`string`,
/// `bool`, `date32`/`date`, `timestamp[us]`, `timestamp[ms, +00:00]`...) or
/// by arrow's own spelling (`Decimal128(10, 2)`). A bare `timestamp` is
/// microseconds: nanoseconds only cover the years 1677–2262. Time zones are
/// offsets: named zones need arrow's chrono-tz tables, which tandem leaves out.
fn parse_type(name: &str) -> Result<DataType, String> {
    let trimmed = name.trim();
    let lower = trimmed.to_ascii_lowercase();
    let simple = match lower.as_str() {
        "int8" => Some(DataType::Int8),
        "int16" => Some(DataType::Int16),
        "int32" => Some(DataType::Int32),
        "int64" | "int" => Some(DataType::Int64),
        "uint8" => Some(DataType::UInt8),
        "uint16" => Some(DataType::UInt16),
        "uint32" => Some(DataType::UInt32),
        "uint64" => Some(DataType::UInt64),
        "float32" => Some(DataType::Float32),
        "float64" | "float" | "double" => Some(DataType::Float64),
        "utf8" | "string" | "str" => Some(DataType::Utf8),
        "large_utf8" | "large_string" => Some(DataType::LargeUtf8),
        "bool" | "boolean" => Some(DataType::Boolean),
        "date32" | "date" => Some(DataType::Date32),
        "date64" => Some(DataType::Date64),
        "timestamp" => Some(DataType::Timestamp(TimeUnit::Microsecond, None)),
        _ => None,
    };
    if let Some(t) = simple {
        return Ok(t);
    }
    if lower.starts_with("timestamp[") && lower.ends_with(']') {
        // Slice the original spelling (ASCII lowercasing keeps byte offsets)
        // so the zone is kept exactly as written.
        let inner = &trimmed["timestamp[".len()..trimmed.len() - 1];
        let (unit, tz) = inner
            .split_once(',')
            .map_or((inner, None), |(u, tz)| (u, Some(tz)));
        let unit = match unit.trim().to_ascii_lowercase().as_str() {
            "s" => TimeUnit::Second,
            "ms" => TimeUnit::Millisecond,
            "us" => TimeUnit::Microsecond,
            "ns" => TimeUnit::Nanosecond,
            other => {
                return Err(format!(
                    "unknown timestamp unit '{other}' (use s, ms, us or ns)"
                ));
            }
        };
        let tz = tz.map(|tz| {
            let tz = tz.trim();
            tz.strip_prefix("tz=").unwrap_or(tz).trim().into()
        });
        return Ok(DataType::Timestamp(unit, tz));
    }
    trimmed.parse::<DataType>().map_err(|_| {
        format!(
            "unknown type '{name}' (use int64, int32, float64, float32, utf8, bool, date32, \
             timestamp, timestamp[s|ms|us|ns], timestamp[us, +00:00] or an arrow type such as \
             Decimal128(10, 2))"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_by_common_and_arrow_names() {
        assert_eq!(parse_type("int64").unwrap(), DataType::Int64);
        assert_eq!(parse_type(" Float64 ").unwrap(), DataType::Float64);
        assert_eq!(parse_type("string").unwrap(), DataType::Utf8);
        assert_eq!(
            parse_type("timestamp").unwrap(),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(
            parse_type("timestamp[ms, tz=+01:00]").unwrap(),
            DataType::Timestamp(TimeUnit::Millisecond, Some("+01:00".into()))
        );
        assert_eq!(
            parse_type("TIMESTAMP[NS,Z]").unwrap(),
            DataType::Timestamp(TimeUnit::Nanosecond, Some("Z".into()))
        );
        assert_eq!(
            parse_type("Decimal128(10, 2)").unwrap(),
            DataType::Decimal128(10, 2)
        );
        assert!(parse_type("timestamp[h]").unwrap_err().contains("unit 'h'"));
        assert!(
            parse_type("int65")
                .unwrap_err()
                .contains("unknown type 'int65'")
        );
    }
}
