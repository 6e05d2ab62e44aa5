//! Experiments (`experiments`, `experiment_tags`).

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{
    Fail, Sql, SqliteStore, WORKSPACE, experiment_key, page_of, page_offset, validate_key,
};
use crate::error::{Error, ErrorCode, Result};
use crate::store::Experiments;
use crate::types::{Experiment, Page, Tag, ViewType, now_millis};

const COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Experiment> {
    Ok(Experiment {
        experiment_id: row.get::<_, i64>(0)?.to_string(),
        name: row.get(1)?,
        artifact_location: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
        lifecycle_stage: row
            .get::<_, Option<String>>(3)?
            .unwrap_or_else(|| "active".to_owned()),
        creation_time: row.get(4)?,
        last_update_time: row.get(5)?,
        tags: Vec::new(),
    })
}

fn with_tags(tx: &Transaction<'_>, mut experiment: Experiment) -> Sql<Experiment> {
    let mut stmt = tx.prepare_cached(
        "SELECT key, value FROM experiment_tags WHERE experiment_id = ?1 ORDER BY key",
    )?;
    experiment.tags = stmt
        .query_map(
            [experiment.experiment_id.parse::<i64>().unwrap_or(-1)],
            |r| {
                Ok(Tag {
                    key: r.get(0)?,
                    value: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(experiment)
}

/// The experiment with this id, or MLflow's not-found error.
pub(super) fn get(tx: &Transaction<'_>, experiment_id: &str) -> Sql<Experiment> {
    let key = experiment_key(experiment_id)?;
    let found = tx
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM experiments WHERE experiment_id = ?1 AND workspace = ?2"
            ),
            params![key, WORKSPACE],
            from_row,
        )
        .optional()?;
    match found {
        Some(experiment) => with_tags(tx, experiment),
        None => Err(Fail::Store(Error::mlflow(
            ErrorCode::ResourceDoesNotExist,
            format!("No Experiment with id={experiment_id} exists"),
        ))),
    }
}

/// The experiment, refused unless active (for creating runs and models in it).
pub(super) fn get_active(tx: &Transaction<'_>, experiment_id: &str, what: &str) -> Sql<Experiment> {
    let experiment = get(tx, experiment_id)?;
    if experiment.is_deleted() {
        return Err(Fail::Store(Error::mlflow(
            ErrorCode::InvalidParameterValue,
            format!("Could not create {what} under non-active experiment with ID {experiment_id}."),
        )));
    }
    Ok(experiment)
}

fn by_name(tx: &Transaction<'_>, name: &str) -> Sql<Option<Experiment>> {
    let found = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM experiments WHERE name = ?1 AND workspace = ?2"),
            params![name, WORKSPACE],
            from_row,
        )
        .optional()?;
    found.map(|e| with_tags(tx, e)).transpose()
}

impl Experiments for SqliteStore {
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        self.read(|tx| get(tx, experiment_id))
    }

    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        self.read(|tx| by_name(tx, name))
    }

    /// MLflow inserts the row, then sets `artifact_location` from the id the
    /// database allocated (`<artifact_root>/<id>`) unless one was given.
    fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        crate::store::check_experiment_name(name)?;
        for tag in tags {
            validate_key(&tag.key, "tag")?;
        }
        self.write(|tx| {
            if by_name(tx, name)?.is_some() {
                return Err(Fail::Store(Error::mlflow(
                    ErrorCode::ResourceAlreadyExists,
                    format!("Experiment(name={name}) already exists."),
                )));
            }
            let now = now_millis();
            tx.execute(
                "INSERT INTO experiments (name, artifact_location, lifecycle_stage, \
                 creation_time, last_update_time, workspace) VALUES (?1, ?2, 'active', ?3, ?3, ?4)",
                params![name, artifact_location, now, WORKSPACE],
            )?;
            let id = tx.last_insert_rowid();
            if artifact_location.is_none_or(str::is_empty) {
                tx.execute(
                    "UPDATE experiments SET artifact_location = ?1 WHERE experiment_id = ?2",
                    params![self.default_artifact_location(&id.to_string()), id],
                )?;
            }
            for tag in tags {
                tx.execute(
                    "INSERT OR REPLACE INTO experiment_tags (key, value, experiment_id) \
                     VALUES (?1, ?2, ?3)",
                    params![tag.key, tag.value, id],
                )?;
            }
            Ok(id.to_string())
        })
    }

    /// MLflow's default order: newest first, then by id.
    fn search_experiments(
        &self,
        view: ViewType,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Experiment>> {
        let offset = page_offset(page_token)?;
        let max = i64::from(max_results.max(1));
        let stages = match view {
            ViewType::ActiveOnly => "('active')",
            ViewType::DeletedOnly => "('deleted')",
            ViewType::All => "('active', 'deleted')",
        };
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM experiments WHERE workspace = ?1 AND lifecycle_stage IN \
                 {stages} ORDER BY creation_time DESC, experiment_id ASC LIMIT ?2 OFFSET ?3"
            ))?;
            let rows = stmt
                .query_map(params![WORKSPACE, max + 1, offset], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let items = rows
                .into_iter()
                .map(|e| with_tags(tx, e))
                .collect::<Sql<Vec<_>>>()?;
            Ok(page_of(items, offset, max))
        })
    }

    fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.write(|tx| {
            let experiment = get(tx, experiment_id)?;
            if experiment.is_deleted() {
                tx.execute(
                    "UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ?1 \
                     WHERE experiment_id = ?2",
                    params![now_millis(), experiment_key(experiment_id)?],
                )?;
            }
            Ok(())
        })
    }
}
