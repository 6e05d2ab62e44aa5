//! Hostile request bodies: what fuzzing `parse_input` (crates/pipeline-model/fuzz)
//! found, and bodies made after it. Each is an error, never a panic, and no
//! body decodes to much more than its size.

mod support;

use std::sync::Arc;

use ::parquet::basic::Compression;
use ::parquet::file::properties::{WriterProperties, WriterVersion};
use arrow_array::builder::{
    FixedSizeListBuilder, Float32Builder, Int32Builder, Int64Builder, ListBuilder, MapBuilder,
    StringBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Decimal128Array, DictionaryArray,
    FixedSizeBinaryArray, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array,
    LargeListArray, LargeStringArray, NullArray, RecordBatch, RecordBatchOptions, RunArray,
    StringArray, StringViewArray, StructArray, UnionArray,
};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema, TimeUnit, UnionFields};
use serde_json::json;
use support::envelope::*;
use tandem_pipeline_model::envelope::{
    InputColumn, InputFormat, InputSpec, ModelInput, parse_input,
};
use tandem_test_support::memory;
use tandem_test_support::parquet::{self, one_column};

// Bodies found by fuzzing `parse_input` (crates/pipeline-model/fuzz), or
// made after what it found: errors, never panics, and no body decodes to
// much more than its size.

/// `batch` as an Arrow IPC stream, and where its first batch message
/// starts (after the schema message).
fn ipc_stream(batch: &RecordBatch) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut writer = StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
    let schema_end = writer.get_ref().len();
    writer.write(batch).unwrap();
    writer.finish().unwrap();
    drop(writer);
    (out, schema_end)
}

/// Replaces every `from` in `bytes` with `to` (as long), and counts them.
fn patch(bytes: &mut [u8], from: &[i64], to: &[i64]) -> usize {
    let from: Vec<u8> = from.iter().flat_map(|v| v.to_le_bytes()).collect();
    let to: Vec<u8> = to.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut count = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(from.len()).position(|w| w == from) {
        let start = at + found;
        bytes[start..start + to.len()].copy_from_slice(&to);
        at = start + to.len();
        count += 1;
    }
    count
}

#[test]
fn ipc_buffers_outside_their_message_are_refused() {
    // Fuzzing found arrow-ipc's reader (60.1) panicking on a buffer its
    // message places past the end of the message body.
    let batch = one_column("a", Arc::new(Float64Array::from(vec![1.5, 2.5])));
    let (mut body, schema_end) = ipc_stream(&batch);
    // The values buffer: 16 bytes at 0 (the validity buffer is empty).
    assert_eq!(patch(&mut body[schema_end..], &[0, 16], &[0, 1 << 62]), 1);
    let message = error(parse_input(&body, InputFormat::ArrowStream, None));
    assert!(message.contains("outside its message body"), "{message}");
    let (mut body, schema_end) = ipc_stream(&batch);
    assert_eq!(patch(&mut body[schema_end..], &[0, 16], &[-8, 16]), 1);
    assert!(error(parse_input(&body, InputFormat::ArrowStream, None)).contains("outside"));
}

#[test]
fn ipc_buffers_of_partial_values_are_refused() {
    // Fuzzing found arrow's validation (60.1) panicking on an offsets
    // buffer whose length is not a whole number of offsets.
    let strings = one_column("c", Arc::new(StringArray::from(vec!["x", "y"])));
    let (mut body, schema_end) = ipc_stream(&strings);
    // The offsets: 3 of 4 bytes at 0 (the validity buffer is empty).
    assert_eq!(patch(&mut body[schema_end..], &[0, 12], &[0, 11]), 1);
    let message = error(parse_input(&body, InputFormat::ArrowStream, None));
    assert!(
        message.contains("a buffer of 11 bytes for Utf8 values of 4 bytes"),
        "{message}"
    );
}

