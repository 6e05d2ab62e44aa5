//! Checks on a parquet file's structure that the parquet reader (60.1)
//! leaves out, made before it decodes anything.
//!
//! The reader takes the footer and each page header at their word: it
//! panics on a column chunk at a negative offset, reserves room for a
//! dictionary page's stated count of values before decoding one (a 2 kB
//! file asked for 2.5 GB), and zero-fills a page's stated decompressed
//! size before decompressing it (snappy and lz4 do). So the footer is
//! checked when it is read ([`check_metadata`]), and the page headers of
//! every column chunk once its bytes are fetched ([`check_chunk`]),
//! without decompressing anything:
//!
//! - the row groups' rows add up to the footer's, and every column chunk
//!   lies within the file;
//! - a page lies within its column chunk;
//! - a dictionary page has room for the values it states;
//! - the data pages of a column that is not repeated hold no more values
//!   than its row group has rows, and v2 data pages no more rows;
//! - a page decompresses to no more than its codec can make of its
//!   compressed bytes; what the pages of a file claim past that may add
//!   up to 128 MiB (a writer's rounding is never refused), no more;
//! - for a request body, the pages' decompressed sizes and their values
//!   are within its [`ParquetBudget`].
//!
//! None of these refuses a valid file, however compressible: a column
//! of one value repeated a million times is a few hundred bytes of
//! pages that state exactly those rows.

use parquet::basic::{Compression, Type as PhysicalType};
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};

use super::budget::{Counter, ParquetBudget};
use super::thrift::Compact;
use crate::error::Error;
use crate::files::format_error;

/// What the pages of a file may claim to decompress to past what their
/// codecs can make of them, in all.
const EXCESS_ALLOWANCE: usize = 128 << 20;

/// Bytes a page may decompress to past its codec's ratio: framing, and
/// pages of a few bytes.
const PAGE_SLACK: usize = 64;

fn invalid(url: &str, message: impl std::fmt::Display) -> Error {
    format_error("parquet", url, message)
}

/// Where a column chunk's pages start and how many bytes they take, when
/// neither is negative.
pub(super) fn chunk_range(chunk: &ColumnChunkMetaData) -> Option<(u64, u64)> {
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or(chunk.data_page_offset());
    Some((
        u64::try_from(start).ok()?,
        u64::try_from(chunk.compressed_size()).ok()?,
    ))
}

/// Checks the footer of a file of `file_len` bytes: the rows its row
/// groups state (returned) add up to the rows it states, every column
/// chunk lies within the file, and a body's table is within its budget.
pub(super) fn check_metadata(
    metadata: &ParquetMetaData,
    file_len: u64,
    budget: ParquetBudget,
    url: &str,
) -> Result<usize, Error> {
    let mut rows = 0_usize;
    for (index, group) in metadata.row_groups().iter().enumerate() {
        let group_rows = usize::try_from(group.num_rows()).map_err(|_| {
            invalid(
                url,
                format!("row group {index} states {} rows", group.num_rows()),
            )
        })?;
        rows = rows
            .checked_add(group_rows)
            .ok_or_else(|| invalid(url, "the row groups state more rows than can be counted"))?;
        for chunk in group.columns() {
            let range = chunk_range(chunk)
                .and_then(|(start, len)| start.checked_add(len))
                .filter(|end| *end <= file_len);
            if range.is_none() {
                let start = chunk
                    .dictionary_page_offset()
                    .unwrap_or(chunk.data_page_offset());
                return Err(invalid(
                    url,
                    format!(
                        "column chunk '{}' of {} bytes at {start} in row group {index} is \
                         outside the file's {file_len} bytes",
                        chunk.column_path().string(),
                        chunk.compressed_size(),
                    ),
                ));
            }
        }
    }
    let stated = metadata.file_metadata().num_rows();
    if usize::try_from(stated).ok() != Some(rows) {
        return Err(invalid(
            url,
            format!("the footer states {stated} rows, its row groups {rows}"),
        ));
    }
    let columns = metadata.file_metadata().schema_descr().num_columns();
    budget.check_cells(rows, columns, url)?;
    Ok(rows)
}

/// What is added up across every column chunk of a file, whose workers
/// check their chunks concurrently.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// What pages claim past what their codecs can make of them.
    excess: Counter,
    /// A body's pages, decompressed.
    decompressed: Counter,
    /// A body's data-page values.
    values: Counter,
    /// A body's decoded columns.
    pub(super) decoded: Counter,
}

/// A codec's name, and how many times its input its output can be, at
/// most.
fn max_expansion(codec: Compression) -> (&'static str, usize) {
    match codec {
        // Not decompressed: the reader takes the page's bytes as they are.
        Compression::UNCOMPRESSED => ("uncompressed", 1),
        // A 3-byte copy makes at most 64 bytes.
        Compression::SNAPPY => ("snappy", 32),
        // Each byte of a match's length adds at most 255 bytes.
        Compression::LZ4 | Compression::LZ4_RAW => ("lz4", 256),
        // Deflate's limit is 1032:1.
        Compression::GZIP(_) => ("gzip", 1032),
        // A 4-byte zstd RLE block makes 128 KiB; brotli and LZO (which
        // this build cannot decompress anyway) get the same bound.
        Compression::ZSTD(_) => ("zstd", 32 << 10),
        Compression::BROTLI(_) => ("brotli", 32 << 10),
        Compression::LZO => ("lzo", 32 << 10),
    }
}

