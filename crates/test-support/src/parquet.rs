//! Parquet files for tests: small tables written, files made byte by byte
//! to state what their data does not hold, and written files patched
//! (footer, page headers) into the hostile files fuzzing found. Test code:
//! it panics on anything unexpected.
//!
//! ```
//! use parquet::file::metadata::ParquetMetaDataReader;
//! use tandem_test_support::parquet::{billion_rows, one_column, stating_rows, write_plain};
//!
//! // About 100 bytes whose footer and page state a billion rows.
//! assert!(billion_rows().len() < 128);
//! // Two rows of data, a row group stating 2^40.
//! let table = one_column("a", std::sync::Arc::new(arrow_array::Int64Array::from(vec![1, 2])));
//! let huge = stating_rows(&write_plain(&table, Default::default()), 1 << 40);
//! let footer = ParquetMetaDataReader::new()
//!     .parse_and_finish(&bytes::Bytes::from(huge))
//!     .unwrap();
//! assert_eq!(footer.row_group(0).num_rows(), 1 << 40);
//! ```

#![allow(clippy::missing_panics_doc, reason = "test fixtures panic by design")]

use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, ListBuilder};
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Compression;
use parquet::file::metadata::{
    ColumnChunkMetaData, ParquetMetaDataReader, ParquetMetaDataWriter, RowGroupMetaData,
};
use parquet::file::properties::{WriterProperties, WriterVersion};

/// A table of one column.
pub fn one_column(name: &str, array: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([(name, array)]).unwrap()
}

/// `batch` as a parquet file written with `properties`, its arrow schema
/// in the footer (as arrow's writer does by default).
pub fn write(batch: &RecordBatch, properties: WriterProperties) -> Vec<u8> {
    write_with(batch, ArrowWriterOptions::new().with_properties(properties))
}

/// `batch` as a parquet file written with `properties` and no arrow schema:
/// plain parquet, as another writer would make it.
pub fn write_plain(batch: &RecordBatch, properties: WriterProperties) -> Vec<u8> {
    let options = ArrowWriterOptions::new()
        .with_properties(properties)
        .with_skip_arrow_metadata(true);
    write_with(batch, options)
}

fn write_with(batch: &RecordBatch, options: ArrowWriterOptions) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new_with_options(&mut out, batch.schema(), options).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    out
}

/// 5,000 rows of a float column with nulls (`a`), strings of ten categories
/// (`c`) and lists of int64 pairs with nulls (`i`): written with
/// [`paged`], pages of every kind (dictionaries, many data pages, levels).
pub fn every_page_kind() -> RecordBatch {
    let mut lists = ListBuilder::new(Int64Builder::new());
    for i in 0..5_000_i64 {
        if i % 7 == 0 {
            lists.append_null();
        } else {
            lists.values().append_slice(&[i, -i]);
            lists.append(true);
        }
    }
    RecordBatch::try_from_iter([
        (
            "a",
            Arc::new(Float64Array::from_iter(
                (0..5_000).map(|i| (i % 3 != 0).then_some(f64::from(i))),
            )) as ArrayRef,
        ),
        (
            "c",
            Arc::new(StringArray::from_iter_values(
                (0..5_000).map(|i| format!("category {}", i % 10)),
            )),
        ),
        ("i", Arc::new(lists.finish())),
    ])
    .unwrap()
}

/// Data pages of at most 500 rows (written 100 at a time), of `version`,
/// compressed with `compression`.
pub fn paged(version: WriterVersion, compression: Compression) -> WriterProperties {
    WriterProperties::builder()
        .set_writer_version(version)
        .set_compression(compression)
        .set_data_page_row_count_limit(500)
        .set_write_batch_size(100)
        .build()
}

/// One column `c` of 20,000 rows, all one 10 kB string: a dictionary page
/// and runs of one index in a file of a few kB, 200 MB read as plain
/// strings.
pub fn one_long_string() -> RecordBatch {
    let dictionary = DictionaryArray::try_new(
        Int32Array::from(vec![0; 20_000]),
        Arc::new(StringArray::from(vec!["x".repeat(10_000)])),
    )
    .unwrap();
    one_column("c", Arc::new(dictionary))
}

/// What a file made by [`made_file`] states of its one required int64
/// column `x`.
#[derive(Clone, Copy, Debug)]
pub struct Claims {
    /// The rows of the file, in its footer.
    pub file_rows: i64,
    /// The rows of its one row group.
    pub group_rows: i64,
    /// The values of its one data page, in the page header.
    pub page_values: i32,
}

