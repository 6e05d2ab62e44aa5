//! The column types tandem moves between arrow and SQL, and how each maps.
//!
//! Saving creates columns the way `pandas.DataFrame.to_sql` does through
//! SQLAlchemy: int8/uint8/int16 → SMALLINT, uint16/int32 → INTEGER,
//! uint32/int64 → BIGINT (uint64 is refused, as pandas refuses it), float32
//! → REAL, float64 → DOUBLE PRECISION, strings → TEXT, bool → BOOLEAN, date
//! → DATE, naive timestamps → TIMESTAMP WITHOUT TIME ZONE, zoned ones →
//! TIMESTAMP WITH TIME ZONE; arrow decimals → NUMERIC.
//!
//! Loading gives each SQL type its arrow type. NUMERIC becomes Float64:
//! `pd.read_sql_table` / `read_sql_query` read it with `coerce_float=True`
//! (their default), which turns the driver's `Decimal`s into float64, and a
//! NUMERIC column has no fixed scale to give a Decimal128 anyway.
//! Integer columns keep their width and nullability (pandas turns an integer
//! column with nulls into float64; arrow has no need to).

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};

use crate::error::Error;

/// The time zone loaded `TIMESTAMP WITH TIME ZONE` columns carry.
pub(crate) const UTC: &str = "UTC";

/// A column type both sides understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Numeric,
    Text,
    Date,
    Timestamp,
    TimestampTz,
}

impl Kind {
    /// The SQL type a new column of this kind is created with.
    pub(crate) fn sql_type(self, sqlite: bool) -> &'static str {
        match (self, sqlite) {
            (Kind::Bool, _) => "BOOLEAN",
            (Kind::Int16, _) => "SMALLINT",
            (Kind::Int32, _) => "INTEGER",
            (Kind::Int64, _) => "BIGINT",
            (Kind::Float32, _) => "REAL",
            (Kind::Float64, false) => "DOUBLE PRECISION",
            // SQLAlchemy's SQLite dialect spells Float(53) FLOAT.
            (Kind::Float64, true) => "FLOAT",
            (Kind::Numeric, _) => "NUMERIC",
            (Kind::Text, _) => "TEXT",
            (Kind::Date, _) => "DATE",
            (Kind::Timestamp, false) => "TIMESTAMP WITHOUT TIME ZONE",
            (Kind::TimestampTz, false) => "TIMESTAMP WITH TIME ZONE",
            (Kind::Timestamp, true) => "DATETIME",
            (Kind::TimestampTz, true) => "TIMESTAMP WITH TIME ZONE",
        }
    }

    /// The arrow type a loaded column of this kind has.
    pub(crate) fn arrow_type(self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int16 => DataType::Int16,
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Float32 => DataType::Float32,
            Kind::Float64 | Kind::Numeric => DataType::Float64,
            Kind::Text => DataType::Utf8,
            Kind::Date => DataType::Date32,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        }
    }

    /// The kind a new column for an arrow column gets (pandas' `to_sql` rules).
    pub(crate) fn for_arrow(column: &str, data_type: &DataType) -> Result<Kind, Error> {
        Ok(match data_type {
            DataType::Boolean => Kind::Bool,
            DataType::Int8 | DataType::UInt8 | DataType::Int16 => Kind::Int16,
            DataType::UInt16 | DataType::Int32 => Kind::Int32,
            DataType::UInt32 | DataType::Int64 => Kind::Int64,
            DataType::UInt64 => {
                return Err(Error::unsupported(
                    column,
                    "unsigned 64-bit integers are not supported (as in pandas' to_sql): cast \
                     to int64",
                ));
            }
            DataType::Float16 | DataType::Float32 => Kind::Float32,
            DataType::Float64 => Kind::Float64,
            DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..) => Kind::Numeric,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                Kind::Text
            }
            DataType::Dictionary(_, value) => return Kind::for_arrow(column, value),
            DataType::Date32 | DataType::Date64 => Kind::Date,
            DataType::Timestamp(_, None) => Kind::Timestamp,
            DataType::Timestamp(_, Some(_)) => Kind::TimestampTz,
            other => {
                return Err(Error::unsupported(
                    column,
                    format!("arrow type {other} has no SQL column type"),
                ));
            }
        })
    }

    /// The arrow type a column is cast to before it is encoded as this kind.
    /// NUMERIC is encoded from its decimal text, so decimals stay decimals;
    /// timestamps are encoded from naive microseconds (see [`cast_for`]).
    pub(crate) fn encode_from(self, source: &DataType) -> DataType {
        match (self, source) {
            (Kind::Numeric, DataType::Decimal128(..)) => source.clone(),
            (Kind::Numeric, _) => DataType::Float64,
            (Kind::Timestamp | Kind::TimestampTz, _) => {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            }
            (kind, _) => kind.arrow_type(),
        }
    }
}