/// The fewest bits a PLAIN value of `chunk`'s column takes: the room a
/// dictionary page needs per value it states.
fn min_value_bits(chunk: &ColumnChunkMetaData) -> usize {
    let descr = chunk.column_descr();
    match descr.physical_type() {
        PhysicalType::BOOLEAN => 1,
        // A byte array is at least its 4-byte length.
        PhysicalType::INT32 | PhysicalType::FLOAT | PhysicalType::BYTE_ARRAY => 32,
        PhysicalType::INT64 | PhysicalType::DOUBLE => 64,
        PhysicalType::INT96 => 96,
        PhysicalType::FIXED_LEN_BYTE_ARRAY => {
            usize::try_from(descr.type_length()).map_or(8, |n| n.max(1) * 8)
        }
    }
}

/// Checks the page headers of `chunk`, whose pages are `bytes`, in row
/// group `group` of `group_rows` rows. Returns the bytes of its largest
/// dictionary page.
pub(super) fn check_chunk(
    chunk: &ColumnChunkMetaData,
    group: usize,
    group_rows: usize,
    bytes: &[u8],
    budget: ParquetBudget,
    tally: &Tally,
    url: &str,
) -> Result<usize, Error> {
    let column = chunk.column_path().string();
    let at_fault = |what: String| invalid(url, format!("column '{column}': {what}"));
    let codec = chunk.compression();
    let (codec_name, ratio) = max_expansion(codec);
    let repeated = chunk.column_descr().max_rep_level() > 0;
    let min_bits = min_value_bits(chunk);
    let (mut values, mut rows, mut largest_dictionary) = (0_usize, 0_usize, 0_usize);
    let mut at = 0;
    while at < bytes.len() {
        let mut reader = Compact::new(&bytes[at..]);
        let page = reader.page_header().map_err(|_| {
            at_fault(format!(
                "a truncated or malformed page header at byte {at} of its {} in row group {group}",
                bytes.len()
            ))
        })?;
        at += reader.at;
        let compressed = usize::try_from(page.compressed_size)
            .ok()
            .filter(|size| *size <= bytes.len() - at)
            .ok_or_else(|| {
                at_fault(format!(
                    "a page of {} bytes at byte {at} of its {} in row group {group}",
                    page.compressed_size,
                    bytes.len()
                ))
            })?;
        at += compressed;
        let uncompressed = usize::try_from(page.uncompressed_size).map_err(|_| {
            at_fault(format!(
                "a page states it decompresses to {} bytes",
                page.uncompressed_size
            ))
        })?;
        // What the reader decodes the page from, and allocates for it.
        let decoded = if codec == Compression::UNCOMPRESSED {
            compressed
        } else {
            uncompressed
        };
        let allowance = compressed.saturating_mul(ratio).saturating_add(PAGE_SLACK);
        if decoded > allowance && tally.excess.add(decoded - allowance) > EXCESS_ALLOWANCE {
            return Err(at_fault(format!(
                "a page of {compressed} bytes states it decompresses to {decoded} bytes, past \
                 what {codec_name} can make of it (at most {ratio} times), and the file's pages claim \
                 more than {EXCESS_ALLOWANCE} bytes past their codecs' limits"
            )));
        }
        budget.add_bytes(&tally.decompressed, decoded, "pages", url)?;
        if let Some(count) = page.dictionary_values {
            let room = usize::try_from(count)
                .ok()
                .filter(|count| count.saturating_mul(min_bits) <= decoded.saturating_mul(8));
            if room.is_none() {
                return Err(at_fault(format!(
                    "a dictionary page of {decoded} bytes states {count} values"
                )));
            }
            largest_dictionary = largest_dictionary.max(decoded);
        }
        if let Some(count) = page.data_values {
            let count = usize::try_from(count)
                .map_err(|_| at_fault(format!("a data page states {count} values")))?;
            budget.add_values(&tally.values, count, url)?;
            values = values.saturating_add(count);
            // A value of a column that is not repeated is a row.
            if !repeated && values > group_rows {
                return Err(at_fault(format!(
                    "its data pages in row group {group} state {values} values, more than the \
                     group's {group_rows} rows"
                )));
            }
        }
        if let Some(count) = page.data_rows {
            let count = usize::try_from(count)
                .map_err(|_| at_fault(format!("a data page states {count} rows")))?;
            rows = rows.saturating_add(count);
            if rows > group_rows {
                return Err(at_fault(format!(
                    "its data pages in row group {group} state {rows} rows, more than the \
                     group's {group_rows}"
                )));
            }
        }
    }
    Ok(largest_dictionary)
}
