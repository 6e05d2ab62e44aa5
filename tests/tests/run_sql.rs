//! `tandem run` with SQL datasets from catalog.yml and credentials.yml: a
//! CSV saved into a PostgreSQL table (the harness's server), read back by a
//! parameterized query from a `.sql` file (transcoding orders the two),
//! saved into a SQLite table and from there into a CSV.

use tandem_tests::tandem_bin;

use crate::run_support::output;

const CATALOG: &str = "\
raw:
  type: pandas.CSVDataset
  filepath: data/raw.csv
cars@write:
  type: pandas.SQLTableDataset
  table_name: cars
  credentials: pg
  save_args:
    if_exists: replace
cars@read:
  type: pandas.SQLQueryDataset
  filepath: queries/big.sql
  credentials: pg
  load_args:
    params:
      min: 100
big:
  type: kedro_datasets.pandas.SQLTableDataset
  table_name: big_cars
  credentials: lite
  save_args:
    if_exists: replace
big_csv:
  type: pandas.CSVDataset
  filepath: data/big.csv
";

const PIPELINES: &str = "\
pipelines:
  __default__:
    nodes:
      - {name: to_pg, func: 'builtin:identity', inputs: raw, outputs: cars@write}
      - {name: query, func: 'builtin:identity', inputs: cars@read, outputs: big}
      - {name: to_csv, func: 'builtin:identity', inputs: big, outputs: big_csv}
";

#[test]
fn a_run_moves_a_table_through_postgres_and_sqlite() {
    let server = tandem_test_support::postgres::server();
    let db = server.new_database();
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("conf/base/catalog.yml", CATALOG);
    write("conf/base/parameters.yml", "{}\n");
    write(
        "conf/local/credentials.yml",
        &format!(
            "pg:\n  con: postgresql+psycopg2://postgres:hunter2-pw@127.0.0.1:{}/{db}\n\
             lite:\n  con: sqlite:///data/cars.db\n",
            server.port
        ),
    );
    write("pipelines.yml", PIPELINES);
    write(
        "data/raw.csv",
        "id,name,hp\n1,clio,90\n2,model s,670\n3,golf,150\n",
    );
    write(
        "queries/big.sql",
        "SELECT id, name, hp FROM cars WHERE hp > :min ORDER BY hp DESC\n",
    );

    for attempt in 0..2 {
        let run = output(
            std::process::Command::new(tandem_bin())
                .current_dir(dir.path())
                .env_remove("RUST_LOG")
                .args(["run", "--spec", "pipelines.yml", "--json"]),
        );
        assert_eq!(run.code, 0, "attempt {attempt}: {run:?}");
        assert!(!format!("{run:?}").contains("hunter2"), "{run:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("data/big.csv")).unwrap(),
            "id,name,hp\n2,model s,670\n3,golf,150\n"
        );
        // replace: the second run leaves three rows, not six.
        assert_eq!(
            server
                .psql(&db, "SELECT count(*) FROM cars")
                .unwrap()
                .trim(),
            "3"
        );
    }
    assert!(dir.path().join("data/cars.db").is_file());

    // The catalog lists the entries without the password.
    let list = output(
        std::process::Command::new(tandem_bin())
            .current_dir(dir.path())
            .args(["catalog", "list", "--spec", "pipelines.yml"]),
    );
    assert!(!format!("{list:?}").contains("hunter2"), "{list:?}");
}
