//! SQL datasets on a real PostgreSQL server (the test harness's, one per
//! process, a database per test): every type with nulls both ways,
//! `if_exists` modes, a failed replace leaving the old table, queries with
//! parameters and from files, and errors that name what is wrong.

mod common;

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, TimeUnit};
use common::{dataset, every_type, load, query, save, table};
use serde_json::json;
use tandem_pipeline_core::Data;

fn psql(url: &str, sql: &str) -> String {
    let db = url.rsplit('/').next().unwrap();
    tandem_test_support::postgres::server()
        .psql(db, sql)
        .unwrap()
}

#[test]
fn every_type_round_trips_with_nulls_and_creates_pandas_column_types() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    let ds = table(&url, dir.path(), "every", json!({}));
    assert!(!ds.exists().unwrap());
    let batch = every_type();
    save(&ds, &batch);
    assert!(ds.exists().unwrap());

    let types = psql(
        &url,
        "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) \
         FROM information_schema.columns WHERE table_name = 'every'",
    );
    assert_eq!(
        types.trim(),
        "i16 smallint, i32 integer, i64 bigint, f32 real, f64 double precision, num numeric, \
         txt text, flag boolean, day date, at timestamp without time zone, \
         at_utc timestamp with time zone"
    );
    // What the server holds, in its own text form.
    let rows = psql(
        &url,
        "SET TIME ZONE 'UTC'; SELECT * FROM every ORDER BY i64 NULLS LAST",
    );
    assert!(
        rows.contains("-32768|-2147483648|-5|-2.25|-1e+300|-0.05|héllo ✓ 'q' \"d\"|f|1969-12-31|1969-12-31 23:59:58.5|1970-01-01 00:00:00+00"),
        "{rows}"
    );

    let loaded = load(&ds);
    assert_eq!(loaded.num_rows(), 3);
    for (field, original) in loaded.schema().fields().iter().zip(batch.columns()) {
        let column = loaded.column_by_name(field.name()).unwrap();
        if field.name() == "num" {
            // NUMERIC loads as float64, as pandas' coerce_float reads it.
            assert_eq!(field.data_type(), &DataType::Float64);
            let expected: ArrayRef =
                Arc::new(Float64Array::from(vec![Some(12.34), None, Some(-0.05)]));
            assert_eq!(column, &expected);
        } else {
            assert_eq!(column, original, "{}", field.name());
        }
    }
    assert_eq!(
        loaded
            .schema()
            .field_with_name("at_utc")
            .unwrap()
            .data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
}

#[test]
fn if_exists_fail_is_the_default_and_names_the_table() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    let ds = table(&url, dir.path(), "cars", json!({}));
    let batch = ints("hp", &[1, 2]);
    save(&ds, &batch);
    let err = ds.save(Data::new(batch.clone())).unwrap_err();
    assert_eq!(err.kind(), "sql_table_exists");
    assert!(err.to_string().contains("\"cars\""), "{err}");
    assert_eq!(load(&ds).num_rows(), 2);
}

#[test]
fn replace_and_append_modes() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    let replace = table(&url, dir.path(), "t", json!({"if_exists": "replace"}));
    let append = table(&url, dir.path(), "t", json!({"if_exists": "append"}));
    // append creates a missing table.
    save(&append, &ints("hp", &[1]));
    save(&append, &ints("hp", &[2, 3]));
    assert_eq!(hp(&load(&append)), [1, 2, 3]);
    save(&replace, &ints("hp", &[9]));
    assert_eq!(hp(&load(&replace)), [9]);
    // Replace may change the columns entirely.
    let other =
        RecordBatch::try_from_iter([("name", Arc::new(StringArray::from(vec!["a"])) as ArrayRef)])
            .unwrap();
    save(&replace, &other);
    assert_eq!(load(&replace).column(0).as_ref(), other.column(0).as_ref());
}

