//! The crate's one error type; every variant has a stable kind ([`Error::kind`]).
//!
//! No variant carries a connection URL or a driver's connection settings:
//! messages name the catalog entry, the table or the column, and the
//! server's own message (which never echoes a password).

/// What can go wrong configuring, loading or saving a SQL dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The entry's settings are wrong (missing `table_name`, both `sql` and
    /// `filepath`, an unknown `if_exists`...).
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
    },

    /// `credentials.con` is missing or not a URL tandem can connect with.
    #[error("{message}")]
    Connection {
        /// What is wrong; never the URL itself.
        message: String,
    },

    /// The database server (or SQLite) refused or failed an operation.
    #[error("{operation}: {message}")]
    Database {
        /// What was attempted (`connect`, `create table "t"`, `copy into "t"`...).
        operation: String,
        /// The server's message.
        message: String,
    },

    /// `if_exists: fail` and the table is there.
    #[error("table {table} already exists (save_args.if_exists is 'fail')")]
    TableExists {
        /// The (schema-qualified) table.
        table: String,
    },

    /// The table to load does not exist.
    #[error("table {table} does not exist")]
    TableNotFound {
        /// The (schema-qualified) table.
        table: String,
    },

    /// A column's SQL type has no arrow counterpart, or an arrow column
    /// cannot be stored in the target SQL column.
    #[error("column '{column}': {message}")]
    UnsupportedType {
        /// The column.
        column: String,
        /// Which types are involved.
        message: String,
    },

    /// A value could not be decoded from or encoded for the database.
    #[error("column '{column}': {message}")]
    Value {
        /// The column (or bind parameter).
        column: String,
        /// What is wrong with the value.
        message: String,
    },

    /// A query's bind parameters do not fit its placeholders.
    #[error("parameter {name}: {message}")]
    Parameter {
        /// The parameter (`:name`, `%(name)s` or its position).
        name: String,
        /// What is wrong.
        message: String,
    },

    /// `SQLQueryDataset` is read-only.
    #[error("'save' is not supported on SQLQueryDataset")]
    ReadOnly,

    /// The value saved is not an arrow `RecordBatch`.
    #[error("{0}")]
    NotATable(String),

    /// The `.sql` file of `filepath` could not be read or escapes the project.
    #[error("{path}: {message}")]
    File {
        /// The path as configured.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// The stable, machine-readable kind of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config { .. } => "invalid_config",
            Error::Connection { .. } => "sql_connection",
            Error::Database { .. } => "sql_database",
            Error::TableExists { .. } => "sql_table_exists",
            Error::TableNotFound { .. } => "sql_table_not_found",
            Error::UnsupportedType { .. } => "sql_unsupported_type",
            Error::Value { .. } => "sql_value",
            Error::Parameter { .. } => "sql_parameter",
            Error::ReadOnly => "read_only",
            Error::NotATable(_) => "wrong_type",
            Error::File { .. } => "sql_file",
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::Config {
            message: message.into(),
        }
    }

    pub(crate) fn db(operation: impl Into<String>, e: impl std::fmt::Display) -> Error {
        Error::Database {
            operation: operation.into(),
            message: e.to_string(),
        }
    }

    pub(crate) fn value(column: &str, message: impl Into<String>) -> Error {
        Error::Value {
            column: column.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(column: &str, message: impl Into<String>) -> Error {
        Error::UnsupportedType {
            column: column.to_owned(),
            message: message.into(),
        }
    }

    /// This error as the catalog's: configuration problems become the
    /// catalog's `invalid_config` naming the entry; the rest keep their kind
    /// through [`tandem_catalog::Error::External`].
    pub fn into_catalog(self, operation: &'static str, entry: &str) -> tandem_catalog::Error {
        match self {
            Error::Config { message } | Error::Connection { message } if operation == "build" => {
                tandem_catalog::Error::config(entry, message)
            }
            other => tandem_catalog::Error::External {
                operation,
                dataset: format!("SQL dataset '{entry}'"),
                kind: other.kind(),
                source: Box::new(other),
            },
        }
    }
}

/// A PostgreSQL error's useful text: the server's message (with detail and
/// hint) when the server sent one, else the driver's.
pub(crate) fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut out = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                out.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                out.push_str(&format!("; hint: {hint}"));
            }
            if let Some(context) = db.where_() {
                out.push_str(&format!("; at {context}"));
            }
            out
        }
        None => {
            // The driver's own errors keep the cause (a parameter that
            // could not be encoded says which and why) in their source.
            let mut out = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                out.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            out
        }
    }
}

pub(crate) fn pg(operation: impl Into<String>) -> impl FnOnce(postgres::Error) -> Error {
    let operation = operation.into();
    move |e| Error::Database {
        operation,
        message: pg_message(&e),
    }
}

pub(crate) fn lite(operation: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
    let operation = operation.into();
    move |e| Error::Database {
        operation,
        message: e.to_string(),
    }
}
