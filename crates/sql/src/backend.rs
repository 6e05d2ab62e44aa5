//! One place that sends an operation to PostgreSQL or SQLite, so the two
//! dataset types do not each match on the connection.

use arrow_array::RecordBatch;
use tandem_catalog::DatasetConfig;
use tandem_pipeline_core::Data;

use crate::con::Connection;
use crate::error::{Error, lite, pg};
use crate::params::{Params, bind};
use crate::pg_params::PgValue;
use crate::save::SaveTarget;
use crate::{lite as sqlite, pg as postgres_backend};

/// Settings no SQL dataset takes: `con` outside credentials, versioning.
pub(crate) fn refuse_common(config: &DatasetConfig, type_name: &str) -> Result<(), Error> {
    if config.options.contains_key("con") {
        return Err(Error::Connection {
            message: format!(
                "'con' belongs in the entry's credentials (credentials: <key> naming a \
                 credentials.yml entry with con: <URL>), as kedro-datasets' {type_name} has it, \
                 so the password stays out of catalog.yml"
            ),
        });
    }
    if config.version.is_some() {
        return Err(Error::config(format!(
            "{type_name} does not support versioning"
        )));
    }
    Ok(())
}

/// The saved value's tables: one `RecordBatch` or a `Vec` of them.
pub(crate) fn batches(data: &Data) -> Result<&[RecordBatch], Error> {
    if let Ok(batch) = data.downcast_ref::<RecordBatch>() {
        return Ok(std::slice::from_ref(batch));
    }
    data.downcast_ref::<Vec<RecordBatch>>()
        .map(Vec::as_slice)
        .map_err(|_| {
            Error::NotATable(format!(
                "expected an arrow_array::RecordBatch (or a Vec of them), got {}",
                data.type_name()
            ))
        })
}

pub(crate) fn table_exists(
    con: &Connection,
    schema: Option<&str>,
    table: &str,
) -> Result<bool, Error> {
    match con {
        Connection::Postgres(config) => {
            let mut client = postgres_backend::connect(config)?;
            postgres_backend::exists(&mut client, schema, table)
        }
        Connection::Sqlite(path) => match sqlite::open(path, false)? {
            Some(conn) => sqlite::exists(&conn, schema, table),
            None => Ok(false),
        },
    }
}

/// Runs a query (with its params, if any) into one table.
pub(crate) fn load(
    con: &Connection,
    sql: &str,
    params: Option<&Params>,
) -> Result<RecordBatch, Error> {
    match con {
        Connection::Postgres(config) => {
            let (sql, values) = match params {
                Some(params) => {
                    let bound = bind(sql, params, '$')?;
                    let values = bound
                        .values
                        .into_iter()
                        .map(|(name, value)| PgValue { name, value })
                        .collect();
                    (bound.sql, values)
                }
                None => (sql.to_owned(), Vec::new()),
            };
            let mut client = postgres_backend::connect(config)?;
            postgres_backend::load(&mut client, &sql, &values, pg("prepare the query"))
        }
        Connection::Sqlite(path) => {
            let conn = sqlite::open(path, false)?.ok_or_else(|| Error::Connection {
                message: format!("SQLite database {} does not exist", path.display()),
            })?;
            let (sql, values) = match params {
                Some(params) => {
                    let bound = bind(sql, params, '?')?;
                    let values = bound
                        .values
                        .into_iter()
                        .map(|(name, value)| sqlite_value(&name, value))
                        .collect::<Result<Vec<_>, _>>()?;
                    (bound.sql, values)
                }
                None => (sql.to_owned(), Vec::new()),
            };
            sqlite::load(&conn, &sql, &values, lite("prepare the query"))
        }
    }
}

/// A JSON parameter as sqlite3 adapts the Python value.
fn sqlite_value(name: &str, value: serde_json::Value) -> Result<rusqlite::types::Value, Error> {
    use rusqlite::types::Value as V;
    Ok(match value {
        serde_json::Value::Null => V::Null,
        serde_json::Value::Bool(b) => V::Integer(i64::from(b)),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => V::Integer(i),
            None => V::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => V::Text(s),
        other => {
            return Err(Error::Parameter {
                name: name.to_owned(),
                message: format!("cannot bind {other} (lists and mappings have no SQL value)"),
            });
        }
    })
}

pub(crate) fn save(
    con: &Connection,
    target: &SaveTarget<'_>,
    batches: &[RecordBatch],
) -> Result<(), Error> {
    match con {
        Connection::Postgres(config) => {
            let mut client = postgres_backend::connect(config)?;
            postgres_backend::save(&mut client, target, batches)
        }
        Connection::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| Error::File {
                    path: parent.display().to_string(),
                    message: format!("cannot create the database's directory: {e}"),
                })?;
            }
            let mut conn = sqlite::open(path, true)?.ok_or_else(|| Error::Connection {
                message: format!("cannot open SQLite database {}", path.display()),
            })?;
            sqlite::save(&mut conn, target, batches)
        }
    }
}
