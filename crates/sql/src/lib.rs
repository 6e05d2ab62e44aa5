//! SQL datasets for tandem, as kedro-datasets has them: `pandas.SQLTableDataset`
//! (a table, saved with pandas' `if_exists` modes) and `pandas.SQLQueryDataset`
//! (a query's result, inline or from a `.sql` file, with bind parameters),
//! on PostgreSQL and SQLite, as arrow `RecordBatch`es.
//!
//! - The connection is `con:` in the entry's credentials (credentials.yml),
//!   a SQLAlchemy-style URL: `postgresql://user:password@host:port/db`
//!   (`postgresql+psycopg://`, `postgresql+psycopg2://` too) or
//!   `sqlite:///relative.db` / `sqlite:////absolute.db`. It never appears
//!   in an error, `Debug` or `tandem catalog`.
//! - PostgreSQL moves rows with binary COPY both ways; every save is one
//!   transaction, so `if_exists: replace` that fails leaves the old table.
//! - Types map both ways as pandas' `to_sql` / `read_sql_table` map them
//!   (docs/datasets-sql.md has the table).
//!
//! ```
//! use tandem_catalog::{Credentials, Dataset, DatasetConfig, DatasetRegistry};
//! use tandem_pipeline_core::Data;
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch};
//!
//! let dir = tempfile::tempdir()?;
//! let mut registry = DatasetRegistry::with_builtins();
//! tandem_sql::register(&mut registry);
//! let options = serde_json::json!({"table_name": "cars", "save_args": {"if_exists": "replace"}});
//! let mut config = DatasetConfig::new("cars", "pandas.SQLTableDataset", options.as_object().unwrap().clone());
//! config.project_root = dir.path().to_owned();
//! config.credentials = Some(Credentials::new(
//!     [("con".to_owned(), serde_json::json!("sqlite:///cars.db"))].into(),
//! ));
//! let cars = registry.build(&config)?;
//! let batch = RecordBatch::try_from_iter([("hp", Arc::new(Int64Array::from(vec![90, 110])) as _)])?;
//! cars.save(Data::new(batch.clone()))?;
//! let loaded = cars.load()?;
//! assert_eq!(loaded.downcast_ref::<RecordBatch>()?.columns(), batch.columns());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backend;
mod con;
mod error;
mod lite;
mod numeric;
mod params;
mod pg;
mod pg_params;
mod query;
mod save;
mod table;
mod types;

pub use error::Error;
pub use query::{QUERY_TYPE, SqlQueryDataset};
pub use save::IfExists;
pub use table::{SqlTableDataset, TABLE_TYPE};

use tandem_catalog::DatasetRegistry;

/// Registers `SQLTableDataset` and `SQLQueryDataset` with Kedro's names
/// (`pandas.SQLTableDataset`, and through the registry's prefixes
/// `kedro_datasets.pandas.SQLTableDataset`).
pub fn register(registry: &mut DatasetRegistry) {
    registry.register(TABLE_TYPE, table::construct);
    registry.register(QUERY_TYPE, query::construct);
    registry.alias("pandas.SQLTableDataset", TABLE_TYPE);
    registry.alias("pandas.SQLQueryDataset", QUERY_TYPE);
}
