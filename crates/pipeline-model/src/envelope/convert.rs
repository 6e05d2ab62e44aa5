//! Input columns → arrow arrays of the types the model expects.
//!
//! Only lossless conversions are made, unlike MLflow's server, which runs
//! pandas' `astype` (`1.5` → `1`, `"false"` → `True`, `3e9` → an overflowed
//! int32): integers must fit, floats become integers only when integral,
//! integers become floats only when exactly representable, JSON strings
//! are never parsed into numbers or booleans, and typed (parquet, Arrow)
//! columns are converted only within their kind (number, text, bytes, time).

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, BinaryArray, BooleanArray, ListArray, NullArray, StringArray};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field};
use base64::Engine;
use serde_json::Value;
use tandem_pipeline_core::Data;

use crate::error::Error;

/// A column as it arrived.
pub(crate) enum Source<'a> {
    /// JSON values.
    Json(&'a [Value]),
    /// CSV text (empty cells are missing values).
    Text(&'a StringArray),
    /// A typed column (parquet, Arrow IPC).
    Arrow(&'a ArrayRef),
}

fn invalid(column: &str, message: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("column '{column}': {message}"))
}

/// `source` as `target`, losslessly.
pub(crate) fn convert(
    source: &Source<'_>,
    target: &DataType,
    column: &str,
) -> Result<ArrayRef, Error> {
    match source {
        Source::Json(values) => from_json(&values.iter().collect::<Vec<_>>(), target, column),
        Source::Text(strings) => from_text(strings, target, column),
        Source::Arrow(array) => from_arrow(array, target, column),
    }
}

/// `source` with a type inferred from its values.
pub(crate) fn infer(source: &Source<'_>, column: &str) -> Result<ArrayRef, Error> {
    match source {
        Source::Json(values) => infer_json(&values.iter().collect::<Vec<_>>(), column),
        Source::Text(strings) => Ok(infer_text(strings)),
        Source::Arrow(array) => Ok(Arc::clone(array)),
    }
}

fn cast(array: &dyn Array, target: &DataType, column: &str) -> Result<ArrayRef, Error> {
    let options = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow_cast::cast_with_options(array, target, &options).map_err(|e| invalid(column, e))
}

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

fn is_binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    )
}

fn is_time(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
    )
}

fn is_list(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _)
    )
}

/// `values` as `target`. Values are borrowed all the way down: a list
/// column's items are the values of the next level, not copies of them
/// (copies would hold each level's subtree at once, for as many levels
/// as the JSON nests).
fn from_json(values: &[&Value], target: &DataType, column: &str) -> Result<ArrayRef, Error> {
    match target {
        DataType::Boolean => {
            let mut builder = BooleanBuilder::with_capacity(values.len());
            for value in values {
                match value {
                    Value::Bool(b) => builder.append_value(*b),
                    Value::Null => builder.append_null(),
                    other => {
                        return Err(invalid(
                            column,
                            format!("expected a boolean, found {other}"),
                        ));
                    }
                }
            }
            Ok(Arc::new(builder.finish()))
        }
        t if t.is_integer() => {
            let mut builder = Int64Builder::with_capacity(values.len());
            for value in values {
                builder.append_option(json_integer(value, column)?);
            }
            cast(&builder.finish(), t, column)
        }
        DataType::Float64 | DataType::Float32 | DataType::Float16 => {
            // The largest integer each width holds exactly, and its range.
            let (exact, limit) = match target {
                DataType::Float64 => (1_i64 << 53, f64::MAX),
                DataType::Float32 => (1_i64 << 24, f64::from(f32::MAX)),
                _ => (1_i64 << 11, 65504.0),
            };
            let mut builder = Float64Builder::with_capacity(values.len());
            for value in values {
                let double = json_float(value, exact, column)?;
                if double.is_some_and(|d| d.abs() > limit) {
                    return Err(invalid(
                        column,
                        format!("{value} is out of range for {target}"),
                    ));
                }
                builder.append_option(double);
            }
            cast(&builder.finish(), target, column)
        }
        t if is_text(t) || is_binary(t) || is_time(t) => {
            let strings = values
                .iter()
                .map(|value| match value {
                    Value::String(s) => Ok(Some(s.as_str())),
                    Value::Null => Ok(None),
                    other => Err(invalid(column, format!("expected a string, found {other}"))),
                })
                .collect::<Result<StringArray, Error>>()?;
            from_text_values(&strings, t, column)
        }
        DataType::List(item) | DataType::LargeList(item) => {
            let mut flat = Vec::new();
            let mut offsets = Vec::with_capacity(values.len() + 1);
            let mut valid = Vec::with_capacity(values.len());
            offsets.push(0_i32);
            for value in values {
                match value {
                    Value::Array(items) => flat.extend(items),
                    Value::Null => {}
                    other => {
                        return Err(invalid(column, format!("expected a list, found {other}")));
                    }
                }
                valid.push(!value.is_null());
                let end = i32::try_from(flat.len())
                    .map_err(|_| invalid(column, "too many list items"))?;
                offsets.push(end);
            }
            let items = from_json(&flat, item.data_type(), column)?;
            let field = Arc::new(Field::new_list_field(item.data_type().clone(), true));
            let list = ListArray::try_new(
                field,
                OffsetBuffer::new(offsets.into()),
                items,
                Some(NullBuffer::from(valid)),
            )
            .map_err(|e| invalid(column, e))?;
            cast(&list, target, column)
        }
        // The items of lists that are all empty or null.
        DataType::Null if values.iter().all(|v| v.is_null()) => {
            Ok(Arc::new(NullArray::new(values.len())))
        }
        other => Err(invalid(
            column,
            format!("input type {other} is not supported"),
        )),
    }
}

