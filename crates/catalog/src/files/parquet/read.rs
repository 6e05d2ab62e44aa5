//! Loading's I/O: the footer first, then the byte ranges of column chunks
//! (see [`super::decode`] for what is done with them).

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures::TryStreamExt;
use object_store::{GetOptions, GetRange, GetResultPayload};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::reader::{ChunkReader, Length};

use crate::error::Error;
use crate::files::format_error;
use crate::location::Location;
use crate::runtime::block_on;

/// How much of a stored file's end the first request fetches: most footers
/// fit, and a file this small arrives whole in that one request.
const TAIL_GUESS: u64 = 64 * 1024;

/// Where a file's bytes come from.
pub(super) enum Source<'a> {
    /// The whole file, in memory.
    Memory(Bytes),
    /// An object in a store, fetched in ranges.
    Store(&'a Location),
}

/// A file whose footer has been read.
pub(super) enum File<'a> {
    /// The whole file, in memory.
    Memory(Bytes),
    /// A stored object; `version` pins every later request to the object
    /// the footer came from.
    Store {
        location: &'a Location,
        size: u64,
        version: Pin,
    },
}

/// What identifies one version of an object. A save replaces the object
/// atomically, but between two ranged reads it may still be replaced: a
/// conditional request makes that an error (retried by the caller) rather
/// than footer and data from different files.
#[derive(Clone, Default)]
pub(super) struct Pin {
    e_tag: Option<String>,
    version: Option<String>,
}

impl Pin {
    fn options(&self, range: GetRange) -> GetOptions {
        let mut options = GetOptions::default().with_range(Some(range));
        options.if_match = self.e_tag.clone();
        options.version = self.version.clone();
        options
    }
}

/// Whether `error` says the object changed between two reads of one load.
pub(super) fn replaced_meanwhile(error: &Error) -> bool {
    matches!(
        error,
        Error::Storage {
            source: object_store::Error::Precondition { .. },
            ..
        }
    )
}

pub(super) fn parquet_error(location: &str) -> impl Fn(ParquetError) -> Error + '_ {
    move |e| format_error("parquet", location, e)
}

fn storage(location: &Location, source: object_store::Error) -> Error {
    Error::Storage {
        operation: "read",
        location: location.url().to_owned(),
        source,
    }
}

/// The last `n` bytes of the object, its size and what pins its version.
fn tail(location: &Location, n: u64, pin: &Pin) -> Result<(Bytes, u64, Pin), Error> {
    let store = Arc::clone(location.store());
    let path = location.path().clone();
    let options = pin.options(GetRange::Suffix(n));
    block_on(async move {
        let result = store.get_opts(&path, options).await?;
        let meta = result.meta.clone();
        let pin = Pin {
            e_tag: meta.e_tag,
            version: meta.version,
        };
        Ok((result.bytes().await?, meta.size, pin))
    })?
    .map_err(|e| storage(location, e))
}

/// Reads the footer: one request for a stored file (two when its footer is
/// larger than [`TAIL_GUESS`]).
pub(super) fn open<'a>(
    source: Source<'a>,
    url: &str,
) -> Result<(File<'a>, ArrowReaderMetadata), Error> {
    let error = parquet_error(url);
    let location = match source {
        Source::Memory(bytes) => {
            let metadata =
                ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new()).map_err(&error)?;
            return Ok((File::Memory(bytes), metadata));
        }
        Source::Store(location) => location,
    };
    let (bytes, size, version) = tail(location, TAIL_GUESS, &Pin::default())?;
    if bytes.len() as u64 == size {
        return open(Source::Memory(bytes), url);
    }
    let mut reader = ParquetMetaDataReader::new();
    match reader.try_parse_sized(&bytes, size) {
        Ok(()) => {}
        Err(ParquetError::NeedMoreData(needed)) => {
            let (bytes, _, _) = tail(location, needed as u64, &version)?;
            reader.try_parse_sized(&bytes, size).map_err(&error)?;
        }
        Err(e) => return Err(error(e)),
    }
    let metadata = reader.finish().map_err(&error)?;
    let metadata = ArrowReaderMetadata::try_new(Arc::new(metadata), ArrowReaderOptions::new())
        .map_err(&error)?;
    let file = File::Store {
        location,
        size,
        version,
    };
    Ok((file, metadata))
}

impl File<'_> {
    /// The file's size in bytes.
    pub(super) fn len(&self) -> u64 {
        match self {
            File::Memory(bytes) => bytes.len() as u64,
            File::Store { size, .. } => *size,
        }
    }

    /// The given byte ranges of the file.
    pub(super) fn fetch(&self, mut ranges: Vec<Range<u64>>) -> Result<Fetched, Error> {
        let (location, size, version) = match self {
            File::Memory(bytes) => {
                return Ok(Fetched {
                    len: bytes.len() as u64,
                    parts: vec![(0, bytes.clone())],
                });
            }
            File::Store {
                location,
                size,
                version,
            } => (*location, *size, version),
        };
        ranges.sort_unstable_by_key(|r| r.start);
        let merged = merge_adjacent(ranges);
        let store = Arc::clone(location.store());
        let path = location.path().clone();
        let requests = merged.clone();
        // Concurrent requests; a local file comes back as an open file,
        // read below on this worker thread.
        let parts = block_on(async move {
            let gets = requests.into_iter().map(|range| {
                let (store, path) = (Arc::clone(&store), path.clone());
                let options = version.options(GetRange::Bounded(range));
                async move {
                    let result = store.get_opts(&path, options).await?;
                    Ok::<_, object_store::Error>(match result.payload {
                        GetResultPayload::File(file, _) => Part::File(file, result.range),
                        GetResultPayload::Stream(stream) => {
                            Part::Fetched(concat(stream.try_collect().await?))
                        }
                    })
                }
            });
            futures::future::try_join_all(gets).await
        })?
        .map_err(|e| storage(location, e))?;
        let parts = merged
            .iter()
            .zip(parts)
            .map(|(range, part)| {
                Ok((
                    range.start,
                    part.into_bytes().map_err(|e| storage(location, e))?,
                ))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Fetched { len: size, parts })
    }
}

