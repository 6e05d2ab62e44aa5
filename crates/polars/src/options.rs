//! `load_args` and `save_args` of the Polars datasets, named as
//! kedro-datasets passes them to `polars.read_*`/`scan_*`/`write_*`.
//!
//! Unknown keys are refused (rather than ignored) so a typo or an option
//! tandem does not implement is an error naming the key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The file formats the datasets read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Delimited text.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl FileFormat {
    /// The name as written in `file_format`.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Parquet => "parquet",
        }
    }
}

/// `null_values`: one string, several, or one per column.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum NullValues {
    /// The same null marker for every column.
    One(String),
    /// Several null markers for every column.
    Many(Vec<String>),
    /// A marker per column.
    Named(BTreeMap<String, String>),
}

/// CSV `load_args` (`polars.read_csv` / `scan_csv` keywords).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CsvLoadArgs {
    /// Field separator, one ASCII character (default `,`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "sep")]
    pub separator: Option<String>,
    /// Whether the first row names the columns (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_header: Option<bool>,
    /// Rows skipped before the header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_rows: Option<usize>,
    /// Strings read as null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_values: Option<NullValues>,
    /// Rows read to infer the schema; `null` reads them all.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "explicit_null"
    )]
    pub infer_schema_length: Option<Option<usize>>,
    /// Quote character, or `null` for none (default `"`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "explicit_null"
    )]
    pub quote_char: Option<Option<String>>,
    /// Read at most this many rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_rows: Option<usize>,
    /// Read only these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Parse date and datetime strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub try_parse_dates: Option<bool>,
    /// Rows with parse errors become nulls instead of failing the load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_errors: Option<bool>,
    /// Lines starting with this prefix are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_prefix: Option<String>,
    /// Rows with more fields than the header are truncated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate_ragged_lines: Option<bool>,
    /// Reduce memory use at some speed cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_memory: Option<bool>,
    /// Put the result in one chunk (kedro-datasets' default is true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rechunk: Option<bool>,
}

/// CSV `save_args` (`DataFrame.write_csv` keywords).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSaveArgs {
    /// Field separator, one ASCII character (default `,`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "sep")]
    pub separator: Option<String>,
    /// Write the header row (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_header: Option<bool>,
    /// How nulls are written (default empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_value: Option<String>,
    /// Quote character (default `"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_char: Option<String>,
    /// Line terminator (default `\n`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_terminator: Option<String>,
    /// chrono format for dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    /// chrono format for datetimes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime_format: Option<String>,
    /// Decimal places written for floats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub float_precision: Option<usize>,
    /// Start the file with a UTF-8 byte order mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_bom: Option<bool>,
}

/// Parquet `load_args` (`polars.read_parquet` / `scan_parquet` keywords).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetLoadArgs {
    /// Read only these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Read at most this many rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_rows: Option<usize>,
    /// Reduce memory use at some speed cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_memory: Option<bool>,
    /// Put the result in one chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rechunk: Option<bool>,
    /// Use row-group statistics to skip data (scans only; default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_statistics: Option<bool>,
}

/// Parquet `save_args` (`DataFrame.write_parquet` keywords).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetSaveArgs {
    /// `zstd` (Polars' default), `snappy`, `gzip`, `brotli`, `lz4` or `uncompressed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// The codec's level (zstd 1-22, gzip 0-9, brotli 0-11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<i32>,
    /// Write column statistics (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<bool>,
    /// Rows per row group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_group_size: Option<usize>,
    /// Data page size limit, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_page_size: Option<usize>,
}

/// Keeps an explicit `null` apart from an absent key.
fn explicit_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
