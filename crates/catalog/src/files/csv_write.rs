//! The columns CSVDataset writes differently from arrow's CSV writer, to
//! write what `DataFrame.to_csv` writes: floats with `decimal`, and
//! timestamp columns that are all midnight as plain dates.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

/// `batch` with the columns pandas writes otherwise replaced.
pub(super) fn pandas_columns(
    batch: &RecordBatch,
    decimal: &Option<String>,
    has_date_format: bool,
) -> Result<RecordBatch, String> {
    let decimal = decimal.as_deref().filter(|d| *d != ".");
    let mut changed = false;
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let replaced: Option<ArrayRef> = match column.data_type() {
            DataType::Float32 | DataType::Float64 if decimal.is_some() => {
                let d = decimal.unwrap_or(".");
                let text = |v: f64| format!("{v:?}").replace('.', d);
                let strings: StringArray = match column.data_type() {
                    DataType::Float32 => column
                        .as_primitive::<Float32Type>()
                        .iter()
                        .map(|v| v.map(|v| text(f64::from(v))))
                        .collect(),
                    _ => column
                        .as_primitive::<Float64Type>()
                        .iter()
                        .map(|v| v.map(text))
                        .collect(),
                };
                Some(Arc::new(strings))
            }
            DataType::Timestamp(unit, None) if !has_date_format && all_midnight(column, *unit) => {
                let date =
                    arrow_cast::cast(column, &DataType::Date32).map_err(|e| e.to_string())?;
                Some(date)
            }
            _ => None,
        };
        match replaced {
            Some(array) => {
                changed = true;
                fields.push(Field::new(field.name(), array.data_type().clone(), true));
                columns.push(array);
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(Arc::clone(column));
            }
        }
    }
    if !changed {
        return Ok(batch.clone());
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

/// Whether every value is at midnight (and there is one), so pandas writes
/// the column as dates.
fn all_midnight(column: &ArrayRef, unit: TimeUnit) -> bool {
    let per_day: i64 = match unit {
        TimeUnit::Second => 86_400,
        TimeUnit::Millisecond => 86_400_000,
        TimeUnit::Microsecond => 86_400_000_000,
        TimeUnit::Nanosecond => 86_400_000_000_000,
    };
    let values: Vec<Option<i64>> = match unit {
        TimeUnit::Second => column
            .as_primitive::<TimestampSecondType>()
            .iter()
            .collect(),
        TimeUnit::Millisecond => column
            .as_primitive::<TimestampMillisecondType>()
            .iter()
            .collect(),
        TimeUnit::Microsecond => column
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .collect(),
        TimeUnit::Nanosecond => column
            .as_primitive::<TimestampNanosecondType>()
            .iter()
            .collect(),
    };
    column.null_count() < column.len()
        && values.iter().flatten().all(|v| v.rem_euclid(per_day) == 0)
}
