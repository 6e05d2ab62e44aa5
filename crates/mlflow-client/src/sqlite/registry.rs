//! The model registry, which MLflow keeps in the tracking database:
//! `registered_models`, `model_versions`, their tags, and
//! `registered_model_aliases`, all in the `default` workspace.

use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row, Transaction, params, params_from_iter};

use super::filter::{self, Field, Kind};
use super::{Fail, Sql, SqliteStore, WORKSPACE};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{ModelRegistry, NewModelVersion};
use crate::types::{
    ModelAlias, ModelVersion, ModelVersionStatus, RegisteredModel, Tag, now_millis,
};
use crate::uri::ModelUri;

/// The stage MLflow gives a deleted version; such rows are invisible.
const DELETED_STAGE: &str = "Deleted_Internal";

fn invalid(message: impl Into<String>) -> Fail {
    Fail::Store(Error::mlflow(ErrorCode::InvalidParameterValue, message))
}

fn validate_name(name: &str) -> Sql<()> {
    if name.trim().is_empty() {
        return Err(invalid("Registered model name cannot be empty."));
    }
    Ok(())
}

/// MLflow's alias rules: word characters and `-`, at most 255, and not
/// `latest` or `v<digits>` (those already mean a version).
fn validate_alias(alias: &str) -> Sql<()> {
    if alias.is_empty() {
        return Err(invalid("Registered model alias name cannot be empty."));
    }
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(invalid(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores \
             (_), and dashes (-)."
        )));
    }
    if alias.chars().count() > 255 {
        return Err(invalid(
            "Registered model alias name exceeds the maximum length of 255",
        ));
    }
    if alias.eq_ignore_ascii_case("latest") {
        return Err(invalid(
            "'latest' alias name (case insensitive) is reserved.",
        ));
    }
    let mut chars = alias.chars();
    if matches!(chars.next(), Some('v' | 'V'))
        && alias.len() > 1
        && chars.all(|c| c.is_ascii_digit())
    {
        return Err(invalid(format!(
            "Version alias name '{alias}' is reserved."
        )));
    }
    Ok(())
}

fn version_number(version: &str) -> Sql<i64> {
    version
        .parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            invalid(format!(
                "Parameter 'version' must be an integer, got '{version}'."
            ))
        })
}

