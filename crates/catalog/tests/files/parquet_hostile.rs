//! Hostile parquet files: what fuzzing the scoring envelope found, and
//! files made after it. Each is a `format` error naming what is wrong,
//! never a panic, and none costs much memory before it is refused.

use std::sync::Arc;

use ::parquet::basic::Compression;
use ::parquet::file::properties::WriterProperties;
use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use bytes::Bytes;
use tandem_catalog::parquet::{ParquetBudget, read_bytes};
use tandem_test_support::memory;
use tandem_test_support::parquet::{
    self, Claims, billion_rows, made_file, one_column, page_header_field, patch_first_page,
};

use crate::common::build;

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

#[test]
fn rows_the_data_does_not_hold_are_an_error_naming_the_column() {
    // The catalog's reader reserved, and filled, 7.8 GB for these rows
    // before finding out they were not there. Now what is set aside before
    // the data confirms the rows is bounded by the file's size (the peak is
    // checked in a process of its own below).
    let file = billion_rows();
    assert!(file.len() < 128, "{}", file.len());
    let message = load_error(&file);
    assert!(message.contains("column 'x'"), "{message}");
}

/// A column `v` of 20 distinct values in plain pages, snappy compressed.
fn snappy_pages() -> Vec<u8> {
    let table = one_column("v", Arc::new(Int64Array::from_iter_values(0..20)));
    let properties = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(Compression::SNAPPY)
        .build();
    parquet::write_plain(&table, properties)
}

/// A column of three distinct values: a dictionary page, then a data
/// page of indices.
fn dictionary_file(compression: Compression) -> Vec<u8> {
    let table = one_column("c", Arc::new(Int64Array::from(vec![10, 20, 10, 30])));
    let properties = WriterProperties::builder()
        .set_compression(compression)
        .build();
    parquet::write_plain(&table, properties)
}

#[test]
fn column_chunks_outside_the_file_are_refused() {
    // Fuzzing found the reader panicking on a chunk at a negative offset.
    let table = one_column("a", Arc::new(Int64Array::from(vec![1, 2])));
    let file = parquet::write_plain(&table, WriterProperties::default());
    for (offset, size) in parquet::CHUNKS_OUTSIDE_THE_FILE {
        let message = load_error(&parquet::chunk_at(&file, offset, size));
        assert!(
            message.contains("column chunk 'a'") && message.contains("outside the file's"),
            "{offset}, {size:?}: {message}"
        );
    }
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
    let file = snappy_pages();
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
    let file = parquet::write_plain(&table, WriterProperties::default());
    let budget = ParquetBudget::for_body(file.len());
    assert_eq!(
        read_bytes(Bytes::from(file.clone()), "body", budget).unwrap(),
        table
    );
    // Rows stated in the footer are counted before any is read.
    let huge = parquet::stating_rows(&file, 1 << 40);
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
    let file = parquet::write_plain(&parquet::one_long_string(), WriterProperties::default());
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
    memory::run_alone("parquet_hostile::hostile_files_peak_memory_child");
}

#[test]
#[ignore = "run by hostile_files_are_refused_in_little_memory in a process of its own"]
fn hostile_files_peak_memory_child() {
    let dictionary = dictionary_file(Compression::SNAPPY);
    let plain = snappy_pages();
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
    if let Some(peak_kb) = memory::alone_peak_kb() {
        // Before the checks: 7.8 GB, 7.8 GB and 2 GB (now about 150 MB,
        // the rows set aside up front for the first file).
        assert!(peak_kb < 256 * 1024, "peak {peak_kb} kB");
    }
}
