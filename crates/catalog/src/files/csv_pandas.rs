//! CSVDataset's pandas-style reader (`pandas.read_csv` with its common
//! options): text decoded from `encoding`, records split by `sep` and
//! `quotechar`, then `files/columns.rs` shapes the table and every column is
//! typed from all of its values (`int64`, `float64` with `decimal`, `bool`
//! for True/False, else text), so a late string widens its column. Dates
//! stay text unless `parse_dates` names the column, as in pandas.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::builder::{TimestampMicrosecondBuilder, TimestampNanosecondBuilder};
use arrow_array::{ArrayRef, StringArray};
use arrow_schema::DataType;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use encoding_rs::Encoding;

use super::columns::{Cell, NaValues, NameOrIndex, column};

/// How text cells become typed columns.
#[derive(Debug)]
pub(super) struct TextTypes {
    pub(super) na: NaValues,
    pub(super) decimal: u8,
    pub(super) parse_dates: Vec<NameOrIndex>,
    pub(super) date_format: Option<String>,
    pub(super) dayfirst: bool,
}

/// The encoding named by pandas' `encoding` (Python's codec names).
pub(super) fn encoding(label: &str) -> Result<&'static Encoding, String> {
    let lower = label.trim().to_ascii_lowercase().replace('_', "-");
    let canonical = match lower.as_str() {
        "utf8" | "utf-8-sig" | "utf8-sig" => "utf-8",
        // Python's latin-1 maps every byte to the code point of its value;
        // cp1252 differs only in 0x80-0x9F, which latin-1 text (ISO 8859-1
        // has no printable characters there) does not use.
        "latin-1" | "latin1" | "l1" | "iso8859-1" | "iso-8859-1" | "cp819" => "windows-1252",
        "cp1252" => "windows-1252",
        other => other,
    };
    Encoding::for_label(canonical.as_bytes())
        .ok_or_else(|| format!("unknown encoding '{label}' (use utf-8, latin-1, cp1252...)"))
}

/// `bytes` as text; a UTF-8 byte-order mark is dropped (pandas drops it).
pub(super) fn decode_text<'a>(
    bytes: &'a [u8],
    encoding: &'static Encoding,
) -> Result<Cow<'a, str>, String> {
    let (text, had_errors) = encoding.decode_with_bom_removal(bytes);
    if had_errors {
        return Err(format!(
            "the file is not valid {} (set load_args.encoding, e.g. latin-1)",
            encoding.name()
        ));
    }
    Ok(text)
}

/// The records of `text`, every field a text cell.
pub(super) fn records(text: &str, delimiter: u8, quote: u8) -> Result<Vec<Vec<Cell>>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .quote(quote)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("record {}: {e}", i + 1))?;
        rows.push(record.iter().map(|f| Cell::Str(f.to_owned())).collect());
    }
    Ok(rows)
}

impl TextTypes {
    /// The column `name` (at file position `position`) of text cells.
    pub(super) fn column(
        &self,
        cells: Vec<Cell>,
        name: &str,
        position: usize,
        dtype: Option<&DataType>,
    ) -> Result<ArrayRef, String> {
        let texts: Vec<Option<String>> = cells
            .into_iter()
            .map(|c| match c {
                Cell::Str(s) if self.na.is_na(&s) => None,
                other => other.to_text(),
            })
            .collect();
        let is_date = self.parse_dates.iter().any(|d| match d {
            NameOrIndex::Name(n) => n == name,
            NameOrIndex::Index(i) => *i == position,
        });
        if is_date {
            return self.dates(&texts);
        }
        match dtype {
            Some(DataType::Utf8) => Ok(Arc::new(StringArray::from(texts))),
            Some(target) => {
                let floats =
                    matches!(
                        target,
                        DataType::Float16 | DataType::Float32 | DataType::Float64
                    ) || matches!(target, DataType::Decimal128(..) | DataType::Decimal256(..));
                let texts: StringArray = texts
                    .iter()
                    .map(|t| t.as_deref().map(|t| self.normalized(t, floats)))
                    .collect();
                let options = arrow_cast::CastOptions {
                    safe: false,
                    ..Default::default()
                };
                arrow_cast::cast_with_options(&texts, target, &options)
                    .map_err(|e| format!("cannot convert to {target}: {e}"))
            }
            None => column(&self.infer(texts), None),
        }
    }

