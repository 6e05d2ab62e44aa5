//! PostgreSQL through the sync `postgres` driver, with binary COPY both
//! ways: a save streams `COPY t (...) FROM STDIN (FORMAT binary)`, a load
//! reads `COPY (query) TO STDOUT (FORMAT binary)`; tandem writes and parses
//! the COPY format itself, column by column from arrow arrays, rather than
//! boxing each value as a `ToSql`. A query with bind parameters cannot be
//! COPY'd (COPY takes none), so it runs as a prepared statement whose
//! binary result values go through the same decoders.

use std::io::{BufReader, Read, Write};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{FromSql, Type};
use postgres::{Client, GenericClient, NoTls};

use crate::error::{Error, pg};
use crate::numeric;
use crate::pg_params::PgValue;
use crate::save::{IfExists, SaveTarget};
use crate::types::{
    Builder, Kind, PG_EPOCH_DAYS, PG_EPOCH_MICROS, cast_for, finish_batch, qualified, quote_ident,
};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Bytes buffered before they are handed to the COPY stream.
const FLUSH_AT: usize = 1 << 20;

pub(crate) fn connect(config: &postgres::Config) -> Result<Client, Error> {
    config.connect(NoTls).map_err(pg("connect to PostgreSQL"))
}

/// The kind a result column of type `ty` loads as.
fn kind_of(column: &str, ty: &Type) -> Result<Kind, Error> {
    let kinds = [
        (Type::BOOL, Kind::Bool),
        (Type::INT2, Kind::Int16),
        (Type::INT4, Kind::Int32),
        (Type::INT8, Kind::Int64),
        (Type::FLOAT4, Kind::Float32),
        (Type::FLOAT8, Kind::Float64),
        (Type::NUMERIC, Kind::Numeric),
        (Type::TEXT, Kind::Text),
        (Type::VARCHAR, Kind::Text),
        (Type::BPCHAR, Kind::Text),
        (Type::NAME, Kind::Text),
        (Type::DATE, Kind::Date),
        (Type::TIMESTAMP, Kind::Timestamp),
        (Type::TIMESTAMPTZ, Kind::TimestampTz),
    ];
    kinds
        .iter()
        .find(|(t, _)| t == ty)
        .map(|(_, k)| *k)
        .ok_or_else(|| {
            Error::unsupported(
                column,
                format!(
                    "PostgreSQL type {} is not supported; cast it in a SQLQueryDataset \
                     (e.g. {column}::text)",
                    ty.name()
                ),
            )
        })
}

/// Whether `schema.table` (schema: the search path's first) is a table or view.
pub(crate) fn exists(
    client: &mut impl GenericClient,
    schema: Option<&str>,
    table: &str,
) -> Result<bool, Error> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \
             AND n.nspname = COALESCE($2, current_schema()))",
            &[&table, &schema],
        )
        .map_err(pg(format!("look up table {}", qualified(schema, table))))?;
    row.try_get(0)
        .map_err(pg(format!("look up table {}", qualified(schema, table))))
}

/// Runs `sql` (a SELECT) and returns its result as one table.
pub(crate) fn load(
    client: &mut Client,
    sql: &str,
    values: &[PgValue],
    on_prepare_error: impl FnOnce(postgres::Error) -> Error,
) -> Result<RecordBatch, Error> {
    let statement = client.prepare(sql).map_err(on_prepare_error)?;
    let names: Vec<String> = statement
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let kinds: Vec<Kind> = statement
        .columns()
        .iter()
        .map(|c| kind_of(c.name(), c.type_()))
        .collect::<Result<_, _>>()?;
    let mut builders: Vec<Builder> = kinds.iter().map(|k| Builder::new(*k)).collect();
    let rows = if values.is_empty() && statement.params().is_empty() {
        let body = sql.trim_end().trim_end_matches(';');
        let reader = client
            .copy_out(&format!("COPY ({body}) TO STDOUT (FORMAT binary)"))
            .map_err(pg("COPY the query out"))?;
        read_copy(
            BufReader::with_capacity(1 << 16, reader),
            &names,
            &kinds,
            &mut builders,
        )?
    } else {
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
            values.iter().map(|v| v as _).collect();
        let mut rows = client
            .query_raw(&statement, params)
            .map_err(pg("run the query"))?;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(pg("read the query's rows"))? {
            for (i, (builder, kind)) in builders.iter_mut().zip(&kinds).enumerate() {
                let raw: Raw<'_> = row.try_get(i).map_err(pg("read the query's rows"))?;
                decode(builder, *kind, raw.0, &names[i])?;
            }
            count += 1;
        }
        count
    };
    finish_batch(&names, &kinds, &mut builders, rows)
}

