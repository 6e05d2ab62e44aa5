//! Arrow values as the JSON MLflow writes for them (pandas through MLflow's
//! `NumpyEncoder`): NaN and infinities as null, bytes as base64 with
//! Python's line breaks, datetimes in ISO-8601 as `isoformat()` writes them.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowTimestampType, Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use base64::Engine;
use chrono::{FixedOffset, NaiveDateTime, Timelike};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The rows of `batch` as lists of values (pandas' split orient `data`).
pub(crate) fn rows(batch: &RecordBatch) -> Vec<Value> {
    (0..batch.num_rows())
        .map(|row| Value::Array(batch.columns().iter().map(|c| cell(c, row)).collect()))
        .collect()
}

/// Row `row` of a column, serialized as [`cell`] would build it, without
/// building it for the common types: writing a 10,000-row response as
/// values first costs more than the prediction.
pub(crate) struct Cell<'a>(pub(crate) &'a ArrayRef, pub(crate) usize);

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (array, row) = (self.0, self.1);
        if array.is_null(row) {
            return serializer.serialize_unit();
        }
        match array.data_type() {
            DataType::Boolean => serializer.serialize_bool(array.as_boolean().value(row)),
            DataType::Int32 => {
                serializer.serialize_i32(array.as_primitive::<Int32Type>().value(row))
            }
            DataType::Int64 => {
                serializer.serialize_i64(array.as_primitive::<Int64Type>().value(row))
            }
            DataType::Float32 => finite(
                serializer,
                f64::from(array.as_primitive::<Float32Type>().value(row)),
            ),
            DataType::Float64 => finite(serializer, array.as_primitive::<Float64Type>().value(row)),
            DataType::Utf8 => serializer.serialize_str(array.as_string::<i32>().value(row)),
            _ => cell(array, row).serialize(serializer),
        }
    }
}

fn finite<S: Serializer>(serializer: S, value: f64) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(value)
    } else {
        serializer.serialize_unit()
    }
}

/// One column's values as a JSON list.
pub(crate) struct Column<'a>(pub(crate) &'a ArrayRef);

impl Serialize for Column<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((0..self.0.len()).map(|row| Cell(self.0, row)))
    }
}

/// A table as a list of row objects (pandas' records orient).
pub(crate) struct Records<'a>(pub(crate) &'a RecordBatch);

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let batch = self.0;
        serializer.collect_seq((0..batch.num_rows()).map(|row| Record(batch, row)))
    }
}

struct Record<'a>(&'a RecordBatch, usize);

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (batch, row) = (self.0, self.1);
        let mut map = serializer.serialize_map(Some(batch.num_columns()))?;
        for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
            map.serialize_entry(field.name(), &Cell(column, row))?;
        }
        map.end()
    }
}

/// The values of one column.
pub(crate) fn column(array: &ArrayRef) -> Vec<Value> {
    (0..array.len()).map(|row| cell(array, row)).collect()
}

/// Row `row` of `array` as JSON.
pub(crate) fn cell(array: &ArrayRef, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).into(),
        DataType::Float16 => float(f64::from(array.as_primitive::<Float16Type>().value(row))),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => array.as_string::<i32>().value(row).into(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).into(),
        DataType::Utf8View => array.as_string_view().value(row).into(),
        DataType::Binary => base64_lines(array.as_binary::<i32>().value(row)).into(),
        DataType::LargeBinary => base64_lines(array.as_binary::<i64>().value(row)).into(),
        DataType::BinaryView => base64_lines(array.as_binary_view().value(row)).into(),
        DataType::FixedSizeBinary(_) => {
            base64_lines(array.as_fixed_size_binary().value(row)).into()
        }
        DataType::Timestamp(unit, tz) => timestamp(array, row, *unit, tz.as_deref()),
        DataType::Date32 => date(arrow_array::temporal_conversions::as_date::<Date32Type>(
            i64::from(array.as_primitive::<Date32Type>().value(row)),
        )),
        DataType::Date64 => date(arrow_array::temporal_conversions::as_date::<Date64Type>(
            array.as_primitive::<Date64Type>().value(row),
        )),
        DataType::List(_) => Value::Array(column(&array.as_list::<i32>().value(row))),
        DataType::LargeList(_) => Value::Array(column(&array.as_list::<i64>().value(row))),
        DataType::FixedSizeList(_, _) => {
            Value::Array(column(&array.as_fixed_size_list().value(row)))
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let object: Map<String, Value> = fields
                .iter()
                .zip(s.columns())
                .map(|(f, c)| (f.name().clone(), cell(c, row)))
                .collect();
            Value::Object(object)
        }
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            let keys = arrow_cast::cast(dict.keys(), &DataType::UInt64).ok();
            let key = keys
                .as_ref()
                .map(|k| k.as_primitive::<UInt64Type>().value(row))
                .and_then(|k| usize::try_from(k).ok());
            match key {
                Some(k) => cell(dict.values(), k),
                None => Value::Null,
            }
        }
        _ => displayed(array, row),
    }
}

