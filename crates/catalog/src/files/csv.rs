//! `CSVDataset`: an arrow `RecordBatch` as delimited text.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::Data;

use super::columns::{Dtype, Header, NaList, NaValues, NameOrIndex, Shape, SkipRows, UseCols};
use super::compression::{self, Codec, CompressionSetting};
use super::csv_pandas::{self, TextTypes};
use super::csv_write;
use super::{FileFormat, FileOptions, args_details, delimiter_byte, format_error, record_batches};
use crate::error::Error;
use crate::registry::DatasetConfig;

/// Rows read to infer column types with `load_args.infer_rows` (arrow's
/// reader, which looks at a prefix of the file).
const DEFAULT_INFER_ROWS: usize = 1000;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    #[serde(default, skip_serializing_if = "is_default_header")]
    header: Header,
    /// `sep` is pandas' name for it.
    #[serde(alias = "sep", skip_serializing_if = "Option::is_none")]
    delimiter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<Vec<ColumnSpec>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    infer_rows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usecols: Option<Vec<NameOrIndex>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nrows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skiprows: Option<SkipRows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    na_values: Option<NaList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_default_na: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_dates: Option<Vec<NameOrIndex>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dayfirst: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decimal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quotechar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dtype: Option<Dtype>,
    /// pandas' parser (`c`, `python`, `pyarrow`): accepted, tandem has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<String>,
    #[serde(
        default,
        deserialize_with = "compression::explicit",
        skip_serializing_if = "Option::is_none"
    )]
    compression: CompressionSetting,
}

fn is_default_header(header: &Header) -> bool {
    *header == Header::Default
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
    /// strftime format for timestamp and date columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    date_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decimal: Option<String>,
    /// Python's `csv` constants: 0 minimal, 1 all, 2 non-numeric, 3 none.
    #[serde(skip_serializing_if = "Option::is_none")]
    quoting: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quotechar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    na_rep: Option<String>,
    /// kedro-datasets ignores it (the file is opened by fsspec); tandem
    /// honours it, as `fs_args.open_args_save.encoding` is honoured.
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lineterminator: Option<String>,
    #[serde(
        default,
        deserialize_with = "compression::explicit",
        skip_serializing_if = "Option::is_none"
    )]
    compression: CompressionSetting,
}

/// The pandas-style reader's settings.
#[derive(Debug)]
struct PandasRead {
    delimiter: u8,
    quote: u8,
    types: TextTypes,
    dtype: Vec<(String, DataType)>,
    dtype_all: Option<DataType>,
    usecols: Option<UseCols>,
}

/// Delimited text in one `RecordBatch`. By default read as
/// `pandas.read_csv` reads it (every value looked at, pandas' options);
/// with `load_args.schema` or `infer_rows`, with arrow's CSV reader.
#[derive(Debug)]
pub struct CsvFormat {
    load_args: LoadArgs,
    save_args: SaveArgs,
    read_format: arrow_csv::reader::Format,
    schema: Option<SchemaRef>,
    pandas: Option<PandasRead>,
    encoding: &'static encoding_rs::Encoding,
    save_encoding: &'static encoding_rs::Encoding,
    save_header: bool,
    save_delimiter: u8,
    load_codec: Option<Codec>,
    save_codec: Option<Codec>,
}

