//! `ParquetDataset`: arrow `RecordBatch`es as Apache Parquet.
//!
//! Speed, measured against pyarrow (docs/benchmarks.md):
//! - Columns are encoded and decoded on up to `available_parallelism`
//!   threads, each owning a contiguous share of the columns balanced by
//!   size, as pyarrow does.
//! - A load reads the footer, then each worker fetches only its own column
//!   chunks (ranged reads, merged when adjacent) and decodes them into one
//!   batch holding every row, so no concatenation copy is made (unless the
//!   file decodes to more than 64 times its size and 128 MiB: see
//!   `decode.rs`). Fetching per
//!   worker overlaps I/O with decoding and keeps every buffer moderate in
//!   size, which the allocator can recycle; one buffer for a whole large
//!   file would be fresh memory, page-faulted in on every load.
//! - Floating-point columns skip dictionary encoding by default: their
//!   values rarely repeat, so the dictionary is built, overflows its size
//!   limit and is thrown away, which costs more than the rest of the encoding.
//!
//! This is tandem's one parquet reader: file datasets, model artifacts and
//! (through [`read_bytes`]) scoring requests are read by it. The parquet
//! crate's reader panics or allocates gigabytes on some malformed files,
//! so the footer and every column chunk's page headers are checked before
//! anything is decoded (`check.rs`), and what is set aside before the data
//! confirms the footer's row counts is bounded by the file's size
//! (`decode.rs`, [`ParquetBudget`]).

mod budget;
mod check;
mod decode;
mod read;
mod thrift;
mod write;

use std::num::NonZeroUsize;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Schema, SchemaRef};
use bytes::Bytes;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::Data;

pub use self::budget::ParquetBudget;
use super::{FileFormat, FileOptions, args_details, format_error, record_batches};
use crate::error::Error;
use crate::location::Location;
use crate::registry::DatasetConfig;

/// The rows of the parquet file `bytes` as one batch, read with the
/// checks every catalog load makes and within `budget`.
///
/// `location` names the file in errors. Every error is an
/// [`Error::Format`] (kind `format`) whose message names the column and
/// what is wrong with it, or what went over the budget.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use tandem_catalog::parquet::{ParquetBudget, read_bytes};
///
/// let batch = RecordBatch::try_from_iter([
///     ("x", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
/// ])?;
/// let mut file = Vec::new();
/// let mut writer = parquet::arrow::ArrowWriter::try_new(&mut file, batch.schema(), None)?;
/// writer.write(&batch)?;
/// writer.close()?;
///
/// let body = bytes::Bytes::from(file);
/// let budget = ParquetBudget::for_body(body.len());
/// assert_eq!(read_bytes(body, "request body", budget)?, batch);
///
/// let err = read_bytes(bytes::Bytes::from_static(b"PAR1"), "request body", budget).unwrap_err();
/// assert_eq!(err.kind(), "format");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_bytes(
    bytes: Bytes,
    location: &str,
    budget: ParquetBudget,
) -> Result<RecordBatch, Error> {
    let (file, metadata) = read::open(read::Source::Memory(bytes), location)?;
    let roots: Vec<usize> = (0..metadata.schema().fields().len()).collect();
    table(&file, &metadata, &roots, budget, location)
}

/// The root columns `roots` of `file`, in that order, as one batch.
fn table(
    file: &read::File<'_>,
    metadata: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
    roots: &[usize],
    budget: ParquetBudget,
    location: &str,
) -> Result<RecordBatch, Error> {
    let num_rows = check::check_metadata(metadata.metadata(), file.len(), budget, location)?;
    let upfront = budget.upfront(file.len());
    let (fields, columns) =
        decode::columns(file, metadata, roots, num_rows, (budget, upfront), location)?;
    // The row count matters when no column is selected (`columns: []`).
    let options = RecordBatchOptions::new().with_row_count(Some(num_rows));
    let schema = std::sync::Arc::new(Schema::new(fields));
    RecordBatch::try_new_with_options(schema, columns, &options)
        .map_err(|e| format_error("parquet", location, e))
}

/// pyarrow's default row group size (1 Mi rows).
const DEFAULT_ROW_GROUP_SIZE: usize = 1024 * 1024;

/// Loads started over because a save replaced the file mid-read, before
/// giving up (a writer saving faster than a load can read).
const MAX_ATTEMPTS: u32 = 5;

/// Below this many bytes of data, extra threads cost more than they save.
const PARALLEL_THRESHOLD: u64 = 4 * 1024 * 1024;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    /// Only these columns, in this order.
    #[serde(skip_serializing_if = "Option::is_none")]
    columns: Option<Vec<String>>,
    /// pandas' parquet engine: `pyarrow` (or `auto`), which tandem's reader
    /// stands in for.
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<String>,
    /// Load a `Vec<RecordBatch>` of at most this many rows each.
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_size: Option<NonZeroUsize>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    /// Any case; an explicit `null` means uncompressed, as in pandas.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    compression: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<String>,
    /// Arrow tables have no index: `false` (drop it) is what tandem does.
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<bool>,
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
        let compression = match &save_args.compression {
            None => parse_compression(None),
            Some(None) => Ok(Compression::UNCOMPRESSED),
            Some(Some(name)) => parse_compression(Some(name)),
        }
        .map_err(|e| Error::config(&config.name, e))?;
        for (field, engine) in [
            ("load_args.engine", &load_args.engine),
            ("save_args.engine", &save_args.engine),
        ] {
            match engine.as_deref() {
                None | Some("pyarrow" | "auto") => {}
                Some(other) => {
                    return Err(Error::config(
                        &config.name,
                        format!(
                            "{field}: engine '{other}' is not available (tandem reads and writes \
                             parquet as pyarrow does: use pyarrow)"
                        ),
                    ));
                }
            }
        }
        if save_args.index == Some(true) {
            return Err(Error::config(
                &config.name,
                "save_args.index: true is not supported: arrow tables have no index to write",
            ));
        }
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
            format_error(
                "parquet",
                location,
                "nothing to save: the Vec<RecordBatch> is empty",
            )
        })?;
        let schema = first.schema();
        if let Some(index) = batches
            .iter()
            .position(|b| b.schema_ref().fields() != schema.fields())
        {
            return Err(format_error(
                "parquet",
                location,
                format!("batch {index} has a different schema than batch 0"),
            ));
        }
        let properties = self.writer_properties(&schema);
        write::write(batches, &schema, properties, location).map(Bytes::from)
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        self.read(read::Source::Memory(bytes), location)
    }

    fn load(&self, location: &Location) -> Result<Data, Error> {
        // A save that replaces the file between the footer and the column
        // reads makes the load start over on the new file.
        let mut attempts = 0;
        loop {
            match self.read(read::Source::Store(location), location.url()) {
                Err(e) if read::replaced_meanwhile(&e) && attempts < MAX_ATTEMPTS => attempts += 1,
                result => return result,
            }
        }
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        args_details(&self.load_args, &self.save_args)
    }
}