#[test]
fn ipc_streams_of_every_layout_are_read() {
    // Every buffer of these is checked before the reader sees it.
    let mut list = ListBuilder::new(Int64Builder::new());
    list.values().append_slice(&[1, 2]);
    list.append(true);
    list.append_null();
    list.append(true);
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    map.keys().append_value("k");
    map.values().append_value(1);
    map.append(true).unwrap();
    map.append(false).unwrap();
    map.append(true).unwrap();
    let mut fixed_list = FixedSizeListBuilder::new(Float32Builder::new(), 2);
    for _ in 0..3 {
        fixed_list.values().append_slice(&[0.5, 1.5]);
        fixed_list.append(true);
    }
    let dictionary: DictionaryArray<Int8Type> = ["x", "y", "x"].into_iter().collect();
    let strings = StringArray::from(vec![Some("a"), None, Some("a long string, not inlined")]);
    let runs = RunArray::<Int32Type>::try_new(
        &Int32Array::from(vec![2, 3]),
        &Int64Array::from(vec![7, 8]),
    )
    .unwrap();
    let decimals = Decimal128Array::from(vec![1, 2, 3])
        .with_precision_and_scale(10, 2)
        .unwrap();
    let fixed =
        FixedSizeBinaryArray::try_from_iter([[1_u8, 2], [3, 4], [5, 6]].into_iter()).unwrap();
    let large_list = LargeListArray::from_iter_primitive::<Int32Type, _, _>([
        Some(vec![Some(1)]),
        None,
        Some(vec![]),
    ]);
    let fields = Arc::new(Field::new("x", DataType::Utf8, true));
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("null", Arc::new(NullArray::new(3))),
        (
            "bool",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        ("i8", Arc::new(Int8Array::from(vec![1, -1, 0]))),
        ("i16", Arc::new(Int16Array::from(vec![1, -1, 0]))),
        ("decimal", Arc::new(decimals)),
        ("utf8", Arc::new(strings.clone())),
        (
            "large_utf8",
            Arc::new(LargeStringArray::from(vec!["a", "b", "c"])),
        ),
        ("view", Arc::new(StringViewArray::from_iter(strings.iter()))),
        (
            "binary",
            Arc::new(BinaryArray::from(vec![&b"a"[..], b"", b"b"])),
        ),
        ("fixed", Arc::new(fixed)),
        ("list", Arc::new(list.finish())),
        ("large_list", Arc::new(large_list)),
        ("fixed_list", Arc::new(fixed_list.finish())),
        ("map", Arc::new(map.finish())),
        (
            "struct",
            Arc::new(StructArray::from(vec![(
                fields,
                Arc::new(strings) as ArrayRef,
            )])),
        ),
        ("dictionary", Arc::new(dictionary)),
        ("runs", Arc::new(runs)),
    ];
    let table = RecordBatch::try_from_iter(columns).unwrap();
    for sent in [table.clone(), table.slice(1, 2)] {
        let (body, _) = ipc_stream(&sent);
        let input =
            parse_input(&body, InputFormat::ArrowStream, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch(&input), &sent);
    }
}

#[test]
fn ipc_unions_are_refused() {
    // A union node longer than its type ids made the reader panic; no
    // MLflow signature has unions, so none are read.
    let fields = UnionFields::try_new([0], [Field::new("x", DataType::Int32, false)]).unwrap();
    let union = UnionArray::try_new(
        fields,
        vec![0_i8, 0].into(),
        None,
        vec![Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef],
    )
    .unwrap();
    let (mut body, schema_end) = ipc_stream(&one_column("u", Arc::new(union)));
    // The union's node: 2 values, no nulls (its child's comes after).
    assert!(patch(&mut body[schema_end..], &[2, 0], &[1 << 20, 0]) >= 1);
    let message = error(parse_input(&body, InputFormat::ArrowStream, None));
    assert!(message.contains("union"), "{message}");
}

#[test]
fn ipc_row_counts_are_bounded_by_the_body() {
    // A batch states its row count; null columns and batches without
    // columns need no bytes per row, and missing optional columns are
    // filled with nulls a row: a 200-byte body stood for 2^40 rows.
    let optional = spec(&[("c", DataType::Utf8, false)]);
    let nulls = one_column("n", Arc::new(NullArray::new(2)));
    let empty = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(2)),
    )
    .unwrap();
    for batch in [nulls, empty] {
        let (body, schema_end) = ipc_stream(&batch);
        assert!(parse_input(&body, InputFormat::ArrowStream, Some(&optional)).is_ok());
        let mut huge = body.clone();
        // The batch's length, and the null column's length and null count.
        assert!(patch(&mut huge[schema_end..], &[2], &[1 << 40]) >= 1);
        for spec in [None, Some(&optional)] {
            let message = error(parse_input(&huge, InputFormat::ArrowStream, spec));
            assert!(
                message.contains("decodes to 1099511627776 rows"),
                "{message}"
            );
        }
        let mut negative = body;
        patch(&mut negative[schema_end..], &[2], &[-1]);
        let message = error(parse_input(&negative, InputFormat::ArrowStream, None));
        assert!(message.contains("-1"), "{message}");
    }
}

