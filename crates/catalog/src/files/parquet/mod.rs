//! `ParquetDataset`: arrow `RecordBatch`es as Apache Parquet.
//!
//! Speed: files are encoded and decoded in memory (one `Bytes` from the
//! store, one buffer to it), column by column on up to
//! `available_parallelism` threads, which is how pyarrow reads too. A load
//! decodes into one batch holding every row, so no concatenation copy is
//! made. Floating-point columns skip dictionary encoding by default: their
//! values rarely repeat, so the dictionary is built, overflows its size limit
//! and is thrown away, which costs more than the rest of the encoding.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions, RecordBatchReader};
use arrow_schema::{DataType, FieldRef, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriter, compute_leaves,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::Data;

use super::{FileFormat, FileOptions, args_details, format_error, record_batches};
use crate::error::Error;
use crate::registry::DatasetConfig;

/// pyarrow's default row group size (1 Mi rows).
const DEFAULT_ROW_GROUP_SIZE: usize = 1024 * 1024;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    /// Only these columns, in this order.
    #[serde(skip_serializing_if = "Option::is_none")]
    columns: Option<Vec<String>>,
    /// Load a `Vec<RecordBatch>` of at most this many rows each.
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_size: Option<NonZeroUsize>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    compression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row_group_size: Option<NonZeroUsize>,
    /// pyarrow's name; unset means "every column except floating-point ones".
    #[serde(skip_serializing_if = "Option::is_none")]
    use_dictionary: Option<bool>,
}

/// Apache Parquet: loads one `RecordBatch` (or, with `load_args.batch_size`,
/// a `Vec<RecordBatch>`), saves a `RecordBatch` or `Vec<RecordBatch>`.
#[derive(Debug)]
pub struct ParquetFormat {
    load_args: LoadArgs,
    save_args: SaveArgs,
    compression: Compression,
}

impl FileFormat for ParquetFormat {
    const TYPE_NAME: &'static str = "ParquetDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let (filepath, load_args, save_args): (String, LoadArgs, SaveArgs) =
            FileOptions::parse(config)?;
        let compression = parse_compression(save_args.compression.as_deref())
            .map_err(|e| Error::config(&config.name, e))?;
        let format = ParquetFormat {
            load_args,
            save_args,
            compression,
        };
        Ok((filepath, format))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let batches = record_batches(data, Self::TYPE_NAME)?;
        let first = batches.first().ok_or_else(|| {
            format_error("parquet", location, "nothing to save: the Vec<RecordBatch> is empty")
        })?;
        let schema = first.schema();
        if let Some(index) = batches.iter().position(|b| b.schema_ref().fields() != schema.fields())
        {
            return Err(format_error(
                "parquet",
                location,
                format!("batch {index} has a different schema than batch 0"),
            ));
        }
        write_parquet(batches, &schema, self.writer_properties(&schema))
            .map(Bytes::from)
            .map_err(|e| format_error("parquet", location, e))
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        let error = |e: parquet::errors::ParquetError| format_error("parquet", location, e);
        let metadata = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new()).map_err(error)?;
        let roots = self.projection(metadata.schema(), location)?;
        let num_rows = usize::try_from(metadata.metadata().file_metadata().num_rows())
            .map_err(|_| format_error("parquet", location, "negative row count in the footer"))?;
        let (fields, columns) = read_columns(&bytes, &metadata, &roots, num_rows)
            .map_err(|e| format_error("parquet", location, e))?;
        // The row count matters when no column is selected (`columns: []`).
        let options = RecordBatchOptions::new().with_row_count(Some(num_rows));
        let batch = RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
            .map_err(|e| format_error("parquet", location, e))?;
        Ok(match self.load_args.batch_size {
            None => Data::new(batch),
            Some(size) => {
                let size = size.get();
                let slices = (0..num_rows)
                    .step_by(size)
                    .map(|offset| batch.slice(offset, size.min(num_rows - offset)))
                    .collect::<Vec<_>>();
                Data::new(slices)
            }
        })
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        args_details(&self.load_args, &self.save_args)
    }
}

