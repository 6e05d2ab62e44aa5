//! A sheet's cells, as openpyxl hands them to pandas.

use std::io::Cursor;

use bytes::Bytes;
use calamine::{Data as XlData, Range, Reader};
use chrono::{NaiveDate, NaiveDateTime};

use crate::files::columns::{Cell, NaValues, NameOrIndex};

/// A sheet's rows of cells.
type Rows = Vec<Vec<Cell>>;

/// The rows of the sheet `sheet`, from cell A1: blank leading rows and
/// columns are kept (pandas keeps them), trailing ones are not.
pub(super) fn sheet_rows(
    bytes: Bytes,
    sheet: &NameOrIndex,
    na: &NaValues,
) -> Result<Vec<Vec<Cell>>, String> {
    let mut workbook = open(bytes)?;
    let names = workbook.sheet_names();
    let name = match sheet {
        NameOrIndex::Name(name) if names.contains(name) => name.clone(),
        NameOrIndex::Index(i) if *i < names.len() => names[*i].clone(),
        NameOrIndex::Name(name) => {
            return Err(format!(
                "no sheet named '{name}' (sheets: {})",
                names.join(", ")
            ));
        }
        NameOrIndex::Index(i) => {
            return Err(format!(
                "no sheet at position {i}: the workbook has {} ({})",
                names.len(),
                names.join(", ")
            ));
        }
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|e| format!("sheet '{name}': {e}"))?;
    Ok(rows(&range, na))
}

/// Every sheet's rows, in workbook order, with its name (pandas'
/// `sheet_name=None`).
pub(super) fn all_sheet_rows(bytes: Bytes, na: &NaValues) -> Result<Vec<(String, Rows)>, String> {
    let mut workbook = open(bytes)?;
    let mut sheets = Vec::new();
    for name in workbook.sheet_names() {
        let range = workbook
            .worksheet_range(&name)
            .map_err(|e| format!("sheet '{name}': {e}"))?;
        sheets.push((name, rows(&range, na)));
    }
    Ok(sheets)
}

fn open(bytes: Bytes) -> Result<calamine::Sheets<Cursor<Bytes>>, String> {
    calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("not a readable workbook (xlsx, xls, xlsb or ods): {e}"))
}

fn rows(range: &Range<XlData>, na: &NaValues) -> Vec<Vec<Cell>> {
    let Some((first_row, first_col)) = range.start() else {
        return Vec::new();
    };
    let (first_row, first_col) = (first_row as usize, first_col as usize);
    let mut out: Vec<Vec<Cell>> = vec![Vec::new(); first_row];
    for row in range.rows() {
        let mut cells = vec![Cell::Empty; first_col];
        cells.extend(row.iter().map(|v| cell(v, na)));
        while cells.last() == Some(&Cell::Empty) {
            cells.pop();
        }
        out.push(cells);
    }
    while out.last().is_some_and(Vec::is_empty) {
        out.pop();
    }
    out
}

fn cell(value: &XlData, na: &NaValues) -> Cell {
    match value {
        XlData::Empty => Cell::Empty,
        XlData::Int(i) => Cell::Int(*i),
        // Excel stores every number as a double; openpyxl gives whole
        // ones back as ints, and pandas types the column from that.
        XlData::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            Cell::Int(*f as i64)
        }
        XlData::Float(f) => Cell::Float(*f),
        XlData::Bool(b) => Cell::Bool(*b),
        XlData::String(s) => text(s.clone(), na),
        XlData::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            // A time-only cell (a serial below one day) is a `datetime.time`
            // in openpyxl: pandas keeps it as an object, so tandem as text.
            if dt.as_f64() < 1.0 && dt.as_f64() >= 0.0 {
                return Cell::Str(format!("{h:02}:{mi:02}:{s:02}"));
            }
            match NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d)).and_then(
                |date| {
                    date.and_hms_milli_opt(u32::from(h), u32::from(mi), u32::from(s), u32::from(ms))
                },
            ) {
                Some(t) => Cell::DateTime(t),
                // The 1900 leap-year bug's 29 February has no real date.
                None => Cell::Str(format!("{y:04}-{mo:02}-{d:02}")),
            }
        }
        // A duration-formatted number.
        XlData::DateTime(dt) => Cell::Float(dt.as_f64()),
        XlData::DateTimeIso(s) => {
            iso_datetime(s).map_or_else(|| text(s.clone(), na), Cell::DateTime)
        }
        XlData::DurationIso(s) => text(s.clone(), na),
        // openpyxl reads an error cell as its text (`#N/A`, `#DIV/0!`),
        // which pandas' default markers may turn into a missing value.
        XlData::Error(e) => text(e.to_string(), na),
    }
}

fn text(s: String, na: &NaValues) -> Cell {
    if na.is_na(&s) {
        Cell::Empty
    } else {
        Cell::Str(s)
    }
}

fn iso_datetime(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}
