//! What a table save is asked to do, shared by both backends.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::Error;

/// `save_args.if_exists`, pandas' `to_sql` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IfExists {
    /// Refuse to save when the table exists (pandas' and so kedro-datasets' default).
    #[default]
    Fail,
    /// Drop the table and create it anew, in the same transaction as the rows.
    Replace,
    /// Add the rows, creating the table when it is missing.
    Append,
}

/// The table a save writes.
#[derive(Debug)]
pub(crate) struct SaveTarget<'a> {
    pub(crate) schema: Option<&'a str>,
    pub(crate) table: &'a str,
    pub(crate) if_exists: IfExists,
}

impl SaveTarget<'_> {
    /// The batches' common schema; batches of different columns are refused.
    pub(crate) fn schema_of(&self, batches: &[RecordBatch]) -> Result<SchemaRef, Error> {
        let first = batches.first().ok_or_else(|| {
            Error::NotATable("nothing to save: an empty list of RecordBatches".to_owned())
        })?;
        let schema = first.schema();
        for batch in &batches[1..] {
            let same = batch.schema().fields().len() == schema.fields().len()
                && batch
                    .schema()
                    .fields()
                    .iter()
                    .zip(schema.fields())
                    .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
            if !same {
                return Err(Error::NotATable(
                    "the RecordBatches saved have different columns".to_owned(),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for field in schema.fields() {
            if !seen.insert(field.name()) {
                return Err(Error::unsupported(
                    field.name(),
                    "duplicate column name: a SQL table's columns must be unique",
                ));
            }
        }
        Ok(schema)
    }
}