impl ParquetFormat {
    /// The root columns to read, in the order asked for.
    fn projection(&self, schema: &SchemaRef, location: &str) -> Result<Vec<usize>, Error> {
        let Some(names) = &self.load_args.columns else {
            return Ok((0..schema.fields().len()).collect());
        };
        names
            .iter()
            .map(|name| {
                schema.index_of(name).map_err(|_| {
                    let available = schema.fields().iter().map(|f| f.name().as_str());
                    let nearest = tandem_pipeline_core::suggest::close_matches(name, available);
                    let hint = match nearest.first() {
                        Some(n) => format!("; did you mean '{n}'?"),
                        None => String::new(),
                    };
                    let all: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                    format_error(
                        "parquet",
                        location,
                        format!(
                            "load_args.columns: no column '{name}' in the file (columns: {}){hint}",
                            all.join(", ")
                        ),
                    )
                })
            })
            .collect()
    }

    fn writer_properties(&self, schema: &Schema) -> WriterProperties {
        let row_group_size = self
            .save_args
            .row_group_size
            .map_or(DEFAULT_ROW_GROUP_SIZE, NonZeroUsize::get);
        // pyarrow writes column-chunk statistics and no page index by default.
        let mut builder = WriterProperties::builder()
            .set_compression(self.compression)
            .set_max_row_group_row_count(Some(row_group_size))
            .set_statistics_enabled(EnabledStatistics::Chunk);
        match self.save_args.use_dictionary {
            Some(enabled) => builder = builder.set_dictionary_enabled(enabled),
            None => {
                for field in schema.fields() {
                    if matches!(
                        field.data_type(),
                        DataType::Float16 | DataType::Float32 | DataType::Float64
                    ) {
                        let path = ColumnPath::new(vec![field.name().clone()]);
                        builder = builder.set_column_dictionary_enabled(path, false);
                    }
                }
            }
        }
        builder.build()
    }
}

/// `snappy` (pyarrow's default), `zstd`, `lz4` or `none`.
fn parse_compression(name: Option<&str>) -> Result<Compression, String> {
    let Some(name) = name else {
        return Ok(Compression::SNAPPY);
    };
    match name.to_ascii_lowercase().as_str() {
        "snappy" => Ok(Compression::SNAPPY),
        "zstd" => Ok(Compression::ZSTD(ZstdLevel::default())),
        // Parquet deprecated the Hadoop-framed LZ4 codec; pyarrow reads LZ4_RAW.
        "lz4" | "lz4_raw" => Ok(Compression::LZ4_RAW),
        "none" | "uncompressed" => Ok(Compression::UNCOMPRESSED),
        other => Err(format!(
            "save_args.compression: unsupported codec '{other}' (use snappy, zstd, lz4 or none)"
        )),
    }
}

/// Below this many bytes of data, extra threads cost more than they save.
const PARALLEL_THRESHOLD: usize = 4 * 1024 * 1024;

/// Runs `work` on round-robin shares of `items`, one thread per core when
/// `bytes` of data make that worthwhile; a panicking worker becomes an
/// error, not a panic of the caller.
fn in_parallel<T: Send, R: Send>(
    items: Vec<T>,
    bytes: usize,
    work: impl Fn(Vec<T>) -> Result<Vec<R>, String> + Sync,
) -> Result<Vec<R>, String> {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = if bytes < PARALLEL_THRESHOLD {
        1
    } else {
        cores.min(items.len()).max(1)
    };
    let mut groups: Vec<Vec<T>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        groups[i % threads].push(item);
    }
    let mut out = Vec::new();
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = groups
            .into_iter()
            .map(|group| scope.spawn(move || work(group)))
            .collect();
        for handle in handles {
            let results = handle
                .join()
                .map_err(|_| "the parquet codec panicked".to_owned())??;
            out.extend(results);
        }
        Ok(out)
    })
}

/// Decodes the `roots` columns, each worker reading its share of the
/// columns over the shared buffer into one array per column.
fn read_columns(
    bytes: &Bytes,
    metadata: &ArrowReaderMetadata,
    roots: &[usize],
    num_rows: usize,
) -> Result<(Vec<FieldRef>, Vec<ArrayRef>), String> {
    let mut unique = roots.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let decoded = in_parallel(unique, bytes.len(), |group| {
        let mask = ProjectionMask::roots(metadata.parquet_schema(), group.iter().copied());
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(bytes.clone(), metadata.clone())
            .with_projection(mask)
            .with_batch_size(num_rows.max(1))
            .build()
            .map_err(|e| e.to_string())?;
        let schema = reader.schema();
        let mut columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| arrow_array::new_empty_array(f.data_type()))
            .collect();
        for batch in reader {
            // One batch holds every row (the batch size is the row count).
            columns = batch.map_err(|e| e.to_string())?.columns().to_vec();
        }
        // The reader returns the projected columns in file order, as `group` is.
        Ok(group
            .into_iter()
            .zip(schema.fields().iter().cloned().zip(columns))
            .collect::<Vec<_>>())
    })?;
    let by_root: HashMap<usize, (FieldRef, ArrayRef)> = decoded.into_iter().collect();
    roots
        .iter()
        .map(|r| by_root.get(r).cloned().ok_or_else(|| format!("column {r} was not decoded")))
        .collect::<Result<Vec<_>, _>>()
        .map(|pairs| pairs.into_iter().unzip())
}

