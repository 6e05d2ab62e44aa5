//! SQLite through `rusqlite` (bundled). Values are stored as SQLAlchemy's
//! SQLite dialect stores them, so pandas reads tandem's tables and tandem
//! reads pandas': booleans as 0/1, dates as `YYYY-MM-DD` text, timestamps
//! as `YYYY-MM-DD HH:MM:SS.ffffff` text. SQLite has no zoned type: a zoned
//! column is declared `TIMESTAMP WITH TIME ZONE` and holds ISO 8601 text in
//! UTC (`YYYY-MM-DDTHH:MM:SS.ffffff+00:00`), which tandem loads as UTC
//! timestamps and pandas (SQLAlchemy knows no such SQLite type) as that text.
//! A loaded column's type comes from its declared type (SQLite's affinity
//! rules: `INT` → int64, `CHAR`/`TEXT` → text, `REAL`/`FLOA`/`DOUB` and
//! `NUMERIC` → float64, plus `BOOL`, `DATE`, `DATETIME`/`TIMESTAMP`); an
//! expression column without one takes the type of its values.

use std::path::Path;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use rusqlite::types::Value;
use rusqlite::{OpenFlags, TransactionBehavior};

use crate::error::{Error, lite};
use crate::numeric;
use crate::pg_params::{parse_instant, parse_timestamp};
use crate::save::{IfExists, SaveTarget};
use crate::types::{Builder, Kind, cast_for, finish_batch, qualified, quote_ident};

