//! SQL throughput, tandem beside pandas + SQLAlchemy (psycopg 3), on the
//! test harness's PostgreSQL server: one table of 1,000,000 rows x 8
//! columns (int64, int32, float64, float32, two text, bool, timestamp),
//! saved and loaded whole. tandem saves with `SQLTableDataset`
//! (`if_exists: replace`, binary COPY in one transaction) and loads it back;
//! pandas reads that same table with `read_sql_table` and writes the frame
//! it read with `to_sql` (its default insert method, and `method="multi"`
//! on a tenth of the rows, scaled, since multi is slower still). Each figure
//! is the best of `RUNS` runs. Prints a table; docs/benchmarks.md records it.
//!
//! `cargo bench -p tandem-sql --bench sql` (part of `cargo xtask bench`).

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use serde_json::json;
use tandem_catalog::{Credentials, DatasetConfig, DatasetRegistry};
use tandem_pipeline_core::Data;

const ROWS: usize = 1_000_000;
const RUNS: usize = 2;

const PANDAS: &str = r#"
import sys, time, json
import pandas as pd
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
runs = int(sys.argv[2])
best = {}
def timed(name, f):
    t = time.perf_counter(); out = f(); best[name] = min(best.get(name, 1e9), time.perf_counter() - t); return out
for _ in range(runs):
    df = timed("load", lambda: pd.read_sql_table("bench_tandem", engine))
    timed("save", lambda: df.to_sql("bench_pandas", engine, index=False, if_exists="replace"))
tenth = df.iloc[: len(df) // 10]
timed("save_multi_tenth", lambda: tenth.to_sql("bench_pandas_multi", engine, index=False, if_exists="replace", method="multi", chunksize=1000))
best["rows"] = len(df)
print(json.dumps(best))
"#;

fn table() -> RecordBatch {
    let n = ROWS as i64;
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..n))),
        (
            "qty",
            Arc::new(Int32Array::from_iter_values(
                (0..ROWS as i32).map(|i| i % 1000),
            )),
        ),
        (
            "price",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| i as f64 * 0.25),
            )),
        ),
        (
            "score",
            Arc::new(Float32Array::from_iter_values(
                (0..ROWS).map(|i| (i % 97) as f32 / 7.0),
            )),
        ),
        (
            "name",
            Arc::new(StringArray::from_iter_values(
                (0..ROWS).map(|i| format!("customer-{i:07}")),
            )),
        ),
        (
            "city",
            Arc::new(StringArray::from_iter_values(
                (0..ROWS).map(|i| ["Lyon", "Paris", "Nantes", "Lille"][i % 4]),
            )),
        ),
        (
            "active",
            Arc::new(BooleanArray::from_iter((0..ROWS).map(|i| Some(i % 3 == 0)))),
        ),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                (0..n).map(|i| 1_700_000_000_000_000 + i * 1_000_003),
            )),
        ),
    ];
    RecordBatch::try_from_iter(columns).expect("a valid table")
}

fn best(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let server = tandem_test_support::postgres::server();
    let db = server.new_database();
    let url = server.url(&db);
    let mut registry = DatasetRegistry::with_builtins();
    tandem_sql::register(&mut registry);
    let options = json!({"table_name": "bench_tandem", "save_args": {"if_exists": "replace"}});
    let mut config = DatasetConfig::new(
        "bench",
        "pandas.SQLTableDataset",
        options.as_object().cloned().unwrap_or_default(),
    );
    config.credentials = Some(Credentials::new(
        [("con".to_owned(), json!(url.clone()))].into(),
    ));
    let ds = registry.build(&config).expect("the entry builds");
    let batch = table();

    let save = best(|| ds.save(Data::new(batch.clone())).expect("tandem saves"));
    let load = best(|| {
        let data = ds.load().expect("tandem loads");
        let loaded = data.downcast_ref::<RecordBatch>().expect("a table");
        assert_eq!(loaded.num_rows(), ROWS);
    });

    let python = tandem_test_support::postgres::sql_bin().join("python");
    let pandas_url = url.replacen("postgresql://", "postgresql+psycopg://", 1);
    let out = tandem_test_support::python::run_script(
        &python,
        PANDAS,
        [pandas_url.as_str(), &RUNS.to_string()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pandas: serde_json::Value = serde_json::from_str(out.trim()).expect("pandas' JSON");
    assert_eq!(pandas["rows"], json!(ROWS), "pandas read every row");
    let secs = |k: &str| pandas[k].as_f64().unwrap_or(f64::NAN);
    let (p_save, p_load, p_multi) = (secs("save"), secs("load"), secs("save_multi_tenth") * 10.0);

    println!("SQL throughput, PostgreSQL on 127.0.0.1, {ROWS} rows x 8 columns, best of {RUNS}");
    println!("| operation | tandem | pandas + SQLAlchemy (psycopg 3) | tandem faster |");
    println!("|---|---:|---:|---:|");
    let row = |op: &str, t: Duration, p: f64| {
        let t = t.as_secs_f64();
        println!(
            "| {op} | {t:.2} s ({:.0} krows/s) | {p:.2} s ({:.0} krows/s) | {:.1}x |",
            ROWS as f64 / t / 1e3,
            ROWS as f64 / p / 1e3,
            p / t
        );
    };
    row("save (replace)", save, p_save);
    row(
        "save vs to_sql(method=\"multi\"), 1/10 scaled",
        save,
        p_multi,
    );
    row("load", load, p_load);
}