/// Encodes `batches` into a Parquet file in memory, each row group's
/// columns on parallel workers.
fn write_parquet(
    batches: &[RecordBatch],
    schema: &SchemaRef,
    properties: WriterProperties,
) -> Result<Vec<u8>, String> {
    let parquet_error = |e: parquet::errors::ParquetError| e.to_string();
    let row_group_size = properties.max_row_group_row_count().unwrap_or(usize::MAX);
    // Incompressible data (random floats) encodes to about its in-memory
    // size: reserving that up front avoids regrowing a large buffer.
    let estimate: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
    let writer = ArrowWriter::try_new(Vec::with_capacity(estimate + 4096), Arc::clone(schema), Some(properties))
        .map_err(parquet_error)?;
    let (mut file, factory) = writer.into_serialized_writer().map_err(parquet_error)?;
    let leaf_roots: Vec<usize> = (0..file.schema_descr().num_columns())
        .map(|leaf| file.schema_descr().get_column_root_idx(leaf))
        .collect();
    for (index, row_group) in row_groups(batches, row_group_size).into_iter().enumerate() {
        let chunks = encode_row_group(&factory, index, schema, &leaf_roots, &row_group, estimate)?;
        let mut group_writer = file.next_row_group().map_err(parquet_error)?;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut group_writer)
                .map_err(parquet_error)?;
        }
        group_writer.close().map_err(parquet_error)?;
    }
    file.into_inner().map_err(parquet_error)
}

/// Zero-copy slices of `batches` grouped into row groups of `size` rows.
fn row_groups(batches: &[RecordBatch], size: usize) -> Vec<Vec<RecordBatch>> {
    let mut groups = Vec::new();
    let mut current: Vec<RecordBatch> = Vec::new();
    let mut filled = 0;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (size - filled).min(batch.num_rows() - offset);
            current.push(batch.slice(offset, take));
            offset += take;
            filled += take;
            if filled == size {
                groups.push(std::mem::take(&mut current));
                filled = 0;
            }
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// Encodes one row group: each worker owns the leaf writers of its share
/// of the root columns.
fn encode_row_group(
    factory: &ArrowRowGroupWriterFactory,
    index: usize,
    schema: &SchemaRef,
    leaf_roots: &[usize],
    slices: &[RecordBatch],
    bytes: usize,
) -> Result<Vec<ArrowColumnChunk>, String> {
    let writers = factory
        .create_column_writers(index)
        .map_err(|e| e.to_string())?;
    let mut per_root: Vec<(usize, Vec<ArrowColumnWriter>)> =
        (0..schema.fields().len()).map(|root| (root, Vec::new())).collect();
    for (writer, &root) in writers.into_iter().zip(leaf_roots) {
        per_root[root].1.push(writer);
    }
    let mut encoded = in_parallel(per_root, bytes, |group| {
        let mut chunks = Vec::new();
        for (root, mut writers) in group {
            let field = schema.field(root);
            for slice in slices {
                let leaves = compute_leaves(field, slice.column(root)).map_err(|e| e.to_string())?;
                for (writer, leaf) in writers.iter_mut().zip(&leaves) {
                    writer.write(leaf).map_err(|e| e.to_string())?;
                }
            }
            for writer in writers {
                chunks.push((root, writer.close().map_err(|e| e.to_string())?));
            }
        }
        Ok(chunks)
    })?;
    // Chunks must be appended in leaf order; a root's leaves are already in order.
    encoded.sort_by_key(|(root, _)| *root);
    Ok(encoded.into_iter().map(|(_, chunk)| chunk).collect())
}
