//! `DataFrame` ⇄ arrow-rs `RecordBatch` through the Arrow C data interface.
//!
//! Buffers are shared, not copied, in both directions for every type whose
//! memory layout Polars keeps as it is: integers, floats, booleans, dates
//! (`Date32`), timestamps, `Utf8View` strings, `BinaryView`, validity
//! bitmaps and all-null columns. Copies happen only where the layouts
//! differ or the frame is split:
//!
//! - `Utf8`/`LargeUtf8` (offset-based) strings and `Binary`/`LargeBinary`
//!   become Polars' view layout on the way in (Polars stores strings only as
//!   views); on the way out, strings are `Utf8View`, which arrow-rs reads
//!   as it is. [`to_record_batch_large_utf8`] casts them to `LargeUtf8` for
//!   consumers that need it, which copies the string bytes.
//! - A column in several chunks is rechunked into one on the way out
//!   ([`to_record_batch`]); [`from_record_batches`] keeps several batches as
//!   chunks without copying.
//! - A constant (scalar) column is materialized.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema};
use polars::frame::DataFrame;
use polars::prelude::{Column, CompatLevel, PlSmallStr, Series};

use crate::error::Error;
use crate::ffi;

/// A `DataFrame` viewing the batch's buffers (no copy, see the module docs
/// for the string types that are converted).
pub fn from_record_batch(batch: &RecordBatch) -> Result<DataFrame, Error> {
    from_record_batches(std::slice::from_ref(batch))
}

/// One `DataFrame` over several batches of one schema, each batch a chunk
/// of every column (no copy).
pub fn from_record_batches(batches: &[RecordBatch]) -> Result<DataFrame, Error> {
    let Some(first) = batches.first() else {
        return Ok(DataFrame::empty());
    };
    let schema = first.schema();
    if let Some(other) = batches
        .iter()
        .find(|b| b.schema().fields() != schema.fields())
    {
        return Err(Error::Conversion {
            column: None,
            message: format!(
                "the batches have different schemas: {:?} and {:?}",
                schema.fields(),
                other.schema().fields()
            ),
        });
    }
    let height: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let mut chunks = Vec::with_capacity(batches.len());
        for batch in batches {
            let (_, array) = ffi::to_polars(batch.column(i)).map_err(|e| column_error(field, e))?;
            chunks.push(array);
        }
        let series = Series::from_arrow_chunks(PlSmallStr::from_str(field.name()), chunks)
            .map_err(|e| column_error(field, e))?;
        columns.push(Column::from(series));
    }
    DataFrame::new(height, columns).map_err(|e| Error::Conversion {
        column: None,
        message: e.to_string(),
    })
}

/// A `RecordBatch` sharing the frame's buffers. Strings come out as
/// `Utf8View`; a column in several chunks is first rechunked (a copy).
pub fn to_record_batch(frame: &DataFrame) -> Result<RecordBatch, Error> {
    to_batch(frame, false)
}

/// Like [`to_record_batch`], with strings cast to `LargeUtf8` (copies the
/// string bytes) for consumers that do not read `Utf8View`.
pub fn to_record_batch_large_utf8(frame: &DataFrame) -> Result<RecordBatch, Error> {
    to_batch(frame, true)
}

fn to_batch(frame: &DataFrame, large_utf8: bool) -> Result<RecordBatch, Error> {
    let mut fields = Vec::with_capacity(frame.width());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(frame.width());
    for column in frame.columns() {
        let name = column.name().as_str();
        let series = column.as_materialized_series().rechunk();
        // polars-arrow exports a null array with a buffer the C data
        // interface does not define for it, which arrow-rs rightly refuses;
        // a null array has no memory to share anyway.
        let exported = if series.dtype().is_null() {
            arrow_array::new_null_array(&DataType::Null, series.len())
        } else {
            ffi::from_polars(series.to_arrow(0, CompatLevel::newest())).map_err(|message| {
                Error::Conversion {
                    column: Some(name.to_owned()),
                    message,
                }
            })?
        };
        let array = if large_utf8 && exported.data_type() == &DataType::Utf8View {
            arrow_cast_large_utf8(&exported).map_err(|message| Error::Conversion {
                column: Some(name.to_owned()),
                message,
            })?
        } else {
            exported
        };
        fields.push(Field::new(name, array.data_type().clone(), true));
        arrays.push(array);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(frame.height()));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options).map_err(
        |e| Error::Conversion {
            column: None,
            message: e.to_string(),
        },
    )
}

/// `Utf8View` → `LargeUtf8` without arrow-cast: one pass over the views.
fn arrow_cast_large_utf8(array: &ArrayRef) -> Result<ArrayRef, String> {
    let views = array
        .as_any()
        .downcast_ref::<arrow_array::StringViewArray>()
        .ok_or_else(|| "expected a Utf8View array".to_owned())?;
    let large: arrow_array::LargeStringArray = views.iter().collect();
    Ok(Arc::new(large))
}

fn column_error(field: &Field, message: impl ToString) -> Error {
    Error::Conversion {
        column: Some(field.name().clone()),
        message: message.to_string(),
    }
}
