//! Typed cells to arrow columns, with pandas' inference: a column of
//! whole numbers is int64, numbers are float64, booleans bool, datetimes
//! `timestamp[us]`, and anything mixed is text (pandas' `object` of
//! `str()`s). Every cell is looked at, so a late string widens its column
//! instead of failing the load.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDateTime;

/// One parsed cell.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell {
    /// Missing (an empty cell or an NA marker).
    Empty,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    DateTime(NaiveDateTime),
}

impl Cell {
    /// Python's `str()` of the value, which is what pandas shows for a
    /// cell of a mixed (`object`) column.
    pub(super) fn to_text(&self) -> Option<String> {
        match self {
            Cell::Empty => None,
            Cell::Int(i) => Some(i.to_string()),
            Cell::Float(f) => Some(python_float(*f)),
            Cell::Bool(true) => Some("True".to_owned()),
            Cell::Bool(false) => Some("False".to_owned()),
            Cell::Str(s) => Some(s.clone()),
            Cell::DateTime(t) => Some(python_datetime(t)),
        }
    }
}

/// `repr(float)`: `1.0`, `1.5`, `1e+16`, `nan`, `inf`.
pub(super) fn python_float(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let abs = value.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Python switches to exponent form outside [1e-4, 1e16) and always
        // writes the exponent's sign and at least two digits.
        let text = format!("{value:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    // Debug keeps a `.0` on whole numbers, as repr does.
    format!("{value:?}")
}

/// `str(datetime)`: microseconds only when non-zero.
fn python_datetime(value: &NaiveDateTime) -> String {
    if value.and_utc().timestamp_subsec_micros() == 0 {
        value.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        value.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// What a column holds, from its non-empty cells.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Only empty cells: pandas' all-NaN float64 column.
    Empty,
    Int,
    Float,
    Bool,
    DateTime,
    Text,
}

fn kind_of(cells: &[Cell]) -> Kind {
    let mut kind = Kind::Empty;
    for cell in cells {
        let this = match cell {
            Cell::Empty => continue,
            Cell::Int(_) => Kind::Int,
            Cell::Float(_) => Kind::Float,
            Cell::Bool(_) => Kind::Bool,
            Cell::Str(_) => return Kind::Text,
            Cell::DateTime(_) => Kind::DateTime,
        };
        kind = match (kind, this) {
            (Kind::Empty, k) => k,
            (a, b) if a == b => a,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            _ => return Kind::Text,
        };
    }
    kind
}

/// The arrow array of one column's cells; `dtype` forces a type (then a
/// cell that does not convert is an error naming the row).
pub(super) fn column(cells: &[Cell], dtype: Option<&DataType>) -> Result<ArrayRef, String> {
    let kind = kind_of(cells);
    match dtype {
        None => Ok(inferred(cells, kind)),
        Some(DataType::Utf8) => Ok(text(cells)),
        Some(target) => {
            let array = inferred(cells, kind);
            let options = arrow_cast::CastOptions {
                safe: false,
                ..Default::default()
            };
            arrow_cast::cast_with_options(&array, target, &options)
                .map_err(|e| format!("cannot convert to {target}: {e}"))
        }
    }
}

fn inferred(cells: &[Cell], kind: Kind) -> ArrayRef {
    match kind {
        Kind::Text => text(cells),
        Kind::Int => {
            let mut b = Int64Builder::with_capacity(cells.len());
            for cell in cells {
                b.append_option(match cell {
                    Cell::Int(i) => Some(*i),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        Kind::Float | Kind::Empty => {
            let mut b = Float64Builder::with_capacity(cells.len());
            for cell in cells {
                b.append_option(match cell {
                    Cell::Int(i) => Some(*i as f64),
                    Cell::Float(f) => Some(*f),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        Kind::Bool => {
            let mut b = BooleanBuilder::with_capacity(cells.len());
            for cell in cells {
                b.append_option(match cell {
                    Cell::Bool(v) => Some(*v),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        Kind::DateTime => {
            let mut b = TimestampMicrosecondBuilder::with_capacity(cells.len());
            for cell in cells {
                b.append_option(match cell {
                    Cell::DateTime(t) => Some(t.and_utc().timestamp_micros()),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
    }
}

fn text(cells: &[Cell]) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(cells.len(), cells.len() * 8);
    for cell in cells {
        b.append_option(cell.to_text());
    }
    Arc::new(b.finish())
}

/// A table from named columns of equal length (`rows` rows).
pub(super) fn table(columns: Vec<(String, ArrayRef)>, rows: usize) -> Result<RecordBatch, String> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(name, array.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
        .map_err(|e| e.to_string())
}

/// pandas' column names from a header row: an empty cell is `Unnamed: i`
/// and repeats get `.1`, `.2`... (pandas' "mangle_dupe_cols").
pub(super) fn header_names(cells: Vec<Option<String>>) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut names = Vec::with_capacity(cells.len());
    for (i, cell) in cells.into_iter().enumerate() {
        let base = cell
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("Unnamed: {i}"));
        let mut name = base.clone();
        let mut n = 1;
        while seen.contains(&name) {
            name = format!("{base}.{n}");
            n += 1;
        }
        seen.insert(name.clone());
        names.push(name);
    }
    names
}

/// pandas' default missing-value markers (`keep_default_na: true`).
pub(super) const DEFAULT_NA: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// The strings read as missing: pandas' defaults (unless
/// `keep_default_na: false`) plus `na_values`.
#[derive(Debug, Clone)]
pub(super) struct NaValues {
    values: HashSet<String>,
}

impl NaValues {
    pub(super) fn new(keep_default: bool, extra: &[String]) -> Self {
        let mut values: HashSet<String> = extra.iter().cloned().collect();
        if keep_default {
            values.extend(DEFAULT_NA.iter().map(|s| (*s).to_owned()));
        }
        NaValues { values }
    }

    pub(super) fn is_na(&self, text: &str) -> bool {
        self.values.contains(text)
    }
}

/// Column selection as pandas' `usecols` takes it: names, positions, or
/// Excel letters (`"A:C,E"`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub(super) enum UseCols {
    /// Excel column letters and ranges (Excel only).
    Letters(String),
    /// Names or 0-based positions.
    List(Vec<NameOrIndex>),
}

/// A column (or sheet) by name or 0-based position.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub(super) enum NameOrIndex {
    Index(usize),
    Name(String),
}

impl UseCols {
    /// The positions of the kept columns among `names`, in file order (as
    /// pandas keeps them, whatever order `usecols` lists).
    pub(super) fn positions(&self, names: &[String]) -> Result<Vec<usize>, String> {
        let mut keep = vec![false; names.len()];
        match self {
            UseCols::Letters(spec) => {
                for position in letters(spec)? {
                    if position >= names.len() {
                        return Err(format!(
                            "usecols {spec:?} names a column past the last one ({} columns)",
                            names.len()
                        ));
                    }
                    keep[position] = true;
                }
            }
            UseCols::List(items) => {
                for item in items {
                    let position = match item {
                        NameOrIndex::Index(i) if *i < names.len() => *i,
                        NameOrIndex::Index(i) => {
                            return Err(format!(
                                "usecols: column {i} is out of range ({} columns)",
                                names.len()
                            ));
                        }
                        NameOrIndex::Name(n) => {
                            names.iter().position(|c| c == n).ok_or_else(|| {
                                format!("usecols: no column '{n}' (columns: {})", names.join(", "))
                            })?
                        }
                    };
                    keep[position] = true;
                }
            }
        }
        Ok((0..names.len()).filter(|&i| keep[i]).collect())
    }
}

/// `"A:C,E"` → `[0, 1, 2, 4]`.
fn letters(spec: &str) -> Result<Vec<usize>, String> {
    let column = |s: &str| -> Result<usize, String> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphabetic()) || s.len() > 3 {
            return Err(format!(
                "usecols: '{s}' is not an Excel column (letters such as A or AB, ranges A:C)"
            ));
        }
        Ok(s.bytes().fold(0usize, |n, b| {
            n * 26 + usize::from(b.to_ascii_uppercase() - b'A') + 1
        }) - 1)
    };
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once(':') {
            Some((from, to)) => {
                let (from, to) = (column(from)?, column(to)?);
                if from > to {
                    return Err(format!("usecols: range '{part}' runs backwards"));
                }
                out.extend(from..=to);
            }
            None => out.push(column(part)?),
        }
    }
    Ok(out)
}

/// `header` as pandas takes it: a row number or `null` (no header row);
/// tandem's earlier `true`/`false` spellings are kept.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) enum Header {
    /// Not given: row 0.
    #[default]
    Default,
    /// `null` or `false`: no header row, columns named `0..n-1`.
    None,
    /// This row (counted after `skiprows`) holds the names.
    Row(usize),
}

impl Header {
    /// The header row, if any.
    pub(super) fn row(self) -> Option<usize> {
        match self {
            Header::Default => Some(0),
            Header::None => None,
            Header::Row(r) => Some(r),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Header {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null | serde_json::Value::Bool(false) => Ok(Header::None),
            serde_json::Value::Bool(true) => Ok(Header::Row(0)),
            serde_json::Value::Number(n) => n
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Header::Row)
                .ok_or_else(|| serde::de::Error::custom("header must be a row number >= 0")),
            serde_json::Value::String(s) if s == "infer" => Ok(Header::Row(0)),
            other => Err(serde::de::Error::custom(format!(
                "header must be a row number, null or a boolean, got {other}"
            ))),
        }
    }
}

impl serde::Serialize for Header {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Header::Default => s.serialize_str("infer"),
            Header::None => s.serialize_none(),
            Header::Row(r) => s.serialize_u64(*r as u64),
        }
    }
}

/// `skiprows`: a count of leading rows or a list of row numbers.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub(super) enum SkipRows {
    First(usize),
    These(Vec<usize>),
}

impl SkipRows {
    /// Whether file row `row` (0-based) is skipped.
    pub(super) fn skips(&self, row: usize) -> bool {
        match self {
            SkipRows::First(n) => row < *n,
            SkipRows::These(rows) => rows.contains(&row),
        }
    }
}

/// `(type for every column, per-column types)`.
pub(super) type ResolvedDtype = (Option<DataType>, Vec<(String, DataType)>);

/// pandas' `dtype`: one type for every column or a type per column name.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub(super) enum Dtype {
    All(String),
    PerColumn(std::collections::BTreeMap<String, String>),
}

impl Dtype {
    /// `(type for every column, per-column types)`.
    pub(super) fn resolve(&self) -> Result<ResolvedDtype, String> {
        let parse = |name: &str| -> Result<DataType, String> {
            match name.trim() {
                // pandas' names for text.
                "object" | "O" => Ok(DataType::Utf8),
                other => super::csv::parse_type(other),
            }
        };
        match self {
            Dtype::All(t) => Ok((
                Some(parse(t).map_err(|e| format!("dtype: {e}"))?),
                Vec::new(),
            )),
            Dtype::PerColumn(map) => map
                .iter()
                .map(|(c, t)| {
                    parse(t)
                        .map(|t| (c.clone(), t))
                        .map_err(|e| format!("dtype: column '{c}': {e}"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|per| (None, per)),
        }
    }
}

/// `na_values`: one marker or a list of them.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub(super) enum NaList {
    One(String),
    Many(Vec<String>),
}

impl NaList {
    pub(super) fn values(&self) -> &[String] {
        match self {
            NaList::One(v) => std::slice::from_ref(v),
            NaList::Many(v) => v,
        }
    }
}

/// Applies pandas' header/skiprows/names/usecols/nrows/dtype to rows of
/// cells (already NA-filtered); the column names and the table.
pub(super) struct Shape<'a> {
    pub(super) header: Header,
    pub(super) skiprows: Option<&'a SkipRows>,
    pub(super) names: Option<&'a [String]>,
    pub(super) usecols: Option<&'a UseCols>,
    pub(super) nrows: Option<usize>,
    pub(super) dtype: &'a [(String, DataType)],
    /// A `dtype` given as one type for every column.
    pub(super) dtype_all: Option<&'a DataType>,
    /// Cells are text to type (CSV), not typed cells (Excel).
    pub(super) text: Option<&'a super::csv_pandas::TextTypes>,
}

impl Shape<'_> {
    /// The table of `rows`; `header_text` turns a header cell into a name.
    pub(super) fn apply(&self, rows: Vec<Vec<Cell>>) -> Result<RecordBatch, String> {
        let mut rows: Vec<Vec<Cell>> = rows
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !self.skiprows.is_some_and(|s| s.skips(*i)))
            .map(|(_, r)| r)
            .collect();
        let header_row = self.header.row();
        let mut header_cells = None;
        if let Some(h) = header_row {
            if h >= rows.len() && self.names.is_none() {
                if rows.is_empty() {
                    return table(Vec::new(), 0);
                }
                return Err(format!(
                    "header row {h} is past the end ({} rows)",
                    rows.len()
                ));
            }
            let mut rest = rows.split_off((h + 1).min(rows.len()));
            header_cells = rows.pop();
            std::mem::swap(&mut rows, &mut rest);
        }
        if let Some(n) = self.nrows {
            rows.truncate(n);
        }
        let width = rows
            .iter()
            .map(Vec::len)
            .chain(header_cells.as_ref().map(Vec::len))
            .chain(self.names.map(<[String]>::len))
            .max()
            .unwrap_or(0);
        let names: Vec<String> = match (self.names, header_cells) {
            (Some(names), _) => {
                if names.len() < width {
                    return Err(format!(
                        "names lists {} columns but the data has {width}",
                        names.len()
                    ));
                }
                names.to_vec()
            }
            (None, Some(cells)) => {
                let mut texts: Vec<Option<String>> = cells.iter().map(header_text).collect();
                texts.resize(width, None);
                header_names(texts)
            }
            (None, None) => (0..width).map(|i| i.to_string()).collect(),
        };
        let keep = match self.usecols {
            Some(usecols) => usecols.positions(&names)?,
            None => (0..names.len()).collect(),
        };
        let count = rows.len();
        let mut columns = Vec::with_capacity(keep.len());
        for position in keep {
            let cells: Vec<Cell> = rows
                .iter_mut()
                .map(|r| {
                    r.get_mut(position)
                        .map_or(Cell::Empty, |c| std::mem::replace(c, Cell::Empty))
                })
                .collect();
            let name = &names[position];
            let dtype = self
                .dtype
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .or(self.dtype_all);
            let array = match self.text {
                Some(text) => text.column(cells, name, position, dtype),
                None => column(&cells, dtype),
            }
            .map_err(|e| format!("column '{name}': {e}"))?;
            columns.push((name.clone(), array));
        }
        table(columns, count)
    }
}

/// A header cell as a column name: whole floats lose their `.0` (openpyxl
/// reads them as ints).
fn header_text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
        other => other.to_text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_does() {
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(1.5), "1.5");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(1.5e-5), "1.5e-05");
        assert_eq!(python_float(-0.25), "-0.25");
    }

    #[test]
    fn letters_select_columns() {
        assert_eq!(letters("A:C,E").unwrap(), [0, 1, 2, 4]);
        assert_eq!(letters("aa").unwrap(), [26]);
        assert!(letters("C:A").is_err());
        assert!(letters("1").is_err());
    }

    #[test]
    fn mixed_columns_widen_to_text() {
        let cells = [Cell::Int(1), Cell::Float(2.5), Cell::Empty];
        assert_eq!(kind_of(&cells), Kind::Float);
        let cells = [Cell::Int(1), Cell::Str("x".into())];
        assert_eq!(kind_of(&cells), Kind::Text);
        assert_eq!(kind_of(&[Cell::Bool(true), Cell::Int(1)]), Kind::Text);
        assert_eq!(kind_of(&[Cell::Empty]), Kind::Empty);
    }

    #[test]
    fn header_names_mangle_repeats_and_blanks() {
        let names = header_names(vec![Some("a".into()), None, Some("a".into())]);
        assert_eq!(names, ["a", "Unnamed: 1", "a.1"]);
    }
}