fn model_exists(tx: &Transaction<'_>, name: &str) -> Sql<bool> {
    Ok(tx.query_row(
        "SELECT count(*) FROM registered_models WHERE workspace = ?1 AND name = ?2",
        [WORKSPACE, name],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?)
}

fn model_not_found(name: &str) -> Fail {
    Fail::Store(Error::mlflow(
        ErrorCode::ResourceDoesNotExist,
        format!("Registered Model with name={name} not found"),
    ))
}

fn require_model(tx: &Transaction<'_>, name: &str) -> Sql<()> {
    if model_exists(tx, name)? {
        Ok(())
    } else {
        Err(model_not_found(name))
    }
}

const VERSION_COLUMNS: &str = "name, version, creation_time, last_updated_time, description, \
                               current_stage, source, run_id, status, status_message";

fn version_row(row: &Row<'_>) -> rusqlite::Result<ModelVersion> {
    let source: String = row.get::<_, Option<String>>(6)?.unwrap_or_default();
    let model_id = match ModelUri::parse(&source) {
        Ok(ModelUri::LoggedModel { model_id }) => Some(model_id),
        _ => None,
    };
    Ok(ModelVersion {
        name: row.get(0)?,
        version: row.get::<_, i64>(1)?.to_string(),
        creation_timestamp: row.get(2)?,
        last_updated_timestamp: row.get(3)?,
        description: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
        current_stage: row
            .get::<_, Option<String>>(5)?
            .unwrap_or_else(|| "None".to_owned()),
        source,
        run_id: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
        status: match row.get::<_, Option<String>>(8)?.as_deref() {
            Some("PENDING_REGISTRATION") => ModelVersionStatus::PendingRegistration,
            Some("FAILED_REGISTRATION") => ModelVersionStatus::FailedRegistration,
            _ => ModelVersionStatus::Ready,
        },
        status_message: row.get::<_, Option<String>>(9)?.unwrap_or_default(),
        tags: Vec::new(),
        aliases: Vec::new(),
        model_id,
    })
}

/// A version with its tags and aliases.
fn complete(tx: &Transaction<'_>, mut version: ModelVersion) -> Sql<ModelVersion> {
    let number = version_number(&version.version)?;
    let mut stmt = tx.prepare_cached(
        "SELECT key, value FROM model_version_tags WHERE workspace = ?1 AND name = ?2 AND \
         version = ?3 ORDER BY key",
    )?;
    version.tags = stmt
        .query_map(params![WORKSPACE, version.name, number], |r| {
            Ok(Tag {
                key: r.get(0)?,
                value: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = tx.prepare_cached(
        "SELECT alias FROM registered_model_aliases WHERE workspace = ?1 AND name = ?2 AND \
         version = ?3 ORDER BY alias",
    )?;
    version.aliases = stmt
        .query_map(params![WORKSPACE, version.name, number], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(version)
}

fn get_version(tx: &Transaction<'_>, name: &str, version: &str) -> Sql<ModelVersion> {
    let number = version_number(version)?;
    let found = tx
        .query_row(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM model_versions WHERE workspace = ?1 AND name = ?2 \
                 AND version = ?3 AND coalesce(current_stage, '') != ?4"
            ),
            params![WORKSPACE, name, number, DELETED_STAGE],
            version_row,
        )
        .optional()?;
    match found {
        Some(v) => complete(tx, v),
        None => Err(Fail::Store(Error::mlflow(
            ErrorCode::ResourceDoesNotExist,
            format!("Model Version (name={name}, version={version}) not found"),
        ))),
    }
}

fn versions_where(
    tx: &Transaction<'_>,
    sql_where: &str,
    args: Vec<SqlValue>,
) -> Sql<Vec<ModelVersion>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {VERSION_COLUMNS} FROM model_versions WHERE workspace = ? AND \
         coalesce(current_stage, '') != ? {sql_where} ORDER BY name ASC, version DESC"
    ))?;
    let mut all = vec![text(WORKSPACE), text(DELETED_STAGE)];
    all.extend(args);
    let rows = stmt
        .query_map(params_from_iter(all.iter()), version_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|v| complete(tx, v)).collect()
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}

/// The newest version in each stage (all stages when `stages` is empty).
fn latest(tx: &Transaction<'_>, name: &str, stages: &[String]) -> Sql<Vec<ModelVersion>> {
    let all = versions_where(tx, "AND name = ?", vec![text(name)])?;
    let mut out: Vec<ModelVersion> = Vec::new();
    // `all` is newest first, so the first of each stage is its latest.
    for version in all {
        let wanted = stages.is_empty()
            || stages
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&version.current_stage));
        if wanted && !out.iter().any(|v| v.current_stage == version.current_stage) {
            out.push(version);
        }
    }
    Ok(out)
}

