//! Tables as the sheets of a new workbook, as `DataFrame.to_excel` writes
//! them with `index=False`.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

/// Excel's limit on rows per sheet.
const MAX_ROWS: usize = 1_048_576;
/// Excel's limit on columns per sheet.
const MAX_COLUMNS: usize = 16_384;
/// Days from Excel's epoch (1899-12-30, past the 1900 leap-year bug) to 1970-01-01.
const UNIX_EPOCH_SERIAL: f64 = 25_569.0;

/// Excel's rules for a sheet name.
pub(super) fn check_sheet_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 31 {
        return Err(format!(
            "sheet name '{name}' must be 1 to 31 characters long"
        ));
    }
    if let Some(bad) = name.chars().find(|c| "[]:*?/\\".contains(*c)) {
        return Err(format!(
            "sheet name '{name}' holds '{bad}', which Excel forbids"
        ));
    }
    if name.starts_with('\'') || name.ends_with('\'') {
        return Err(format!(
            "sheet name '{name}' may not start or end with an apostrophe"
        ));
    }
    Ok(())
}

/// The `.xlsx` bytes of a workbook with one sheet per `(name, batches)`, in
/// that order.
pub(super) fn workbook(sheets: &[(&str, &[RecordBatch])], header: bool) -> Result<Vec<u8>, String> {
    let xlsx = |e: XlsxError| e.to_string();
    let mut workbook = Workbook::new();
    for (sheet, batches) in sheets {
        check_sheet_name(sheet)?;
        let worksheet = workbook.add_worksheet();
        worksheet.set_name(*sheet).map_err(xlsx)?;
        write_sheet(worksheet, batches, header).map_err(|e| {
            if sheets.len() > 1 {
                format!("sheet '{sheet}': {e}")
            } else {
                e
            }
        })?;
    }
    workbook.save_to_buffer().map_err(xlsx)
}

/// `batches` down one sheet, with a header row when `header`.
fn write_sheet(
    worksheet: &mut Worksheet,
    batches: &[RecordBatch],
    header: bool,
) -> Result<(), String> {
    let xlsx = |e: XlsxError| e.to_string();
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let schema = first.schema();
    if let Some(i) = batches
        .iter()
        .position(|b| b.schema_ref().fields() != schema.fields())
    {
        return Err(format!("batch {i} has a different schema than batch 0"));
    }
    if schema.fields().len() > MAX_COLUMNS {
        return Err(format!(
            "{} columns: an Excel sheet holds at most {MAX_COLUMNS}",
            schema.fields().len()
        ));
    }
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows + usize::from(header) > MAX_ROWS {
        return Err(format!(
            "{rows} rows: an Excel sheet holds at most {MAX_ROWS} (header included)"
        ));
    }
    for field in schema.fields() {
        if let DataType::Timestamp(_, Some(_)) = field.data_type() {
            // pandas refuses these too: Excel has no time zones.
            return Err(format!(
                "column '{}': Excel has no time zones; convert the timestamps to local \
                 (zone-less) time before saving",
                field.name()
            ));
        }
    }
    let formats = Formats {
        datetime: Format::new().set_num_format("YYYY-MM-DD HH:MM:SS"),
        date: Format::new().set_num_format("YYYY-MM-DD"),
    };
    let mut row = 0u32;
    if header {
        for (col, field) in schema.fields().iter().enumerate() {
            worksheet
                .write_string(0, col as u16, field.name())
                .map_err(xlsx)?;
        }
        row = 1;
    }
    for batch in batches {
        for (col, field) in schema.fields().iter().enumerate() {
            write_column(worksheet, &formats, row, col as u16, batch.column(col))
                .map_err(|e| format!("column '{}': {e}", field.name()))?;
        }
        row += batch.num_rows() as u32;
    }
    Ok(())
}

struct Formats {
    datetime: Format,
    date: Format,
}