fn json_integer(value: &Value, column: &str) -> Result<Option<i64>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                // Exactly integral and in range: `1.0` is 1; `1.5` is no integer.
                Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Some(f as i64)),
                _ => Err(invalid(column, format!("{n} is not a 64-bit integer"))),
            }
        }
        other => Err(invalid(
            column,
            format!("expected an integer, found {other}"),
        )),
    }
}

fn json_float(value: &Value, exact: i64, column: &str) -> Result<Option<f64>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i.abs() > exact => Err(invalid(
                column,
                format!("{i} cannot be represented exactly"),
            )),
            Some(i) => Ok(Some(i as f64)),
            None if n.as_u64().is_some() => Err(invalid(
                column,
                format!("{n} cannot be represented exactly"),
            )),
            None => Ok(n.as_f64()),
        },
        other => Err(invalid(column, format!("expected a number, found {other}"))),
    }
}

/// Text as text, base64 bytes or datetimes.
fn from_text_values(
    strings: &StringArray,
    target: &DataType,
    column: &str,
) -> Result<ArrayRef, Error> {
    if is_binary(target) {
        let engine = base64::engine::general_purpose::STANDARD;
        let decoded = strings
            .iter()
            .map(|s| {
                s.map(|s| {
                    // Python's base64 breaks lines; the decoder does not want them.
                    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                    engine
                        .decode(compact)
                        .map_err(|e| invalid(column, format!("invalid base64: {e}")))
                })
                .transpose()
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let binary = BinaryArray::from_iter(decoded);
        return cast(&binary, target, column);
    }
    cast(strings, target, column)
}

fn from_text(strings: &StringArray, target: &DataType, column: &str) -> Result<ArrayRef, Error> {
    // pandas reads an empty cell as a missing value, whatever the column.
    let cells: StringArray = strings
        .iter()
        .map(|s| s.filter(|s| !s.is_empty()))
        .collect();
    match target {
        DataType::Boolean => {
            let flags = cells
                .iter()
                .map(|s| {
                    s.map(|s| {
                        text_bool(s)
                            .ok_or_else(|| invalid(column, format!("'{s}' is not true or false")))
                    })
                    .transpose()
                })
                .collect::<Result<BooleanArray, Error>>()?;
            Ok(Arc::new(flags))
        }
        t if t.is_numeric() => cast(&cells, t, column),
        t if is_text(t) || is_binary(t) || is_time(t) => from_text_values(&cells, t, column),
        other => Err(invalid(
            column,
            format!("input type {other} cannot be read from CSV"),
        )),
    }
}

fn text_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn from_arrow(array: &ArrayRef, target: &DataType, column: &str) -> Result<ArrayRef, Error> {
    let source = array.data_type();
    if source == target {
        return Ok(Arc::clone(array));
    }
    if *source == DataType::Null {
        // pyarrow types a column of nothing but None as null; any type holds it.
        return Ok(arrow_array::new_null_array(target, array.len()));
    }
    if is_text(source) && is_time(target) {
        return cast(array.as_ref(), target, column);
    }
    let same_kind = (source.is_numeric() && target.is_numeric())
        || (is_text(source) && is_text(target))
        || (is_binary(source) && is_binary(target))
        || (is_time(source) && is_time(target))
        || (is_list(source) && is_list(target));
    if !same_kind {
        return Err(invalid(
            column,
            format!("cannot convert {source} to {target}"),
        ));
    }
    let converted = cast(array.as_ref(), target, column)?;
    // Lossless means the values survive the way back.
    let back = cast(converted.as_ref(), source, column)?;
    if back.to_data() != array.to_data() {
        return Err(invalid(
            column,
            format!("converting {source} to {target} would change values"),
        ));
    }
    Ok(converted)
}

/// JSON types: booleans, integers (int64), numbers (float64), strings,
/// lists of those; nulls anywhere.
fn infer_json(values: &[&Value], column: &str) -> Result<ArrayRef, Error> {
    match json_type(values, column)? {
        Some(target) => from_json(values, &target, column),
        None => Ok(Arc::new(NullArray::new(values.len()))),
    }
}

/// The type [`infer_json`] gives `values`, `None` when all are null. Only
/// the type: a list's items are built once, by [`from_json`], not at
/// every level of nesting.
fn json_type(values: &[&Value], column: &str) -> Result<Option<DataType>, Error> {
    let present = || values.iter().copied().filter(|v| !v.is_null());
    if present().next().is_none() {
        return Ok(None);
    }
    let target = if present().all(Value::is_boolean) {
        DataType::Boolean
    } else if present().all(|v| v.is_i64()) {
        DataType::Int64
    } else if present().all(Value::is_number) {
        DataType::Float64
    } else if present().all(Value::is_string) {
        DataType::Utf8
    } else if present().all(Value::is_array) {
        let flat: Vec<&Value> = present().filter_map(Value::as_array).flatten().collect();
        let item = json_type(&flat, column)?.unwrap_or(DataType::Null);
        DataType::List(Arc::new(Field::new_list_field(item, true)))
    } else {
        return Err(invalid(
            column,
            "values of different JSON types (or objects) cannot form a column",
        ));
    };
    Ok(Some(target))
}

/// pandas' CSV inference: integers, else floats, else booleans, else text.
fn infer_text(strings: &StringArray) -> ArrayRef {
    let cells: StringArray = strings
        .iter()
        .map(|s| s.filter(|s| !s.is_empty()))
        .collect();
    let present = || cells.iter().flatten();
    if present().next().is_none() {
        // pandas reads a column of empty cells as float NaNs.
        return Arc::new(arrow_array::Float64Array::new_null(cells.len()));
    }
    let candidates = [
        (DataType::Int64, present().all(|s| s.parse::<i64>().is_ok())),
        (
            DataType::Float64,
            present().all(|s| s.parse::<f64>().is_ok()),
        ),
    ];
    for (t, fits) in candidates {
        if fits && let Ok(array) = cast(&cells, &t, "csv") {
            return array;
        }
    }
    if present().all(|s| text_bool(s).is_some()) {
        return Arc::new(
            cells
                .iter()
                .map(|s| s.and_then(text_bool))
                .collect::<BooleanArray>(),
        );
    }
    Arc::new(cells)
}

/// A column as a list of values: `Vec<f64>`, `Vec<i64>`, `Vec<bool>`,
/// `Vec<String>`... (what a model fed `Vec`s expects).
pub(crate) fn list_data(array: &ArrayRef, column: &str) -> Result<Data, Error> {
    if array.null_count() > 0 {
        return Err(invalid(column, "a list input cannot have missing values"));
    }
    Ok(match array.data_type() {
        DataType::Float64 => Data::new(array.as_primitive::<Float64Type>().values().to_vec()),
        DataType::Float32 => Data::new(array.as_primitive::<Float32Type>().values().to_vec()),
        DataType::Int64 => Data::new(array.as_primitive::<Int64Type>().values().to_vec()),
        DataType::Int32 => Data::new(array.as_primitive::<Int32Type>().values().to_vec()),
        DataType::Boolean => Data::new(array.as_boolean().values().iter().collect::<Vec<bool>>()),
        DataType::Utf8 => Data::new(
            array
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_owned)
                .collect::<Vec<String>>(),
        ),
        DataType::Null => Data::new(Vec::<f64>::new()),
        other => {
            return Err(invalid(
                column,
                format!("a list of {other} values is not supported"),
            ));
        }
    })
}
