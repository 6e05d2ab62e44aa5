//! `SQLQueryDataset` (kedro-datasets' `pandas.SQLQueryDataset`): the result
//! of a query, given inline (`sql`) or in a `.sql` file (`filepath`,
//! relative to the project root and never outside it), with optional bind
//! parameters. Read-only, as in kedro-datasets.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tandem_catalog::{Dataset, DatasetConfig, DatasetDescription};
use tandem_pipeline_core::Data;

use crate::backend;
use crate::con::Connection;
use crate::error::Error;
use crate::params::Params;

/// The registered type name.
pub const QUERY_TYPE: &str = "SQLQueryDataset";

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Params>,
    /// Accepted as pandas accepts it; the node gets the whole result.
    #[serde(skip_serializing_if = "Option::is_none")]
    chunksize: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    sql: Option<String>,
    filepath: Option<String>,
    #[serde(default)]
    load_args: Option<LoadArgs>,
}

#[derive(Debug)]
enum Source {
    Inline(String),
    File { configured: String, path: PathBuf },
}

/// A query's result as an arrow `RecordBatch`.
#[derive(Debug)]
pub struct SqlQueryDataset {
    entry: String,
    source: Source,
    project_root: PathBuf,
    con: Connection,
    load_args: LoadArgs,
}

impl SqlQueryDataset {
    /// The dataset an entry describes (no I/O: the `.sql` file is read and
    /// the connection opened by each load).
    pub fn from_config(config: &DatasetConfig) -> Result<SqlQueryDataset, tandem_catalog::Error> {
        Self::build(config).map_err(|e| e.into_catalog("build", &config.name))
    }

    fn build(config: &DatasetConfig) -> Result<SqlQueryDataset, Error> {
        backend::refuse_common(config, QUERY_TYPE)?;
        let options: Options =
            serde_json::from_value(serde_json::Value::Object(config.options.clone()))
                .map_err(|e| Error::config(e.to_string()))?;
        let sql = options.sql.filter(|s| !s.trim().is_empty());
        let filepath = options.filepath.filter(|s| !s.trim().is_empty());
        let source = match (sql, filepath) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "'sql' and 'filepath' arguments cannot both be provided; choose one",
                ));
            }
            (None, None) => {
                return Err(Error::config(
                    "'sql' and 'filepath' arguments cannot both be empty; give a query or a \
                     .sql file",
                ));
            }
            (Some(sql), None) => Source::Inline(sql),
            (None, Some(filepath)) => {
                let path = tandem_io::paths::join_inside(&config.project_root, &filepath).map_err(
                    |e| Error::File {
                        path: filepath.clone(),
                        message: e.to_string(),
                    },
                )?;
                Source::File {
                    configured: filepath,
                    path,
                }
            }
        };
        Ok(SqlQueryDataset {
            entry: config.name.clone(),
            source,
            project_root: config.project_root.clone(),
            con: Connection::from_credentials(config.credentials.as_ref(), &config.project_root)?,
            load_args: options.load_args.unwrap_or_default(),
        })
    }

    fn sql(&self) -> Result<String, Error> {
        match &self.source {
            Source::Inline(sql) => Ok(sql.clone()),
            Source::File { configured, path } => {
                // Resolved now, links included: the file may have changed since build.
                let resolved = tandem_io::paths::resolve_inside(&self.project_root, configured)
                    .map_err(|e| Error::File {
                        path: configured.clone(),
                        message: e.to_string(),
                    })?;
                std::fs::read_to_string(&resolved).map_err(|e| Error::File {
                    path: path.display().to_string(),
                    message: format!("cannot read the query: {e}"),
                })
            }
        }
    }

    fn load_query(&self) -> Result<Data, Error> {
        let sql = self.sql()?;
        backend::load(&self.con, &sql, self.load_args.params.as_ref()).map(Data::new)
    }
}

impl Dataset for SqlQueryDataset {
    fn load(&self) -> Result<Data, tandem_catalog::Error> {
        self.load_query()
            .map_err(|e| e.into_catalog("load", &self.entry))
    }

    fn save(&self, _data: Data) -> Result<(), tandem_catalog::Error> {
        Err(Error::ReadOnly.into_catalog("save", &self.entry))
    }

    /// A query always has a result to load. kedro-datasets defines no
    /// `_exists` for it, so Kedro's base class answers "absent"; tandem
    /// answers true, since a read-only input nothing produces is there to
    /// read (`--only-missing-outputs` would otherwise look for a producer).
    fn exists(&self) -> Result<bool, tandem_catalog::Error> {
        Ok(true)
    }

    fn describe(&self) -> DatasetDescription {
        let mut details = serde_json::Map::new();
        match &self.source {
            Source::Inline(sql) => details.insert("sql".into(), sql.clone().into()),
            Source::File { configured, .. } => {
                details.insert("filepath".into(), configured.clone().into())
            }
        };
        details.insert("con".into(), self.con.display().into());
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&self.load_args)
            && !map.is_empty()
        {
            details.insert("load_args".into(), map.into());
        }
        DatasetDescription {
            type_name: QUERY_TYPE.to_owned(),
            filepath: None,
            versioned: false,
            details,
        }
    }
}

/// The registry constructor.
pub(crate) fn construct(config: &DatasetConfig) -> Result<Arc<dyn Dataset>, tandem_catalog::Error> {
    Ok(Arc::new(SqlQueryDataset::from_config(config)?) as Arc<dyn Dataset>)
}