impl FileFormat for CsvFormat {
    const TYPE_NAME: &'static str = "CSVDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let (filepath, load_args, save_args): (String, LoadArgs, SaveArgs) =
            FileOptions::parse(config)?;
        let entry = config.name.as_str();
        let invalid = |e: String| Error::config(entry, e);
        let byte = |field: &str, value: &Option<String>, default: u8| {
            value
                .as_deref()
                .map_or(Ok(default), |d| delimiter_byte(entry, field, d))
        };
        let arrow_path = load_args.schema.is_some() || load_args.infer_rows.is_some();
        if let Some(engine) = &load_args.engine {
            if !["c", "python", "pyarrow", "python-fwf"].contains(&engine.as_str()) {
                return Err(invalid(format!(
                    "load_args.engine: unknown engine '{engine}' (pandas' engines: c, python, \
                     pyarrow)"
                )));
            }
            tracing::debug!(
                dataset = entry,
                engine = engine.as_str(),
                "load_args.engine accepted: tandem has one CSV reader"
            );
        }
        let header = match load_args.header {
            Header::Row(r) if r > 0 && arrow_path => {
                return Err(invalid(
                    "load_args.header: a row number other than 0 cannot be combined with \
                     schema or infer_rows"
                        .to_owned(),
                ));
            }
            h => h,
        };
        if arrow_path {
            let pandas_only = [
                ("names", load_args.names.is_some()),
                ("usecols", load_args.usecols.is_some()),
                ("nrows", load_args.nrows.is_some()),
                ("skiprows", load_args.skiprows.is_some()),
                ("na_values", load_args.na_values.is_some()),
                ("keep_default_na", load_args.keep_default_na.is_some()),
                ("parse_dates", load_args.parse_dates.is_some()),
                ("decimal", load_args.decimal.is_some()),
                ("dtype", load_args.dtype.is_some()),
            ];
            if let Some((key, _)) = pandas_only.iter().find(|(_, set)| *set) {
                return Err(invalid(format!(
                    "load_args.{key} cannot be combined with load_args.schema or infer_rows \
                     (arrow's reader): drop schema/infer_rows and use pandas' dtype instead"
                )));
            }
        }
        let delimiter = byte("load_args.delimiter", &load_args.delimiter, b',')?;
        let quote = byte("load_args.quotechar", &load_args.quotechar, b'"')?;
        let read_format = arrow_csv::reader::Format::default()
            .with_header(header.row().is_some())
            .with_delimiter(delimiter)
            .with_quote(quote);
        let schema = load_args
            .schema
            .as_deref()
            .map(|columns| explicit_schema(columns).map_err(invalid))
            .transpose()?;
        let pandas = if arrow_path {
            None
        } else {
            let (dtype_all, dtype) = match &load_args.dtype {
                None => (None, Vec::new()),
                Some(d) => d.resolve().map_err(invalid)?,
            };
            let types = TextTypes {
                na: NaValues::new(
                    load_args.keep_default_na.unwrap_or(true),
                    load_args.na_values.as_ref().map_or(&[][..], NaList::values),
                ),
                decimal: byte("load_args.decimal", &load_args.decimal, b'.')?,
                parse_dates: load_args.parse_dates.clone().unwrap_or_default(),
                date_format: load_args.date_format.clone(),
                dayfirst: load_args.dayfirst.unwrap_or(false),
            };
            Some(PandasRead {
                delimiter,
                quote,
                types,
                dtype,
                dtype_all,
                usecols: load_args.usecols.clone().map(UseCols::List),
            })
        };
        if save_args.index == Some(true) {
            return Err(invalid(
                "save_args.index: true is not supported: arrow tables have no index to write"
                    .to_owned(),
            ));
        }
        let encoding = match load_args
            .encoding
            .as_deref()
            .or(fs_encoding(config, "open_args_load"))
        {
            Some(label) => csv_pandas::encoding(label)
                .map_err(|e| invalid(format!("load_args.encoding: {e}")))?,
            None => encoding_rs::UTF_8,
        };
        let save_encoding = match save_args
            .encoding
            .as_deref()
            .or(fs_encoding(config, "open_args_save"))
        {
            Some(label) => csv_pandas::encoding(label)
                .map_err(|e| invalid(format!("save_args.encoding: {e}")))?,
            None => encoding_rs::UTF_8,
        };
        if let Some(q) = save_args.quoting
            && q > 3
        {
            return Err(invalid(format!(
                "save_args.quoting: {q} is not one of Python's csv.QUOTE_MINIMAL (0), QUOTE_ALL (1), \
                 QUOTE_NONNUMERIC (2), QUOTE_NONE (3)"
            )));
        }
        byte("save_args.decimal", &save_args.decimal, b'.')?;
        byte("save_args.quotechar", &save_args.quotechar, b'"')?;
        if let Some(t) = &save_args.lineterminator
            && !matches!(t.as_str(), "\n" | "\r\n")
        {
            return Err(invalid(format!(
                "save_args.lineterminator: {t:?} is not supported (use \"\\n\" or \"\\r\\n\")"
            )));
        }
        let load_codec = compression::resolve(&load_args.compression, &filepath)
            .map_err(|e| invalid(format!("load_args.{e}")))?;
        let save_codec = compression::resolve(&save_args.compression, &filepath)
            .map_err(|e| invalid(format!("save_args.{e}")))?;
        let format = CsvFormat {
            load_codec,
            save_codec,
            read_format,
            schema,
            pandas,
            encoding,
            save_encoding,
            save_header: save_args.header.unwrap_or(true),
            save_delimiter: byte("save_args.delimiter", &save_args.delimiter, b',')?,
            load_args: LoadArgs {
                header,
                ..load_args
            },
            save_args,
        };
        Ok((filepath, format))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let text = self.encode_text(data, location)?;
        compression::compress(self.save_codec, text).map_err(|e| format_error("csv", location, e))
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        let bytes = compression::decompress(self.load_codec, bytes)
            .map_err(|e| format_error("csv", location, e))?;
        self.decode_text(bytes, location)
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        args_details(&self.load_args, &self.save_args)
    }
}