impl ParquetFormat {
    fn read(&self, source: read::Source<'_>, location: &str) -> Result<Data, Error> {
        let (file, metadata) = read::open(source, location)?;
        let roots = self.projection(metadata.schema(), location)?;
        let batch = table(&file, &metadata, &roots, ParquetBudget::FILE, location)?;
        let num_rows = batch.num_rows();
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

    /// The root columns to read, in the order asked for.
    fn projection(&self, schema: &SchemaRef, location: &str) -> Result<Vec<usize>, Error> {
        let Some(names) = &self.load_args.columns else {
            return Ok((0..schema.fields().len()).collect());
        };
        let all: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        names
            .iter()
            .map(|name| {
                schema.index_of(name).map_err(|_| {
                    let nearest =
                        tandem_pipeline_core::suggest::close_matches(name, all.iter().copied());
                    let hint = match nearest.first() {
                        Some(n) => format!("; did you mean '{n}'?"),
                        None => String::new(),
                    };
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

/// Keeps an explicit `null` apart from an absent key.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `snappy` (pyarrow's default), `gzip`, `zstd`, `lz4` or `none`, in any case.
fn parse_compression(name: Option<&str>) -> Result<Compression, String> {
    let Some(name) = name else {
        return Ok(Compression::SNAPPY);
    };
    match name.to_ascii_lowercase().as_str() {
        "snappy" => Ok(Compression::SNAPPY),
        "gzip" => Ok(Compression::GZIP(parquet::basic::GzipLevel::default())),
        "zstd" => Ok(Compression::ZSTD(ZstdLevel::default())),
        // Parquet deprecated the Hadoop-framed LZ4 codec; pyarrow reads LZ4_RAW.
        "lz4" | "lz4_raw" => Ok(Compression::LZ4_RAW),
        "none" | "uncompressed" => Ok(Compression::UNCOMPRESSED),
        other => Err(format!(
            "save_args.compression: unsupported codec '{other}' (use snappy, gzip, zstd, lz4 or none)"
        )),
    }
}

/// Splits weighted `items` into contiguous groups of about equal weight,
/// one per core when the total makes threads worthwhile, else one group.
fn balanced_groups<T>(items: Vec<(T, u64)>) -> Vec<Vec<T>> {
    let total: u64 = items.iter().map(|(_, w)| w).sum();
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = if total < PARALLEL_THRESHOLD {
        1
    } else {
        cores.min(items.len()).max(1) as u64
    };
    let mut groups: Vec<Vec<T>> = vec![Vec::new()];
    let mut filled = 0;
    for (item, weight) in items {
        // Start the next group once this one holds its share of the total.
        let done = groups.len() as u64;
        if filled * threads >= total * done
            && done < threads
            && !groups[groups.len() - 1].is_empty()
        {
            groups.push(Vec::new());
        }
        filled += weight;
        let last = groups.len() - 1;
        groups[last].push(item);
    }
    groups
}

/// Runs `work` on each group on its own scoped thread and gathers the
/// results in group order. A panicking worker (a codec bug on a malformed
/// file) becomes an error, not a panic of the caller.
fn in_parallel<T: Send, R: Send>(
    groups: Vec<Vec<T>>,
    location: &str,
    work: impl Fn(Vec<T>) -> Result<Vec<R>, Error> + Sync,
) -> Result<Vec<R>, Error> {
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = groups
            .into_iter()
            .map(|group| scope.spawn(move || work(group)))
            .collect();
        let mut out = Vec::new();
        for handle in handles {
            let results = handle
                .join()
                .map_err(|_| format_error("parquet", location, "the parquet codec panicked"))??;
            out.extend(results);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_contiguous_and_balanced_by_weight() {
        let big = PARALLEL_THRESHOLD;
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let groups = balanced_groups(vec![(0, big), (1, 1), (2, 1), (3, big)]);
        let flat: Vec<usize> = groups.iter().flatten().copied().collect();
        assert_eq!(flat, [0, 1, 2, 3]);
        assert_eq!(groups.len(), cores.min(4));
        if cores >= 2 {
            assert_eq!(groups[0], [0, 1]);
        }
        assert_eq!(
            balanced_groups(vec![(0, 1), (1, 1)]),
            [vec![0, 1]],
            "small data: one group"
        );
        assert_eq!(balanced_groups::<u8>(Vec::new()), [Vec::<u8>::new()]);
    }
}
