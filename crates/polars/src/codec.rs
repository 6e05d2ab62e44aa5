//! Reading, writing and scanning one file format with Polars' own readers
//! and writers, configured from validated `load_args`/`save_args`.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use polars::polars_utils::compression::{BrotliLevel, GzipLevel, ZstdLevel};
use polars::prelude::NullValues as PolarsNullValues;
use polars::prelude::{
    CsvParseOptions, CsvReadOptions, CsvWriter, DataFrame, Expr, HiveOptions, LazyCsvReader,
    LazyFileListReader, LazyFrame, ParquetCompression, ParquetReader, ParquetWriter, PlRefPath,
    PlSmallStr, PolarsResult, ScanArgsParquet, ScanSources, SerReader, SerWriter,
    StatisticsOptions, col,
};
use polars_buffer::Buffer;
use tandem_catalog::Error;

use crate::options::{
    CsvLoadArgs, CsvSaveArgs, FileFormat, NullValues, ParquetLoadArgs, ParquetSaveArgs,
};

/// One format with its arguments, checked when the dataset is built.
#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per dataset, built once; boxing buys nothing"
)]
pub(crate) enum Codec {
    Csv {
        load: CsvLoadArgs,
        save: CsvSaveArgs,
    },
    Parquet {
        load: ParquetLoadArgs,
        save: ParquetSaveArgs,
    },
}

impl Codec {
    /// Parses and checks the arguments of `format` for entry `entry`.
    pub(crate) fn parse(
        entry: &str,
        format: FileFormat,
        load_args: Option<serde_json::Value>,
        save_args: Option<serde_json::Value>,
    ) -> Result<Codec, Error> {
        let codec = match format {
            FileFormat::Csv => Codec::Csv {
                load: parse_args(entry, "load_args", load_args)?,
                save: parse_args(entry, "save_args", save_args)?,
            },
            FileFormat::Parquet => Codec::Parquet {
                load: parse_args(entry, "load_args", load_args)?,
                save: parse_args(entry, "save_args", save_args)?,
            },
        };
        codec.check(entry)?;
        Ok(codec)
    }

    fn check(&self, entry: &str) -> Result<(), Error> {
        match self {
            Codec::Csv { load, save } => {
                for (field, value) in [
                    ("load_args.separator", load.separator.as_deref()),
                    (
                        "load_args.quote_char",
                        load.quote_char.clone().flatten().as_deref(),
                    ),
                    ("save_args.separator", save.separator.as_deref()),
                    ("save_args.quote_char", save.quote_char.as_deref()),
                ] {
                    if let Some(value) = value
                        && value.len() != 1
                    {
                        return Err(Error::config(
                            entry,
                            format!("{field} must be one ASCII character, got {value:?}"),
                        ));
                    }
                }
                Ok(())
            }
            Codec::Parquet { save, .. } => compression(save)
                .map(|_| ())
                .map_err(|message| Error::config(entry, format!("save_args: {message}"))),
        }
    }

    /// The format's name, for errors.
    pub(crate) fn format(&self) -> FileFormat {
        match self {
            Codec::Csv { .. } => FileFormat::Csv,
            Codec::Parquet { .. } => FileFormat::Parquet,
        }
    }

