//! tandem and pandas + SQLAlchemy (psycopg 3 for PostgreSQL) on the same
//! tables: what tandem saves, pandas' `read_sql_table` reads with the same
//! values tandem loads; what pandas' `to_sql` writes, tandem loads with the
//! values pandas reads back. Values are compared in one canonical form
//! (common::canonical), since the two sides' types differ where pandas has
//! no nullable type (an integer column with nulls is float64 in pandas).

mod common;

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use common::{canonical, every_type, load, python, query, save, table};
use serde_json::{Value, json};

const READ: &str = r#"
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
dump(pd.read_sql_table(sys.argv[2], engine))
"#;

const WRITE_THEN_READ: &str = r#"
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
df = pd.DataFrame({
    "i": pd.array([1, None, -3], dtype="Int64"),
    "big": [2**62, 0, -(2**62)],
    "f": [1.5, None, -2.0],
    "s": ["a", None, "ünï 'x'"],
    "b": pd.array([True, None, False], dtype="boolean"),
    "d": [datetime.date(2024, 1, 2), None, datetime.date(1969, 12, 31)],
    "ts": pd.to_datetime(["2024-03-10 14:30:15.123456", None, "1969-12-31 23:59:58.5"], format="ISO8601"),
    "tz": pd.to_datetime(["2024-03-10 14:30:15.123456", None, "1970-01-01"], format="ISO8601").tz_localize("UTC"),
})
df.to_sql(sys.argv[2], engine, index=False)
dump(pd.read_sql_table(sys.argv[2], engine))
"#;

/// pandas' `read_sql_table` turns DATE columns into datetime64 at midnight;
/// tandem keeps them Date32. The values are the same days.
fn assert_same(tandem: &RecordBatch, pandas: &Value) {
    let mut expected = pandas.clone();
    for field in tandem.schema().fields() {
        if field.data_type() == &DataType::Date32 {
            for v in expected[field.name()].as_array_mut().unwrap() {
                if let Some(s) = v.as_str() {
                    *v = json!(s.strip_suffix("T00:00:00.000000").unwrap_or(s));
                }
            }
        }
    }
    assert_eq!(canonical(tandem), expected);
}

fn pandas_url(url: &str) -> String {
    url.replacen("postgresql://", "postgresql+psycopg://", 1)
}

#[test]
fn pandas_reads_what_tandem_saved_on_postgres() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    let ds = table(&url, dir.path(), "every", json!({}));
    save(&ds, &every_type());
    let pandas = python(READ, &[&pandas_url(&url), "every"]);
    assert_same(&load(&ds), &pandas);
}

#[test]
fn tandem_loads_what_pandas_wrote_on_postgres() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    let pandas = python(WRITE_THEN_READ, &[&pandas_url(&url), "from_pandas"]);
    let loaded = load(&table(&url, dir.path(), "from_pandas", json!({})));
    assert_same(&loaded, &pandas);
    let via_query = load(&query(
        &url,
        dir.path(),
        "SELECT * FROM from_pandas",
        json!({}),
    ));
    assert_eq!(canonical(&via_query), canonical(&loaded));
    assert_eq!(
        loaded.schema().field_with_name("tz").unwrap().data_type(),
        &DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into()))
    );
}

#[test]
fn pandas_and_tandem_agree_on_sqlite_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let con = format!("sqlite:///{}", path.display());
    let ds = table(&con, dir.path(), "every", json!({}));
    save(&ds, &every_type());
    let pandas = python(READ, &[&con, "every"]);
    assert_same(&load(&ds), &pandas);

    let pandas = python(WRITE_THEN_READ, &[&con, "from_pandas"]);
    let loaded = load(&table(&con, dir.path(), "from_pandas", json!({})));
    assert_same(&loaded, &pandas);
}
