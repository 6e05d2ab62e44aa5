//! Checks on a parquet file's pages that the parquet reader leaves out.
//!
//! Each page states its size once decompressed and how many values it
//! holds, and the reader (60.1) takes both at their word: it reserves
//! room for a dictionary page's stated count of values before decoding
//! one (a 2 kB file asked for 2.5 GB), and decompresses a page into the
//! size it states (compression makes gigabytes of a few kilobytes). So
//! before the reader sees a file, the page headers of every column chunk
//! are read here, without decompressing anything: a dictionary page must
//! have room for the values it states, and what the pages decompress to,
//! and the values they hold, must be within the [`Budget`].
//!
//! Page headers are Thrift structs in the compact protocol; this reads
//! the few fields it checks and skips the others.

use parquet::basic::Type as PhysicalType;
use parquet::file::metadata::ParquetMetaData;

use super::limits::Budget;
use crate::error::Error;

fn invalid(message: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("cannot read the parquet file: {message}"))
}

/// Checks that every column chunk of `file` lies within it (the reader
/// panics on a negative offset or size) and the headers of its pages.
pub(crate) fn check_file(
    metadata: &ParquetMetaData,
    file: &[u8],
    budget: Budget,
) -> Result<(), Error> {
    let mut decompressed = 0_usize;
    let mut values = 0_usize;
    for column in metadata.row_groups().iter().flat_map(|g| g.columns()) {
        let start = column
            .dictionary_page_offset()
            .unwrap_or(column.data_page_offset());
        let len = column.compressed_size();
        let range = usize::try_from(start)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(start, len)| Some((start, start.checked_add(len)?)))
            .filter(|(_, end)| *end <= file.len());
        let Some((start, end)) = range else {
            return Err(invalid(format!(
                "column chunk '{}' of {len} bytes at {start} is outside the file's {} bytes",
                column.column_path(),
                file.len()
            )));
        };
        let descr = column.column_descr();
        // The fewest bytes a PLAIN dictionary value takes, in eighths (a
        // boolean takes a bit).
        let min_eighths: usize = match descr.physical_type() {
            PhysicalType::BOOLEAN => 1,
            PhysicalType::INT32 | PhysicalType::FLOAT | PhysicalType::BYTE_ARRAY => 32,
            PhysicalType::INT64 | PhysicalType::DOUBLE => 64,
            PhysicalType::INT96 => 96,
            PhysicalType::FIXED_LEN_BYTE_ARRAY => {
                usize::try_from(descr.type_length()).map_or(8, |n| n.max(1) * 8)
            }
        };
        let mut at = start;
        while at < end {
            let mut reader = Compact::new(&file[at..end]);
            let page = reader.page_header()?;
            at += reader.at;
            let compressed = usize::try_from(page.compressed_size)
                .ok()
                .filter(|size| *size <= end - at)
                .ok_or_else(|| {
                    invalid(format!(
                        "a page of {} bytes in column chunk '{}' of {len} bytes",
                        page.compressed_size,
                        column.column_path(),
                    ))
                })?;
            at += compressed;
            let uncompressed = usize::try_from(page.uncompressed_size)
                .map_err(|_| invalid(format!("a page of {} bytes", page.uncompressed_size)))?;
            decompressed = decompressed.saturating_add(uncompressed);
            budget.check_bytes(decompressed, "pages")?;
            if let Some(count) = page.dictionary_values {
                let count = usize::try_from(count).ok().filter(|count| {
                    count.saturating_mul(min_eighths) <= uncompressed.saturating_mul(8)
                });
                if count.is_none() {
                    return Err(invalid(format!(
                        "a dictionary page of {uncompressed} bytes states {} values",
                        page.dictionary_values.unwrap_or_default()
                    )));
                }
            }
            if let Some(count) = page.data_values {
                let count = usize::try_from(count)
                    .map_err(|_| invalid(format!("a data page of {count} values")))?;
                values = values.saturating_add(count);
                budget.check_values(values, "values in data pages")?;
            }
        }
    }
    Ok(())
}

/// The fields of a page header that are checked.
#[derive(Debug, Default)]
struct PageHeader {
    uncompressed_size: i32,
    compressed_size: i32,
    /// The values of a dictionary page.
    dictionary_values: Option<i32>,
    /// The values (levels, nulls included) of a data page.
    data_values: Option<i32>,
}

/// Compact protocol types.
const STOP: u8 = 0;
const TRUE: u8 = 1;
const FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;
const UUID: u8 = 13;

/// How deep skipped structs, lists and maps may nest.
const MAX_DEPTH: usize = 32;