#[test]
fn text_dictionaries_expand_within_the_budget() {
    // One 100 kB string for 3,000 rows: 300 MB once cast to plain text,
    // from a 112 kB body.
    let values = StringArray::from(vec!["x".repeat(100_000)]);
    let keys = Int32Array::from(vec![0; 3_000]);
    let dictionary = DictionaryArray::try_new(keys, Arc::new(values)).unwrap();
    let (body, _) = ipc_stream(&one_column("c", Arc::new(dictionary)));
    let message = error(parse_input(&body, InputFormat::ArrowStream, Some(&abc())));
    assert!(message.contains("dictionary values"), "{message}");
    // A categorical column of short strings is read, and converted.
    let dictionary: DictionaryArray<Int32Type> = ["x", "y", "x"].into_iter().collect();
    let table = RecordBatch::try_from_iter([
        (
            "a",
            Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])) as ArrayRef,
        ),
        ("b", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        ("c", Arc::new(dictionary)),
    ])
    .unwrap();
    let input = parse_input(
        &ipc_stream(&table).0,
        InputFormat::ArrowStream,
        Some(&abc()),
    )
    .unwrap();
    assert_eq!(batch(&input).column(2).as_string::<i32>().value(2), "x");
}

#[test]
fn parquet_column_chunks_outside_the_file_are_refused() {
    // Fuzzing found the parquet reader (60.1) panicking on a column chunk
    // at a negative offset.
    let table = one_column("a", Arc::new(Float64Array::from(vec![1.5, 2.5])));
    let file = parquet::write(&table, WriterProperties::default());
    assert!(parse_input(&file, InputFormat::Parquet, None).is_ok());
    for (offset, size) in parquet::CHUNKS_OUTSIDE_THE_FILE {
        let edited = parquet::chunk_at(&file, offset, size);
        let message = error(parse_input(&edited, InputFormat::Parquet, None));
        assert!(
            message.contains("outside the file"),
            "{offset}, {size:?}: {message}"
        );
    }
}

#[test]
fn parquet_row_counts_and_decoded_sizes_are_bounded_by_the_body() {
    // Rows stated in the metadata are checked before any is read.
    let batch = one_column("a", Arc::new(Float64Array::from(vec![1.5, 2.5])));
    let file = parquet::write(&batch, WriterProperties::default());
    let huge = parquet::stating_rows(&file, 1 << 40);
    let message = error(parse_input(&huge, InputFormat::Parquet, Some(&abc())));
    assert!(
        message.contains("decodes to 1099511627776 rows"),
        "{message}"
    );
    // Columns are counted as they are read: a 10 kB string for 20,000
    // rows is a dictionary page and runs of one index in the file, 200 MB
    // read as plain strings.
    let file = parquet::write_plain(&parquet::one_long_string(), WriterProperties::default());
    assert!(file.len() < 64 * 1024, "{}", file.len());
    let message = error(parse_input(&file, InputFormat::Parquet, None));
    assert!(message.contains("decodes to columns of"), "{message}");
}

#[test]
fn parquet_page_headers_of_every_kind_are_read() {
    // The page headers are read ahead of the reader: files of many pages,
    // v1 and v2 data pages, dictionaries, compression, lists and nulls.
    let table = parquet::every_page_kind();
    for (version, compression) in [
        (WriterVersion::PARQUET_1_0, Compression::UNCOMPRESSED),
        (WriterVersion::PARQUET_1_0, Compression::SNAPPY),
        (
            WriterVersion::PARQUET_2_0,
            Compression::ZSTD(Default::default()),
        ),
        (WriterVersion::PARQUET_2_0, Compression::LZ4_RAW),
    ] {
        let file = parquet::write(&table, parquet::paged(version, compression));
        let input = parse_input(&file, InputFormat::Parquet, None)
            .unwrap_or_else(|e| panic!("{version:?} {compression:?}: {e}"));
        assert_eq!(batch(&input), &table, "{version:?} {compression:?}");
    }
}

#[test]
fn sparse_records_are_bounded_by_the_values_given() {
    // A row per distinct key: n rows of one value each made n² cells (3,000
    // rows, 9 million nulls, from a 40 kB body).
    let rows: Vec<_> = (0..3_000).map(|i| json!({ format!("k{i}"): 0 })).collect();
    let message = error(json(json!({ "dataframe_records": rows }), None));
    assert!(message.contains("too sparse"), "{message}");
    // Sparse rows are fine up to the bound.
    let rows: Vec<_> = (0..500)
        .map(|i| json!({ format!("k{}", i % 50): i }))
        .collect();
    let input = json(json!({ "dataframe_records": rows }), None).unwrap();
    assert_eq!(batch(&input).num_columns(), 50);
    assert_eq!(batch(&input).column(1).null_count(), 490);
}