    /// `describe` details.
    pub(crate) fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        let (load, save) = match self {
            Codec::Csv { load, save } => (serde_json::to_value(load), serde_json::to_value(save)),
            Codec::Parquet { load, save } => {
                (serde_json::to_value(load), serde_json::to_value(save))
            }
        };
        let mut details = serde_json::Map::new();
        for (key, args) in [("load_args", load), ("save_args", save)] {
            if let Ok(serde_json::Value::Object(map)) = args
                && !map.is_empty()
            {
                details.insert(key.to_owned(), serde_json::Value::Object(map));
            }
        }
        details
    }

    /// The frame stored in `bytes`.
    pub(crate) fn read(&self, bytes: Bytes, location: &str) -> Result<DataFrame, Error> {
        let result = match self {
            Codec::Csv { load, .. } => csv_read_options(load)
                .into_reader_with_file_handle(Cursor::new(bytes))
                .finish(),
            Codec::Parquet { load, .. } => ParquetReader::new(Cursor::new(bytes))
                .with_columns(load.columns.clone())
                .with_slice(load.n_rows.map(|n| (0, n)))
                .set_low_memory(load.low_memory.unwrap_or(false))
                .finish()
                .map(|mut frame| {
                    if load.rechunk.unwrap_or(false) {
                        frame.rechunk_mut();
                    }
                    frame
                }),
        };
        result.map_err(|e| self.error(location, e))
    }

    /// The bytes to store for `frame`.
    pub(crate) fn write(&self, frame: &mut DataFrame, location: &str) -> Result<Bytes, Error> {
        let mut buffer = Vec::new();
        let result = match self {
            Codec::Csv { save, .. } => {
                let mut writer = CsvWriter::new(&mut buffer)
                    .include_header(save.include_header.unwrap_or(true))
                    .include_bom(save.include_bom.unwrap_or(false))
                    .with_separator(byte(save.separator.as_deref(), b','))
                    .with_quote_char(byte(save.quote_char.as_deref(), b'"'))
                    .with_date_format(save.date_format.as_deref().map(PlSmallStr::from_str))
                    .with_datetime_format(save.datetime_format.as_deref().map(PlSmallStr::from_str))
                    .with_float_precision(save.float_precision);
                if let Some(null) = &save.null_value {
                    writer = writer.with_null_value(PlSmallStr::from_str(null));
                }
                if let Some(terminator) = &save.line_terminator {
                    writer = writer.with_line_terminator(PlSmallStr::from_str(terminator));
                }
                writer.finish(frame)
            }
            Codec::Parquet { save, .. } => {
                let statistics = if save.statistics.unwrap_or(true) {
                    StatisticsOptions::default()
                } else {
                    StatisticsOptions {
                        min_value: false,
                        max_value: false,
                        distinct_count: false,
                        null_count: false,
                        binary_statistics_truncate_length: None,
                    }
                };
                match compression(save) {
                    Ok(compression) => ParquetWriter::new(&mut buffer)
                        .with_compression(compression)
                        .with_statistics(statistics)
                        .with_row_group_size(save.row_group_size)
                        .with_data_page_size(save.data_page_size)
                        .finish(frame)
                        .map(|_| ()),
                    Err(message) => return Err(self.error(location, message)),
                }
            }
        };
        result.map_err(|e| self.error(location, e))?;
        Ok(Bytes::from(buffer))
    }

    /// A lazy scan of the local file at `path`: nothing is read until the
    /// frame is collected, and Polars pushes projections and filters into it.
    pub(crate) fn scan_path(&self, path: &Path, location: &str) -> Result<LazyFrame, Error> {
        let path = path
            .to_str()
            .ok_or_else(|| self.error(location, "the path is not valid UTF-8"))?;
        let path = PlRefPath::new(path);
        let scan = match self {
            Codec::Csv { load, .. } => csv_scan(load, LazyCsvReader::new(path)),
            Codec::Parquet { load, .. } => {
                LazyFrame::scan_parquet(path, scan_args(load)).map(|f| select(f, &load.columns))
            }
        };
        scan.map_err(|e| self.error(location, e))
    }

    /// A lazy query over bytes already read (object stores and `memory://`).
    pub(crate) fn scan_bytes(&self, bytes: Bytes, location: &str) -> Result<LazyFrame, Error> {
        let sources = || ScanSources::Buffers(Arc::from([Buffer::from_owner(bytes.clone())]));
        let scan = match self {
            Codec::Csv { load, .. } => csv_scan(load, LazyCsvReader::new_with_sources(sources())),
            Codec::Parquet { load, .. } => {
                // Hive partitions are directories; a buffer has none.
                let args = ScanArgsParquet {
                    hive_options: HiveOptions::new_disabled(),
                    ..scan_args(load)
                };
                LazyFrame::scan_parquet_sources(sources(), args).map(|f| select(f, &load.columns))
            }
        };
        scan.map_err(|e| self.error(location, e))
    }

    pub(crate) fn error(&self, location: &str, message: impl ToString) -> Error {
        Error::Format {
            format: self.format().name(),
            location: location.to_owned(),
            message: message.to_string(),
        }
    }
}

fn parse_args<T: serde::de::DeserializeOwned + Default>(
    entry: &str,
    key: &str,
    value: Option<serde_json::Value>,
) -> Result<T, Error> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(value) => {
            T::deserialize(value).map_err(|e| Error::config(entry, format!("{key}: {e}")))
        }
    }
}

/// The byte of a one-character option checked by `Codec::check`.
fn byte(value: Option<&str>, default: u8) -> u8 {
    value
        .and_then(|v| v.as_bytes().first().copied())
        .unwrap_or(default)
}

fn null_values(values: &Option<NullValues>) -> Option<PolarsNullValues> {
    values.as_ref().map(|values| match values {
        NullValues::One(v) => PolarsNullValues::AllColumnsSingle(PlSmallStr::from_str(v)),
        NullValues::Many(vs) => {
            PolarsNullValues::AllColumns(vs.iter().map(|v| PlSmallStr::from_str(v)).collect())
        }
        NullValues::Named(map) => PolarsNullValues::Named(
            map.iter()
                .map(|(k, v)| (PlSmallStr::from_str(k), PlSmallStr::from_str(v)))
                .collect(),
        ),
    })
}

fn quote(load: &CsvLoadArgs) -> Option<u8> {
    match &load.quote_char {
        None => Some(b'"'),
        Some(None) => None,
        Some(Some(q)) => Some(byte(Some(q), b'"')),
    }
}

