//! The SQLite store: MLflow's own database (`sqlite:///mlflow.db`, MLflow
//! 3.x's default tracking URI), written row for row as MLflow's SQLAlchemy
//! store writes it, so MLflow's Python client, `mlflow ui` and `mlflow
//! server --backend-store-uri sqlite:///…` read it with no migration.
//!
//! Only one schema revision is written: [`SCHEMA_REVISION`], MLflow
//! 3.17.2's alembic head. A missing database is created with that schema
//! (`schema.sql`, MLflow's DDL verbatim); an existing one must be at that
//! revision, as MLflow itself requires.
//!
//! Unlike the `mlruns` store this one has the model registry: MLflow keeps
//! it in the same database.

mod experiments;
mod filter;
mod models;
mod registry;
mod runs;
mod search;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::artifacts::{ArtifactRepo, Transfer};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{Backend, sealed};
use crate::types::{Metric, Page, Param, Tag, now_millis};

/// MLflow 3.17.2's alembic head, the one revision this store reads and writes.
pub(crate) const SCHEMA_REVISION: &str = "dc11669786a5";
/// MLflow's DDL at [`SCHEMA_REVISION`].
const SCHEMA: &str = include_str!("schema.sql");
/// The workspace MLflow files every legacy (non-workspace) entity under.
const WORKSPACE: &str = "default";
/// MLflow's `busy_timeout`: how long a statement waits for another
/// connection's lock before failing with `TEMPORARILY_UNAVAILABLE`.
const BUSY_TIMEOUT: Duration = Duration::from_millis(20_000);

