//! The few fields of a parquet page header that [`super::check`] needs.
//!
//! Page headers are Thrift structs in the compact protocol. The parquet
//! reader decodes them itself, but only as it reads each page, after it
//! has taken their counts at their word; this reads them first, without
//! decompressing anything, and skips every other field.

/// A page header that is truncated, malformed or of the wrong types.
#[derive(Debug)]
pub(super) struct Malformed;

/// The fields of a page header that are checked.
#[derive(Debug, Default)]
pub(super) struct PageHeader {
    pub(super) uncompressed_size: i32,
    pub(super) compressed_size: i32,
    /// The values of a dictionary page.
    pub(super) dictionary_values: Option<i32>,
    /// The values (levels, nulls included) of a v1 or v2 data page.
    pub(super) data_values: Option<i32>,
    /// The rows of a v2 data page (v1 pages do not state theirs).
    pub(super) data_rows: Option<i32>,
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

/// How deep skipped structs, lists and maps may nest: real headers nest
/// two levels (statistics in a data page header); this only stops a
/// hostile header from recursing without end.
const MAX_DEPTH: usize = 32;

/// A compact-protocol reader over the bytes from a page header on.
pub(super) struct Compact<'a> {
    bytes: &'a [u8],
    /// How many bytes have been read.
    pub(super) at: usize,
}

impl<'a> Compact<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Compact { bytes, at: 0 }
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        let byte = *self.bytes.get(self.at).ok_or(Malformed)?;
        self.at += 1;
        Ok(byte)
    }

    fn skip_bytes(&mut self, n: usize) -> Result<(), Malformed> {
        self.at = self
            .at
            .checked_add(n)
            .filter(|at| *at <= self.bytes.len())
            .ok_or(Malformed)?;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed)
    }

    fn zigzag(&mut self) -> Result<i64, Malformed> {
        let n = self.varint()?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    fn i32(&mut self, field_type: u8) -> Result<i32, Malformed> {
        if field_type != I32 {
            return Err(Malformed);
        }
        i32::try_from(self.zigzag()?).map_err(|_| Malformed)
    }

    fn length(&mut self) -> Result<usize, Malformed> {
        usize::try_from(self.varint()?).map_err(|_| Malformed)
    }

    /// The next field's id and type; `None` at the end of the struct.
    fn field(&mut self, last: i16) -> Result<Option<(i16, u8)>, Malformed> {
        let header = self.byte()?;
        if header == STOP {
            return Ok(None);
        }
        let field_type = header & 0x0f;
        let delta = header >> 4;
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).map_err(|_| Malformed)?
        } else {
            last.checked_add(i16::from(delta)).ok_or(Malformed)?
        };
        Ok(Some((id, field_type)))
    }

    /// Skips an element of a list, set or map, where a boolean is a byte.
    fn skip_element(&mut self, element: u8, depth: usize) -> Result<(), Malformed> {
        if matches!(element, TRUE | FALSE) {
            self.skip_bytes(1)
        } else {
            self.skip(element, depth + 1)
        }
    }

    fn skip(&mut self, value_type: u8, depth: usize) -> Result<(), Malformed> {
        if depth > MAX_DEPTH {
            return Err(Malformed);
        }
        match value_type {
            // A boolean field is its type.
            TRUE | FALSE => Ok(()),
            BYTE => self.skip_bytes(1),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.skip_bytes(8),
            UUID => self.skip_bytes(16),
            BINARY => {
                let len = self.length()?;
                self.skip_bytes(len)
            }
            LIST | SET => {
                let header = self.byte()?;
                let len = match header >> 4 {
                    15 => self.length()?,
                    len => usize::from(len),
                };
                for _ in 0..len {
                    self.skip_element(header & 0x0f, depth)?;
                }
                Ok(())
            }
            MAP => {
                let len = self.length()?;
                if len == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                for _ in 0..len {
                    self.skip_element(types >> 4, depth)?;
                    self.skip_element(types & 0x0f, depth)?;
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
            _ => Err(Malformed),
        }
    }

    /// `num_values` (field 1) of a dictionary or data page header, and
    /// `num_rows` (field 3) of a v2 one when `with_rows`.
    fn page_counts(&mut self, with_rows: bool) -> Result<(Option<i32>, Option<i32>), Malformed> {
        let (mut values, mut rows) = (None, None);
        let mut last = 0;
        while let Some((id, field_type)) = self.field(last)? {
            match id {
                1 => values = Some(self.i32(field_type)?),
                3 if with_rows => rows = Some(self.i32(field_type)?),
                _ => self.skip(field_type, 1)?,
            }
            last = id;
        }
        Ok((values, rows))
    }

    /// A `PageHeader` struct.
    pub(super) fn page_header(&mut self) -> Result<PageHeader, Malformed> {
        let mut header = PageHeader::default();
        let mut last = 0;
        while let Some((id, field_type)) = self.field(last)? {
            match (id, field_type) {
                (2, _) => header.uncompressed_size = self.i32(field_type)?,
                (3, _) => header.compressed_size = self.i32(field_type)?,
                (5, STRUCT) => header.data_values = self.page_counts(false)?.0,
                (7, STRUCT) => header.dictionary_values = self.page_counts(false)?.0,
                (8, STRUCT) => (header.data_values, header.data_rows) = self.page_counts(true)?,
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
    fn page_headers_are_read_and_other_fields_skipped() {
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
        assert_eq!((header.data_values, header.data_rows), (None, None));
        for end in 0..bytes.len() {
            assert!(Compact::new(&bytes[..end]).page_header().is_err(), "{end}");
        }
    }

    #[test]
    fn v2_data_page_headers_state_their_rows() {
        let bytes = [
            0x15, 0x06, // 1 type: i32 3 (DATA_PAGE_V2)
            0x15, 0x10, // 2 uncompressed_page_size: i32 8
            0x15, 0x10, // 3 compressed_page_size: i32 8
            0x5c, // 8: the data page v2 header
            0x15, 0x0a, // 1 num_values: i32 5
            0x15, 0x02, // 2 num_nulls: i32 1
            0x15, 0x06, // 3 num_rows: i32 3
            0x00, 0x00, // end of both structs
        ];
        let header = Compact::new(&bytes).page_header().unwrap();
        assert_eq!((header.data_values, header.data_rows), (Some(5), Some(3)));
        // In a v1 header, field 3 is an encoding, not a row count.
        let mut v1 = bytes;
        v1[6] = 0x2c; // field 5 instead of 8
        let header = Compact::new(&v1).page_header().unwrap();
        assert_eq!((header.data_values, header.data_rows), (Some(5), None));
    }
}