/// Writes `array` down column `col` from row `top`; nulls stay empty
/// cells (pandas' `na_rep=""`).
fn write_column(
    sheet: &mut Worksheet,
    formats: &Formats,
    top: u32,
    col: u16,
    array: &dyn Array,
) -> Result<(), String> {
    let xlsx = |e: XlsxError| e.to_string();
    macro_rules! numbers {
        ($t:ty) => {{
            for (i, v) in array.as_primitive::<$t>().iter().enumerate() {
                if let Some(v) = v {
                    let v = f64::from(v);
                    if v.is_finite() {
                        sheet.write_number(top + i as u32, col, v).map_err(xlsx)?;
                    }
                }
            }
        }};
    }
    macro_rules! wide_numbers {
        ($t:ty) => {{
            for (i, v) in array.as_primitive::<$t>().iter().enumerate() {
                if let Some(v) = v {
                    // Excel numbers are doubles: beyond 2^53 they round, as
                    // they do when pandas writes them.
                    sheet
                        .write_number(top + i as u32, col, v as f64)
                        .map_err(xlsx)?;
                }
            }
        }};
    }
    macro_rules! instants {
        ($t:ty, $per_day:expr, $format:expr) => {{
            for (i, v) in array.as_primitive::<$t>().iter().enumerate() {
                if let Some(v) = v {
                    let serial = UNIX_EPOCH_SERIAL + v as f64 / $per_day;
                    let at = ExcelDateTime::from_serial_datetime(serial).map_err(|_| {
                        format!("row {}: the date is outside Excel's years 1900 to 9999", i)
                    })?;
                    sheet
                        .write_datetime_with_format(top + i as u32, col, &at, $format)
                        .map_err(xlsx)?;
                }
            }
        }};
    }
    match array.data_type() {
        DataType::Int8 => numbers!(Int8Type),
        DataType::Int16 => numbers!(Int16Type),
        DataType::Int32 => numbers!(Int32Type),
        DataType::UInt8 => numbers!(UInt8Type),
        DataType::UInt16 => numbers!(UInt16Type),
        DataType::UInt32 => numbers!(UInt32Type),
        DataType::Float32 => numbers!(Float32Type),
        DataType::Float64 => numbers!(Float64Type),
        DataType::Int64 => wide_numbers!(Int64Type),
        DataType::UInt64 => wide_numbers!(UInt64Type),
        DataType::Float16 => {
            for (i, v) in array.as_primitive::<Float16Type>().iter().enumerate() {
                if let Some(v) = v.map(f64::from).filter(|v| v.is_finite()) {
                    sheet.write_number(top + i as u32, col, v).map_err(xlsx)?;
                }
            }
        }
        DataType::Boolean => {
            for (i, v) in array.as_boolean().iter().enumerate() {
                if let Some(v) = v {
                    sheet.write_boolean(top + i as u32, col, v).map_err(xlsx)?;
                }
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let strings = arrow_cast::cast(array, &DataType::Utf8).map_err(|e| e.to_string())?;
            for (i, v) in strings.as_string::<i32>().iter().enumerate() {
                if let Some(v) = v {
                    sheet.write_string(top + i as u32, col, v).map_err(xlsx)?;
                }
            }
        }
        DataType::Date32 => instants!(Date32Type, 1.0, &formats.date),
        DataType::Date64 => instants!(Date64Type, 86_400_000.0, &formats.date),
        DataType::Timestamp(unit, None) => match unit {
            TimeUnit::Second => instants!(TimestampSecondType, 86_400.0, &formats.datetime),
            TimeUnit::Millisecond => {
                instants!(TimestampMillisecondType, 86_400_000.0, &formats.datetime)
            }
            TimeUnit::Microsecond => {
                instants!(
                    TimestampMicrosecondType,
                    86_400_000_000.0,
                    &formats.datetime
                )
            }
            TimeUnit::Nanosecond => {
                instants!(
                    TimestampNanosecondType,
                    86_400_000_000_000.0,
                    &formats.datetime
                )
            }
        },
        DataType::Dictionary(_, value)
            if value.is_numeric()
                || matches!(
                    **value,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
        {
            let plain = arrow_cast::cast(array, value).map_err(|e| e.to_string())?;
            write_column(sheet, formats, top, col, plain.as_ref())?;
        }
        DataType::Null => {}
        other => {
            return Err(format!(
                "type {other} cannot be written to Excel (use numbers, booleans, text, dates \
                 or timestamps)"
            ));
        }
    }
    Ok(())
}