/// A file of one data page holding one value, 7, with the counts of
/// `claims` in its footer and page header: about 100 bytes.
pub fn made_file(claims: &Claims) -> Vec<u8> {
    let data = 7_i64.to_le_bytes();
    let mut page = Thrift::new();
    page.i32(1, 0) // DATA_PAGE
        .i32(2, data.len() as i32)
        .i32(3, data.len() as i32)
        .begin(5)
        .i32(1, claims.page_values)
        .i32(2, 0) // PLAIN
        .i32(3, 3) // RLE levels (none: the column is required)
        .i32(4, 3)
        .end()
        .end();
    let chunk = (page.out.len() + data.len()) as i64;
    let mut footer = Thrift::new();
    footer.i32(1, 1).list(2, STRUCT, 2);
    footer.begin(0).binary(4, b"schema").i32(5, 1).end();
    footer.begin(0).i32(1, 2).i32(3, 0).binary(4, b"x").end(); // INT64, REQUIRED
    footer.i64(3, claims.file_rows).list(4, STRUCT, 1);
    footer.begin(0).list(1, STRUCT, 1);
    footer.begin(0).i64(2, 4).begin(3).i32(1, 2).list(2, I32, 1);
    footer.out.push(0); // encodings: PLAIN
    footer.list(3, BINARY, 1);
    footer.out.extend_from_slice(b"\x01x"); // path_in_schema: x
    footer
        .i32(4, 0) // UNCOMPRESSED
        .i64(5, i64::from(claims.page_values))
        .i64(6, chunk)
        .i64(7, chunk)
        .i64(9, 4) // data_page_offset
        .end()
        .end();
    footer.i64(2, chunk).i64(3, claims.group_rows).end().end();

    let mut file = b"PAR1".to_vec();
    file.extend_from_slice(&page.out);
    file.extend_from_slice(&data);
    file.extend_from_slice(&footer.out);
    file.extend_from_slice(&(footer.out.len() as u32).to_le_bytes());
    file.extend_from_slice(b"PAR1");
    file
}

/// A [`made_file`] whose footer, row group and page state a billion rows,
/// of which the data holds one: the catalog's reader once reserved, and
/// filled, 7.8 GB for them before finding out.
pub fn billion_rows() -> Vec<u8> {
    made_file(&Claims {
        file_rows: 1_000_000_000,
        group_rows: 1_000_000_000,
        page_values: 1_000_000_000,
    })
}

/// `file` with its only row group's metadata edited.
pub fn edit_footer(
    file: &[u8],
    edit: impl FnOnce(RowGroupMetaData) -> RowGroupMetaData,
) -> Vec<u8> {
    let metadata = ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::copy_from_slice(file))
        .unwrap();
    let footer = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap());
    let mut out = file[..file.len() - 8 - footer as usize].to_vec();
    let mut builder = metadata.into_builder();
    let mut groups = builder.take_row_groups();
    assert_eq!(groups.len(), 1, "one row group");
    let groups = vec![edit(groups.remove(0))];
    ParquetMetaDataWriter::new(&mut out, &builder.set_row_groups(groups).build())
        .finish()
        .unwrap();
    out
}

/// `file` with the metadata of its only row group's only column chunk
/// edited.
pub fn edit_column(
    file: &[u8],
    edit: impl FnOnce(&ColumnChunkMetaData) -> ColumnChunkMetaData,
) -> Vec<u8> {
    edit_footer(file, |group| {
        let column = edit(group.column(0));
        group
            .into_builder()
            .set_column_metadata(vec![column])
            .build()
            .unwrap()
    })
}

/// `file` with its only row group stating `rows` rows.
pub fn stating_rows(file: &[u8], rows: i64) -> Vec<u8> {
    edit_footer(file, |group| {
        group.into_builder().set_num_rows(rows).build().unwrap()
    })
}

/// Column chunks [`chunk_at`] places outside any small file: (data page
/// offset, compressed size if changed). Fuzzing found the parquet reader
/// panicking on the first.
pub const CHUNKS_OUTSIDE_THE_FILE: [(i64, Option<i64>); 4] = [
    (-4, None),
    (4, Some(-1)),
    (i64::MAX - 2, None),
    (4, Some(1 << 20)),
];

/// `file` with its only column chunk's data pages at `offset` (and no
/// dictionary page), and its compressed size `size` when given.
pub fn chunk_at(file: &[u8], offset: i64, size: Option<i64>) -> Vec<u8> {
    edit_column(file, |column| {
        let mut column = column
            .clone()
            .into_builder()
            .set_data_page_offset(offset)
            .set_dictionary_page_offset(None);
        if let Some(size) = size {
            column = column.set_total_compressed_size(size);
        }
        column.build().unwrap()
    })
}