/// `[[[...[0, 0, ...]...]]]`, `depth` lists deep around `width` zeros.
fn nested_lists(depth: usize, width: usize) -> String {
    let zeros = vec!["0"; width].join(",");
    format!("{}{zeros}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn nested_lists_are_read_in_linear_time_and_memory() {
    // Each level of a list column was copied from the level above (and
    // inferred twice): memory and time grew with the depth times the size.
    let body = format!(r#"{{"inputs": {{"a": [{}]}}}}"#, nested_lists(100, 1_000));
    let input = parse_input(body.as_bytes(), InputFormat::Json, None).unwrap();
    let mut column = Arc::clone(batch(&input).column(0));
    for _ in 0..100 {
        column = column.as_list::<i32>().values().clone();
    }
    assert_eq!(column.as_primitive::<Int64Type>().values().len(), 1_000);
    // Empty lists have items of no type.
    let input = json(json!({"inputs": {"a": [[], null]}}), None).unwrap();
    assert!(batch(&input).column(0).is_null(1));
}

#[cfg(target_os = "linux")]
#[test]
fn nested_lists_peak_memory_is_linear() {
    // Run alone, in a process of its own, for its peak memory: a 400 kB
    // body 100 lists deep took 650 MB (and 50 s); now some 30 MB.
    memory::run_alone("nested_lists_peak_memory_child");
}

#[test]
#[ignore = "run by nested_lists_peak_memory_is_linear in a process of its own"]
fn nested_lists_peak_memory_child() {
    let body = format!(r#"{{"inputs": {{"a": [{}]}}}}"#, nested_lists(100, 200_000));
    parse_input(body.as_bytes(), InputFormat::Json, None).unwrap();
    if let Some(peak_kb) = memory::alone_peak_kb() {
        assert!(peak_kb < 200 * 1024, "peak {peak_kb} kB");
    }
}

/// `data` parsed as the fuzz target does: its first byte picks the
/// format and the signature, the rest is the body.
fn fuzz_case(data: &[u8]) -> Result<ModelInput, tandem_pipeline_model::Error> {
    let all = spec(&[
        ("a", DataType::Float64, true),
        ("b", DataType::Int64, true),
        ("c", DataType::Utf8, false),
        ("d", DataType::Boolean, false),
        ("e", DataType::Int32, false),
        ("f", DataType::Float32, false),
        ("g", DataType::Binary, false),
        ("h", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
        (
            "i",
            DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
            false,
        ),
    ]);
    let list = InputSpec {
        columns: vec![InputColumn {
            name: None,
            data_type: DataType::Float64,
            required: true,
        }],
    };
    let (selector, body) = data.split_first().unwrap();
    let format = [
        InputFormat::Json,
        InputFormat::Csv,
        InputFormat::Parquet,
        InputFormat::ArrowStream,
    ][usize::from(selector % 4)];
    let spec = [None, Some(&all), Some(&list)][usize::from(selector / 4 % 3)];
    parse_input(body, format, spec)
}

fn fuzz_files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The seeds of the fuzz target are valid requests.
#[test]
fn fuzz_seeds_are_valid_requests() {
    let seeds = fuzz_files("seeds/parse_input");
    assert!(seeds.len() >= 10, "{} seeds", seeds.len());
    for (name, data) in seeds {
        if let Err(e) = fuzz_case(&data) {
            panic!("{name}: {e}");
        }
    }
}

/// What fuzzing found, byte for byte: two panics in arrow-ipc, a panic
/// in parquet, and a 2.5 GB allocation in parquet (a dictionary page
/// stating 625 million values) are now errors.
#[test]
fn fuzz_findings_are_errors() {
    let findings = fuzz_files("regressions/parse_input");
    let expected = [
        ("ipc-buffer-outside-body", "outside its message body"),
        ("ipc-offsets-not-whole-values", "values of 4 bytes"),
        ("parquet-dictionary-page-count", "dictionary page of"),
        ("parquet-negative-chunk-offset", "outside the file"),
    ];
    assert_eq!(findings.len(), expected.len());
    for ((name, data), (expected_name, why)) in findings.iter().zip(expected) {
        assert_eq!(name, expected_name);
        let message = error(fuzz_case(data));
        assert!(message.contains(why), "{name}: {message}");
    }
}
