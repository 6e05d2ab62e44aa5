//! How much a body may decode to.
//!
//! The server caps the body's size, not what it stands for: parquet
//! compresses, an Arrow IPC stream states its row count (a column of
//! nulls or a batch without columns needs no bytes per row), a text
//! dictionary is one string for many rows, and `dataframe_records` rows
//! may leave keys out. What a body decodes to is bounded by its size:
//! past that, the request is refused rather than allocated.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::DataType;

use crate::error::Error;

/// The decoded bytes any body may take, however small.
const MIN_DECODED_BYTES: usize = 128 << 20;

/// The decoded bytes a body may take per byte of it: 64, what an Arrow
/// boolean column (a bit a row) converted to float64 takes.
const DECODED_BYTES_PER_BYTE: usize = 64;

/// The cells a `dataframe_records` table may have per value the body
/// gives (the other JSON envelopes give every cell).
pub(crate) const JSON_CELLS_PER_VALUE: usize = 8;

/// The cells a `dataframe_records` table may have, however few values
/// the body gives.
pub(crate) const MIN_JSON_CELLS: usize = 1 << 22;

/// What a body of a given size may decode to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    bytes: usize,
}

impl Budget {
    /// The budget of a body of `len` bytes.
    pub(crate) fn for_body(len: usize) -> Budget {
        Budget {
            bytes: MIN_DECODED_BYTES.max(len.saturating_mul(DECODED_BYTES_PER_BYTE)),
        }
    }

    /// Cells (rows × columns), at 8 bytes each.
    pub(crate) fn cells(self) -> usize {
        self.bytes / 8
    }

    /// An error when a table of `rows` rows and `columns` columns is over
    /// the budget (a table without columns still counts its rows).
    pub(crate) fn check_cells(self, rows: usize, columns: usize) -> Result<(), Error> {
        if rows.saturating_mul(columns.max(1)) > self.cells() {
            return Err(too_large(format!(
                "{rows} rows of {columns} columns, over the {} cells",
                self.cells()
            )));
        }
        Ok(())
    }

    /// An error when `bytes` of `what` are over the budget.
    pub(crate) fn check_bytes(self, bytes: usize, what: &str) -> Result<(), Error> {
        if bytes > self.bytes {
            return Err(too_large(format!(
                "{what} of {bytes} bytes, over the {} bytes",
                self.bytes
            )));
        }
        Ok(())
    }
}

fn too_large(what: String) -> Error {
    Error::InvalidInput(format!(
        "the body decodes to {what} a body of its size may decode to; send fewer rows at a time"
    ))
}

/// The bytes `array`'s dictionaries take expanded (what casting it to
/// plain types allocates for them); 0 without dictionaries.
pub(crate) fn dictionary_expansion(array: &dyn Array) -> usize {
    match array.data_type() {
        DataType::Dictionary(_, _) => match array.as_any_dictionary_opt() {
            Some(dictionary) if !dictionary.values().is_empty() => {
                let sizes = value_sizes(dictionary.values().as_ref());
                dictionary
                    .normalized_keys()
                    .into_iter()
                    .enumerate()
                    .filter(|(row, _)| array.is_valid(*row))
                    .map(|(_, key)| sizes[key])
                    .fold(0, usize::saturating_add)
            }
            _ => 0,
        },
        DataType::List(_) => dictionary_expansion(array.as_list::<i32>().values().as_ref()),
        DataType::LargeList(_) => dictionary_expansion(array.as_list::<i64>().values().as_ref()),
        DataType::FixedSizeList(_, _) => {
            dictionary_expansion(array.as_fixed_size_list().values().as_ref())
        }
        DataType::Map(_, _) => dictionary_expansion(array.as_map().entries()),
        DataType::Struct(_) => array
            .as_struct()
            .columns()
            .iter()
            .map(|column| dictionary_expansion(column.as_ref()))
            .fold(0, usize::saturating_add),
        _ => 0,
    }
}

/// The bytes each value of a dictionary's values takes.
fn value_sizes(values: &dyn Array) -> Vec<usize> {
    fn lengths<O: arrow_array::OffsetSizeTrait>(offsets: &[O]) -> Vec<usize> {
        offsets
            .windows(2)
            .map(|w| (w[1] - w[0]).as_usize())
            .collect()
    }
    match values.data_type() {
        DataType::Utf8 => lengths(values.as_string::<i32>().value_offsets()),
        DataType::LargeUtf8 => lengths(values.as_string::<i64>().value_offsets()),
        DataType::Binary => lengths(values.as_binary::<i32>().value_offsets()),
        DataType::LargeBinary => lengths(values.as_binary::<i64>().value_offsets()),
        DataType::Utf8View => values
            .as_string_view()
            .views()
            .iter()
            .map(|view| *view as u32 as usize)
            .collect(),
        DataType::BinaryView => values
            .as_binary_view()
            .views()
            .iter()
            .map(|view| *view as u32 as usize)
            .collect(),
        DataType::Dictionary(_, _) => match values.as_any_dictionary_opt() {
            Some(inner) if !inner.values().is_empty() => {
                let sizes = value_sizes(inner.values().as_ref());
                inner
                    .normalized_keys()
                    .into_iter()
                    .map(|key| sizes[key])
                    .collect()
            }
            _ => vec![0; values.len()],
        },
        other => vec![other.primitive_width().unwrap_or(8); values.len()],
    }
}