fn get_model(tx: &Transaction<'_>, name: &str) -> Sql<RegisteredModel> {
    let found = tx
        .query_row(
            "SELECT name, creation_time, last_updated_time, description FROM registered_models \
             WHERE workspace = ?1 AND name = ?2",
            [WORKSPACE, name],
            |r| {
                Ok(RegisteredModel {
                    name: r.get(0)?,
                    creation_timestamp: r.get(1)?,
                    last_updated_timestamp: r.get(2)?,
                    description: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    ..RegisteredModel::default()
                })
            },
        )
        .optional()?;
    let Some(mut model) = found else {
        return Err(model_not_found(name));
    };
    let mut stmt = tx.prepare_cached(
        "SELECT key, value FROM registered_model_tags WHERE workspace = ?1 AND name = ?2 \
         ORDER BY key",
    )?;
    model.tags = stmt
        .query_map([WORKSPACE, name], |r| {
            Ok(Tag {
                key: r.get(0)?,
                value: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = tx.prepare_cached(
        "SELECT alias, version FROM registered_model_aliases WHERE workspace = ?1 AND name = ?2 \
         ORDER BY alias",
    )?;
    model.aliases = stmt
        .query_map([WORKSPACE, name], |r| {
            Ok(ModelAlias {
                alias: r.get(0)?,
                version: r.get::<_, i64>(1)?.to_string(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    model.latest_versions = latest(tx, name, &[])?;
    Ok(model)
}

/// Where a new version's files are, and its run, as MLflow resolves them:
/// a logged model's artifact location (and source run), another version's
/// download URI, or the source itself.
fn resolve_source(
    tx: &Transaction<'_>,
    version: &NewModelVersion,
) -> Sql<(String, Option<String>)> {
    let unable = |e: Error| {
        invalid(format!(
            "Unable to fetch model from model URI source artifact location '{}'. Error: {e}",
            version.source
        ))
    };
    let storage = |fail: Fail| match fail {
        Fail::Store(e) => unable(e),
        other => other,
    };
    match ModelUri::parse(&version.source) {
        Ok(ModelUri::LoggedModel { model_id }) => {
            let model = super::models::get(tx, &model_id).map_err(storage)?;
            let run_id = version.run_id.clone().or(model.info.source_run_id);
            Ok((model.info.artifact_uri, run_id))
        }
        Ok(ModelUri::Version { name, version: v }) => {
            let location = download_uri(tx, &name, &v).map_err(storage)?;
            Ok((location, version.run_id.clone()))
        }
        _ => Ok((version.source.clone(), version.run_id.clone())),
    }
}

fn download_uri(tx: &Transaction<'_>, name: &str, version: &str) -> Sql<String> {
    let number = version_number(version)?;
    get_version(tx, name, version)?;
    let (storage, source): (Option<String>, Option<String>) = tx.query_row(
        "SELECT storage_location, source FROM model_versions WHERE workspace = ?1 AND \
         name = ?2 AND version = ?3",
        params![WORKSPACE, name, number],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(storage
        .filter(|s| !s.is_empty())
        .or(source)
        .unwrap_or_default())
}

impl ModelRegistry for SqliteStore {
    fn create_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        self.write(|tx| {
            validate_name(name)?;
            if !model_exists(tx, name)? {
                let now = now_millis();
                tx.execute(
                    "INSERT INTO registered_models (name, creation_time, last_updated_time, \
                     description, workspace) VALUES (?1, ?2, ?2, NULL, ?3)",
                    params![name, now, WORKSPACE],
                )?;
            }
            get_model(tx, name)
        })
    }

    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        self.read(|tx| get_model(tx, name))
    }

    /// READY at once: registration here is a row, not a copy.
    fn create_model_version(
        &self,
        version: &NewModelVersion,
        _wait: Duration,
    ) -> Result<ModelVersion> {
        self.create_registered_model(&version.name)?;
        self.write(|tx| {
            let (storage_location, run_id) = resolve_source(tx, version)?;
            let now = now_millis();
            let number: i64 = tx.query_row(
                "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE workspace = ?1 \
                 AND name = ?2",
                [WORKSPACE, &version.name],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE registered_models SET last_updated_time = ?1 WHERE workspace = ?2 AND \
                 name = ?3",
                params![now, WORKSPACE, version.name],
            )?;
            tx.execute(
                "INSERT INTO model_versions (name, version, creation_time, last_updated_time, \
                 description, user_id, current_stage, source, run_id, status, status_message, \
                 run_link, storage_location, workspace) VALUES (?1, ?2, ?3, ?3, ?4, NULL, \
                 'None', ?5, ?6, 'READY', NULL, NULL, ?7, ?8)",
                params![
                    version.name,
                    number,
                    now,
                    version.description,
                    version.source,
                    run_id,
                    storage_location,
                    WORKSPACE
                ],
            )?;
            for tag in &version.tags {
                tx.execute(
                    "INSERT OR REPLACE INTO model_version_tags (key, value, name, version, \
                     workspace) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![tag.key, tag.value, version.name, number, WORKSPACE],
                )?;
            }
            let mut created = get_version(tx, &version.name, &number.to_string())?;
            if created.model_id.is_none() {
                created.model_id.clone_from(&version.model_id);
            }
            Ok(created)
        })
    }

    fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        self.read(|tx| get_version(tx, name, version))
    }

    fn model_version_download_uri(&self, name: &str, version: &str) -> Result<String> {
        self.read(|tx| download_uri(tx, name, version))
    }

    /// Filters on `name`, `run_id`, `source` / `source_path`,
    /// `version_number` and `tags.<key>`, joined with AND.
    fn search_model_versions(&self, filter_text: Option<&str>) -> Result<Vec<ModelVersion>> {
        let clauses = filter::parse(filter_text)?;
        let mut sql = String::new();
        let mut args = Vec::new();
        for clause in &clauses {
            let (cond, arg) = match &clause.field {
                Field::Attribute(attr) => {
                    let (column, kind) = match attr.as_str() {
                        "name" => ("model_versions.name", Kind::Text),
                        "run_id" => ("model_versions.run_id", Kind::Text),
                        "source" | "source_path" => ("model_versions.source", Kind::Text),
                        "version_number" => ("model_versions.version", Kind::Number),
                        other => {
                            return Err(filter::invalid(format!(
                                "Invalid search clause '{}': unknown attribute '{other}' \
                                 (supported: name, run_id, source_path, version_number)",
                                clause.text
                            )));
                        }
                    };
                    filter::condition(clause, column, kind)?
                }
                Field::Tag(key) => {
                    let (cond, arg) = filter::condition(clause, "t.value", Kind::Text)?;
                    args.push(text(key));
                    (
                        format!(
                            "EXISTS (SELECT 1 FROM model_version_tags t WHERE t.workspace = \
                             model_versions.workspace AND t.name = model_versions.name AND \
                             t.version = model_versions.version AND t.key = ? AND {cond})"
                        ),
                        arg,
                    )
                }
                Field::Param(_) | Field::Metric(_) => {
                    return Err(filter::invalid(format!(
                        "Invalid search clause '{}': model versions have no params or metrics",
                        clause.text
                    )));
                }
            };
            sql.push_str(" AND ");
            sql.push_str(&cond);
            args.push(arg);
        }
        self.read(|tx| versions_where(tx, &sql, args))
    }

    fn latest_versions(&self, name: &str, stages: &[String]) -> Result<Vec<ModelVersion>> {
        self.read(|tx| {
            require_model(tx, name)?;
            latest(tx, name, stages)
        })
    }

    fn set_model_alias(&self, name: &str, alias: &str, version: &str) -> Result<()> {
        self.write(|tx| {
            validate_name(name)?;
            validate_alias(alias)?;
            let number = version_number(version)?;
            get_version(tx, name, version)?;
            tx.execute(
                "INSERT INTO registered_model_aliases (alias, version, name, workspace) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (workspace, name, alias) DO UPDATE SET \
                 version = excluded.version",
                params![alias, number, name, WORKSPACE],
            )?;
            Ok(())
        })
    }

    /// An unknown alias is `invalid_request`, as MLflow reports it.
    fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        self.read(|tx| {
            require_model(tx, name)?;
            let version: Option<i64> = tx
                .query_row(
                    "SELECT version FROM registered_model_aliases WHERE workspace = ?1 AND \
                     name = ?2 AND alias = ?3",
                    [WORKSPACE, name, alias],
                    |r| r.get(0),
                )
                .optional()?;
            match version {
                Some(v) => get_version(tx, name, &v.to_string()),
                None => Err(invalid(format!(
                    "Registered model alias {alias} not found."
                ))),
            }
        })
    }

    fn delete_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        self.write(|tx| {
            require_model(tx, name)?;
            tx.execute(
                "DELETE FROM registered_model_aliases WHERE workspace = ?1 AND name = ?2 AND \
                 alias = ?3",
                [WORKSPACE, name, alias],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_rules_are_mlflows() {
        for ok in ["champion", "prod-2", "a_b", "v1x", "V"] {
            assert!(validate_alias(ok).is_ok(), "{ok}");
        }
        for bad in ["latest", "LATEST", "v1", "V12", "", "a b", "x/y"] {
            assert!(validate_alias(bad).is_err(), "{bad}");
        }
    }
}