/// Where the i32 at `path` (field ids, outermost first) of `file`'s
/// first page header (at byte 4) is, read as the compact protocol
/// writes what the parquet writer puts in a page header.
pub fn page_header_field(file: &[u8], path: &[i16]) -> Range<usize> {
    fn varint_end(file: &[u8], at: usize) -> usize {
        at + file[at..].iter().position(|b| b & 0x80 == 0).unwrap() + 1
    }
    let mut at = 4;
    let mut stack: Vec<i16> = vec![0];
    let mut ids: Vec<i16> = Vec::new();
    loop {
        let header = file[at];
        at += 1;
        if header == 0 {
            stack.pop();
            ids.pop();
            assert!(!stack.is_empty(), "no field {path:?} in the page header");
            continue;
        }
        let id = *stack.last().unwrap() + i16::from(header >> 4);
        *stack.last_mut().unwrap() = id;
        ids.push(id);
        match header & 0x0f {
            1 | 2 => {} // a boolean
            5 | 6 => {
                let end = varint_end(file, at);
                if ids == path {
                    return at..end;
                }
                at = end;
            }
            8 => {
                let end = varint_end(file, at);
                at = end + usize::from(file[at]); // lengths under 128
            }
            12 => {
                stack.push(0);
                continue; // `ids` keeps the struct's id
            }
            other => panic!("field type {other} in a page header"),
        }
        ids.pop();
    }
}

/// `file` (one column chunk, its first page at byte 4) with the bytes at
/// `range` of its first page header (see [`page_header_field`]) replaced
/// by the zigzag varint of `value`, and its footer moved to match.
pub fn patch_first_page(file: &[u8], range: Range<usize>, value: i32) -> Vec<u8> {
    let mut varint = Thrift::new();
    varint.varint(u64::from(((value << 1) ^ (value >> 31)) as u32));
    let varint = varint.out;
    let grown = varint.len() as i64 - range.len() as i64;
    let mut patched = file[..range.start].to_vec();
    patched.extend_from_slice(&varint);
    patched.extend_from_slice(&file[range.end..]);
    // The footer is read from the end, so it still parses; its chunk
    // moves by what the header grew.
    edit_column(&patched, |chunk| {
        let mut column = chunk
            .clone()
            .into_builder()
            .set_total_compressed_size(chunk.compressed_size() + grown)
            .set_total_uncompressed_size(chunk.uncompressed_size() + grown);
        if chunk.dictionary_page_offset().is_some() {
            column = column.set_data_page_offset(chunk.data_page_offset() + grown);
        }
        column.build().unwrap()
    })
}

/// A compact-protocol writer: enough Thrift for a footer and a page header.
struct Thrift {
    out: Vec<u8>,
    /// The last field id written in each struct being written.
    last: Vec<i16>,
}

const I32: u8 = 5;
const I64: u8 = 6;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const STRUCT: u8 = 12;

impl Thrift {
    fn new() -> Thrift {
        Thrift {
            out: Vec::new(),
            last: vec![0],
        }
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn field(&mut self, id: i16, field_type: u8) {
        let last = self.last.last_mut().unwrap();
        let delta = id - *last;
        assert!((1..=15).contains(&delta), "fields in order, close together");
        self.out.push(((delta as u8) << 4) | field_type);
        *last = id;
    }

    fn i32(&mut self, id: i16, v: i32) -> &mut Self {
        self.int(id, I32, i64::from(v))
    }

    fn i64(&mut self, id: i16, v: i64) -> &mut Self {
        self.int(id, I64, v)
    }

    /// An i32 or i64 field: a zigzag varint.
    fn int(&mut self, id: i16, field_type: u8, v: i64) -> &mut Self {
        self.field(id, field_type);
        self.varint(((v << 1) ^ (v >> 63)) as u64);
        self
    }

    fn binary(&mut self, id: i16, bytes: &[u8]) -> &mut Self {
        self.field(id, BINARY);
        self.varint(bytes.len() as u64);
        self.out.extend_from_slice(bytes);
        self
    }

    /// A list field of `len` (< 15) elements of `element` type.
    fn list(&mut self, id: i16, element: u8, len: u8) -> &mut Self {
        self.field(id, LIST);
        self.out.push((len << 4) | element);
        self
    }

    /// A struct field, or (`id` 0) a struct element of a list.
    fn begin(&mut self, id: i16) -> &mut Self {
        if id != 0 {
            self.field(id, STRUCT);
        }
        self.last.push(0);
        self
    }

    fn end(&mut self) -> &mut Self {
        self.out.push(0);
        self.last.pop();
        self
    }
}
