//! Parsed columns → the model's input: a `RecordBatch` in the signature's
//! order and types, or a `Vec` for a model fed a list.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::Value;
use tandem_pipeline_core::Data;

use super::convert::{Source, convert, infer, list_data};
use super::limits::{Budget, dictionary_expansion};
use super::{InputSpec, ipc};
use crate::error::Error;

/// A body split into columns, before types are settled.
pub(crate) enum Parsed {
    /// Named columns of JSON values, each `rows` long.
    Json {
        columns: Vec<(String, Vec<Value>)>,
        rows: usize,
    },
    /// A list of values (`instances`/`inputs` of scalars).
    List(Vec<Value>),
    /// CSV cells as text.
    Text(RecordBatch),
    /// Typed columns (parquet, Arrow IPC).
    Arrow(RecordBatch),
}

fn schema_mismatch(message: String) -> Error {
    Error::SchemaMismatch(message)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidInput(message.into())
}

/// The model input `parsed` describes, checked against `spec`.
pub(crate) fn assemble(parsed: Parsed, spec: Option<&InputSpec>) -> Result<Data, Error> {
    if let (Parsed::Arrow(batch), None) = (&parsed, spec) {
        // Typed columns with nothing to check against are the input as is.
        return Ok(Data::new(batch.clone()));
    }
    let (sources, rows): (Vec<(String, Source<'_>)>, usize) = match &parsed {
        Parsed::List(values) => return list(values, spec),
        Parsed::Json { columns, rows } => (
            columns
                .iter()
                .map(|(n, v)| (n.clone(), Source::Json(v)))
                .collect(),
            *rows,
        ),
        Parsed::Text(batch) => (text_columns(batch)?, batch.num_rows()),
        Parsed::Arrow(batch) => (
            batch
                .schema_ref()
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| (f.name().clone(), Source::Arrow(c)))
                .collect(),
            batch.num_rows(),
        ),
    };
    match spec {
        Some(spec) if spec.is_list() => match sources.as_slice() {
            [(name, source)] => {
                list_data(&convert(source, &spec.columns[0].data_type, name)?, name)
            }
            _ => Err(schema_mismatch(format!(
                "the model takes a list of values (one column), got {} columns",
                sources.len()
            ))),
        },
        Some(spec) => enforce(&sources, rows, spec).map(Data::new),
        None => {
            let mut fields = Vec::with_capacity(sources.len());
            let mut arrays = Vec::with_capacity(sources.len());
            for (name, source) in &sources {
                let array = infer(source, name)?;
                fields.push(Field::new(name.clone(), array.data_type().clone(), true));
                arrays.push(array);
            }
            batch(fields, arrays, rows).map(Data::new)
        }
    }
}

fn text_columns(batch: &RecordBatch) -> Result<Vec<(String, Source<'_>)>, Error> {
    batch
        .schema_ref()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            let strings = column
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| {
                    invalid(format!(
                        "CSV column '{}' was not read as text",
                        field.name()
                    ))
                })?;
            Ok((field.name().clone(), Source::Text(strings)))
        })
        .collect()
}

fn list(values: &[Value], spec: Option<&InputSpec>) -> Result<Data, Error> {
    let source = Source::Json(values);
    match spec {
        None => list_data(&infer(&source, "input")?, "input"),
        Some(spec) if spec.is_list() => list_data(
            &convert(&source, &spec.columns[0].data_type, "input")?,
            "input",
        ),
        Some(spec) => match spec.columns.as_slice() {
            // A list for a one-column table is that column (MLflow does the same).
            [only] => {
                let name = only.name.clone().unwrap_or_default();
                enforce(&[(name, source)], values.len(), spec).map(Data::new)
            }
            _ => Err(schema_mismatch(format!(
                "the model expects the columns {}, got a list of values",
                names(spec).join(", ")
            ))),
        },
    }
}

fn names(spec: &InputSpec) -> Vec<String> {
    spec.columns
        .iter()
        .enumerate()
        .map(|(i, c)| c.name.clone().unwrap_or_else(|| i.to_string()))
        .collect()
}

