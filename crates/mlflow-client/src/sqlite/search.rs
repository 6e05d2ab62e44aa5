//! Run and logged-model searches: the filter and `order_by` subset of
//! [`super::filter`] turned into one SQL query each, paged by offset.

use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;

use super::filter::{self, Clause, Field, Kind};
use super::{SqliteStore, experiment_key, page_of, page_offset};
use crate::error::Result;
use crate::store::{LoggedModelQuery, RunQuery};
use crate::types::{LoggedModel, Page, Run, ViewType};

/// A query under construction: SQL text and its parameters, in order.
#[derive(Default)]
struct Query {
    sql: String,
    args: Vec<SqlValue>,
}

impl Query {
    fn push(&mut self, sql: &str, args: impl IntoIterator<Item = SqlValue>) {
        self.sql.push_str(sql);
        self.args.extend(args);
    }
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}

fn unknown_attribute(clause: &str, name: &str, known: &str) -> crate::error::Error {
    filter::invalid(format!(
        "Invalid search clause '{clause}': unknown attribute '{name}' (supported: {known})"
    ))
}

const RUN_ATTRIBUTES: &str =
    "run_id, run_name, status, user_id, artifact_uri, start_time, end_time";

fn run_attribute(name: &str) -> Option<(&'static str, Kind)> {
    Some(match name {
        "run_id" => ("runs.run_uuid", Kind::Text),
        "run_name" => ("runs.name", Kind::Text),
        "status" => ("runs.status", Kind::Text),
        "user_id" => ("runs.user_id", Kind::Text),
        "artifact_uri" => ("runs.artifact_uri", Kind::Text),
        "start_time" | "created" | "Created" => ("runs.start_time", Kind::Number),
        "end_time" => ("runs.end_time", Kind::Number),
        _ => return None,
    })
}

/// `EXISTS` over a key/value table joined to the outer row.
fn exists(table_and_join: &str, key_column: &str, key: &str, cond: (String, SqlValue)) -> Query {
    let mut q = Query::default();
    q.push(
        &format!(
            "EXISTS (SELECT 1 FROM {table_and_join} AND {key_column} = ? AND {})",
            cond.0
        ),
        [text(key), cond.1],
    );
    q
}

fn run_condition(clause: &Clause) -> Result<Query> {
    Ok(match &clause.field {
        Field::Attribute(name) => {
            let (column, kind) = run_attribute(name)
                .ok_or_else(|| unknown_attribute(&clause.text, name, RUN_ATTRIBUTES))?;
            let (sql, arg) = filter::condition(clause, column, kind)?;
            let mut q = Query::default();
            q.push(&sql, [arg]);
            q
        }
        Field::Param(key) => exists(
            "params x WHERE x.run_uuid = runs.run_uuid",
            "x.key",
            key,
            filter::condition(clause, "x.value", Kind::Text)?,
        ),
        Field::Tag(key) => exists(
            "tags x WHERE x.run_uuid = runs.run_uuid",
            "x.key",
            key,
            filter::condition(clause, "x.value", Kind::Text)?,
        ),
        Field::Metric(key) => exists(
            "latest_metrics x WHERE x.run_uuid = runs.run_uuid AND x.is_nan = 0",
            "x.key",
            key,
            filter::condition(clause, "x.value", Kind::Number)?,
        ),
    })
}

fn run_order(text_clause: &str) -> Result<(String, Option<SqlValue>, bool)> {
    let (field, ascending) = filter::parse_order(text_clause)?;
    let (expr, arg) = match &field {
        Field::Attribute(name) => {
            let (column, _) = run_attribute(name)
                .ok_or_else(|| unknown_attribute(text_clause, name, RUN_ATTRIBUTES))?;
            (column.to_owned(), None)
        }
        Field::Metric(key) => (
            "(SELECT CASE WHEN x.is_nan THEN NULL ELSE x.value END FROM latest_metrics x \
             WHERE x.run_uuid = runs.run_uuid AND x.key = ?)"
                .to_owned(),
            Some(text(key)),
        ),
        Field::Param(key) => (
            "(SELECT x.value FROM params x WHERE x.run_uuid = runs.run_uuid AND x.key = ?)"
                .to_owned(),
            Some(text(key)),
        ),
        Field::Tag(key) => (
            "(SELECT x.value FROM tags x WHERE x.run_uuid = runs.run_uuid AND x.key = ?)"
                .to_owned(),
            Some(text(key)),
        ),
    };
    Ok((expr, arg, ascending))
}

