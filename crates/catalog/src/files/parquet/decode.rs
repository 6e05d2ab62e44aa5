//! Decoding: each worker fetches the column chunks of its share of the
//! columns, checks their page headers ([`super::check`]) and decodes them.
//!
//! A worker decodes its columns in one batch holding every row, so no
//! concatenation copy is made, unless the footer states more rows than
//! the bytes the [`ParquetBudget`] sets aside up front hold: the reader
//! reserves room for a whole batch before decoding it, and a 120-byte
//! file stating a billion rows had it reserve (and zero-fill) 7.6 GB
//! before finding the data was not there. Past that many rows, batches
//! of that size are decoded and concatenated, so what a file claims is
//! allocated only as its data bears it out (as pyarrow's reader does).

use std::collections::HashMap;

use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::FieldRef;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::basic::Type as PhysicalType;
use parquet::file::reader::ChunkReader;
use parquet::schema::types::ColumnDescriptor;

use super::budget::ParquetBudget;
use super::check::{Tally, check_chunk, chunk_range};
use super::read::{File, parquet_error};
use super::{balanced_groups, in_parallel};
use crate::error::Error;
use crate::files::format_error;

/// About the bytes the reader sets aside per row for a leaf column
/// before decoding: its values (offsets for byte arrays, 16 bytes for
/// the decimals and timestamps some fixed-width types become) and its
/// definition and repetition levels.
fn row_bytes(leaf: &ColumnDescriptor) -> usize {
    let values = match leaf.physical_type() {
        PhysicalType::BOOLEAN => 1,
        PhysicalType::INT32 | PhysicalType::FLOAT => 4,
        PhysicalType::INT64 | PhysicalType::DOUBLE | PhysicalType::BYTE_ARRAY => 8,
        PhysicalType::INT96 => 16,
        PhysicalType::FIXED_LEN_BYTE_ARRAY => {
            usize::try_from(leaf.type_length()).unwrap_or(0).max(16)
        }
    };
    let levels =
        2 * (usize::from(leaf.max_def_level() > 0) + usize::from(leaf.max_rep_level() > 0));
    values + levels
}

/// How a worker's decoding error names its columns.
fn columns_named(names: &[&str]) -> String {
    match names {
        [one] => format!("column '{one}'"),
        [first, second] => format!("columns '{first}', '{second}'"),
        [first, second, rest @ ..] => {
            format!("columns '{first}', '{second}' and {} more", rest.len())
        }
        [] => "no column".to_owned(),
    }
}