/// A result value's bytes as the server sent them (binary format).
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn read_copy(
    mut reader: impl Read,
    names: &[String],
    kinds: &[Kind],
    builders: &mut [Builder],
) -> Result<usize, Error> {
    let bad = |what: &str| Error::db("COPY the query out", format!("malformed COPY data: {what}"));
    let io = |e: std::io::Error| Error::db("COPY the query out", e);
    let mut header = [0u8; 19];
    reader.read_exact(&mut header).map_err(io)?;
    if &header[..11] != SIGNATURE {
        return Err(bad("bad signature"));
    }
    let extension = u32::from_be_bytes([header[15], header[16], header[17], header[18]]);
    std::io::copy(
        &mut (&mut reader).take(u64::from(extension)),
        &mut std::io::sink(),
    )
    .map_err(io)?;
    let mut field = Vec::new();
    let mut rows = 0;
    loop {
        let mut count = [0u8; 2];
        reader.read_exact(&mut count).map_err(io)?;
        let count = i16::from_be_bytes(count);
        if count == -1 {
            return Ok(rows);
        }
        if count as usize != kinds.len() {
            return Err(bad("field count differs from the column count"));
        }
        for (i, (builder, kind)) in builders.iter_mut().zip(kinds).enumerate() {
            let mut len = [0u8; 4];
            reader.read_exact(&mut len).map_err(io)?;
            let len = i32::from_be_bytes(len);
            if len < 0 {
                builder.append_null();
                continue;
            }
            field.resize(len as usize, 0);
            reader.read_exact(&mut field).map_err(io)?;
            decode(builder, *kind, Some(&field), &names[i])?;
        }
        rows += 1;
    }
}

fn fixed<const N: usize>(raw: &[u8], column: &str) -> Result<[u8; N], Error> {
    raw.try_into()
        .map_err(|_| Error::value(column, format!("expected {N} bytes, got {}", raw.len())))
}

/// Appends one binary value (or null) to its column.
fn decode(
    builder: &mut Builder,
    kind: Kind,
    raw: Option<&[u8]>,
    column: &str,
) -> Result<(), Error> {
    let Some(raw) = raw else {
        builder.append_null();
        return Ok(());
    };
    match (builder, kind) {
        (Builder::Bool(b), _) => b.append_value(fixed::<1>(raw, column)?[0] != 0),
        (Builder::Int16(b), _) => b.append_value(i16::from_be_bytes(fixed(raw, column)?)),
        (Builder::Int32(b), _) => b.append_value(i32::from_be_bytes(fixed(raw, column)?)),
        (Builder::Int64(b), _) => b.append_value(i64::from_be_bytes(fixed(raw, column)?)),
        (Builder::Float32(b), _) => b.append_value(f32::from_be_bytes(fixed(raw, column)?)),
        (Builder::Float64(b), Kind::Numeric) => {
            b.append_value(numeric::decode(raw).map_err(|e| Error::value(column, e))?);
        }
        (Builder::Float64(b), _) => b.append_value(f64::from_be_bytes(fixed(raw, column)?)),
        (Builder::Text(b), _) => b.append_value(
            std::str::from_utf8(raw).map_err(|e| Error::value(column, e.to_string()))?,
        ),
        (Builder::Date(b), _) => {
            let days = i32::from_be_bytes(fixed(raw, column)?);
            if days == i32::MAX || days == i32::MIN {
                return Err(Error::value(column, "an infinite date has no arrow value"));
            }
            b.append_value(days + PG_EPOCH_DAYS);
        }
        (Builder::Timestamp(b), _) => {
            let micros = i64::from_be_bytes(fixed(raw, column)?);
            if micros == i64::MAX || micros == i64::MIN {
                return Err(Error::value(
                    column,
                    "an infinite timestamp has no arrow value",
                ));
            }
            b.append_value(micros + PG_EPOCH_MICROS);
        }
    }
    Ok(())
}

