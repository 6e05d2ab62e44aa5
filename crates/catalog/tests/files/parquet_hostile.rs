//! Hostile parquet files: what fuzzing the scoring envelope found, and
//! files made after it. Each is a `format` error naming what is wrong,
//! never a panic, and none costs much memory before it is refused.

use std::sync::Arc;

use arrow_array::{ArrayRef, DictionaryArray, Int32Array, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Compression;
use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter, RowGroupMetaData};
use parquet::file::properties::WriterProperties;
use tandem_catalog::parquet::{ParquetBudget, read_bytes};

use crate::common::build;

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
        self.i64_typed(id, I32, i64::from(v))
    }

    fn i64(&mut self, id: i16, v: i64) -> &mut Self {
        self.i64_typed(id, I64, v)
    }

    fn i64_typed(&mut self, id: i16, field_type: u8, v: i64) -> &mut Self {
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

/// What a hand-made file of one required int64 column `x` states.
struct Claims {
    file_rows: i64,
    group_rows: i64,
    page_values: i32,
}

/// A file of one data page holding one value, 7, with the counts of
/// `claims` in its footer and page header: about 100 bytes.
fn made_file(claims: &Claims) -> Vec<u8> {
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

/// The message of the `format` error loading `file` as a dataset gives.
fn load_error(file: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.parquet"), file).unwrap();
    let ds = build(
        dir.path(),
        "ParquetDataset",
        serde_json::json!({"filepath": "t.parquet"}),
    );
    let err = ds.load().expect_err("a hostile file is refused");
    assert_eq!(err.kind(), "format", "{err}");
    assert!(err.to_string().contains("t.parquet"), "{err}");
    err.to_string()
}

#[test]
fn made_files_are_read_when_their_counts_hold() {
    let one = made_file(&Claims {
        file_rows: 1,
        group_rows: 1,
        page_values: 1,
    });
    let batch = read_bytes(Bytes::from(one), "made", ParquetBudget::FILE).unwrap();
    let x = Arc::new(Int64Array::from(vec![7])) as ArrayRef;
    assert_eq!(batch, RecordBatch::try_from_iter([("x", x)]).unwrap());
}

#[test]
fn counts_the_footer_and_pages_contradict_are_refused() {
    let cases = [
        (
            1_000_000_000,
            1,
            1_000_000_000,
            "the footer states 1000000000 rows",
        ),
        (-5, -5, 1, "row group 0 states -5 rows"),
        (
            1,
            1,
            1_000_000_000,
            "column 'x': its data pages in row group 0 state 1000000000 values, more than the \
             group's 1 rows",
        ),
        (1, 1, -1, "a data page states -1 values"),
    ];
    for (file_rows, group_rows, page_values, expected) in cases {
        let file = made_file(&Claims {
            file_rows,
            group_rows,
            page_values,
        });
        let message = load_error(&file);
        assert!(message.contains(expected), "{message}");
    }
}

/// The footer and the page state a billion rows; the data holds one:
/// the catalog's reader reserved, and filled, 7.8 GB for them before
/// finding that out. Now what is set aside before the data confirms the rows is
/// bounded by the file's size (the peak is checked in a process of its
/// own below).
fn billion_rows() -> Vec<u8> {
    made_file(&Claims {
        file_rows: 1_000_000_000,
        group_rows: 1_000_000_000,
        page_values: 1_000_000_000,
    })
}

#[test]
fn rows_the_data_does_not_hold_are_an_error_naming_the_column() {
    let file = billion_rows();
    assert!(file.len() < 128, "{}", file.len());
    let message = load_error(&file);
    assert!(message.contains("column 'x'"), "{message}");
}

/// `file` with its only row group's metadata edited.
fn edit_footer(file: &[u8], edit: impl FnOnce(RowGroupMetaData) -> RowGroupMetaData) -> Vec<u8> {
    let metadata = ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::copy_from_slice(file))
        .unwrap();
    let footer = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap());
    let mut out = file[..file.len() - 8 - footer as usize].to_vec();
    let mut builder = metadata.into_builder();
    let mut groups = builder.take_row_groups();
    assert_eq!(groups.len(), 1);
    let groups = vec![edit(groups.remove(0))];
    ParquetMetaDataWriter::new(&mut out, &builder.set_row_groups(groups).build())
        .finish()
        .unwrap();
    out
}

fn written(batch: &RecordBatch, properties: WriterProperties) -> Vec<u8> {
    let options = ArrowWriterOptions::new()
        .with_properties(properties)
        .with_skip_arrow_metadata(true);
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new_with_options(&mut out, batch.schema(), options).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    out
}