/// `fs_args.<open_args>.encoding`, Kedro's way to set a CSV's encoding.
fn fs_encoding<'c>(config: &'c DatasetConfig, open_args: &str) -> Option<&'c str> {
    config
        .options
        .get("fs_args")?
        .get(open_args)?
        .get("encoding")?
        .as_str()
}

impl CsvFormat {
    /// The table as (uncompressed) text in the save encoding.
    fn encode_text(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let batches = record_batches(data, <Self as FileFormat>::TYPE_NAME)?;
        let quote = self
            .save_args
            .quotechar
            .as_deref()
            .map_or(b'"', |q| q.as_bytes()[0]);
        let style = match self.save_args.quoting.unwrap_or(0) {
            1 => arrow_csv::QuoteStyle::Always,
            2 => arrow_csv::QuoteStyle::NonNumeric,
            3 => arrow_csv::QuoteStyle::Never,
            _ => arrow_csv::QuoteStyle::Necessary,
        };
        let mut builder = arrow_csv::WriterBuilder::new()
            .with_header(self.save_header)
            .with_delimiter(self.save_delimiter)
            .with_quote(quote)
            .with_quote_style(style)
            .with_null(self.save_args.na_rep.clone().unwrap_or_default())
            // pandas' `str(Timestamp)` form: a space, no `T`.
            .with_timestamp_format("%Y-%m-%d %H:%M:%S%.f".to_owned())
            .with_datetime_format("%Y-%m-%d %H:%M:%S%.f".to_owned())
            .with_timestamp_tz_format("%Y-%m-%d %H:%M:%S%.f%:z".to_owned());
        if self.save_args.lineterminator.as_deref() == Some("\r\n") {
            builder = builder.with_line_terminator(arrow_csv::writer::Terminator::CRLF);
        }
        if let Some(format) = &self.save_args.date_format {
            builder = builder
                .with_date_format(format.clone())
                .with_timestamp_format(format.clone())
                .with_datetime_format(format.clone())
                .with_timestamp_tz_format(format.clone());
        }
        let mut writer = builder.build(Vec::new());
        for batch in batches {
            let batch = csv_write::pandas_columns(
                batch,
                &self.save_args.decimal,
                self.save_args.date_format.is_some(),
            )
            .map_err(|e| format_error("csv", location, e))?;
            writer
                .write(&batch)
                .map_err(|e| format_error("csv", location, e))?;
        }
        let text = writer.into_inner();
        if self.save_encoding == encoding_rs::UTF_8 {
            return Ok(Bytes::from(text));
        }
        let text = String::from_utf8_lossy(&text);
        let (encoded, _, unmappable) = self.save_encoding.encode(&text);
        if unmappable {
            return Err(format_error(
                "csv",
                location,
                format!(
                    "the table holds characters {} cannot encode",
                    self.save_encoding.name()
                ),
            ));
        }
        Ok(Bytes::from(encoded.into_owned()))
    }

    /// The table in (uncompressed) `bytes`.
    fn decode_text(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        let text = csv_pandas::decode_text(&bytes, self.encoding)
            .map_err(|e| format_error("csv", location, e))?;
        match &self.pandas {
            Some(pandas) => {
                let rows = csv_pandas::records(&text, pandas.delimiter, pandas.quote)
                    .map_err(|e| format_error("csv", location, e))?;
                let shape = Shape {
                    header: self.load_args.header,
                    skiprows: self.load_args.skiprows.as_ref(),
                    names: self.load_args.names.as_deref(),
                    usecols: pandas.usecols.as_ref(),
                    nrows: self.load_args.nrows,
                    dtype: &pandas.dtype,
                    dtype_all: pandas.dtype_all.as_ref(),
                    text: Some(&pandas.types),
                };
                let batch = shape
                    .apply(rows)
                    .map_err(|e| format_error("csv", location, e))?;
                Ok(Data::new(batch))
            }
            None => self.arrow_decode(Bytes::from(text.into_owned().into_bytes()), location),
        }
    }

    /// arrow's reader, with `load_args.schema` or types inferred from the
    /// first `infer_rows` rows.
    fn arrow_decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
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
                     load_args.infer_rows, give load_args.schema, or drop both to have every \
                     row looked at)"
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
pub(super) fn parse_type(name: &str) -> Result<DataType, String> {
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