/// Saves `batches` into `target` inside one transaction: whatever fails,
/// the table is as it was.
pub(crate) fn save(
    client: &mut Client,
    target: &SaveTarget<'_>,
    batches: &[RecordBatch],
) -> Result<(), Error> {
    let table = qualified(target.schema, target.table);
    let mut tx = client
        .transaction()
        .map_err(pg(format!("begin saving {table}")))?;
    let existed = exists(&mut tx, target.schema, target.table)?;
    let schema = target.schema_of(batches)?;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let column_list = names
        .iter()
        .map(|n| quote_ident(n))
        .collect::<Vec<_>>()
        .join(", ");
    let kinds: Vec<Kind> = match (target.if_exists, existed) {
        (IfExists::Fail, true) => return Err(Error::TableExists { table }),
        (IfExists::Append, true) => {
            let statement = tx
                .prepare(&format!("SELECT {column_list} FROM {table}"))
                .map_err(pg(format!("append to {table}")))?;
            statement
                .columns()
                .iter()
                .map(|c| kind_of(c.name(), c.type_()))
                .collect::<Result<_, _>>()?
        }
        (if_exists, existed) => {
            if existed && if_exists == IfExists::Replace {
                tx.batch_execute(&format!("DROP TABLE {table}"))
                    .map_err(pg(format!("drop {table}")))?;
            }
            let kinds: Vec<Kind> = schema
                .fields()
                .iter()
                .map(|f| Kind::for_arrow(f.name(), f.data_type()))
                .collect::<Result<_, _>>()?;
            let columns = names
                .iter()
                .zip(&kinds)
                .map(|(n, k)| format!("{} {}", quote_ident(n), k.sql_type(false)))
                .collect::<Vec<_>>()
                .join(", ");
            tx.batch_execute(&format!("CREATE TABLE {table} ({columns})"))
                .map_err(pg(format!("create {table}")))?;
            kinds
        }
    };
    if batches.iter().any(|b| b.num_rows() > 0) && !names.is_empty() {
        let mut writer = tx
            .copy_in(&format!(
                "COPY {table} ({column_list}) FROM STDIN (FORMAT binary)"
            ))
            .map_err(pg(format!("copy into {table}")))?;
        let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
        buf.extend_from_slice(SIGNATURE);
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        let write_err = |e: std::io::Error| Error::db(format!("copy into {table}"), e);
        for batch in batches {
            let arrays: Vec<ArrayRef> = batch
                .columns()
                .iter()
                .zip(&kinds)
                .zip(&names)
                .map(|((a, k), n)| cast_for(n, a, *k))
                .collect::<Result<_, _>>()?;
            let columns: Vec<Encoder<'_>> = arrays
                .iter()
                .zip(&kinds)
                .map(|(a, k)| Encoder::new(a, *k))
                .collect();
            for row in 0..batch.num_rows() {
                buf.extend_from_slice(&(columns.len() as i16).to_be_bytes());
                for (column, name) in columns.iter().zip(&names) {
                    column.write(row, &mut buf, name)?;
                }
                if buf.len() >= FLUSH_AT {
                    writer.write_all(&buf).map_err(write_err)?;
                    buf.clear();
                }
            }
        }
        buf.extend_from_slice(&(-1i16).to_be_bytes());
        writer.write_all(&buf).map_err(write_err)?;
        writer.finish().map_err(pg(format!("copy into {table}")))?;
    }
    tx.commit()
        .map_err(pg(format!("commit the save of {table}")))
}