/// A compact-protocol reader over a page header's bytes.
struct Compact<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Compact<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Compact { bytes, at: 0 }
    }

    fn truncated() -> Error {
        invalid("a truncated or malformed page header")
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let byte = *self.bytes.get(self.at).ok_or_else(Self::truncated)?;
        self.at += 1;
        Ok(byte)
    }

    fn skip_bytes(&mut self, n: usize) -> Result<(), Error> {
        self.at = self
            .at
            .checked_add(n)
            .filter(|at| *at <= self.bytes.len())
            .ok_or_else(Self::truncated)?;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Self::truncated())
    }

    fn zigzag(&mut self) -> Result<i64, Error> {
        let n = self.varint()?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    fn i32(&mut self, field_type: u8) -> Result<i32, Error> {
        if field_type != I32 {
            return Err(Self::truncated());
        }
        i32::try_from(self.zigzag()?).map_err(|_| Self::truncated())
    }

    /// The next field's id and type; `None` at the end of the struct.
    fn field(&mut self, last: i16) -> Result<Option<(i16, u8)>, Error> {
        let header = self.byte()?;
        if header == STOP {
            return Ok(None);
        }
        let field_type = header & 0x0f;
        let delta = header >> 4;
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).map_err(|_| Self::truncated())?
        } else {
            last.checked_add(i16::from(delta))
                .ok_or_else(Self::truncated)?
        };
        Ok(Some((id, field_type)))
    }

    fn skip(&mut self, value_type: u8, depth: usize) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(Self::truncated());
        }
        match value_type {
            // A boolean field is its type; a boolean in a list is a byte.
            TRUE | FALSE => Ok(()),
            BYTE => self.skip_bytes(1),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.skip_bytes(8),
            UUID => self.skip_bytes(16),
            BINARY => {
                let len = usize::try_from(self.varint()?).map_err(|_| Self::truncated())?;
                self.skip_bytes(len)
            }
            LIST | SET => {
                let header = self.byte()?;
                let element = header & 0x0f;
                let len = match header >> 4 {
                    15 => usize::try_from(self.varint()?).map_err(|_| Self::truncated())?,
                    len => usize::from(len),
                };
                for _ in 0..len {
                    if matches!(element, TRUE | FALSE) {
                        self.skip_bytes(1)?;
                    } else {
                        self.skip(element, depth + 1)?;
                    }
                }
                Ok(())
            }
            MAP => {
                let len = usize::try_from(self.varint()?).map_err(|_| Self::truncated())?;
                if len == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                for _ in 0..len {
                    for element in [types >> 4, types & 0x0f] {
                        if matches!(element, TRUE | FALSE) {
                            self.skip_bytes(1)?;
                        } else {
                            self.skip(element, depth + 1)?;
                        }
                    }
                }
                Ok(())
            }
            STRUCT => {
                let mut last = 0;
                while let Some((id, field_type)) = self.field(last)? {
                    self.skip(field_type, depth + 1)?;
                    last = id;
                }
                Ok(())
            }
            _ => Err(Self::truncated()),
        }
    }

    /// The `num_values` (field 1) of a dictionary or data page header.
    fn num_values(&mut self) -> Result<Option<i32>, Error> {
        let mut values = None;
        let mut last = 0;
        while let Some((id, field_type)) = self.field(last)? {
            if id == 1 {
                values = Some(self.i32(field_type)?);
            } else {
                self.skip(field_type, 1)?;
            }
            last = id;
        }
        Ok(values)
    }

    /// A `PageHeader` struct.
    fn page_header(&mut self) -> Result<PageHeader, Error> {
        let mut header = PageHeader::default();
        let mut last = 0;
        while let Some((id, field_type)) = self.field(last)? {
            match (id, field_type) {
                (2, _) => header.uncompressed_size = self.i32(field_type)?,
                (3, _) => header.compressed_size = self.i32(field_type)?,
                // data_page_header and data_page_header_v2.
                (5 | 8, STRUCT) => header.data_values = self.num_values()?,
                (7, STRUCT) => header.dictionary_values = self.num_values()?,
                _ => self.skip(field_type, 0)?,
            }
            last = id;
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_headers_are_read_and_skipped() {
        let bytes = [
            0x15, 0x04, // 1 type: i32 2 (DICTIONARY_PAGE)
            0x15, 0x28, // 2 uncompressed_page_size: i32 20
            0x15, 0x14, // 3 compressed_page_size: i32 10
            0x15, 0x02, // 4 crc: i32 1
            0x2c, 0x00, // 6: an empty struct
            0x19, 0x28, 0x01, b'a', 0x00, // 7: a list of 2 binaries, not a struct
            0x2b, 0x01, 0x51, 0x02, 0x01, // 9: a map of 1 i32 to a boolean
            0x0c, 0x28, 0x00, // 20 (its id in full): an empty struct
            0x0c, 0x0e, // 7 (its id in full): the dictionary page header
            0x15, 0x06, // 1 num_values: i32 3
            0x15, 0x00, // 2 encoding: i32 0
            0x11, // 3 is_sorted: true
            0x00, // end of the dictionary page header
            0x00, // end of the page header
        ];
        let mut reader = Compact::new(&bytes);
        let header = reader.page_header().unwrap();
        assert_eq!(reader.at, bytes.len());
        assert_eq!(header.uncompressed_size, 20);
        assert_eq!(header.compressed_size, 10);
        assert_eq!(header.dictionary_values, Some(3));
        assert_eq!(header.data_values, None);
        for end in 0..bytes.len() {
            assert!(Compact::new(&bytes[..end]).page_header().is_err(), "{end}");
        }
    }
}
