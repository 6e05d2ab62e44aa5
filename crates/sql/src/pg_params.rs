//! A `load_args.params` value bound to a PostgreSQL parameter: the server
//! says (when the statement is prepared) which type each `$n` has, and the
//! JSON value is encoded as that type, as psycopg adapts a Python value.

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use postgres::types::{IsNull, ToSql, Type};
use serde_json::Value;

use crate::numeric;
use crate::types::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// One bound parameter: its name (for errors) and value.
#[derive(Debug, Clone)]
pub(crate) struct PgValue {
    pub(crate) name: String,
    pub(crate) value: Value,
}

impl PgValue {
    fn fail(&self, ty: &Type, why: &str) -> BoxError {
        format!(
            "parameter {}: cannot bind {} as {}{why}",
            self.name,
            self.value,
            ty.name()
        )
        .into()
    }
}

fn int(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str()?.trim().parse().ok())
}

fn float(value: &Value) -> Option<f64> {
    value
        .as_f64()
        .or_else(|| value.as_str()?.trim().parse().ok())
}

pub(crate) fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
}

/// An instant: RFC 3339 / ISO with an offset, or a naive time taken as UTC.
pub(crate) fn parse_instant(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|t| t.naive_utc())
        .ok()
        .or_else(|| parse_timestamp(text.trim_end_matches('Z')))
}

impl ToSql for PgValue {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        if self.value.is_null() {
            return Ok(IsNull::Yes);
        }
        let v = &self.value;
        if *ty == Type::BOOL {
            let b = v.as_bool().ok_or_else(|| self.fail(ty, ""))?;
            out.put_u8(u8::from(b));
        } else if *ty == Type::INT2 {
            let n = int(v).and_then(|n| i16::try_from(n).ok());
            out.put_i16(n.ok_or_else(|| self.fail(ty, ""))?);
        } else if *ty == Type::INT4 {
            let n = int(v).and_then(|n| i32::try_from(n).ok());
            out.put_i32(n.ok_or_else(|| self.fail(ty, ""))?);
        } else if *ty == Type::INT8 {
            out.put_i64(int(v).ok_or_else(|| self.fail(ty, ""))?);
        } else if *ty == Type::FLOAT4 {
            out.put_f32(float(v).ok_or_else(|| self.fail(ty, ""))? as f32);
        } else if *ty == Type::FLOAT8 {
            out.put_f64(float(v).ok_or_else(|| self.fail(ty, ""))?);
        } else if *ty == Type::NUMERIC {
            let mut bytes = Vec::new();
            let text = match v {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                Value::Number(n) => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
                _ => return Err(self.fail(ty, "")),
            };
            numeric::encode_text(&text, &mut bytes)
                .map_err(|e| self.fail(ty, &format!(": {e}")))?;
            out.put_slice(&bytes);
        } else if [
            Type::TEXT,
            Type::VARCHAR,
            Type::BPCHAR,
            Type::NAME,
            Type::UNKNOWN,
        ]
        .contains(ty)
        {
            match v {
                Value::String(s) => out.put_slice(s.as_bytes()),
                Value::Number(n) => out.put_slice(n.to_string().as_bytes()),
                Value::Bool(b) => out.put_slice(b.to_string().as_bytes()),
                _ => return Err(self.fail(ty, "")),
            }
        } else if *ty == Type::DATE {
            let date = v
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
                .ok_or_else(|| self.fail(ty, " (expected YYYY-MM-DD)"))?;
            let days = date.signed_duration_since(NaiveDate::default()).num_days();
            let days = i32::try_from(days).map_err(|_| self.fail(ty, ""))? - PG_EPOCH_DAYS;
            out.put_i32(days);
        } else if *ty == Type::TIMESTAMP || *ty == Type::TIMESTAMPTZ {
            let parse = if *ty == Type::TIMESTAMP {
                parse_timestamp
            } else {
                parse_instant
            };
            let at = v
                .as_str()
                .and_then(parse)
                .ok_or_else(|| self.fail(ty, " (expected an ISO 8601 date and time)"))?;
            out.put_i64(at.and_utc().timestamp_micros() - PG_EPOCH_MICROS);
        } else {
            return Err(self.fail(ty, ": unsupported parameter type"));
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}
