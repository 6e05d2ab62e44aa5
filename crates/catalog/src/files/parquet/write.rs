//! Saving: each row group's columns are encoded on parallel workers, and
//! each finished column is appended to the in-memory file while the
//! workers go on with the next ones.

use std::collections::BTreeMap;
use std::sync::{Arc, mpsc};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriter, compute_leaves,
};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use super::balanced_groups;
use crate::error::Error;
use crate::files::format_error;

/// Encodes `batches` (which share `schema`) into a Parquet file.
pub(super) fn write(
    batches: &[RecordBatch],
    schema: &SchemaRef,
    properties: WriterProperties,
    url: &str,
) -> Result<Vec<u8>, Error> {
    let error = |e: ParquetError| format_error("parquet", url, e);
    let row_group_size = properties.max_row_group_row_count().unwrap_or(usize::MAX);
    // Incompressible data (random floats) encodes to about its in-memory
    // size: reserving that up front avoids regrowing a large buffer.
    let estimate: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
    let buffer = Vec::with_capacity(estimate + 4096);
    // ArrowWriter embeds the arrow schema in the footer (so pyarrow restores
    // timestamps' zones, large types...), then hands over its lower-level
    // writers for the parallel encoding.
    let writer =
        ArrowWriter::try_new(buffer, Arc::clone(schema), Some(properties)).map_err(error)?;
    let (mut file, factory) = writer.into_serialized_writer().map_err(error)?;
    let leaf_roots: Vec<usize> = (0..file.schema_descr().num_columns())
        .map(|leaf| file.schema_descr().get_column_root_idx(leaf))
        .collect();
    for (index, slices) in row_groups(batches, row_group_size).iter().enumerate() {
        write_row_group(&mut file, &factory, index, schema, &leaf_roots, slices, url)?;
    }
    file.into_inner().map_err(error)
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

/// Encodes one row group. Each worker owns the leaf writers of a
/// contiguous share of the root columns and sends each root's chunks when
/// done; this thread appends them in root order as they become available.
fn write_row_group(
    file: &mut SerializedFileWriter<Vec<u8>>,
    factory: &ArrowRowGroupWriterFactory,
    index: usize,
    schema: &SchemaRef,
    leaf_roots: &[usize],
    slices: &[RecordBatch],
    url: &str,
) -> Result<(), Error> {
    let error = |e: ParquetError| format_error("parquet", url, e);
    let writers = factory.create_column_writers(index).map_err(error)?;
    let roots = schema.fields().len();
    let mut per_root: Vec<(usize, Vec<ArrowColumnWriter>)> =
        (0..roots).map(|root| (root, Vec::new())).collect();
    for (writer, &root) in writers.into_iter().zip(leaf_roots) {
        per_root[root].1.push(writer);
    }
    let weighted = per_root
        .into_iter()
        .map(|(root, writers)| {
            let bytes: usize = slices
                .iter()
                .map(|s| s.column(root).get_array_memory_size())
                .sum();
            ((root, writers), bytes as u64)
        })
        .collect();
    let mut group = file.next_row_group().map_err(error)?;
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        let workers: Vec<_> = balanced_groups(weighted)
            .into_iter()
            .map(|share| {
                let sender = sender.clone();
                scope.spawn(move || {
                    for (root, writers) in share {
                        let encoded = encode_root(schema, root, writers, slices).map_err(error);
                        let failed = encoded.is_err();
                        // A closed channel means the appender gave up on an error.
                        if sender.send(encoded.map(|chunks| (root, chunks))).is_err() || failed {
                            return;
                        }
                    }
                })
            })
            .collect();
        drop(sender);
        let append = || {
            let mut ready = BTreeMap::new();
            let mut next = 0;
            for message in receiver {
                let (root, chunks) = message?;
                ready.insert(root, chunks);
                while let Some(chunks) = ready.remove(&next) {
                    for chunk in chunks {
                        chunk.append_to_row_group(&mut group).map_err(error)?;
                    }
                    next += 1;
                }
            }
            Ok::<_, Error>(())
        };
        let appended = append();
        // Every worker is joined here, whatever happened, so that a worker's
        // panic (a codec bug on odd data) becomes an error: the scope would
        // re-raise the panic of a thread left unjoined.
        let mut outcome = appended;
        for worker in workers {
            if worker.join().is_err() && outcome.is_ok() {
                outcome = Err(format_error("parquet", url, "the parquet encoder panicked"));
            }
        }
        outcome
    })?;
    group.close().map_err(error)?;
    Ok(())
}

/// Encodes one root column's leaves for the row group.
fn encode_root(
    schema: &SchemaRef,
    root: usize,
    mut writers: Vec<ArrowColumnWriter>,
    slices: &[RecordBatch],
) -> Result<Vec<ArrowColumnChunk>, ParquetError> {
    let field = schema.field(root);
    for slice in slices {
        let leaves = compute_leaves(field, slice.column(root))?;
        for (writer, leaf) in writers.iter_mut().zip(&leaves) {
            writer.write(leaf)?;
        }
    }
    writers.into_iter().map(ArrowColumnWriter::close).collect()
}