/// What the store's closures fail with: SQLite's own errors (mapped to the
/// crate's with the database path once, in [`SqliteStore::read`] and
/// [`SqliteStore::write`]) or the crate's.
pub(super) enum Fail {
    Sql(rusqlite::Error),
    Store(Error),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Fail {
        Fail::Sql(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Store(e)
    }
}

pub(super) type Sql<T> = std::result::Result<T, Fail>;

/// A SQLite tracking database.
pub(crate) struct SqliteStore {
    path: PathBuf,
    /// Where new experiments' artifacts go: `<artifact_root>/<experiment id>`.
    artifact_root: PathBuf,
    transfer: Transfer,
    /// One connection, used for one short transaction at a time; other
    /// processes (MLflow included) get in between.
    conn: Mutex<Connection>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("artifact_root", &self.artifact_root)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating it (MLflow's schema, the
    /// `default` workspace and experiment `0` `Default`) if it is missing.
    /// New experiments put their artifacts under `artifact_root`.
    pub(crate) fn open(
        path: &Path,
        artifact_root: &Path,
        transfer: Transfer,
    ) -> Result<SqliteStore> {
        let path = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
        let artifact_root =
            std::path::absolute(artifact_root).map_err(|e| Error::io(artifact_root, e))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let conn = connect(&path).map_err(|e| sql_error(&path, e))?;
        let store = SqliteStore {
            path,
            artifact_root,
            transfer,
            conn: Mutex::new(conn),
        };
        store.write(|tx| store.init(tx))?;
        Ok(store)
    }

    /// Creates the schema in an empty database or checks the revision of
    /// an existing one. Runs in one IMMEDIATE transaction, so of two
    /// processes creating the same new file one creates and the other
    /// finds the finished schema.
    fn init(&self, tx: &Transaction<'_>) -> Sql<()> {
        let tables: i64 = tx.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if tables == 0 {
            tx.execute_batch(SCHEMA)?;
            tx.execute(
                "INSERT INTO alembic_version (version_num) VALUES (?1)",
                [SCHEMA_REVISION],
            )?;
            tx.execute(
                "INSERT INTO workspaces (name, description) VALUES (?1, ?2)",
                [WORKSPACE, "Default workspace for legacy resources"],
            )?;
            let now = now_millis();
            let location = self.default_artifact_location("0");
            tx.execute(
                "INSERT INTO experiments (experiment_id, name, artifact_location, \
                 lifecycle_stage, creation_time, last_update_time, workspace) \
                 VALUES (0, 'Default', ?1, 'active', ?2, ?2, ?3)",
                rusqlite::params![location, now, WORKSPACE],
            )?;
            return Ok(());
        }
        let has_version_table: bool = tx.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        let found = if has_version_table {
            tx.query_row("SELECT version_num FROM alembic_version", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
        } else {
            None
        };
        if found.as_deref() == Some(SCHEMA_REVISION) {
            return Ok(());
        }
        Err(Fail::Store(self.revision_error(found)))
    }

    fn revision_error(&self, found: Option<String>) -> Error {
        let uri = self.uri();
        let hint = match found.as_deref() {
            Some(rev) if KNOWN_OLDER_REVISIONS.contains(&rev) => {
                format!("take a backup, then run `mlflow db upgrade {uri}` with MLflow 3.17.2")
            }
            Some(_) => format!(
                "the revision is newer than MLflow 3.17.2 or unknown; tandem supports only \
                 {SCHEMA_REVISION}: use a database written by MLflow 3.17.2, or a new file"
            ),
            None => format!(
                "the file holds tables but no alembic_version: it is not an MLflow database, or \
                 predates MLflow's migrations; run `mlflow db upgrade {uri}` with MLflow 3.17.2"
            ),
        };
        Error::SchemaRevision {
            path: self.path.clone(),
            found: found.unwrap_or_else(|| "none".to_owned()),
            expected: SCHEMA_REVISION.to_owned(),
            hint,
        }
    }

    /// `sqlite:///` + the absolute path (so `sqlite:////abs/x.db`).
    fn uri(&self) -> String {
        format!("sqlite:///{}", self.path.display())
    }

    /// `<artifact_root>/<experiment_id>`, a plain absolute path as MLflow writes it.
    fn default_artifact_location(&self, experiment_id: &str) -> String {
        self.artifact_root.join(experiment_id).display().to_string()
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` in a read (deferred) transaction: one consistent snapshot.
    pub(super) fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Sql<T>) -> Result<T> {
        self.transact(TransactionBehavior::Deferred, f)
    }

    /// Runs `f` in a write transaction, taken IMMEDIATE so that a busy
    /// database makes it wait (up to the busy timeout) before reading
    /// rather than fail on upgrading a read lock.
    pub(super) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Sql<T>) -> Result<T> {
        self.transact(TransactionBehavior::Immediate, f)
    }

    fn transact<T>(
        &self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Transaction<'_>) -> Sql<T>,
    ) -> Result<T> {
        let mut conn = self.connection();
        let outcome = (|| -> Sql<T> {
            let tx = conn.transaction_with_behavior(behavior)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        outcome.map_err(|fail| match fail {
            Fail::Sql(e) => sql_error(&self.path, e),
            Fail::Store(e) => e,
        })
    }
}

/// Every earlier revision of MLflow's migrations (the files under
/// `mlflow/store/db_migrations/versions` of 3.17.2): `mlflow db upgrade`
/// moves these to [`SCHEMA_REVISION`]. Any other revision is newer or foreign.
const KNOWN_OLDER_REVISIONS: &[&str] = &[
    "0584bdc529eb",
    "0a8213491aaa",
    "0c779009ac13",
    "17e22815139b",
    "181f10493468",
    "1971f2d9a75b",
    "1a0cddfcaa16",
    "1b5f0d9ad7c1",
    "1bd49d398cd23",
    "27a6a02d2cf1",
    "2b4d017a5e9b",
    "2c33131f4dae",
    "2d6e25af4d3e",
    "3500859a5d39",
    "39d1c3be5f05",
    "3da73c924c2f",
    "400f98739977",
    "4465047574b1",
    "451aebb31d03",
    "534353b11cbc",
    "5b0e9adcef9c",
    "5d2d30f0abce",
    "6953534de441",
    "6f8d9c3b2a1e",
    "71994744cf8e",
    "728d730b5ebd",
    "75868b020152",
    "76601a5f987d",
    "770bee3ae1dd",
    "7ac759974ad8",
    "7d34483879f0",
    "7f2a7d5fae7d",
    "84291f40a231",
    "867495a8f9d4",
    "89d3d66ed43f",
    "89d4b8295536",
    "90e64c465722",
    "97727af70f4d",
    "a1b2c3d4e5f6",
    "a5b4c3d2e1f0",
    "a8b9c0d1e2f3",
    "a8c4a736bde6",
    "acf3f17fdcc7",
    "ae8bbe7743c9",
    "b7c8d9e0f1a2",
    "b7e2c1a4d9f3",
    "b7e4c1a90f23",
    "bd07f7e963c5",
    "bda7b8c39065",
    "bf29a5ff90ea",
    "c1d2e3f4a5b6",
    "c3d6457b6d8a",
    "c3d9e7f1a2b4",
    "c48cb773bb87",
    "c8d9e0f1a2b3",
    "c9d4e5f6a7b8",
    "cbc13b556ace",
    "cc1f77228345",
    "cfd24bdc0731",
    "d0e1f2a3b4c5",
    "d3e4f5a6b7c8",
    "da6fb0208061",
    "de4033877273",
    "df50e92ffc5e",
    "e1f2a3b4c5d6",
    "f5a4f2784254",
];

/// A connection with MLflow's per-session settings (foreign keys, case
/// sensitive `LIKE`, its busy timeout), on a database in WAL mode: readers
/// (an `mlflow ui`, MLflow's Python client) and this writer never block
/// each other, and MLflow's own connections work unchanged on such a file.
/// WAL is a property of the file, so it is set once, by whichever
/// connection finds it unset; a database that cannot switch (busy past the
/// timeout, a read-only directory) keeps its journal and still works.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = true;")?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Not switching is no error: the journal it has works, only slower
        // for a reader racing the writer.
        let _kept_on_failure: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0));
    }
    Ok(conn)
}

/// SQLite's error as the crate's: a lock still held after the busy timeout
/// is MLflow's retryable `TEMPORARILY_UNAVAILABLE`.
fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(code, _) = &e
        && matches!(
            code.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        )
    {
        return Error::mlflow(
            ErrorCode::TemporarilyUnavailable,
            format!(
                "{}: the database is locked by another writer (waited {} s): {e}",
                path.display(),
                BUSY_TIMEOUT.as_secs()
            ),
        );
    }
    Error::Database {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Ids are bound as SQL parameters, never spliced, but a malformed one is
/// still refused up front with MLflow's message rather than "not found".
fn validate_id(id: &str, what: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::mlflow(
            ErrorCode::InvalidParameterValue,
            format!("Invalid {what} ID: '{id}'"),
        ))
    }
}

/// An experiment id: digits (MLflow's column is an INTEGER).
fn experiment_key(id: &str) -> Result<i64> {
    id.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        Error::mlflow(
            ErrorCode::InvalidParameterValue,
            format!("Invalid experiment ID: '{id}'"),
        )
    })
}

/// MLflow's name rule for metric, param and tag keys.
fn validate_key(key: &str, what: &str) -> Result<()> {
    let chars_ok = key
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':'));
    if key.is_empty() || key.chars().count() > 250 || !chars_ok {
        return Err(Error::mlflow(
            ErrorCode::InvalidParameterValue,
            format!(
                "Invalid {what} name: '{key}'. Names may only contain alphanumerics, underscores \
                 (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/), at most 250 \
                 characters"
            ),
        ));
    }
    Ok(())
}

/// The offset a page token stands for (tokens are offsets).
fn page_offset(page_token: Option<&str>) -> Result<i64> {
    match page_token {
        None | Some("") => Ok(0),
        Some(token) => token
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                Error::mlflow(
                    ErrorCode::InvalidParameterValue,
                    format!("Invalid page token '{token}'"),
                )
            }),
    }
}

/// A page from rows fetched with `LIMIT max_results + 1`: the extra row
/// says whether there is a next page.
fn page_of<T>(mut items: Vec<T>, offset: i64, max_results: i64) -> Page<T> {
    let more = items.len() as i64 > max_results;
    items.truncate(usize::try_from(max_results).unwrap_or(usize::MAX));
    Page {
        next_page_token: more.then(|| (offset + max_results).to_string()),
        items,
    }
}

/// A fresh 32-hex id, as MLflow's `uuid4().hex`.
fn new_uuid() -> String {
    crate::types::random_hex()
}

impl sealed::Sealed for SqliteStore {}

impl Backend for SqliteStore {
    fn tracking_uri(&self) -> String {
        self.uri()
    }

    fn is_local(&self) -> bool {
        true
    }

    fn artifact_repo(&self, artifact_uri: &str) -> Result<ArtifactRepo> {
        ArtifactRepo::local(artifact_uri, &self.transfer)
    }

    fn log_batch_request(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        self.write(|tx| runs::log_batch(tx, run_id, metrics, params, tags))
    }

    fn log_model_history(&self, run_id: &str, model_json: &str) -> Result<()> {
        self.write(|tx| runs::append_model_history(tx, run_id, model_json))
    }
}