    fn normalized<'t>(&self, text: &'t str, number: bool) -> Cow<'t, str> {
        if number && self.decimal != b'.' {
            Cow::Owned(text.replace(char::from(self.decimal), "."))
        } else {
            Cow::Borrowed(text)
        }
    }

    /// pandas' C parser's inference: ints, else floats, else booleans,
    /// else text, over every value.
    fn infer(&self, texts: Vec<Option<String>>) -> Vec<Cell> {
        let present = || texts.iter().flatten();
        if present().all(|t| t.trim().parse::<i64>().is_ok()) {
            return texts
                .iter()
                .map(|t| {
                    t.as_ref()
                        .map_or(Cell::Empty, |t| Cell::Int(t.trim().parse().unwrap_or(0)))
                })
                .collect();
        }
        let float = |t: &str| -> Option<f64> {
            let t = self.normalized(t.trim(), true);
            // Rust also parses "infinity" and "nan": pandas reads "inf",
            // "-inf" and NA markers only, and NA markers are gone by now.
            if t.chars().any(|c| c.is_ascii_digit()) || matches!(&*t, "inf" | "-inf" | "+inf") {
                t.parse().ok()
            } else {
                None
            }
        };
        if present().all(|t| float(t).is_some()) {
            return texts
                .iter()
                .map(|t| {
                    t.as_deref()
                        .and_then(float)
                        .map_or(Cell::Empty, Cell::Float)
                })
                .collect();
        }
        let boolean = |t: &str| match t {
            "True" | "TRUE" | "true" => Some(true),
            "False" | "FALSE" | "false" => Some(false),
            _ => None,
        };
        if present().all(|t| boolean(t).is_some()) {
            return texts
                .iter()
                .map(|t| {
                    t.as_deref()
                        .and_then(boolean)
                        .map_or(Cell::Empty, Cell::Bool)
                })
                .collect();
        }
        texts
            .into_iter()
            .map(|t| t.map_or(Cell::Empty, Cell::Str))
            .collect()
    }

    /// `parse_dates`: `timestamp[us]` (`[ns]` when a value has nanosecond
    /// digits); values with a UTC offset give a zoned column, as pandas'
    /// `datetime64[us, UTC+01:00]`.
    fn dates(&self, texts: &[Option<String>]) -> Result<ArrayRef, String> {
        let mut parsed: Vec<Option<(NaiveDateTime, Option<FixedOffset>)>> = Vec::new();
        for text in texts {
            match text {
                None => parsed.push(None),
                Some(t) => {
                    let value = self.datetime(t.trim()).ok_or_else(|| {
                        format!(
                            "parse_dates: '{t}' is not a date{}",
                            self.date_format
                                .as_deref()
                                .map(|f| format!(" in date_format '{f}'"))
                                .unwrap_or_default()
                        )
                    })?;
                    parsed.push(Some(value));
                }
            }
        }
        let offsets: Vec<FixedOffset> = parsed.iter().flatten().filter_map(|(_, o)| *o).collect();
        let zone = match offsets.first() {
            None => None,
            Some(first) if offsets.iter().all(|o| o == first) => Some(offset_name(*first)),
            // Mixed offsets: one instant scale, UTC.
            Some(_) => Some("+00:00".to_owned()),
        };
        let nanos = parsed
            .iter()
            .flatten()
            .any(|(t, _)| t.and_utc().timestamp_subsec_nanos() % 1000 != 0);
        // Zoned values were parsed to UTC already.
        let utc = |(t, _): &(NaiveDateTime, Option<FixedOffset>)| *t;
        let array: ArrayRef = if nanos {
            let mut b = TimestampNanosecondBuilder::with_capacity(parsed.len());
            for value in &parsed {
                let v = value
                    .as_ref()
                    .map(utc)
                    .map(|t| t.and_utc().timestamp_nanos_opt());
                match v {
                    Some(None) => return Err("parse_dates: a date is outside 1677-2262".into()),
                    Some(Some(n)) => b.append_value(n),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish().with_timezone_opt(zone))
        } else {
            let mut b = TimestampMicrosecondBuilder::with_capacity(parsed.len());
            for value in &parsed {
                b.append_option(
                    value
                        .as_ref()
                        .map(utc)
                        .map(|t| t.and_utc().timestamp_micros()),
                );
            }
            Arc::new(b.finish().with_timezone_opt(zone))
        };
        Ok(array)
    }

    fn datetime(&self, text: &str) -> Option<(NaiveDateTime, Option<FixedOffset>)> {
        if let Some(format) = &self.date_format {
            return parse_with(text, format);
        }
        let day_month: &[&str] = if self.dayfirst {
            &[
                "%d/%m/%Y %H:%M:%S%.f",
                "%d/%m/%Y %H:%M",
                "%d/%m/%Y",
                "%d-%m-%Y",
                "%d.%m.%Y",
            ]
        } else {
            &["%m/%d/%Y %H:%M:%S%.f", "%m/%d/%Y %H:%M", "%m/%d/%Y"]
        };
        let text = text
            .strip_suffix('Z')
            .map_or(Cow::Borrowed(text), |t| Cow::Owned(format!("{t}+00:00")));
        [
            "%Y-%m-%d %H:%M:%S%.f%:z",
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d",
            "%Y/%m/%d %H:%M:%S%.f",
            "%Y/%m/%d",
        ]
        .iter()
        .chain(day_month)
        .find_map(|f| parse_with(&text, f))
    }
}

fn parse_with(text: &str, format: &str) -> Option<(NaiveDateTime, Option<FixedOffset>)> {
    if format.contains("%z") || format.contains("%:z") {
        return DateTime::parse_from_str(text, format)
            .ok()
            .map(|t| (t.naive_utc(), Some(*t.offset())));
    }
    NaiveDateTime::parse_from_str(text, format)
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, format)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(|t| (t, None))
}

/// `+01:00`, as arrow (and pyarrow) spell a fixed offset.
fn offset_name(offset: FixedOffset) -> String {
    let seconds = offset.local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}