/// Opens the database; `create` makes the file when it is missing.
pub(crate) fn open(path: &Path, create: bool) -> Result<Option<rusqlite::Connection>, Error> {
    if !create && !path.exists() {
        return Ok(None);
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = rusqlite::Connection::open_with_flags(path, flags)
        .map_err(lite(format!("open SQLite database {}", path.display())))?;
    // A concurrent writer holds the lock briefly; wait rather than fail.
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(lite("set the SQLite busy timeout"))?;
    Ok(Some(conn))
}

pub(crate) fn exists(
    conn: &rusqlite::Connection,
    schema: Option<&str>,
    table: &str,
) -> Result<bool, Error> {
    let master = match schema {
        Some(s) => format!("{}.sqlite_master", quote_ident(s)),
        None => "sqlite_master".to_owned(),
    };
    conn.query_row(
        &format!("SELECT count(*) FROM {master} WHERE type IN ('table', 'view') AND name = ?1"),
        [table],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(lite(format!("look up table {}", qualified(schema, table))))
}

/// The kind a declared column type loads as, by SQLite's affinity rules.
fn kind_of_decl(decl: &str) -> Option<Kind> {
    let d = decl.to_ascii_uppercase();
    let has = |s: &str| d.contains(s);
    Some(if has("BOOL") {
        Kind::Bool
    } else if has("INT") {
        Kind::Int64
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        Kind::Text
    } else if has("TIMESTAMP") || has("DATETIME") {
        if has("TIME ZONE") || has("TZ") {
            Kind::TimestampTz
        } else {
            Kind::Timestamp
        }
    } else if has("DATE") {
        Kind::Date
    } else if has("REAL") || has("FLOA") || has("DOUB") || has("NUMERIC") || has("DECIMAL") {
        Kind::Float64
    } else {
        return None;
    })
}

/// The kind of an undeclared column, from its values.
fn infer(column: &str, values: &[Value]) -> Result<Kind, Error> {
    let (mut ints, mut reals, mut texts) = (false, false, false);
    for v in values {
        match v {
            Value::Null => {}
            Value::Integer(_) => ints = true,
            Value::Real(_) => reals = true,
            Value::Text(_) => texts = true,
            Value::Blob(_) => {
                return Err(Error::unsupported(column, "BLOB values are not supported"));
            }
        }
    }
    match (ints, reals, texts) {
        (_, _, true) if ints || reals => Err(Error::unsupported(
            column,
            "the column mixes text and numbers; CAST it in the query",
        )),
        (_, true, _) => Ok(Kind::Float64),
        (true, false, _) => Ok(Kind::Int64),
        _ => Ok(Kind::Text),
    }
}

pub(crate) fn load(
    conn: &rusqlite::Connection,
    sql: &str,
    values: &[Value],
    on_prepare_error: impl FnOnce(rusqlite::Error) -> Error,
) -> Result<RecordBatch, Error> {
    let mut statement = conn.prepare(sql).map_err(on_prepare_error)?;
    let names: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let declared: Vec<Option<Kind>> = statement
        .columns()
        .map(|c| c.decl_type().and_then(kind_of_decl))
        .collect();
    let mut columns: Vec<Vec<Value>> = vec![Vec::new(); names.len()];
    let mut rows = statement
        .query(rusqlite::params_from_iter(values.iter()))
        .map_err(lite("run the query"))?;
    let mut count = 0;
    while let Some(row) = rows.next().map_err(lite("read the query's rows"))? {
        for (i, column) in columns.iter_mut().enumerate() {
            column.push(
                row.get::<_, Value>(i)
                    .map_err(lite("read the query's rows"))?,
            );
        }
        count += 1;
    }
    let kinds: Vec<Kind> = declared
        .iter()
        .zip(&columns)
        .zip(&names)
        .map(|((d, values), name)| d.map_or_else(|| infer(name, values), Ok))
        .collect::<Result<_, _>>()?;
    let mut builders: Vec<Builder> = kinds.iter().map(|k| Builder::new(*k)).collect();
    for (((builder, kind), values), name) in
        builders.iter_mut().zip(&kinds).zip(&columns).zip(&names)
    {
        for value in values {
            append(builder, *kind, value, name)?;
        }
    }
    finish_batch(&names, &kinds, &mut builders, count)
}

fn append(builder: &mut Builder, kind: Kind, value: &Value, column: &str) -> Result<(), Error> {
    let wrong = || {
        Error::value(
            column,
            format!("{} value {value:?} in a {kind:?} column", value.data_type()),
        )
    };
    match (builder, value) {
        (b, Value::Null) => b.append_null(),
        (Builder::Bool(b), Value::Integer(i)) => b.append_value(*i != 0),
        (Builder::Int64(b), Value::Integer(i)) => b.append_value(*i),
        (Builder::Int64(b), Value::Real(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            b.append_value(*f as i64);
        }
        (Builder::Float64(b), Value::Integer(i)) => b.append_value(*i as f64),
        (Builder::Float64(b), Value::Real(f)) => b.append_value(*f),
        (Builder::Float64(b), Value::Text(t)) => {
            b.append_value(t.trim().parse().map_err(|_| wrong())?);
        }
        (Builder::Text(b), Value::Text(t)) => b.append_value(t),
        (Builder::Text(b), Value::Integer(i)) => b.append_value(i.to_string()),
        (Builder::Text(b), Value::Real(f)) => b.append_value(f.to_string()),
        (Builder::Date(b), Value::Text(t)) => {
            let day = t.get(..10).unwrap_or(t);
            let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| wrong())?;
            let days = date
                .signed_duration_since(chrono::NaiveDate::default())
                .num_days();
            b.append_value(i32::try_from(days).map_err(|_| wrong())?);
        }
        (Builder::Timestamp(b), Value::Text(t)) => {
            let at = if kind == Kind::TimestampTz {
                parse_instant(t)
            } else {
                parse_timestamp(t)
            };
            b.append_value(at.ok_or_else(wrong)?.and_utc().timestamp_micros());
        }
        _ => return Err(wrong()),
    }
    Ok(())
}

pub(crate) fn save(
    conn: &mut rusqlite::Connection,
    target: &SaveTarget<'_>,
    batches: &[RecordBatch],
) -> Result<(), Error> {
    let table = qualified(target.schema, target.table);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(lite(format!("begin saving {table}")))?;
    let existed = exists(&tx, target.schema, target.table)?;
    let schema = target.schema_of(batches)?;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let column_list = names
        .iter()
        .map(|n| quote_ident(n))
        .collect::<Vec<_>>()
        .join(", ");
    let for_arrow = || -> Result<Vec<Kind>, Error> {
        schema
            .fields()
            .iter()
            .map(|f| Kind::for_arrow(f.name(), f.data_type()))
            .collect()
    };
    let kinds: Vec<Kind> = match (target.if_exists, existed) {
        (IfExists::Fail, true) => return Err(Error::TableExists { table }),
        (IfExists::Append, true) => {
            let statement = tx
                .prepare(&format!("SELECT {column_list} FROM {table}"))
                .map_err(lite(format!("append to {table}")))?;
            let declared: Vec<Option<Kind>> = statement
                .columns()
                .map(|c| c.decl_type().and_then(kind_of_decl))
                .collect();
            declared
                .into_iter()
                .zip(for_arrow()?)
                .map(|(d, own)| match (d, own) {
                    // SQLite integers are all 64-bit; keep the batch's width.
                    (Some(Kind::Int64), k @ (Kind::Int16 | Kind::Int32)) => k,
                    (Some(Kind::Float64), k @ (Kind::Float32 | Kind::Numeric)) => k,
                    (Some(d), _) => d,
                    (None, own) => own,
                })
                .collect()
        }
        (if_exists, existed) => {
            if existed && if_exists == IfExists::Replace {
                tx.execute_batch(&format!("DROP TABLE {table}"))
                    .map_err(lite(format!("drop {table}")))?;
            }
            let kinds = for_arrow()?;
            let columns = names
                .iter()
                .zip(&kinds)
                .map(|(n, k)| format!("{} {}", quote_ident(n), k.sql_type(true)))
                .collect::<Vec<_>>()
                .join(", ");
            tx.execute_batch(&format!("CREATE TABLE {table} ({columns})"))
                .map_err(lite(format!("create {table}")))?;
            kinds
        }
    };
    if !names.is_empty() {
        let placeholders = (1..=names.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut insert = tx
            .prepare(&format!(
                "INSERT INTO {table} ({column_list}) VALUES ({placeholders})"
            ))
            .map_err(lite(format!("insert into {table}")))?;
        for batch in batches {
            let arrays: Vec<ArrayRef> = batch
                .columns()
                .iter()
                .zip(&kinds)
                .zip(&names)
                .map(|((a, k), n)| cast_for(n, a, *k))
                .collect::<Result<_, _>>()?;
            for row in 0..batch.num_rows() {
                for (i, ((array, kind), name)) in arrays.iter().zip(&kinds).zip(&names).enumerate()
                {
                    let value = value_at(array, *kind, row, name)?;
                    insert
                        .raw_bind_parameter(i + 1, value)
                        .map_err(lite(format!("insert into {table}")))?;
                }
                insert
                    .raw_execute()
                    .map_err(lite(format!("insert into {table}")))?;
            }
        }
        drop(insert);
    }
    tx.commit()
        .map_err(lite(format!("commit the save of {table}")))
}

/// One arrow value (already cast for `kind`) as SQLAlchemy would store it.
fn value_at(array: &ArrayRef, kind: Kind, row: usize, column: &str) -> Result<Value, Error> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    let text_at = |micros: i64, format: &str| -> Result<Value, Error> {
        let at = chrono::DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| Error::value(column, "timestamp out of range"))?;
        Ok(Value::Text(at.naive_utc().format(format).to_string()))
    };
    Ok(match kind {
        Kind::Bool => Value::Integer(i64::from(array.as_boolean().value(row))),
        Kind::Int16 => Value::Integer(i64::from(array.as_primitive::<Int16Type>().value(row))),
        Kind::Int32 => Value::Integer(i64::from(array.as_primitive::<Int32Type>().value(row))),
        Kind::Int64 => Value::Integer(array.as_primitive::<Int64Type>().value(row)),
        Kind::Float32 => Value::Real(f64::from(array.as_primitive::<Float32Type>().value(row))),
        Kind::Float64 => Value::Real(array.as_primitive::<Float64Type>().value(row)),
        Kind::Numeric => match array.data_type() {
            DataType::Decimal128(_, scale) => {
                let text = numeric::decimal_text(
                    array.as_primitive::<Decimal128Type>().value(row),
                    *scale,
                );
                Value::Real(
                    text.parse()
                        .map_err(|_| Error::value(column, "bad decimal"))?,
                )
            }
            _ => Value::Real(array.as_primitive::<Float64Type>().value(row)),
        },
        Kind::Text => Value::Text(array.as_string::<i32>().value(row).to_owned()),
        Kind::Date => {
            let days = array.as_primitive::<Date32Type>().value(row);
            let date = chrono::NaiveDate::default()
                .checked_add_signed(chrono::TimeDelta::days(i64::from(days)))
                .ok_or_else(|| Error::value(column, "date out of range"))?;
            Value::Text(date.format("%Y-%m-%d").to_string())
        }
        Kind::Timestamp => text_at(
            array.as_primitive::<TimestampMicrosecondType>().value(row),
            "%Y-%m-%d %H:%M:%S%.6f",
        )?,
        Kind::TimestampTz => text_at(
            array.as_primitive::<TimestampMicrosecondType>().value(row),
            "%Y-%m-%dT%H:%M:%S%.6f+00:00",
        )?,
    })
}
