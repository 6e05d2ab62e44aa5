//! The customer table's columns and typed access to arrow columns.
//!
//! Readers accept every arrow type a value can reasonably arrive as: a CSV
//! or parquet file gives the types of the catalog's schema, but a serving
//! request in JSON gives `Int64` for `12` and `Float64` for `12.5`, so the
//! numeric readers take any integer or float column.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use crate::error::Error;

/// Months the customer has been with the company (`float64`).
pub const TENURE_MONTHS: &str = "tenure_months";
/// The current monthly bill (`float64`).
pub const MONTHLY_CHARGES: &str = "monthly_charges";
/// Everything billed so far (`float64`, about 5% missing in the raw data).
pub const TOTAL_CHARGES: &str = "total_charges";
/// `month-to-month`, `one-year` or `two-year` (`utf8`).
pub const CONTRACT: &str = "contract";
/// Calls to customer support in the last quarter (`int64`).
pub const SUPPORT_CALLS: &str = "support_calls";
/// The label: whether the customer left (`bool`).
pub const CHURNED: &str = "churned";

/// The numeric features, imputed and scaled.
pub const NUMERIC_FEATURES: [&str; 4] =
    [TENURE_MONTHS, MONTHLY_CHARGES, TOTAL_CHARGES, SUPPORT_CALLS];

/// The column called `name`, or an error listing the table's columns.
pub(crate) fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, Error> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::MissingColumn {
            column: name.to_owned(),
            available: column_names(batch).join(", "),
        })
}

/// The table's column names, in order.
pub(crate) fn column_names(batch: &RecordBatch) -> Vec<&str> {
    batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect()
}

/// A numeric column as `f64`s; nulls and NaNs are `None`.
pub(crate) fn numbers(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>, Error> {
    fn read<T: ArrowPrimitiveType>(
        array: &dyn Array,
        to_f64: impl Fn(T::Native) -> f64,
    ) -> Vec<Option<f64>> {
        array
            .as_primitive::<T>()
            .iter()
            .map(|v| v.map(&to_f64).filter(|x| !x.is_nan()))
            .collect()
    }
    let array = column(batch, name)?.as_ref();
    // Integers above 2^53 lose precision as f64; no feature comes near that.
    let values = match array.data_type() {
        DataType::Float64 => read::<Float64Type>(array, |v| v),
        DataType::Float32 => read::<Float32Type>(array, f64::from),
        DataType::Int64 => read::<Int64Type>(array, |v| v as f64),
        DataType::Int32 => read::<Int32Type>(array, f64::from),
        DataType::Int16 => read::<Int16Type>(array, f64::from),
        DataType::Int8 => read::<Int8Type>(array, f64::from),
        DataType::UInt64 => read::<UInt64Type>(array, |v| v as f64),
        DataType::UInt32 => read::<UInt32Type>(array, f64::from),
        DataType::UInt16 => read::<UInt16Type>(array, f64::from),
        DataType::UInt8 => read::<UInt8Type>(array, f64::from),
        DataType::Null => vec![None; array.len()],
        other => return Err(type_error(name, other, "a number")),
    };
    Ok(values)
}

/// A numeric column that must have no missing values.
pub(crate) fn complete_numbers(batch: &RecordBatch, name: &str) -> Result<Vec<f64>, Error> {
    numbers(batch, name)?
        .into_iter()
        .enumerate()
        .map(|(row, v)| {
            v.ok_or_else(|| {
                Error::invalid_column(name, format!("row {row} is missing (impute it first)"))
            })
        })
        .collect()
}

/// A text column; nulls are `None`.
pub(crate) fn texts<'a>(batch: &'a RecordBatch, name: &str) -> Result<Vec<Option<&'a str>>, Error> {
    let array = column(batch, name)?.as_ref();
    let values = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        DataType::Null => vec![None; array.len()],
        other => return Err(type_error(name, other, "text")),
    };
    Ok(values)
}

/// A boolean column without nulls.
pub(crate) fn flags(batch: &RecordBatch, name: &str) -> Result<Vec<bool>, Error> {
    let array = column(batch, name)?;
    let DataType::Boolean = array.data_type() else {
        return Err(type_error(name, array.data_type(), "bool"));
    };
    array
        .as_boolean()
        .iter()
        .enumerate()
        .map(|(row, v)| {
            v.ok_or_else(|| Error::invalid_column(name, format!("row {row} is missing")))
        })
        .collect()
}

fn type_error(name: &str, found: &DataType, expected: &'static str) -> Error {
    Error::ColumnType {
        column: name.to_owned(),
        found: found.to_string(),
        expected,
    }
}

/// A non-null `float64` column.
pub(crate) fn float_column(values: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(values))
}

/// Builds a table from named columns, nullability taken from the data.
pub(crate) fn table(columns: Vec<(String, ArrayRef)>) -> Result<RecordBatch, Error> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(name, array.data_type().clone(), array.null_count() > 0))
        .collect();
    let arrays = columns.into_iter().map(|(_, array)| array).collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// The table's columns with the named ones replaced (same position, new
/// type) by `replace`; others are kept as they are.
pub(crate) fn map_columns(
    batch: &RecordBatch,
    mut replace: impl FnMut(&str) -> Result<Option<ArrayRef>, Error>,
) -> Result<Vec<(String, ArrayRef)>, Error> {
    batch
        .schema_ref()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, array)| {
            let name = field.name();
            let array = replace(name)?.unwrap_or_else(|| Arc::clone(array));
            Ok((name.clone(), array))
        })
        .collect()
}
