//! What keeps a shared SQLite store safe: the schema revision check, a
//! reader beside a writer, and a lock held too long.

use std::time::Duration;

use tandem_mlflow_client::{MlflowClient, NewRun, RunStatus};

use super::{client_for, python_json, sqlite_uri};

#[test]
fn other_schema_revisions_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("old.db");
    drop(client_for(&db));
    let set_revision = |rev: &str| {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute("UPDATE alembic_version SET version_num = ?1", [rev])
            .unwrap();
    };
    set_revision("75868b020152");
    let e = MlflowClient::sqlite(&db).unwrap_err();
    assert_eq!(e.kind(), "schema_revision");
    let text = e.to_string();
    for part in [
        db.display().to_string(),
        "75868b020152".into(),
        "dc11669786a5".into(),
        "MLflow 3.17.2".into(),
        format!("mlflow db upgrade {}", sqlite_uri(&db)),
    ] {
        assert!(text.contains(&part), "{part} missing from: {text}");
    }
    set_revision("ffffffffffff");
    let text = MlflowClient::sqlite(&db).unwrap_err().to_string();
    assert!(text.contains("ffffffffffff"), "{text}");
    assert!(text.contains("supports only dc11669786a5"), "{text}");
    assert!(!text.contains("mlflow db upgrade"), "{text}");

    let foreign = tmp.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY);")
        .unwrap();
    let e = MlflowClient::sqlite(&foreign).unwrap_err();
    assert_eq!(e.kind(), "schema_revision");
    assert!(e.to_string().contains("revision none"), "{e}");

    set_revision("dc11669786a5");
    MlflowClient::sqlite(&db).unwrap();
}

const READER: &str = r#"
import json, os, time
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
rid, total = os.environ["RUN_ID"], int(os.environ["TOTAL"])
reads, last = 0, 0
open(os.environ["READY"], "w").close()
give_up = time.time() + 300
while time.time() < give_up:
    seen = len(c.get_metric_history(rid, "m"))
    run = c.get_run(rid)
    assert seen >= last, (seen, last)
    last, reads = seen, reads + 1
    if seen == total and run.info.status == "FINISHED":
        break
print(json.dumps({"reads": reads, "last": last}))
"#;

#[test]
fn a_reader_reads_while_a_run_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("mlflow.db");
    let client = client_for(&db);
    let exp = client.get_or_create_experiment("busy").unwrap();
    let run = client.create_run(&NewRun::new(&exp.experiment_id)).unwrap();
    let run_id = run.info.run_id.clone();
    let ready = tmp.path().join("reader-ready");
    const TOTAL: i64 = 300;
    let reader = {
        let (uri, ready, run_id, cwd) = (
            sqlite_uri(&db),
            ready.display().to_string(),
            run_id.clone(),
            tmp.path().to_path_buf(),
        );
        std::thread::spawn(move || {
            python_json(
                READER,
                &cwd,
                &[
                    ("MLFLOW_TRACKING_URI", &uri),
                    ("RUN_ID", &run_id),
                    ("TOTAL", &TOTAL.to_string()),
                    ("READY", &ready),
                ],
            )
        })
    };
    while !ready.exists() && !reader.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
    }
    // A second connection of our own reads between the writes as well.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.busy_timeout(Duration::from_secs(20)).unwrap();
    let mut own_reads = 0;
    for step in 0..TOTAL {
        client.log_metric(&run_id, "m", step as f64, step).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM metrics WHERE run_uuid = ?1",
                [&run_id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, step + 1);
        own_reads += 1;
    }
    client.end_run(&run_id, RunStatus::Finished).unwrap();
    let out = reader.join().unwrap();
    assert_eq!(out["last"], TOTAL);
    assert!(out["reads"].as_i64().unwrap() >= 1);
    assert_eq!(own_reads, TOTAL);
}

#[test]
fn a_lock_held_too_long_is_temporarily_unavailable() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("mlflow.db");
    let client = client_for(&db);
    let run = client.create_run(&NewRun::new("0")).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let e = client.log_param(&run.info.run_id, "a", "1").unwrap_err();
    assert_eq!(
        e.code(),
        Some(&tandem_mlflow_client::ErrorCode::TemporarilyUnavailable),
        "{e}"
    );
    assert!(e.to_string().contains("mlflow.db"), "{e}");
    conn.execute_batch("ROLLBACK").unwrap();
    client.log_param(&run.info.run_id, "a", "1").unwrap();
}