#[test]
fn append_fits_values_to_the_existing_column_types() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    psql(
        &url,
        "CREATE TABLE narrow (hp integer, price numeric(10, 2), at timestamptz)",
    );
    let ds = table(&url, dir.path(), "narrow", json!({"if_exists": "append"}));
    let batch = RecordBatch::try_from_iter([
        ("hp", Arc::new(Int64Array::from(vec![5])) as ArrayRef),
        (
            "price",
            Arc::new(Float64Array::from(vec![19.99])) as ArrayRef,
        ),
        (
            "at",
            Arc::new(arrow_array::TimestampMicrosecondArray::from(vec![
                common::TS,
            ])) as ArrayRef,
        ),
    ])
    .unwrap();
    save(&ds, &batch);
    assert_eq!(
        psql(
            &url,
            "SET TIME ZONE 'UTC'; SELECT hp, price, at FROM narrow"
        )
        .trim(),
        "5|19.99|2024-03-10 14:30:15.123456+00"
    );
    let loaded = load(&ds);
    assert_eq!(loaded.column(0).data_type(), &DataType::Int32);
    // A value beyond the column's range is an error naming the column.
    let too_big = RecordBatch::try_from_iter([(
        "hp",
        Arc::new(Int64Array::from(vec![i64::from(i32::MAX) + 1])) as ArrayRef,
    )])
    .unwrap();
    let err = ds.save(Data::new(too_big)).unwrap_err();
    assert_eq!(err.kind(), "sql_unsupported_type");
    assert!(err.to_string().contains("'hp'"), "{err}");
    assert_eq!(load(&ds).num_rows(), 1);
}

#[test]
fn a_replace_that_fails_mid_copy_leaves_the_old_table() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    let ds = table(&url, dir.path(), "keep", json!({"if_exists": "replace"}));
    save(&ds, &ints("hp", &[1, 2, 3]));
    // PostgreSQL text cannot hold NUL: the server rejects the COPY after
    // the DROP and CREATE ran, inside the same transaction.
    let names: Vec<String> = (0..50_000)
        .map(|i| format!("row {i}"))
        .chain(["bad\0value".to_owned()])
        .collect();
    let bad =
        RecordBatch::try_from_iter([("name", Arc::new(StringArray::from(names)) as ArrayRef)])
            .unwrap();
    let err = ds.save(Data::new(bad)).unwrap_err();
    assert_eq!(err.kind(), "sql_database", "{err}");
    assert!(err.to_string().contains("copy into \"keep\""), "{err}");
    assert_eq!(hp(&load(&ds)), [1, 2, 3]);
    // An arrow type with no SQL column fails before anything is sent.
    let list = RecordBatch::try_from_iter([(
        "l",
        Arc::new(arrow_array::ListArray::from_iter_primitive::<
            arrow_array::types::Int32Type,
            _,
            _,
        >(vec![Some(vec![Some(1)])])) as ArrayRef,
    )])
    .unwrap();
    let err = ds.save(Data::new(list)).unwrap_err();
    assert_eq!(err.kind(), "sql_unsupported_type");
    assert_eq!(hp(&load(&ds)), [1, 2, 3]);
}

#[test]
fn schema_and_columns_load_args() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    psql(&url, "CREATE SCHEMA sales");
    let ds = common::dataset(
        "kedro_datasets.pandas.SQLTableDataset",
        &url,
        dir.path(),
        json!({
            "table_name": "Orders",
            "load_args": {"schema": "sales", "columns": ["qty"], "chunksize": 10},
            "save_args": {"schema": "sales", "if_exists": "replace", "index": false, "chunksize": 5},
        }),
    )
    .unwrap();
    assert!(!ds.exists().unwrap());
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ("qty", Arc::new(Int32Array::from(vec![10, 20])) as ArrayRef),
    ])
    .unwrap();
    save(&ds, &batch);
    assert!(ds.exists().unwrap());
    // The mixed-case name was created as written.
    assert_eq!(
        psql(&url, "SELECT count(*) FROM sales.\"Orders\"").trim(),
        "2"
    );
    let loaded = load(&ds);
    assert_eq!(loaded.num_columns(), 1);
    assert_eq!(loaded.column(0), batch.column(1));
}

#[test]
fn loading_a_missing_table_names_it() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    let err = table(&url, dir.path(), "nope", json!({}))
        .load()
        .unwrap_err();
    assert_eq!(err.kind(), "sql_table_not_found");
    assert!(err.to_string().contains("\"nope\""), "{err}");
}