/// Adds `ORDER BY` with missing values last (as MLflow sorts them), then
/// the default order as the tie-break.
fn order_by(q: &mut Query, clauses: Vec<(String, Option<SqlValue>, bool)>, default: &str) {
    q.sql.push_str(" ORDER BY ");
    for (expr, arg, ascending) in clauses {
        let direction = if ascending { "ASC" } else { "DESC" };
        q.push(&format!("{expr} IS NULL, "), arg.clone());
        q.push(&format!("{expr} {direction}, "), arg);
    }
    q.sql.push_str(default);
}

fn page_clause(q: &mut Query, max: i64, offset: i64) {
    q.push(
        " LIMIT ? OFFSET ?",
        [SqlValue::Integer(max + 1), SqlValue::Integer(offset)],
    );
}

fn experiment_list(q: &mut Query, column: &str, ids: &[String]) -> Result<()> {
    let keys = ids
        .iter()
        .map(|id| experiment_key(id).map(SqlValue::Integer))
        .collect::<Result<Vec<_>>>()?;
    let marks = vec!["?"; keys.len()].join(", ");
    q.push(&format!("{column} IN ({marks})"), keys);
    Ok(())
}

pub(super) fn runs(
    store: &SqliteStore,
    query: &RunQuery,
    page_token: Option<&str>,
) -> Result<Page<Run>> {
    let offset = page_offset(page_token)?;
    let max = i64::from(query.max_results.clamp(1, 50_000));
    let clauses = filter::parse(query.filter.as_deref())?;
    let mut q = Query::default();
    q.sql.push_str("SELECT runs.run_uuid FROM runs WHERE ");
    experiment_list(&mut q, "runs.experiment_id", &query.experiment_ids)?;
    q.sql.push_str(match query.view {
        ViewType::ActiveOnly => " AND runs.lifecycle_stage = 'active'",
        ViewType::DeletedOnly => " AND runs.lifecycle_stage = 'deleted'",
        ViewType::All => "",
    });
    for clause in &clauses {
        let cond = run_condition(clause)?;
        q.push(" AND ", []);
        q.push(&cond.sql, cond.args);
    }
    let orders = query
        .order_by
        .iter()
        .map(|o| run_order(o))
        .collect::<Result<Vec<_>>>()?;
    order_by(&mut q, orders, "runs.start_time DESC, runs.run_uuid ASC");
    page_clause(&mut q, max, offset);
    store.read(|tx| {
        let mut stmt = tx.prepare(&q.sql)?;
        let ids = stmt
            .query_map(params_from_iter(q.args.iter()), |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let runs = ids
            .iter()
            .map(|id| super::runs::read(tx, id))
            .collect::<super::Sql<Vec<_>>>()?;
        Ok(page_of(runs, offset, max))
    })
}

const MODEL_ATTRIBUTES: &str = "model_id, name, model_type, source_run_id, creation_timestamp, \
                                last_updated_timestamp";

fn model_attribute(name: &str) -> Option<(&'static str, Kind)> {
    Some(match name {
        "model_id" => ("logged_models.model_id", Kind::Text),
        "name" => ("logged_models.name", Kind::Text),
        "model_type" => ("logged_models.model_type", Kind::Text),
        "source_run_id" => ("logged_models.source_run_id", Kind::Text),
        "creation_timestamp" | "creation_time" | "creation_timestamp_ms" => {
            ("logged_models.creation_timestamp_ms", Kind::Number)
        }
        "last_updated_timestamp" | "last_updated_timestamp_ms" => {
            ("logged_models.last_updated_timestamp_ms", Kind::Number)
        }
        _ => return None,
    })
}

const MODEL_JOIN: &str = "x.model_id = logged_models.model_id";

fn model_condition(clause: &Clause) -> Result<Query> {
    Ok(match &clause.field {
        Field::Attribute(name) => {
            let (column, kind) = model_attribute(name)
                .ok_or_else(|| unknown_attribute(&clause.text, name, MODEL_ATTRIBUTES))?;
            let (sql, arg) = filter::condition(clause, column, kind)?;
            let mut q = Query::default();
            q.push(&sql, [arg]);
            q
        }
        Field::Param(key) => exists(
            &format!("logged_model_params x WHERE {MODEL_JOIN}"),
            "x.param_key",
            key,
            filter::condition(clause, "x.param_value", Kind::Text)?,
        ),
        Field::Tag(key) => exists(
            &format!("logged_model_tags x WHERE {MODEL_JOIN}"),
            "x.tag_key",
            key,
            filter::condition(clause, "x.tag_value", Kind::Text)?,
        ),
        Field::Metric(key) => exists(
            &format!("logged_model_metrics x WHERE {MODEL_JOIN}"),
            "x.metric_name",
            key,
            filter::condition(clause, "x.metric_value", Kind::Number)?,
        ),
    })
}

fn model_order(field_name: &str, ascending: bool) -> Result<(String, Option<SqlValue>, bool)> {
    let (field, _) = filter::parse_order(field_name)?;
    let (expr, arg) = match &field {
        Field::Attribute(name) => {
            let (column, _) = model_attribute(name)
                .ok_or_else(|| unknown_attribute(field_name, name, MODEL_ATTRIBUTES))?;
            (column.to_owned(), None)
        }
        Field::Metric(key) => (
            format!(
                "(SELECT x.metric_value FROM logged_model_metrics x WHERE {MODEL_JOIN} AND \
                 x.metric_name = ? ORDER BY x.metric_step DESC, x.metric_timestamp_ms DESC \
                 LIMIT 1)"
            ),
            Some(text(key)),
        ),
        Field::Param(key) => (
            format!(
                "(SELECT x.param_value FROM logged_model_params x WHERE {MODEL_JOIN} AND \
                 x.param_key = ?)"
            ),
            Some(text(key)),
        ),
        Field::Tag(key) => (
            format!(
                "(SELECT x.tag_value FROM logged_model_tags x WHERE {MODEL_JOIN} AND \
                 x.tag_key = ?)"
            ),
            Some(text(key)),
        ),
    };
    Ok((expr, arg, ascending))
}

pub(super) fn logged_models(
    store: &SqliteStore,
    query: &LoggedModelQuery,
    page_token: Option<&str>,
) -> Result<Page<LoggedModel>> {
    let offset = page_offset(page_token)?;
    let max = i64::from(query.max_results.unwrap_or(50).clamp(1, 50_000));
    let clauses = filter::parse(query.filter.as_deref())?;
    let mut q = Query::default();
    q.sql.push_str(
        "SELECT logged_models.model_id FROM logged_models WHERE \
         coalesce(logged_models.lifecycle_stage, 'active') = 'active'",
    );
    if !query.experiment_ids.is_empty() {
        q.sql.push_str(" AND ");
        experiment_list(&mut q, "logged_models.experiment_id", &query.experiment_ids)?;
    }
    for clause in &clauses {
        let cond = model_condition(clause)?;
        q.push(" AND ", []);
        q.push(&cond.sql, cond.args);
    }
    let orders = query
        .order_by
        .iter()
        .map(|o| model_order(&o.field_name, o.ascending))
        .collect::<Result<Vec<_>>>()?;
    order_by(
        &mut q,
        orders,
        "logged_models.creation_timestamp_ms DESC, logged_models.model_id ASC",
    );
    page_clause(&mut q, max, offset);
    store.read(|tx| {
        let mut stmt = tx.prepare(&q.sql)?;
        let ids = stmt
            .query_map(params_from_iter(q.args.iter()), |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let models = ids
            .iter()
            .map(|id| super::models::get(tx, id))
            .collect::<super::Sql<Vec<_>>>()?;
        Ok(page_of(models, offset, max))
    })
}