/// An arrow column cast to what `kind`'s encoder reads; values that do not
/// fit (an int64 beyond an INTEGER column's range) are an error, not nulls.
///
/// Timestamps of any unit and zone become microseconds since the epoch
/// without a zone: an arrow timestamp is a UTC instant whatever its zone,
/// and a naive one is taken as UTC wall time (what a TIMESTAMP column holds).
/// Scaling them here, rather than through arrow's cast, needs no time zone
/// database. Nanoseconds are floored to the microsecond, PostgreSQL's
/// precision.
pub(crate) fn cast_for(column: &str, array: &ArrayRef, kind: Kind) -> Result<ArrayRef, Error> {
    let target = kind.encode_from(array.data_type());
    if array.data_type() == &target {
        return Ok(array.clone());
    }
    let fail = |e: &dyn std::fmt::Display| {
        Error::unsupported(
            column,
            format!(
                "cannot store arrow {} as {}: {e}",
                array.data_type(),
                kind.sql_type(false)
            ),
        )
    };
    if let (DataType::Timestamp(unit, _), DataType::Timestamp(..)) = (array.data_type(), &target) {
        let raw = arrow_cast::cast(array, &DataType::Int64).map_err(|e| fail(&e))?;
        let raw = raw.as_primitive::<Int64Type>();
        let scale = |v: i64| -> Result<i64, ArrowError> {
            match unit {
                TimeUnit::Second => v.checked_mul(1_000_000),
                TimeUnit::Millisecond => v.checked_mul(1_000),
                TimeUnit::Microsecond => Some(v),
                TimeUnit::Nanosecond => Some(v.div_euclid(1_000)),
            }
            .ok_or_else(|| ArrowError::ComputeError("timestamp out of range".to_owned()))
        };
        let micros = raw
            .try_unary::<_, TimestampMicrosecondType, _>(scale)
            .map_err(|e| fail(&e))?;
        return Ok(Arc::new(micros));
    }
    let options = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow_cast::cast_with_options(array, &target, &options).map_err(|e| fail(&e))
}

/// One loaded column being built.
pub(crate) enum Builder {
    Bool(BooleanBuilder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Text(StringBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Builder {
    pub(crate) fn new(kind: Kind) -> Builder {
        match kind {
            Kind::Bool => Builder::Bool(BooleanBuilder::new()),
            Kind::Int16 => Builder::Int16(Int16Builder::new()),
            Kind::Int32 => Builder::Int32(Int32Builder::new()),
            Kind::Int64 => Builder::Int64(Int64Builder::new()),
            Kind::Float32 => Builder::Float32(Float32Builder::new()),
            Kind::Float64 | Kind::Numeric => Builder::Float64(Float64Builder::new()),
            Kind::Text => Builder::Text(StringBuilder::new()),
            Kind::Date => Builder::Date(Date32Builder::new()),
            Kind::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
            Kind::TimestampTz => {
                Builder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone(UTC))
            }
        }
    }

    pub(crate) fn append_null(&mut self) {
        match self {
            Builder::Bool(b) => b.append_null(),
            Builder::Int16(b) => b.append_null(),
            Builder::Int32(b) => b.append_null(),
            Builder::Int64(b) => b.append_null(),
            Builder::Float32(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Text(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
        }
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int16(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float32(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
        }
    }
}

/// The loaded table: columns named and typed as the result set has them.
pub(crate) fn finish_batch(
    names: &[String],
    kinds: &[Kind],
    builders: &mut [Builder],
    rows: usize,
) -> Result<RecordBatch, Error> {
    let fields: Vec<Field> = names
        .iter()
        .zip(kinds)
        .map(|(name, kind)| Field::new(name, kind.arrow_type(), true))
        .collect();
    let columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
        .map_err(|e| Error::config(format!("building the loaded table: {e}")))
}

/// Double-quotes an identifier (`"a""b"`), so any name, case included,
/// reaches the database as written.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."table"` or `"table"`.
pub(crate) fn qualified(schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(table)),
        None => quote_ident(table),
    }
}

/// Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch).
pub(crate) const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
pub(crate) const PG_EPOCH_DAYS: i32 = 10_957;