#[test]
fn queries_bind_named_and_positional_params() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    save(&table(&url, dir.path(), "cars", json!({})), &every_type());
    let named = query(
        &url,
        dir.path(),
        "SELECT i64, txt FROM cars WHERE i16 >= :lo AND day < %(before)s::date AND txt <> :skip ORDER BY i64",
        json!({"params": {"lo": -32768, "before": "2030-01-01", "skip": "x"}}),
    );
    let loaded = load(&named);
    assert_eq!(loaded.num_rows(), 2);
    assert_eq!(
        loaded.column(1).as_ref(),
        &StringArray::from(vec!["héllo ✓ 'q' \"d\"", "plain"]) as &dyn Array
    );
    let positional = query(
        &url,
        dir.path(),
        "SELECT count(*) AS n FROM cars WHERE flag = %s OR at_utc > %s",
        json!({"params": [true, "2024-01-01T00:00:00Z"]}),
    );
    let n = load(&positional);
    assert_eq!(
        n.column(0).as_ref(),
        &Int64Array::from(vec![1]) as &dyn Array
    );
    // A null parameter binds SQL NULL; numbered placeholders pass through.
    let numbered = query(
        &url,
        dir.path(),
        "SELECT count(*) AS n FROM cars WHERE i32 IS NOT DISTINCT FROM $1",
        json!({"params": [null]}),
    );
    assert_eq!(
        load(&numbered).column(0).as_ref(),
        &Int64Array::from(vec![1]) as &dyn Array
    );
    // Without params the query goes through COPY, every type included.
    let all = query(&url, dir.path(), "SELECT * FROM cars;", json!({}));
    assert_eq!(load(&all).num_rows(), 3);

    let missing = query(
        &url,
        dir.path(),
        "SELECT :x AS x",
        json!({"params": {"y": 1}}),
    );
    let err = missing.load().unwrap_err();
    assert_eq!(err.kind(), "sql_parameter");
    assert!(
        err.to_string().contains(":x") || err.to_string().contains("x:"),
        "{err}"
    );
    let wrong = query(
        &url,
        dir.path(),
        "SELECT * FROM cars WHERE i16 = :v",
        json!({"params": {"v": "abc"}}),
    );
    let err = wrong.load().unwrap_err();
    assert!(err.to_string().contains("parameter v"), "{err}");
}

#[test]
fn queries_from_a_sql_file_inside_the_project_only() {
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    save(
        &table(&url, dir.path(), "cars", json!({})),
        &ints("hp", &[5, 6, 7]),
    );
    std::fs::create_dir_all(dir.path().join("queries")).unwrap();
    std::fs::write(
        dir.path().join("queries/big.sql"),
        "-- the big ones\nSELECT hp FROM cars WHERE hp > :min ORDER BY hp\n",
    )
    .unwrap();
    let ds = dataset(
        "pandas.SQLQueryDataset",
        &url,
        dir.path(),
        json!({"filepath": "queries/big.sql", "load_args": {"params": {"min": 5}}}),
    )
    .unwrap();
    assert_eq!(hp(&load(&ds)), [6, 7]);
    let err = ds.save(Data::new(ints("hp", &[1]))).unwrap_err();
    assert_eq!(err.kind(), "read_only");
    assert!(
        err.to_string()
            .contains("'save' is not supported on SQLQueryDataset"),
        "{err}"
    );

    for escape in ["../outside.sql", "/etc/passwd"] {
        let err = dataset(
            "pandas.SQLQueryDataset",
            &url,
            dir.path(),
            json!({"filepath": escape}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("entry"), "{err}");
        assert!(err.to_string().contains(escape), "{err}");
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("queries/link.sql")).unwrap();
        let ds = dataset(
            "pandas.SQLQueryDataset",
            &url,
            dir.path(),
            json!({"filepath": "queries/link.sql"}),
        )
        .unwrap();
        let err = ds.load().unwrap_err();
        assert_eq!(err.kind(), "sql_file", "{err}");
    }
}