fn one_column(name: &str, array: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([(name, array)]).unwrap()
}

#[test]
fn column_chunks_outside_the_file_are_refused() {
    // Fuzzing found the reader panicking on a chunk at a negative offset.
    let table = one_column("a", Arc::new(Int64Array::from(vec![1, 2])));
    let file = written(&table, WriterProperties::default());
    for (offset, size) in [
        (-4, None),
        (4, Some(-1)),
        (i64::MAX - 2, None),
        (4, Some(1 << 20)),
    ] {
        let edited = edit_footer(&file, |group| {
            let mut column = group
                .column(0)
                .clone()
                .into_builder()
                .set_data_page_offset(offset)
                .set_dictionary_page_offset(None);
            if let Some(size) = size {
                column = column.set_total_compressed_size(size);
            }
            let column = column.build().unwrap();
            group
                .into_builder()
                .set_column_metadata(vec![column])
                .build()
                .unwrap()
        });
        let message = load_error(&edited);
        assert!(
            message.contains("column chunk 'a'") && message.contains("outside the file's"),
            "{offset}, {size:?}: {message}"
        );
    }
}

/// Where the i32 at `path` (field ids, outermost first) of `file`'s
/// first page header (at byte 4) is, read as the compact protocol
/// writes what the parquet writer puts in a page header.
fn page_header_field(file: &[u8], path: &[i16]) -> std::ops::Range<usize> {
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
/// `range` of its first page header replaced by the zigzag varint of
/// `value`, and its footer moved to match.
fn patch_first_page(file: &[u8], range: std::ops::Range<usize>, value: i32) -> Vec<u8> {
    let mut varint = Vec::new();
    let mut v = ((value << 1) ^ (value >> 31)) as u32;
    while v >= 0x80 {
        varint.push((v as u8) | 0x80);
        v >>= 7;
    }
    varint.push(v as u8);
    let grown = varint.len() as i64 - range.len() as i64;
    let mut patched = file[..range.start].to_vec();
    patched.extend_from_slice(&varint);
    patched.extend_from_slice(&file[range.end..]);
    // The footer is read from the end, so it still parses; its chunk
    // moves by what the header grew.
    edit_footer(&patched, |group| {
        let chunk = group.column(0);
        let mut column = chunk
            .clone()
            .into_builder()
            .set_total_compressed_size(chunk.compressed_size() + grown)
            .set_total_uncompressed_size(chunk.uncompressed_size() + grown);
        if chunk.dictionary_page_offset().is_some() {
            column = column.set_data_page_offset(chunk.data_page_offset() + grown);
        }
        let column = column.build().unwrap();
        group
            .into_builder()
            .set_column_metadata(vec![column])
            .build()
            .unwrap()
    })
}

/// A column of three distinct values: a dictionary page, then a data
/// page of indices.
fn dictionary_file(compression: Compression) -> Vec<u8> {
    let table = one_column("c", Arc::new(Int64Array::from(vec![10, 20, 10, 30])));
    let properties = WriterProperties::builder()
        .set_compression(compression)
        .build();
    written(&table, properties)
}

#[test]
fn dictionary_pages_without_room_for_their_values_are_refused() {
    // A dictionary page states how many values it holds, and the reader
    // fills room for them before decoding one: fuzzing found a 2.5 kB file
    // asking for 2.5 GB; this 250-byte one took 7.8 GB.
    for compression in [Compression::UNCOMPRESSED, Compression::SNAPPY] {
        let file = dictionary_file(compression);
        let message = load_error(&patch_first_page(
            &file,
            // The dictionary page header (field 7), its num_values (field 1).
            page_header_field(&file, &[7, 1]),
            1_000_000_000,
        ));
        assert!(
            message.contains("column 'c': a dictionary page of") && message.contains("1000000000"),
            "{compression:?}: {message}"
        );
        // The patch itself is sound: stating the 3 values it has reads.
        let same = patch_first_page(&file, page_header_field(&file, &[7, 1]), 3);
        assert_eq!(
            read_bytes(Bytes::from(same), "t", ParquetBudget::FILE)
                .unwrap()
                .num_rows(),
            4
        );
    }
}

#[test]
fn pages_decompressing_past_their_codec_are_refused() {
    // The reader zero-fills a page's stated decompressed size before
    // decompressing it: 2 GB for this 300-byte file.
    let table = one_column("v", Arc::new(Int64Array::from_iter_values(0..20)));
    let properties = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(Compression::SNAPPY)
        .build();
    let file = written(&table, properties);
    let size = page_header_field(&file, &[2]); // uncompressed_page_size
    let message = load_error(&patch_first_page(&file, size.clone(), 2_000_000_000));
    assert!(
        message.contains("column 'v': a page of")
            && message.contains("decompresses to 2000000000 bytes, past what snappy can make"),
        "{message}"
    );
    // Within snappy's ratio, a wrong size is the reader's error, as before.
    let message = load_error(&patch_first_page(&file, size, 10));
    assert!(message.contains("column 'v'"), "{message}");
}

#[test]
fn what_fuzzing_found_is_refused() {
    // The scoring envelope's fuzzing findings (crates/pipeline-model/fuzz),
    // without the byte that picked the format.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/files/hostile");
    for (name, expected) in [
        ("dictionary-page-count.parquet", "a dictionary page of"),
        ("negative-chunk-offset.parquet", "outside the file"),
    ] {
        let message = load_error(&std::fs::read(dir.join(name)).unwrap());
        assert!(message.contains(expected), "{name}: {message}");
    }
}

#[test]
fn a_body_decodes_to_no_more_than_its_budget() {
    let table = one_column("a", Arc::new(Int64Array::from(vec![1, 2])));
    let file = written(&table, WriterProperties::default());
    let budget = ParquetBudget::for_body(file.len());
    assert_eq!(
        read_bytes(Bytes::from(file.clone()), "body", budget).unwrap(),
        table
    );
    // Rows stated in the footer are counted before any is read.
    let huge = edit_footer(&file, |group| {
        group.into_builder().set_num_rows(1 << 40).build().unwrap()
    });
    let err = read_bytes(Bytes::from(huge.clone()), "body", budget).unwrap_err();
    assert_eq!(err.kind(), "format");
    assert!(
        err.to_string().contains("decodes to 1099511627776 rows"),
        "{err}"
    );
    // As a file, the same footer is contradicted by the column's data.
    let message = load_error(&huge);
    assert!(
        message.contains("column 'a' has 2 rows where the footer states 1099511627776"),
        "{message}"
    );

    // Decoded columns are counted as they are read: a 10 kB string for
    // 20,000 rows is a dictionary page and runs of one index in the file,
    // 200 MB read as plain strings.
    let dictionary = DictionaryArray::try_new(
        Int32Array::from(vec![0; 20_000]),
        Arc::new(StringArray::from(vec!["x".repeat(10_000)])),
    )
    .unwrap();
    let file = written(
        &one_column("c", Arc::new(dictionary)),
        WriterProperties::default(),
    );
    assert!(file.len() < 64 * 1024, "{}", file.len());
    let budget = ParquetBudget::for_body(file.len());
    let err = read_bytes(Bytes::from(file.clone()), "body", budget).unwrap_err();
    assert!(err.to_string().contains("decodes to columns of"), "{err}");
    // A file dataset holds what it holds.
    let batch = read_bytes(Bytes::from(file), "file", ParquetBudget::FILE).unwrap();
    assert_eq!(batch.num_rows(), 20_000);
}

#[cfg(target_os = "linux")]
#[test]
fn hostile_files_are_refused_in_little_memory() {
    // Run alone, in a process of its own, for its peak memory.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "parquet_hostile::hostile_files_peak_memory_child",
        ])
        .arg("--ignored")
        .env(PEAK_MEMORY_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
}

const PEAK_MEMORY_CHILD: &str = "TANDEM_PARQUET_PEAK_MEMORY_CHILD";

#[test]
#[ignore = "run by hostile_files_are_refused_in_little_memory in a process of its own"]
fn hostile_files_peak_memory_child() {
    let dictionary = dictionary_file(Compression::SNAPPY);
    let table = one_column("v", Arc::new(Int64Array::from_iter_values(0..20)));
    let plain = written(
        &table,
        WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let files = [
        billion_rows(),
        patch_first_page(
            &dictionary,
            page_header_field(&dictionary, &[7, 1]),
            1_000_000_000,
        ),
        patch_first_page(&plain, page_header_field(&plain, &[2]), 2_000_000_000),
    ];
    for file in &files {
        load_error(file);
    }
    if std::env::var_os(PEAK_MEMORY_CHILD).is_some() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let peak_kb: usize = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        // Before the checks: 7.8 GB, 7.8 GB and 2 GB (now about 150 MB,
        // the rows set aside up front for the first file).
        assert!(peak_kb < 256 * 1024, "peak {peak_kb} kB");
    }
}