/// MLflow's schema enforcement: required columns present, optional ones
/// filled with nulls, extra ones dropped, the signature's order and types.
fn enforce(
    sources: &[(String, Source<'_>)],
    rows: usize,
    spec: &InputSpec,
) -> Result<RecordBatch, Error> {
    let expected = names(spec);
    let find = |name: &str| sources.iter().find(|(n, _)| n == name).map(|(_, s)| s);
    let missing: Vec<&str> = spec
        .columns
        .iter()
        .zip(&expected)
        .filter(|(c, name)| c.required && find(name).is_none())
        .map(|(_, name)| name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(schema_mismatch(format!(
            "the model is missing required input column(s) {}; it expects {}",
            quoted(&missing),
            quoted(&expected.iter().map(String::as_str).collect::<Vec<_>>())
        )));
    }
    let extra: Vec<&str> = sources
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !expected.iter().any(|e| e == n))
        .collect();
    if !extra.is_empty() {
        tracing::warn!(
            "ignoring input column(s) the model does not use: {}",
            quoted(&extra)
        );
    }
    let mut fields = Vec::with_capacity(spec.columns.len());
    let mut arrays = Vec::with_capacity(spec.columns.len());
    for (column, name) in spec.columns.iter().zip(&expected) {
        let array = match find(name) {
            Some(source) => convert(source, &column.data_type, name)?,
            None => arrow_array::new_null_array(&column.data_type, rows),
        };
        fields.push(Field::new(name.clone(), column.data_type.clone(), true));
        arrays.push(array);
    }
    batch(fields, arrays, rows)
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn batch(fields: Vec<Field>, arrays: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch, Error> {
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
        .map_err(|e| invalid(format!("cannot build the input table: {e}")))
}

fn concat(schema: &Arc<Schema>, batches: &[RecordBatch]) -> Result<RecordBatch, Error> {
    arrow_select::concat::concat_batches(schema, batches).map_err(|e| invalid(e.to_string()))
}

/// CSV with a header row, every cell read as text and converted after, so
/// `007` stays a string where the signature says string.
pub(crate) fn csv(body: &[u8], spec: Option<&InputSpec>) -> Result<Data, Error> {
    let format = arrow_csv::reader::Format::default().with_header(true);
    let (header, _) = format
        .infer_schema(Cursor::new(body), Some(0))
        .map_err(|e| invalid(format!("cannot read the CSV header: {e}")))?;
    if header.fields().is_empty() {
        return Err(invalid("the CSV has no header row"));
    }
    let fields: Vec<Field> = header
        .fields()
        .iter()
        .map(|f| Field::new(f.name().clone(), DataType::Utf8, true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let reader = arrow_csv::ReaderBuilder::new(Arc::clone(&schema))
        .with_format(format)
        .build(Cursor::new(body))
        .map_err(|e| invalid(format!("cannot read the CSV: {e}")))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("cannot read the CSV: {e}")))?;
    assemble(Parsed::Text(concat(&schema, &batches)?), spec)
}

/// A parquet file's rows as one batch, read by the catalog's hardened
/// parquet reader (the one model artifacts and datasets go through) under
/// the budget of a body of its size: parquet compresses, so the rows and
/// pages its metadata states are checked before any is decoded.
pub(crate) fn parquet(body: &[u8], spec: Option<&InputSpec>) -> Result<Data, Error> {
    let budget = Budget::for_body(body.len());
    let batch = tandem_catalog::parquet::read_bytes(
        bytes::Bytes::copy_from_slice(body),
        "request body",
        tandem_catalog::parquet::ParquetBudget::for_body(body.len()),
    )
    .map_err(|e| match e {
        tandem_catalog::Error::Format { message, .. } => {
            invalid(format!("cannot read the parquet file: {message}"))
        }
        other => invalid(format!("cannot read the parquet file: {other}")),
    })?;
    budget.check_cells(batch.num_rows(), width(batch.num_columns(), spec))?;
    check_dictionaries(&batch, budget)?;
    assemble(Parsed::Arrow(batch), spec)
}

/// An Arrow IPC stream's batches as one batch, checked like parquet's
/// typed columns. The stream is checked first for what the reader would
/// panic on (see [`super::ipc`]), and its rows as they are read: a batch
/// states its row count, and a batch without columns or of null columns
/// takes no bytes per row.
pub(crate) fn arrow_stream(body: &[u8], spec: Option<&InputSpec>) -> Result<Data, Error> {
    let budget = Budget::for_body(body.len());
    ipc::check_stream(body)?;
    let reader = arrow_ipc::reader::StreamReader::try_new(Cursor::new(body), None)
        .map_err(|e| invalid(format!("cannot read the Arrow IPC stream: {e}")))?;
    let schema = reader.schema();
    let width = width(schema.fields().len(), spec);
    let mut batches = Vec::new();
    let mut rows = 0_usize;
    for batch in reader {
        let batch = batch.map_err(|e| invalid(format!("cannot read the Arrow IPC stream: {e}")))?;
        rows = rows.saturating_add(batch.num_rows());
        budget.check_cells(rows, width)?;
        batches.push(batch);
    }
    let batch = concat(&schema, &batches)?;
    check_dictionaries(&batch, budget)?;
    assemble(Parsed::Arrow(batch), spec)
}

/// The columns a table of `columns` columns is checked as: the spec's
/// when more (missing optional columns are filled with nulls).
fn width(columns: usize, spec: Option<&InputSpec>) -> usize {
    columns.max(spec.map_or(0, |s| s.columns.len()))
}

/// Text dictionaries are one value for many rows, expanded when
/// converted: what they expand to must be within the budget.
fn check_dictionaries(batch: &RecordBatch, budget: Budget) -> Result<(), Error> {
    let expanded = batch
        .columns()
        .iter()
        .map(|column| dictionary_expansion(column.as_ref()))
        .fold(0, usize::saturating_add);
    budget.check_bytes(expanded, "dictionary values")
}