/// One arrow column, already cast for its kind, written as COPY fields.
enum Encoder<'a> {
    Bool(&'a arrow_array::BooleanArray),
    Int16(&'a arrow_array::PrimitiveArray<Int16Type>),
    Int32(&'a arrow_array::PrimitiveArray<Int32Type>),
    Int64(&'a arrow_array::PrimitiveArray<Int64Type>),
    Float32(&'a arrow_array::PrimitiveArray<Float32Type>),
    Float64(&'a arrow_array::PrimitiveArray<Float64Type>),
    NumericFloat(&'a arrow_array::PrimitiveArray<Float64Type>),
    NumericDecimal(&'a arrow_array::PrimitiveArray<Decimal128Type>, i8),
    Text(&'a arrow_array::StringArray),
    Date(&'a arrow_array::PrimitiveArray<Date32Type>),
    Timestamp(&'a arrow_array::PrimitiveArray<TimestampMicrosecondType>),
}

impl<'a> Encoder<'a> {
    /// `array` is what [`cast_for`] made for `kind`, so the downcasts hold.
    fn new(array: &'a ArrayRef, kind: Kind) -> Encoder<'a> {
        match kind {
            Kind::Bool => Encoder::Bool(array.as_boolean()),
            Kind::Int16 => Encoder::Int16(array.as_primitive()),
            Kind::Int32 => Encoder::Int32(array.as_primitive()),
            Kind::Int64 => Encoder::Int64(array.as_primitive()),
            Kind::Float32 => Encoder::Float32(array.as_primitive()),
            Kind::Float64 => Encoder::Float64(array.as_primitive()),
            Kind::Numeric => match array.data_type() {
                DataType::Decimal128(_, scale) => {
                    Encoder::NumericDecimal(array.as_primitive(), *scale)
                }
                _ => Encoder::NumericFloat(array.as_primitive()),
            },
            Kind::Text => Encoder::Text(array.as_string()),
            Kind::Date => Encoder::Date(array.as_primitive()),
            Kind::Timestamp | Kind::TimestampTz => Encoder::Timestamp(array.as_primitive()),
        }
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Encoder::Bool(a) => a.is_null(row),
            Encoder::Int16(a) => a.is_null(row),
            Encoder::Int32(a) => a.is_null(row),
            Encoder::Int64(a) => a.is_null(row),
            Encoder::Float32(a) => a.is_null(row),
            Encoder::Float64(a) | Encoder::NumericFloat(a) => a.is_null(row),
            Encoder::NumericDecimal(a, _) => a.is_null(row),
            Encoder::Text(a) => a.is_null(row),
            Encoder::Date(a) => a.is_null(row),
            Encoder::Timestamp(a) => a.is_null(row),
        }
    }

    fn write(&self, row: usize, out: &mut Vec<u8>, column: &str) -> Result<(), Error> {
        if self.is_null(row) {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            return Ok(());
        }
        fn field(out: &mut Vec<u8>, bytes: &[u8]) {
            out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        match self {
            Encoder::Bool(a) => field(out, &[u8::from(a.value(row))]),
            Encoder::Int16(a) => field(out, &a.value(row).to_be_bytes()),
            Encoder::Int32(a) => field(out, &a.value(row).to_be_bytes()),
            Encoder::Int64(a) => field(out, &a.value(row).to_be_bytes()),
            Encoder::Float32(a) => field(out, &a.value(row).to_be_bytes()),
            Encoder::Float64(a) => field(out, &a.value(row).to_be_bytes()),
            Encoder::Text(a) => {
                let text = a.value(row);
                let len = i32::try_from(text.len())
                    .map_err(|_| Error::value(column, "a text value over 2 GiB"))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Encoder::Date(a) => {
                let days = a
                    .value(row)
                    .checked_sub(PG_EPOCH_DAYS)
                    .ok_or_else(|| Error::value(column, "date out of PostgreSQL's range"))?;
                field(out, &days.to_be_bytes());
            }
            Encoder::Timestamp(a) => {
                let micros = a
                    .value(row)
                    .checked_sub(PG_EPOCH_MICROS)
                    .ok_or_else(|| Error::value(column, "timestamp out of PostgreSQL's range"))?;
                field(out, &micros.to_be_bytes());
            }
            Encoder::NumericFloat(a) => {
                numeric_field(out, column, |b| numeric::encode_f64(a.value(row), b))?
            }
            Encoder::NumericDecimal(a, scale) => numeric_field(out, column, |b| {
                numeric::encode_text(&numeric::decimal_text(a.value(row), *scale), b)
            })?,
        }
        Ok(())
    }
}

/// A NUMERIC field: its length is known only once encoded.
fn numeric_field(
    out: &mut Vec<u8>,
    column: &str,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
) -> Result<(), Error> {
    let at = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    encode(out).map_err(|e| Error::value(column, e))?;
    let len = (out.len() - at - 4) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}