#[test]
fn configuration_errors_name_the_entry_and_never_the_password() {
    let server = tandem_test_support::postgres::server();
    let db = server.new_database();
    // Trust authentication accepts any password: a real connection with one.
    let url = format!(
        "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:{}/{db}",
        server.port
    );
    let dir = tempfile::tempdir().unwrap();
    let ds = table(&url, dir.path(), "nope", json!({}));
    assert!(!format!("{ds:?}").contains("s3cret"));
    assert!(
        !serde_json::to_string(&ds.describe())
            .unwrap()
            .contains("s3cret")
    );
    let err = ds.load().unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");

    let unreachable = format!(
        "postgresql://postgres:s3cret-pw@127.0.0.1:{}/{db}",
        tandem_test_support::process::free_port().unwrap()
    );
    let err = table(&unreachable, dir.path(), "t", json!({}))
        .load()
        .unwrap_err();
    assert_eq!(err.kind(), "sql_database");
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err}");

    let cases = [
        (json!({}), "'table_name' argument cannot be empty"),
        (
            json!({"table_name": "t", "save_args": {"if_exists": "merge"}}),
            "merge",
        ),
        (
            json!({"table_name": "t", "save_args": {"index": true}}),
            "index",
        ),
        (
            json!({"table_name": "t", "load_args": {"index_col": "id"}}),
            "index_col",
        ),
        (
            json!({"table_name": "t", "con": "sqlite:///x.db"}),
            "credentials",
        ),
    ];
    for (options, expected) in cases {
        let err = dataset("pandas.SQLTableDataset", &url, dir.path(), options.clone()).unwrap_err();
        assert_eq!(err.kind(), "invalid_config", "{options}");
        let msg = err.to_string();
        assert!(
            msg.contains("entry 'entry'") && msg.contains(expected),
            "{msg}"
        );
    }
    let err = dataset(
        "pandas.SQLQueryDataset",
        &url,
        dir.path(),
        json!({"sql": "SELECT 1", "filepath": "q.sql"}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot both be provided"), "{err}");
    let err = dataset("pandas.SQLQueryDataset", &url, dir.path(), json!({})).unwrap_err();
    assert!(err.to_string().contains("cannot both be empty"), "{err}");

    let mut registry = tandem_catalog::DatasetRegistry::with_builtins();
    tandem_sql::register(&mut registry);
    let config = tandem_catalog::DatasetConfig::new(
        "no_creds",
        "pandas.SQLTableDataset",
        json!({"table_name": "t"}).as_object().unwrap().clone(),
    );
    let err = registry.build(&config).unwrap_err();
    assert!(
        err.to_string().contains("no_creds") && err.to_string().contains("'con'"),
        "{err}"
    );
}

fn ints(name: &str, values: &[i64]) -> RecordBatch {
    RecordBatch::try_from_iter([(
        name,
        Arc::new(Int64Array::from(values.to_vec())) as ArrayRef,
    )])
    .unwrap()
}

fn hp(batch: &RecordBatch) -> Vec<i64> {
    batch
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .values()
        .to_vec()
}

#[test]
fn other_arrow_types_are_saved_as_pandas_would_and_uint64_is_refused() {
    use arrow_array::types::Int32Type;
    let url = common::postgres_url();
    let dir = tempfile::tempdir().unwrap();
    let ds = table(&url, dir.path(), "conv", json!({"if_exists": "replace"}));
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "u8",
            Arc::new(arrow_array::UInt8Array::from(vec![Some(255), None])),
        ),
        (
            "u16",
            Arc::new(arrow_array::UInt16Array::from(vec![Some(65535), None])),
        ),
        (
            "u32",
            Arc::new(arrow_array::UInt32Array::from(vec![Some(u32::MAX), None])),
        ),
        (
            "large",
            Arc::new(arrow_array::LargeStringArray::from(vec![Some("l"), None])),
        ),
        (
            "dict",
            Arc::new(arrow_array::DictionaryArray::<Int32Type>::from_iter([
                Some("d"),
                None,
            ])),
        ),
        ("nothing", Arc::new(arrow_array::NullArray::new(2))),
        (
            "d64",
            Arc::new(arrow_array::Date64Array::from(vec![Some(86_400_000), None])),
        ),
        (
            "ns",
            Arc::new(
                arrow_array::TimestampNanosecondArray::from(vec![Some(1_500_000_999), None])
                    .with_timezone("+02:00"),
            ),
        ),
        (
            "secs",
            Arc::new(arrow_array::TimestampSecondArray::from(vec![
                Some(60),
                None,
            ])),
        ),
    ];
    save(&ds, &RecordBatch::try_from_iter(columns).unwrap());
    let types = psql(
        &url,
        "SELECT string_agg(data_type, ', ' ORDER BY ordinal_position) \
         FROM information_schema.columns WHERE table_name = 'conv'",
    );
    assert_eq!(
        types.trim(),
        "smallint, integer, bigint, text, text, text, date, timestamp with time zone, \
         timestamp without time zone"
    );
    assert_eq!(
        psql(
            &url,
            "SET TIME ZONE 'UTC'; SELECT * FROM conv WHERE u8 IS NOT NULL"
        )
        .trim(),
        "255|65535|4294967295|l|d||1970-01-02|1970-01-01 00:00:01.5+00|1970-01-01 00:01:00"
    );
    assert_eq!(
        psql(
            &url,
            "SELECT count(*) FROM conv WHERE u8 IS NULL AND dict IS NULL AND ns IS NULL"
        )
        .trim(),
        "1"
    );
    let unsigned = RecordBatch::try_from_iter([(
        "u64",
        Arc::new(arrow_array::UInt64Array::from(vec![1])) as ArrayRef,
    )])
    .unwrap();
    let err = ds.save(Data::new(unsigned)).unwrap_err();
    assert_eq!(err.kind(), "sql_unsupported_type");
    assert!(err.to_string().contains("'u64'"), "{err}");
}