/// Types JSON has no form for (decimals, durations...) as arrow displays them.
fn displayed(array: &ArrayRef, row: usize) -> Value {
    let options = arrow_cast::display::FormatOptions::default();
    match arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(formatter) => formatter.value(row).to_string().into(),
        Err(_) => Value::Null,
    }
}

/// JSON has no NaN or infinity; MLflow's server writes invalid JSON for
/// them, tandem writes null.
fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// Python's `base64.encodebytes`: lines of 76 characters, each ending in `\n`.
pub(crate) fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 + 1);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

fn date(value: Option<chrono::NaiveDate>) -> Value {
    value.map_or(Value::Null, |d| d.format("%Y-%m-%d").to_string().into())
}

fn timestamp(array: &ArrayRef, row: usize, unit: TimeUnit, tz: Option<&str>) -> Value {
    fn at<T: ArrowTimestampType>(array: &ArrayRef, row: usize) -> Option<NaiveDateTime> {
        arrow_array::temporal_conversions::as_datetime::<T>(array.as_primitive::<T>().value(row))
    }
    let utc = match unit {
        TimeUnit::Second => at::<TimestampSecondType>(array, row),
        TimeUnit::Millisecond => at::<TimestampMillisecondType>(array, row),
        TimeUnit::Microsecond => at::<TimestampMicrosecondType>(array, row),
        TimeUnit::Nanosecond => at::<TimestampNanosecondType>(array, row),
    };
    utc.map_or(Value::Null, |utc| isoformat(utc, tz).into())
}

/// pandas' `Timestamp.isoformat()`: fractional seconds only when non-zero
/// (6 digits, or 9 with nanoseconds), the offset for a zoned value. Named
/// zones other than UTC are written in UTC: the instant is the same, and
/// resolving them needs the tz database arrow is built without.
pub(crate) fn isoformat(utc: NaiveDateTime, tz: Option<&str>) -> String {
    let offset = tz.map(|tz| fixed_offset(tz).unwrap_or_else(utc_offset));
    let local = offset.map_or(utc, |o| utc + o);
    let nanos = local.nanosecond() % 1_000_000_000;
    let fraction = if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1000) {
        format!(".{:06}", nanos / 1000)
    } else {
        format!(".{nanos:09}")
    };
    let zone = offset.map_or_else(String::new, |o| {
        let seconds = o.local_minus_utc();
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.abs() / 60;
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    });
    format!("{}{fraction}{zone}", local.format("%Y-%m-%dT%H:%M:%S"))
}

fn utc_offset() -> FixedOffset {
    chrono::Offset::fix(&chrono::Utc)
}

fn fixed_offset(tz: &str) -> Option<FixedOffset> {
    if matches!(tz, "UTC" | "utc" | "Z" | "Etc/UTC" | "GMT") {
        return Some(utc_offset());
    }
    tz.parse::<arrow_array::timezone::Tz>()
        .ok()
        .map(|tz| chrono::TimeZone::offset_from_utc_datetime(&tz, &NaiveDateTime::default()))
        .map(|offset| chrono::Offset::fix(&offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{BinaryArray, Float64Array, StringArray, TimestampMicrosecondArray};

    #[test]
    fn cells_match_mlflow_json() {
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), None]));
        assert_eq!(
            column(&floats),
            [Value::from(1.5), Value::Null, Value::Null]
        );
        let bytes: ArrayRef = Arc::new(BinaryArray::from(vec![&b"ab"[..]]));
        assert_eq!(cell(&bytes, 0), "YWI=\n");
        let long = base64_lines(&[7_u8; 100]);
        assert_eq!(long.lines().map(str::len).collect::<Vec<_>>(), [76, 60]);
        let strings: ArrayRef = Arc::new(StringArray::from(vec!["é"]));
        assert_eq!(cell(&strings, 0), "é");
    }

    #[test]
    fn timestamps_like_pandas_isoformat() {
        let micros = [1_704_067_200_000_000_i64, 1_704_067_200_123_456];
        let naive: ArrayRef = Arc::new(TimestampMicrosecondArray::from(micros.to_vec()));
        assert_eq!(
            column(&naive),
            ["2024-01-01T00:00:00", "2024-01-01T00:00:00.123456"]
        );
        let zoned: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(micros.to_vec()).with_timezone("+02:00"));
        assert_eq!(cell(&zoned, 0), "2024-01-01T02:00:00+02:00");
        let utc: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(micros.to_vec()).with_timezone("UTC"));
        assert_eq!(cell(&utc, 0), "2024-01-01T00:00:00+00:00");
        let nanos = NaiveDateTime::default() + chrono::Duration::nanoseconds(5);
        assert_eq!(isoformat(nanos, None), "1970-01-01T00:00:00.000000005");
    }
}
