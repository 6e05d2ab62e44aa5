//! `SQLTableDataset` (kedro-datasets' `pandas.SQLTableDataset`): one table,
//! loaded whole (or the `columns` asked for) and saved with pandas'
//! `if_exists` modes.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tandem_catalog::{Dataset, DatasetConfig, DatasetDescription};
use tandem_pipeline_core::Data;

use crate::backend;
use crate::con::Connection;
use crate::error::Error;
use crate::save::{IfExists, SaveTarget};
use crate::types::{qualified, quote_ident};

/// The registered type name.
pub const TABLE_TYPE: &str = "SQLTableDataset";

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    columns: Option<Vec<String>>,
    /// pandas yields chunks of this many rows; a node gets one table, so
    /// the chunks are the table's rows either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    chunksize: Option<u64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    if_exists: Option<IfExists>,
    /// pandas inserts in batches of this many rows; COPY streams every row
    /// in one statement, so it changes nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    chunksize: Option<u64>,
    /// kedro-datasets saves with `index: False`; arrow tables have no index.
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    table_name: Option<String>,
    #[serde(default)]
    load_args: Option<LoadArgs>,
    #[serde(default)]
    save_args: Option<SaveArgs>,
}

/// A SQL table as an arrow `RecordBatch`.
#[derive(Debug)]
pub struct SqlTableDataset {
    entry: String,
    table: String,
    con: Connection,
    load_args: LoadArgs,
    save_args: SaveArgs,
}

impl SqlTableDataset {
    /// The dataset an entry describes (no I/O: the connection is opened by
    /// each load, save or exists).
    pub fn from_config(config: &DatasetConfig) -> Result<SqlTableDataset, tandem_catalog::Error> {
        Self::build(config).map_err(|e| e.into_catalog("build", &config.name))
    }

    fn build(config: &DatasetConfig) -> Result<SqlTableDataset, Error> {
        backend::refuse_common(config, TABLE_TYPE)?;
        let options: Options =
            serde_json::from_value(serde_json::Value::Object(config.options.clone()))
                .map_err(|e| Error::config(e.to_string()))?;
        let table = options
            .table_name
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| Error::config("'table_name' argument cannot be empty"))?;
        let save_args = options.save_args.unwrap_or_default();
        if save_args.index == Some(true) {
            return Err(Error::config(
                "save_args.index: true is not supported: an arrow table has no index to write \
                 (use index: false, kedro-datasets' default)",
            ));
        }
        Ok(SqlTableDataset {
            entry: config.name.clone(),
            table,
            con: Connection::from_credentials(config.credentials.as_ref(), &config.project_root)?,
            load_args: options.load_args.unwrap_or_default(),
            save_args,
        })
    }

    fn select(&self) -> String {
        let columns = match &self.load_args.columns {
            Some(columns) if !columns.is_empty() => columns
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            _ => "*".to_owned(),
        };
        format!(
            "SELECT {columns} FROM {}",
            qualified(self.load_args.schema.as_deref(), &self.table)
        )
    }

    fn load_table(&self) -> Result<Data, Error> {
        let schema = self.load_args.schema.as_deref();
        if !backend::table_exists(&self.con, schema, &self.table)? {
            return Err(Error::TableNotFound {
                table: qualified(schema, &self.table),
            });
        }
        backend::load(&self.con, &self.select(), None).map(Data::new)
    }
}

impl Dataset for SqlTableDataset {
    fn load(&self) -> Result<Data, tandem_catalog::Error> {
        self.load_table()
            .map_err(|e| e.into_catalog("load", &self.entry))
    }

    fn save(&self, data: Data) -> Result<(), tandem_catalog::Error> {
        let target = SaveTarget {
            schema: self.save_args.schema.as_deref(),
            table: &self.table,
            if_exists: self.save_args.if_exists.unwrap_or_default(),
        };
        backend::batches(&data)
            .and_then(|batches| backend::save(&self.con, &target, batches))
            .map_err(|e| e.into_catalog("save", &self.entry))
    }

    fn exists(&self) -> Result<bool, tandem_catalog::Error> {
        backend::table_exists(&self.con, self.load_args.schema.as_deref(), &self.table)
            .map_err(|e| e.into_catalog("check", &self.entry))
    }

    fn describe(&self) -> DatasetDescription {
        let mut details = serde_json::Map::new();
        details.insert("table_name".into(), self.table.clone().into());
        details.insert("con".into(), self.con.display().into());
        for (key, args) in [
            ("load_args", serde_json::to_value(&self.load_args)),
            ("save_args", serde_json::to_value(&self.save_args)),
        ] {
            if let Ok(serde_json::Value::Object(map)) = args
                && !map.is_empty()
            {
                details.insert(key.into(), map.into());
            }
        }
        DatasetDescription {
            type_name: TABLE_TYPE.to_owned(),
            filepath: None,
            versioned: false,
            details,
        }
    }
}

/// The registry constructor.
pub(crate) fn construct(config: &DatasetConfig) -> Result<Arc<dyn Dataset>, tandem_catalog::Error> {
    Ok(Arc::new(SqlTableDataset::from_config(config)?) as Arc<dyn Dataset>)
}