/// Ranges sorted by start, with touching or overlapping ones merged.
fn merge_adjacent(ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// One fetched range, before it is read into memory.
enum Part {
    /// A local file, to read `range` from. Reading it here into
    /// uninitialized capacity skips the zero-filling the store's own read
    /// does, and runs on the decoding worker rather than the I/O runtime.
    File(std::fs::File, Range<u64>),
    /// Bytes already received.
    Fetched(Bytes),
}

impl Part {
    fn into_bytes(self) -> Result<Bytes, object_store::Error> {
        let (file, range) = match self {
            Part::Fetched(bytes) => return Ok(bytes),
            Part::File(file, range) => (file, range),
        };
        let io = |source: std::io::Error| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(source),
        };
        let len = range.end - range.start;
        let mut buffer =
            Vec::with_capacity(usize::try_from(len).map_err(|e| io(std::io::Error::other(e)))?);
        let mut file = file;
        file.seek(SeekFrom::Start(range.start)).map_err(io)?;
        file.take(len).read_to_end(&mut buffer).map_err(io)?;
        if buffer.len() as u64 != len {
            return Err(io(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)));
        }
        Ok(Bytes::from(buffer))
    }
}

/// One buffer from a stream's chunks, copying only when there are several.
fn concat(mut chunks: Vec<Bytes>) -> Bytes {
    if chunks.len() == 1 {
        return chunks.remove(0);
    }
    let mut out = Vec::with_capacity(chunks.iter().map(Bytes::len).sum());
    for chunk in chunks {
        out.extend_from_slice(&chunk);
    }
    Bytes::from(out)
}

/// Parts of a file addressed by file offset: what the decoder reads.
pub(super) struct Fetched {
    len: u64,
    /// `(offset, bytes)`, sorted by offset, not overlapping.
    parts: Vec<(u64, Bytes)>,
}

impl Fetched {
    /// The fetched bytes from `start` to the end of the part holding it.
    fn from(&self, start: u64) -> parquet::errors::Result<Bytes> {
        let index = self.parts.partition_point(|(offset, _)| *offset <= start);
        let missing = || ParquetError::General(format!("byte {start} of the file was not fetched"));
        let (offset, bytes) = index
            .checked_sub(1)
            .map(|i| &self.parts[i])
            .ok_or_else(missing)?;
        let skip = usize::try_from(start - offset).map_err(|_| missing())?;
        if skip > bytes.len() {
            return Err(missing());
        }
        Ok(bytes.slice(skip..))
    }
}

impl Length for Fetched {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Fetched {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.from(start)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let rest = self.from(start)?;
        if length > rest.len() {
            return Err(ParquetError::General(format!(
                "bytes {start}..{} of the file were not fetched",
                start + length as u64
            )));
        }
        Ok(rest.slice(..length))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, RecordBatch};
    use parquet::file::properties::WriterProperties;

    use super::*;

    /// A parquet file of `rows` incompressible values, larger than the
    /// first ranged read for a few thousand rows.
    fn parquet_file(rows: usize, seed: u64) -> Bytes {
        let mut state = seed | 1;
        let values = Float64Array::from_iter_values((0..rows).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as f64
        }));
        let batch = RecordBatch::try_from_iter([("x", Arc::new(values) as ArrayRef)]).unwrap();
        let schema = batch.schema();
        let props = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .build();
        Bytes::from(super::super::write::write(&[batch], &schema, props, "test").unwrap())
    }

    #[test]
    fn a_file_replaced_after_its_footer_was_read_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let memory = format!("memory://read-tests/{}/x.parquet", std::process::id());
        for path in [
            dir.path().join("x.parquet").to_string_lossy().into_owned(),
            memory,
        ] {
            let location = Location::resolve(&path, dir.path(), None).unwrap();
            location.write(parquet_file(20_000, 1)).unwrap();
            let (file, _) = open(Source::Store(&location), &path).unwrap();
            assert!(matches!(file, File::Store { .. }), "{path}: read in ranges");
            file.fetch(vec![0..4, 8..12]).unwrap();
            location.write(parquet_file(30_000, 2)).unwrap();
            let err = file
                .fetch(vec![0..4, 8..12])
                .err()
                .expect("the old version is gone");
            assert!(replaced_meanwhile(&err), "{path}: {err}");
        }
    }

    #[test]
    fn fetched_parts_serve_only_what_was_fetched() {
        let fetched = Fetched {
            len: 100,
            parts: vec![
                (10, Bytes::from_static(b"abcdef")),
                (50, Bytes::from_static(b"xyz")),
            ],
        };
        assert_eq!(
            fetched.get_bytes(12, 3).unwrap(),
            Bytes::from_static(b"cde")
        );
        assert_eq!(
            fetched.get_bytes(50, 3).unwrap(),
            Bytes::from_static(b"xyz")
        );
        let mut rest = String::new();
        fetched
            .get_read(13)
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        assert_eq!(rest, "def");
        assert!(fetched.get_bytes(5, 2).is_err(), "before the first part");
        assert!(fetched.get_bytes(14, 4).is_err(), "past the part's end");
        assert!(fetched.get_bytes(30, 1).is_err(), "between parts");
        assert_eq!(
            merge_adjacent(vec![0..5, 5..8, 9..10, 9..12]),
            [0..8, 9..12]
        );
    }
}