/// Decodes the root columns `roots`, in that order, each as one array of
/// the file's `num_rows` rows (checked by [`super::check::check_metadata`]),
/// setting aside no more than `upfront` bytes for a batch of rows before
/// decoding it.
pub(super) fn columns(
    file: &File<'_>,
    metadata: &ArrowReaderMetadata,
    roots: &[usize],
    num_rows: usize,
    (budget, upfront): (ParquetBudget, usize),
    url: &str,
) -> Result<(Vec<FieldRef>, Vec<ArrayRef>), Error> {
    let schema = metadata.parquet_schema();
    let row_groups = metadata.metadata().row_groups();
    let root_fields = schema.root_schema().get_fields();
    let root_of: Vec<usize> = (0..schema.num_columns())
        .map(|leaf| schema.get_column_root_idx(leaf))
        .collect();
    let mut weights = vec![0_u64; root_fields.len()];
    for row_group in row_groups {
        for (chunk, &root) in row_group.columns().iter().zip(&root_of) {
            weights[root] += u64::try_from(chunk.compressed_size()).unwrap_or(0);
        }
    }
    let mut selected = vec![false; root_fields.len()];
    for &root in roots {
        selected[root] = true;
    }
    let per_row: usize = (0..schema.num_columns())
        .filter(|&leaf| selected[root_of[leaf]])
        .map(|leaf| row_bytes(&schema.column(leaf)))
        .sum();
    let upfront_rows = upfront / per_row.max(1);
    let weighted = (0..root_fields.len())
        .filter(|&root| selected[root])
        .map(|root| (root, weights[root]))
        .collect();
    let tally = Tally::default();
    let decoded = in_parallel(balanced_groups(weighted), url, |group| {
        let error = parquet_error(url);
        let mut mine = vec![false; root_fields.len()];
        for &root in &group {
            mine[root] = true;
        }
        let chunks: Vec<_> = row_groups
            .iter()
            .enumerate()
            .flat_map(|(index, row_group)| {
                row_group
                    .columns()
                    .iter()
                    .zip(&root_of)
                    .filter(|(_, root)| mine[**root])
                    .map(move |(chunk, _)| (index, row_group.num_rows(), chunk))
            })
            .collect();
        let mut ranges = Vec::with_capacity(chunks.len());
        for (_, _, chunk) in &chunks {
            // check_metadata has checked every chunk's range.
            let (start, len) = chunk_range(chunk)
                .ok_or_else(|| format_error("parquet", url, "a column chunk outside the file"))?;
            ranges.push(start..start + len);
        }
        let fetched = file.fetch(ranges.clone())?;
        let mut largest_dictionary = 0;
        for ((index, group_rows, chunk), range) in chunks.iter().zip(ranges) {
            let len = usize::try_from(range.end - range.start).unwrap_or(usize::MAX);
            let bytes = fetched.get_bytes(range.start, len).map_err(&error)?;
            let group_rows = usize::try_from(*group_rows).unwrap_or(0);
            let dictionary = check_chunk(chunk, *index, group_rows, &bytes, budget, &tally, url)?;
            if chunk.column_type() == PhysicalType::BYTE_ARRAY {
                largest_dictionary = largest_dictionary.max(dictionary);
            }
        }
        let names: Vec<&str> = group.iter().map(|&r| root_fields[r].name()).collect();
        let decode_error = |e: &dyn std::fmt::Display| {
            format_error("parquet", url, format!("{}: {e}", columns_named(&names)))
        };
        let mask = ProjectionMask::roots(schema, group.iter().copied());
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(fetched, metadata.clone())
            .with_projection(mask)
            .with_batch_size(budget.batch_rows(upfront_rows, largest_dictionary))
            .build()
            .map_err(|e| decode_error(&e))?;
        let projected = reader.schema();
        let mut batches = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|e| decode_error(&e))?;
            let size = batch.get_array_memory_size();
            budget.add_bytes(&tally.decoded, size, "columns", url)?;
            batches.push(batch);
        }
        let arrays = concat_columns(&projected, batches, url)?;
        // The reader returns the projected columns in file order, as `group` is.
        Ok(group
            .into_iter()
            .zip(projected.fields().iter().cloned().zip(arrays))
            .collect::<Vec<_>>())
    })?;
    let by_root: HashMap<usize, (FieldRef, ArrayRef)> = decoded.into_iter().collect();
    let pairs = roots
        .iter()
        .map(|r| {
            by_root
                .get(r)
                .cloned()
                .ok_or_else(|| format_error("parquet", url, format!("column {r} was not decoded")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (fields, columns): (Vec<FieldRef>, Vec<ArrayRef>) = pairs.into_iter().unzip();
    // A column's pages may hold fewer values than the footer states rows.
    if let Some((field, column)) = fields
        .iter()
        .zip(&columns)
        .find(|(_, c)| c.len() != num_rows)
    {
        return Err(format_error(
            "parquet",
            url,
            format!(
                "column '{}' has {} rows where the footer states {num_rows}",
                field.name(),
                column.len()
            ),
        ));
    }
    Ok((fields, columns))
}

/// Each column of `batches` as one array: the only batch's as they are.
fn concat_columns(
    schema: &arrow_schema::SchemaRef,
    mut batches: Vec<RecordBatch>,
    url: &str,
) -> Result<Vec<ArrayRef>, Error> {
    match batches.len() {
        0 => Ok(schema
            .fields()
            .iter()
            .map(|f| arrow_array::new_empty_array(f.data_type()))
            .collect()),
        1 => Ok(batches.remove(0).columns().to_vec()),
        _ => (0..schema.fields().len())
            .map(|i| {
                let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
                arrow_select::concat::concat(&parts).map_err(|e| format_error("parquet", url, e))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Int64Type;
    use arrow_array::{Int64Array, ListArray, StringArray};
    use bytes::Bytes;
    use parquet::file::properties::WriterProperties;

    use super::*;
    use crate::files::parquet::check::check_metadata;
    use crate::files::parquet::read::{Source, open};

    #[test]
    fn rows_past_what_is_set_aside_are_decoded_in_batches_and_joined() {
        let rows = 10_000;
        let table = RecordBatch::try_from_iter([
            (
                "i",
                Arc::new(Int64Array::from_iter(
                    (0..rows).map(|i| (i % 3 != 0).then_some(i)),
                )) as ArrayRef,
            ),
            (
                "l",
                Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(
                    (0..rows)
                        .map(|i| (i % 5 != 0).then(|| (0..i % 4).map(Some).collect::<Vec<_>>())),
                )),
            ),
            (
                "s",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("s{}", i % 7)),
                )),
            ),
        ])
        .unwrap();
        let properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(3_000))
            .build();
        let bytes = super::super::write::write(
            std::slice::from_ref(&table),
            &table.schema(),
            properties,
            "t",
        )
        .map(Bytes::from)
        .unwrap();
        let (file, metadata) = open(Source::Memory(bytes), "t").unwrap();
        let num_rows =
            check_metadata(metadata.metadata(), file.len(), ParquetBudget::FILE, "t").unwrap();
        assert_eq!(num_rows, 10_000);
        // 4 kB set aside holds about a hundred rows of these columns, so
        // about a hundred batches are joined; 1 GB holds them all at once.
        for upfront in [4096, 1 << 30] {
            let (fields, columns) = columns(
                &file,
                &metadata,
                &[2, 0, 1],
                num_rows,
                (ParquetBudget::FILE, upfront),
                "t",
            )
            .unwrap();
            let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
            assert_eq!(names, ["s", "i", "l"]);
            for (column, expected) in columns.iter().zip([2, 0, 1]) {
                assert_eq!(
                    column.as_ref(),
                    table.column(expected).as_ref(),
                    "{upfront}"
                );
            }
        }
    }
}
