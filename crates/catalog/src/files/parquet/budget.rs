//! How much a parquet file may decode to.
//!
//! A file dataset may decode to whatever its own structure makes valid:
//! the rows its footer states, in pages that can hold them (see
//! [`super::check`]). Only the memory set aside before the data has
//! confirmed those rows is bounded by the file's size, so a file that
//! claims more than it holds fails after little allocation, the way
//! pyarrow's reader, which reads in batches, does.
//!
//! A request body is bounded by its size, not what it stands for:
//! parquet compresses, and past a multiple of the body's size the
//! request is refused rather than allocated.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Error;
use crate::files::format_error;

/// The decoded bytes any body may take, however small; also what a
/// file's reader may set aside before its data is read, however small
/// the file.
const MIN_DECODED_BYTES: usize = 128 << 20;

/// The decoded bytes a body may take per byte of it: 64, what an Arrow
/// boolean column (a bit a row) converted to float64 takes. Most files
/// decode to less than this per byte, so it is also what a file's reader
/// sets aside up front per byte of the file.
const DECODED_BYTES_PER_BYTE: usize = 64;

/// What a parquet file read by [`read_bytes`](super::read_bytes) may
/// decode to.
///
/// Both kinds check the file's structure the same way (column chunks
/// within the file, page headers consistent with the row counts and
/// codecs); a body's budget also bounds what it decodes to by its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParquetBudget {
    /// The bytes a request body may decode to; `None` for a file.
    body: Option<usize>,
}

impl ParquetBudget {
    /// A file dataset's budget: the file may decode to what its structure
    /// makes valid, however much that is (a column of one value repeated
    /// a billion times is a few kilobytes), and the reader sets aside no
    /// more than the larger of 128 MiB and 64 bytes per byte of the file
    /// before the data confirms the rows the footer states.
    pub const FILE: ParquetBudget = ParquetBudget { body: None };

    /// The budget of a request body of `len` bytes: the larger of 128 MiB
    /// and 64 bytes per byte of the body, for the pages once decompressed
    /// and for the decoded columns, and an eighth of that in cells (rows
    /// × columns) and in the values the data pages state.
    pub fn for_body(len: usize) -> ParquetBudget {
        ParquetBudget {
            body: Some(MIN_DECODED_BYTES.max(len.saturating_mul(DECODED_BYTES_PER_BYTE))),
        }
    }

    /// The bytes a body may decode to; `None` for [`ParquetBudget::FILE`].
    pub fn bytes(self) -> Option<usize> {
        self.body
    }

    /// The cells (rows × columns, at 8 bytes each) or data-page values a
    /// body may decode to; `None` for [`ParquetBudget::FILE`].
    pub fn cells(self) -> Option<usize> {
        self.body.map(|bytes| bytes / 8)
    }

    /// The bytes the reader may set aside before the data has confirmed
    /// the rows the footer states, for a file of `file_len` bytes.
    pub(super) fn upfront(self, file_len: u64) -> usize {
        self.body.unwrap_or_else(|| {
            let len = usize::try_from(file_len).unwrap_or(usize::MAX);
            MIN_DECODED_BYTES.max(len.saturating_mul(DECODED_BYTES_PER_BYTE))
        })
    }

    /// The rows to decode at a time: `upfront_rows` (what the bytes set
    /// aside up front hold), and for a body no more rows than the budget
    /// holds of the largest text dictionary value the columns may repeat
    /// (a dictionary page of `largest_dictionary` bytes), so that what a
    /// batch expands to is counted before the next is decoded.
    pub(super) fn batch_rows(self, upfront_rows: usize, largest_dictionary: usize) -> usize {
        let rows = match self.body {
            Some(bytes) if largest_dictionary > 0 => upfront_rows.min(bytes / largest_dictionary),
            _ => upfront_rows,
        };
        rows.max(1)
    }