fn infer_length(load: &CsvLoadArgs) -> Option<usize> {
    load.infer_schema_length.unwrap_or(Some(100))
}

fn csv_read_options(load: &CsvLoadArgs) -> CsvReadOptions {
    let mut parse = CsvParseOptions::default()
        .with_separator(byte(load.separator.as_deref(), b','))
        .with_quote_char(quote(load))
        .with_null_values(null_values(&load.null_values))
        .with_try_parse_dates(load.try_parse_dates.unwrap_or(false))
        .with_truncate_ragged_lines(load.truncate_ragged_lines.unwrap_or(false));
    if let Some(prefix) = &load.comment_prefix {
        parse = parse.with_comment_prefix(Some(prefix.as_str()));
    }
    CsvReadOptions::default()
        .with_has_header(load.has_header.unwrap_or(true))
        .with_skip_rows(load.skip_rows.unwrap_or(0))
        .with_n_rows(load.n_rows)
        .with_infer_schema_length(infer_length(load))
        .with_ignore_errors(load.ignore_errors.unwrap_or(false))
        .with_low_memory(load.low_memory.unwrap_or(false))
        .with_rechunk(load.rechunk.unwrap_or(true))
        .with_columns(
            load.columns
                .as_ref()
                .map(|cols| cols.iter().map(|c| PlSmallStr::from_str(c)).collect()),
        )
        .with_parse_options(parse)
}

fn csv_scan(load: &CsvLoadArgs, reader: LazyCsvReader) -> PolarsResult<LazyFrame> {
    let mut reader = reader
        .with_separator(byte(load.separator.as_deref(), b','))
        .with_quote_char(quote(load))
        .with_null_values(null_values(&load.null_values))
        .with_try_parse_dates(load.try_parse_dates.unwrap_or(false))
        .with_truncate_ragged_lines(load.truncate_ragged_lines.unwrap_or(false))
        .with_has_header(load.has_header.unwrap_or(true))
        .with_skip_rows(load.skip_rows.unwrap_or(0))
        .with_n_rows(load.n_rows)
        .with_infer_schema_length(infer_length(load))
        .with_ignore_errors(load.ignore_errors.unwrap_or(false))
        .with_low_memory(load.low_memory.unwrap_or(false));
    if let Some(prefix) = &load.comment_prefix {
        reader = reader.with_comment_prefix(Some(PlSmallStr::from_str(prefix)));
    }
    reader.finish().map(|f| select(f, &load.columns))
}

fn scan_args(load: &ParquetLoadArgs) -> ScanArgsParquet {
    ScanArgsParquet {
        n_rows: load.n_rows,
        low_memory: load.low_memory.unwrap_or(false),
        rechunk: load.rechunk.unwrap_or(false),
        use_statistics: load.use_statistics.unwrap_or(true),
        ..ScanArgsParquet::default()
    }
}

fn select(frame: LazyFrame, columns: &Option<Vec<String>>) -> LazyFrame {
    match columns {
        None => frame,
        Some(columns) => frame.select(
            columns
                .iter()
                .map(|c| col(c.as_str()))
                .collect::<Vec<Expr>>(),
        ),
    }
}

/// The codec `save_args` ask for; Polars' default is zstd.
fn compression(save: &ParquetSaveArgs) -> Result<ParquetCompression, String> {
    let level = save.compression_level;
    let name = save.compression.as_deref().unwrap_or("zstd");
    let bad_level = |e: polars::prelude::PolarsError| format!("compression_level: {e}");
    Ok(match name.to_ascii_lowercase().as_str() {
        "uncompressed" | "none" => ParquetCompression::Uncompressed,
        "snappy" => ParquetCompression::Snappy,
        "lz4" => ParquetCompression::Lz4Raw,
        "zstd" => ParquetCompression::Zstd(
            level
                .map(ZstdLevel::try_new)
                .transpose()
                .map_err(bad_level)?,
        ),
        "gzip" => ParquetCompression::Gzip(
            level
                .map(|l| {
                    u8::try_from(l)
                        .map_err(|_| format!("compression_level: {l} is not a gzip level (0-9)"))
                        .and_then(|l| GzipLevel::try_new(l).map_err(bad_level))
                })
                .transpose()?,
        ),
        "brotli" => ParquetCompression::Brotli(
            level
                .map(|l| {
                    u32::try_from(l)
                        .map_err(|_| format!("compression_level: {l} is not a brotli level (0-11)"))
                        .and_then(|l| BrotliLevel::try_new(l).map_err(bad_level))
                })
                .transpose()?,
        ),
        other => {
            return Err(format!(
                "unknown compression {other:?}; expected one of zstd, snappy, gzip, brotli, lz4, \
                 uncompressed"
            ));
        }
    })
}
