//! `ExcelDataset`: an arrow `RecordBatch` as one sheet of an Excel
//! workbook (Kedro's `pandas.ExcelDataset`), read with calamine and
//! written with rust_xlsxwriter.
//!
//! Loading follows `pandas.read_excel` with openpyxl: the sheet is read
//! from cell A1 (blank leading rows and columns are kept, as pandas keeps
//! them), `header`, `skiprows`, `usecols`, `nrows`, `names` and `dtype`
//! shape the table, and column types are inferred from every cell
//! (`files/columns.rs`). Saving follows `DataFrame.to_excel(index=False)`:
//! a plain header row, datetimes formatted `YYYY-MM-DD HH:MM:SS`, dates
//! `YYYY-MM-DD`, nulls as empty cells.

mod read;
mod write;

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::Data;

use super::columns::{Header, NaValues, NameOrIndex, Shape, SkipRows, UseCols};
use super::{FileFormat, FileOptions, args_details, format_error, record_batches};
use crate::error::Error;
use crate::registry::DatasetConfig;

/// pandas' `read_excel` engines; tandem reads with calamine whichever is
/// named, so the choice only has to be one pandas knows.
const ENGINES: &[&str] = &["openpyxl", "calamine", "xlrd", "odf", "pyxlsb"];

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    /// A sheet name or 0-based position; `null` loads every sheet as a
    /// `BTreeMap<String, RecordBatch>` keyed by sheet name.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    sheet_name: Option<Option<NameOrIndex>>,
    #[serde(default, skip_serializing_if = "is_default_header")]
    header: Header,
    #[serde(skip_serializing_if = "Option::is_none")]
    skiprows: Option<SkipRows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usecols: Option<UseCols>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nrows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dtype: Option<super::columns::Dtype>,
    #[serde(skip_serializing_if = "Option::is_none")]
    na_values: Option<super::columns::NaList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_default_na: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    sheet_name: Option<String>,
    /// Arrow tables have no index: only `false` (Kedro's default) is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<String>,
}

fn is_default_header(header: &Header) -> bool {
    *header == Header::Default
}

/// Keeps an explicit `null` apart from an absent key.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// One sheet of an `.xlsx` (also `.xls`, `.xlsb` and `.ods` on load):
/// loads a `RecordBatch`, saves a `RecordBatch` or `Vec<RecordBatch>`.
/// With `load_args.sheet_name: null` it loads every sheet as a
/// `BTreeMap<String, RecordBatch>`; such a map saves one sheet per key.
#[derive(Debug)]
pub struct ExcelFormat {
    load_args: LoadArgs,
    save_args: SaveArgs,
    /// `None` loads every sheet (`sheet_name: null`).
    sheet: Option<NameOrIndex>,
    dtype: Vec<(String, DataType)>,
    all_dtype: Option<DataType>,
    na: NaValues,
}

impl FileFormat for ExcelFormat {
    const TYPE_NAME: &'static str = "ExcelDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let (filepath, load_args, save_args): (String, LoadArgs, SaveArgs) =
            FileOptions::parse(config)?;
        let entry = config.name.as_str();
        let sheet = match &load_args.sheet_name {
            None => Some(NameOrIndex::Index(0)),
            Some(sheet) => sheet.clone(),
        };
        for (field, engine) in [
            ("load_args.engine", &load_args.engine),
            ("save_args.engine", &save_args.engine),
        ] {
            if let Some(engine) = engine {
                if !ENGINES.contains(&engine.as_str()) && engine != "xlsxwriter" {
                    return Err(Error::config(
                        entry,
                        format!(
                            "{field}: unknown engine '{engine}' (pandas' engines: {}, xlsxwriter)",
                            ENGINES.join(", ")
                        ),
                    ));
                }
                tracing::debug!(
                    dataset = entry,
                    engine = engine.as_str(),
                    "{field} accepted: tandem reads with calamine and writes with rust_xlsxwriter"
                );
            }
        }
        if save_args.index == Some(true) {
            return Err(Error::config(
                entry,
                "save_args.index: true is not supported: arrow tables have no index to write",
            ));
        }
        if let Some(name) = &save_args.sheet_name {
            write::check_sheet_name(name)
                .map_err(|e| Error::config(entry, format!("save_args.sheet_name: {e}")))?;
        }
        let (all_dtype, dtype) = match &load_args.dtype {
            None => (None, Vec::new()),
            Some(d) => d.resolve().map_err(|e| Error::config(entry, e))?,
        };
        let na = NaValues::new(
            load_args.keep_default_na.unwrap_or(true),
            load_args.na_values.as_ref().map_or(&[][..], |n| n.values()),
        );
        let format = ExcelFormat {
            sheet,
            dtype,
            all_dtype,
            na,
            load_args,
            save_args,
        };
        Ok((filepath, format))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let header = self.save_args.header.unwrap_or(true);
        // A dict of tables is one sheet per key, as kedro-datasets writes it.
        let bytes = if let Ok(sheets) = data.downcast_ref::<BTreeMap<String, RecordBatch>>() {
            let sheets: Vec<(&str, &[RecordBatch])> = sheets
                .iter()
                .map(|(name, batch)| (name.as_str(), std::slice::from_ref(batch)))
                .collect();
            write::workbook(&sheets, header)
        } else {
            let batches = record_batches(data, Self::TYPE_NAME)?;
            let sheet = self.save_args.sheet_name.as_deref().unwrap_or("Sheet1");
            write::workbook(&[(sheet, batches)], header)
        };
        bytes
            .map(Bytes::from)
            .map_err(|e| format_error("excel", location, e))
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        let error = |e: String| format_error("excel", location, e);
        let Some(sheet) = &self.sheet else {
            let mut tables = BTreeMap::new();
            for (name, rows) in read::all_sheet_rows(bytes, &self.na).map_err(error)? {
                let batch = self
                    .shape()
                    .apply(rows)
                    .map_err(|e| error(format!("sheet '{name}': {e}")))?;
                tables.insert(name, batch);
            }
            return Ok(Data::new(tables));
        };
        let rows = read::sheet_rows(bytes, sheet, &self.na).map_err(error)?;
        let batch = self.shape().apply(rows).map_err(error)?;
        Ok(Data::new(batch))
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        args_details(&self.load_args, &self.save_args)
    }
}

impl ExcelFormat {
    /// How the load args shape a sheet's rows into a table.
    fn shape(&self) -> Shape<'_> {
        Shape {
            header: self.load_args.header,
            skiprows: self.load_args.skiprows.as_ref(),
            names: self.load_args.names.as_deref(),
            usecols: self.load_args.usecols.as_ref(),
            nrows: self.load_args.nrows,
            dtype: &self.dtype,
            dtype_all: self.all_dtype.as_ref(),
            text: None,
        }
    }
}