    /// An error when a body's table of `rows` rows and `columns` columns
    /// is over the budget (a table without columns still counts its rows).
    pub(super) fn check_cells(self, rows: usize, columns: usize, url: &str) -> Result<(), Error> {
        match self.cells() {
            Some(cells) if rows.saturating_mul(columns.max(1)) > cells => Err(too_large(
                url,
                format!("{rows} rows of {columns} columns, over the {cells} cells"),
            )),
            _ => Ok(()),
        }
    }

    /// Adds `count` data-page values to `total`; an error when a body's
    /// values are then over the budget.
    pub(super) fn add_values(self, total: &Counter, count: usize, url: &str) -> Result<(), Error> {
        let Some(cells) = self.cells() else {
            return Ok(());
        };
        let sum = total.add(count);
        if sum > cells {
            return Err(too_large(
                url,
                format!("{sum} values in data pages, over the {cells} values"),
            ));
        }
        Ok(())
    }

    /// Adds `bytes` of `what` to `total`; an error when a body's are then
    /// over the budget.
    pub(super) fn add_bytes(
        self,
        total: &Counter,
        bytes: usize,
        what: &str,
        url: &str,
    ) -> Result<(), Error> {
        let Some(budget) = self.body else {
            return Ok(());
        };
        let sum = total.add(bytes);
        if sum > budget {
            return Err(too_large(
                url,
                format!("{what} of {sum} bytes, over the {budget} bytes"),
            ));
        }
        Ok(())
    }
}

/// A total that the workers reading a file's columns add to concurrently.
#[derive(Debug, Default)]
pub(super) struct Counter(AtomicUsize);

impl Counter {
    /// Adds `n` (saturating) and returns the new total.
    pub(super) fn add(&self, n: usize) -> usize {
        let previous = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_add(n))
            })
            .unwrap_or_else(|v| v);
        previous.saturating_add(n)
    }
}

fn too_large(url: &str, what: String) -> Error {
    format_error(
        "parquet",
        url,
        format!(
            "the body decodes to {what} a body of its size may decode to; send fewer rows at a \
             time"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_bounded_by_its_size_and_a_file_only_up_front() {
        let small = ParquetBudget::for_body(10);
        assert_eq!(small.bytes(), Some(128 << 20));
        assert_eq!(small.cells(), Some(16 << 20));
        assert_eq!(ParquetBudget::for_body(4 << 20).bytes(), Some(256 << 20));
        assert_eq!(
            ParquetBudget::for_body(usize::MAX).bytes(),
            Some(usize::MAX)
        );
        assert_eq!(ParquetBudget::FILE.bytes(), None);
        assert_eq!(ParquetBudget::FILE.upfront(10), 128 << 20);
        assert_eq!(ParquetBudget::FILE.upfront(4 << 20), 256 << 20);
        assert_eq!(small.upfront(1 << 30), 128 << 20, "a body's is its own");

        // Text dictionaries shrink a body's batches, not a file's.
        assert_eq!(small.batch_rows(1_000_000, 1 << 20), 128);
        assert_eq!(small.batch_rows(1_000_000, 0), 1_000_000);
        assert_eq!(small.batch_rows(0, usize::MAX), 1);
        assert_eq!(
            ParquetBudget::FILE.batch_rows(1_000_000, 1 << 20),
            1_000_000
        );

        assert!(small.check_cells(1 << 20, 16, "b").is_ok());
        let err = small.check_cells(1 << 20, 17, "b").unwrap_err();
        assert!(
            err.to_string().contains("1048576 rows of 17 columns"),
            "{err}"
        );
        assert!(
            small.check_cells(1 << 25, 0, "b").is_err(),
            "rows count alone"
        );
        assert!(ParquetBudget::FILE.check_cells(usize::MAX, 9, "f").is_ok());

        let total = Counter::default();
        small.add_bytes(&total, 128 << 20, "pages", "b").unwrap();
        let err = small.add_bytes(&total, 1, "pages", "b").unwrap_err();
        assert!(
            err.to_string().contains("pages of 134217729 bytes"),
            "{err}"
        );
        assert_eq!(total.add(usize::MAX), usize::MAX, "saturates");
        ParquetBudget::FILE
            .add_values(&Counter::default(), usize::MAX, "f")
            .unwrap();
    }
}
