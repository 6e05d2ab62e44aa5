//! The SQLite store against MLflow's own Python client, both directions,
//! plus the schema drift guard, revision checks and a concurrent reader.

use std::path::Path;
use std::time::Duration;

use tandem_mlflow_client::{
    Config, Dataset, DatasetInput, LoggedModelQuery, Metric, MlflowClient, NewRun, RunQuery,
    RunStatus, Tag,
};

use crate::support::model_dir;

mod guards;

pub(super) fn sqlite_uri(path: &Path) -> String {
    format!("sqlite:///{}", path.display())
}

/// A client for the database `db`, artifacts under `<dir of db>/mlruns`.
pub(super) fn client_for(db: &Path) -> MlflowClient {
    let root = db.parent().unwrap().join("mlruns");
    MlflowClient::new(
        Config::default()
            .with_tracking_uri(sqlite_uri(db))
            .with_artifact_root(root),
    )
    .unwrap()
}

/// Runs a Python script with MLflow's venv in `cwd`; returns its last
/// stdout line as JSON.
pub(super) fn python_json(script: &str, cwd: &Path, envs: &[(&str, &str)]) -> serde_json::Value {
    let out = tandem_test_support::mlflow::command("python")
        .args(["-c", script])
        .current_dir(cwd)
        .envs(envs.iter().copied())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap()
}

/// A definition with whitespace collapsed and, for a table, its
/// constraints sorted: MLflow's migrations (alembic batch operations)
/// write a table's constraints in no fixed order, so two databases MLflow
/// creates differ there; columns keep their order.
fn normalize(sql: &str) -> String {
    let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let (Some(open), Some(close)) = (sql.find('('), sql.rfind(')')) else {
        return sql;
    };
    if !sql.starts_with("CREATE TABLE") {
        return sql;
    }
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, open + 1);
    for (i, c) in sql[..close].char_indices().skip(open + 1) {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(sql[start..i].trim().to_owned());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(sql[start..close].trim().to_owned());
    let is_constraint = |p: &String| {
        ["CONSTRAINT", "CHECK", "FOREIGN", "PRIMARY", "UNIQUE"]
            .iter()
            .any(|k| p.starts_with(k))
    };
    let (mut constraints, columns): (Vec<String>, Vec<String>) =
        parts.into_iter().partition(is_constraint);
    constraints.sort();
    format!(
        "{} ({}) [{}]",
        &sql[..open].trim(),
        columns.join(", "),
        constraints.join(", ")
    )
}

/// Every table, index and trigger definition, normalized.
fn schema_of(db: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| {
        let sql: Option<String> = r.get(2)?;
        Ok((r.get(0)?, r.get(1)?, sql.as_deref().map(normalize)))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

pub(super) fn revision_of(db: &Path) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
        .unwrap()
}

const READ_BACK: &str = r#"
import json, os
import mlflow, mlflow.artifacts
from mlflow import MlflowClient
uri = os.environ["MLFLOW_TRACKING_URI"]
c = MlflowClient(tracking_uri=uri)
exp = c.get_experiment_by_name("sql-demo")
found = c.search_runs([exp.experiment_id], filter_string="params.alpha = '0.5' and metrics.acc > 0.5")
r = c.get_run(found[0].info.run_id)
rid = r.info.run_id
def walk(path=None):
    for f in c.list_artifacts(rid, path):
        if f.is_dir:
            yield from walk(f.path)
        else:
            yield f.path
model_id = r.outputs.model_outputs[0].model_id
model = c.get_logged_model(model_id)
searched = c.search_logged_models(experiment_ids=[exp.experiment_id], filter_string="metrics.acc > 0.5")
none = c.search_logged_models(experiment_ids=[exp.experiment_id], filter_string="metrics.acc > 0.95")
notes = mlflow.artifacts.download_artifacts(run_id=rid, artifact_path="docs/notes.txt")
rm = c.get_registered_model("sql-reg")
mv = c.get_model_version_by_alias("sql-reg", "champion")
dl = mlflow.artifacts.download_artifacts("models:/sql-reg@champion")
print(json.dumps({
    "default": c.get_experiment("0").name,
    "exp_tags": exp.tags,
    "n_found": len(found),
    "name": r.info.run_name,
    "status": r.info.status,
    "user": r.info.user_id,
    "params": r.data.params,
    "metrics": {k: str(v) for k, v in r.data.metrics.items()},
    "tags": r.data.tags,
    "history": [[m.step, str(m.value)] for m in c.get_metric_history(rid, "loss")],
    "artifacts": sorted(walk()),
    "notes": open(notes).read(),
    "datasets": [[d.dataset.name, d.dataset.digest, d.tags[0].key, d.tags[0].value] for d in r.inputs.dataset_inputs],
    "model": [model.name, str(model.status), model.source_run_id, model.artifact_location],
    "model_metrics": sorted([m.key, m.value, m.run_id, m.model_id] for m in model.metrics),
    "searched": [m.model_id for m in searched] == [model_id],
    "none": len(none),
    "rm": [rm.name, {a: str(v) for a, v in rm.aliases.items()}],
    "mv": [mv.version, mv.source, mv.run_id, mv.status, mv.current_stage, mv.model_id, mv.aliases],
    "model_files": sorted(os.path.relpath(os.path.join(d, f), dl) for d, _, fs in os.walk(dl) for f in fs
                          if f != "registered_model_meta"),
    "model_id": model_id,
}))
"#;

#[test]
fn mlflow_reads_what_the_sqlite_store_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("mlflow.db");
    let client = client_for(&db);
    assert_eq!(client.tracking_uri(), sqlite_uri(&db));
    assert!(client.tracking_uri().starts_with("sqlite:////"));
    assert!(client.is_local());
    let exp_id = client
        .create_experiment("sql-demo", None, &[Tag::new("owner", "rust")])
        .unwrap();
    assert_eq!(
        exp_id, "1",
        "experiment ids are allocated as MLflow's: 0, 1, 2…"
    );
    let run = client
        .create_run(&NewRun {
            user_id: Some("ann".into()),
            ..NewRun::new(&exp_id).name("sql-run").tag("team", "ml")
        })
        .unwrap();
    let id = run.info.run_id.clone();
    assert_eq!(id.len(), 32);
    assert!(
        run.info
            .artifact_uri
            .starts_with(&tmp.path().join("mlruns/1").display().to_string())
    );
    client.log_param(&id, "alpha", "0.5").unwrap();
    client.log_param(&id, "alpha", "0.5").unwrap();
    assert_eq!(
        client.log_param(&id, "alpha", "0.7").unwrap_err().kind(),
        "invalid_request"
    );
    let losses: Vec<Metric> = [1.0, 0.5, f64::NAN, 0.25]
        .into_iter()
        .enumerate()
        .map(|(i, v)| Metric::new("loss", v, i as i64))
        .collect();
    client
        .log_batch(&id, &losses, &[], &[Tag::new("note", "multi\nline")])
        .unwrap();
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "trained").unwrap();
    client.log_artifact(&id, &notes, Some("docs")).unwrap();
    client
        .log_inputs(
            &id,
            &[DatasetInput {
                tags: vec![Tag::new("mlflow.data.context", "train")],
                dataset: Dataset {
                    name: "companies".into(),
                    digest: "d1g3st".into(),
                    source_type: "local".into(),
                    source: r#"{"uri": "companies.csv"}"#.into(),
                    ..Dataset::default()
                },
            }],
            &[],
        )
        .unwrap();
    let logged = client
        .log_model(&id, "model", &model_dir(tmp.path()))
        .unwrap();
    let model_id = logged.model_id.clone().unwrap();
    let acc = Metric {
        model_id: Some(model_id.clone()),
        ..Metric::new("acc", 0.9, 0)
    };
    client.log_batch(&id, &[acc], &[], &[]).unwrap();
    let version = client
        .register_model(&logged, "sql-reg", Duration::from_secs(5))
        .unwrap();
    assert_eq!(version.version, "1");
    client.set_model_alias("sql-reg", "champion", "1").unwrap();
    assert_eq!(
        client
            .set_model_alias("sql-reg", "latest", "1")
            .unwrap_err()
            .kind(),
        "invalid_request"
    );
    assert_eq!(
        client
            .get_model_version_by_alias("sql-reg", "nobody")
            .unwrap_err()
            .kind(),
        "invalid_request"
    );
    client.end_run(&id, RunStatus::Finished).unwrap();

    // Tandem's own view.
    let page = client
        .search_runs(
            &RunQuery {
                order_by: vec!["metrics.loss DESC".into()],
                ..RunQuery::new([exp_id.clone()]).filter("metrics.loss < 0.3 AND tags.team = 'ml'")
            },
            None,
        )
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let models = client
        .search_logged_models(
            &LoggedModelQuery {
                experiment_ids: vec![exp_id.clone()],
                filter: Some("metrics.acc > 0.5 AND name = 'model'".into()),
                ..LoggedModelQuery::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(models.items.len(), 1);
    assert_eq!(
        client
            .search_runs(
                &RunQuery::new([exp_id.clone()]).filter("metrics.acc > 0.5 OR x"),
                None
            )
            .unwrap_err()
            .kind(),
        "invalid_request"
    );

    let tables_before = schema_of(&db);
    let out = python_json(
        READ_BACK,
        tmp.path(),
        &[("MLFLOW_TRACKING_URI", &sqlite_uri(&db))],
    );
    assert_eq!(out["default"], "Default");
    assert_eq!(out["exp_tags"], serde_json::json!({"owner": "rust"}));
    assert_eq!(out["n_found"], 1);
    assert_eq!(out["name"], "sql-run");
    assert_eq!(out["status"], "FINISHED");
    assert_eq!(out["user"], "ann");
    assert_eq!(out["params"], serde_json::json!({"alpha": "0.5"}));
    assert_eq!(out["metrics"]["loss"], "0.25");
    assert_eq!(out["metrics"]["acc"], "0.9");
    assert_eq!(out["tags"]["team"], "ml");
    assert_eq!(out["tags"]["note"], "multi\nline");
    assert_eq!(out["tags"]["mlflow.runName"], "sql-run");
    assert_eq!(
        out["history"],
        serde_json::json!([[0, "1.0"], [1, "0.5"], [2, "nan"], [3, "0.25"]])
    );
    assert_eq!(out["artifacts"], serde_json::json!(["docs/notes.txt"]));
    assert_eq!(out["notes"], "trained");
    assert_eq!(
        out["datasets"],
        serde_json::json!([["companies", "d1g3st", "mlflow.data.context", "train"]])
    );
    assert_eq!(out["model"][0], "model");
    assert_eq!(out["model"][1], "READY");
    assert_eq!(out["model"][2], id.as_str());
    assert_eq!(
        out["model"][3],
        format!(
            "{}/models/{model_id}/artifacts",
            tmp.path().join("mlruns/1").display()
        )
    );
    // `log_model` may also re-log the run's step-0 metrics onto the model,
    // as MLflow does; the one logged with the model id must be there.
    let model_metrics = out["model_metrics"].as_array().unwrap();
    assert!(
        model_metrics.contains(&serde_json::json!(["acc", 0.9, id, model_id])),
        "{model_metrics:?}"
    );
    assert_eq!(out["searched"], true);
    assert_eq!(out["none"], 0);
    assert_eq!(out["rm"], serde_json::json!(["sql-reg", {"champion": "1"}]));
    assert_eq!(
        out["mv"],
        // MLflow's SQL registry keeps no model id column: `model_id` reads
        // back as None there; the source names the model.
        serde_json::json!([
            1,
            format!("models:/{model_id}"),
            id,
            "READY",
            "None",
            null,
            ["champion"]
        ])
    );
    assert_eq!(
        out["model_files"],
        serde_json::json!(["MLmodel", "data/nested/notes.txt", "data/weights.json"])
    );
    // MLflow opened the database as it was: no migration, no new table.
    assert_eq!(revision_of(&db), "dc11669786a5");
    assert_eq!(schema_of(&db), tables_before);
}

const CREATE_FRESH: &str = r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
e = c.get_experiment("0")
print(json.dumps({"name": e.name, "location": e.artifact_location}))
"#;

#[test]
fn schema_matches_mlflows() {
    let tmp = tempfile::tempdir().unwrap();
    let theirs = tmp.path().join("mlflow-made.db");
    let ours = tmp.path().join("tandem-made.db");
    let out = python_json(
        CREATE_FRESH,
        tmp.path(),
        &[("MLFLOW_TRACKING_URI", &sqlite_uri(&theirs))],
    );
    let client = client_for(&ours);
    let default = client.get_experiment("0").unwrap();
    assert_eq!(out["name"], default.name);
    assert_eq!(out["location"], default.artifact_location);
    assert_eq!(
        default.artifact_location,
        tmp.path().join("mlruns/0").display().to_string()
    );
    let (mine, mlflows) = (schema_of(&ours), schema_of(&theirs));
    assert_eq!(mlflows.iter().filter(|e| e.0 == "table").count(), 65);
    for (a, b) in mine.iter().zip(&mlflows) {
        assert_eq!(a, b);
    }
    assert_eq!(mine.len(), mlflows.len());
    assert_eq!(revision_of(&ours), revision_of(&theirs));
    let rows = |db: &Path| -> Vec<String> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT quote(name) || quote(description) || quote(default_artifact_root) || \
                 quote(trace_archival_location) || quote(trace_archival_retention) FROM workspaces \
                 UNION ALL SELECT quote(experiment_id) || quote(name) || \
                 quote(lifecycle_stage) || quote(workspace) FROM experiments",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(rows(&ours), rows(&theirs));
    // tandem's database is in WAL mode (see the store's `connect`); MLflow
    // creates its own with a rollback journal.
    let journal = |db: &Path| -> String {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(journal(&ours), "wal");
    assert_eq!(journal(&theirs), "delete");
}

const MLFLOW_FLOW: &str = r#"
import json, os
import mlflow, mlflow.pyfunc
mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
mlflow.set_experiment("demo")
class M(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input
with mlflow.start_run(run_name="r1") as r:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metric("loss", 0.3)
    mlflow.log_metric("loss", 0.2, step=1)
    mlflow.set_tag("team", "x")
    info = mlflow.pyfunc.log_model(name="tiny", python_model=M(), params={"depth": 3, "lr": 0.1})
    mlflow.log_metric("acc", 0.9, model_id=info.model_id)
mv = mlflow.register_model(f"models:/{info.model_id}", "tiny-reg")
mlflow.MlflowClient().set_registered_model_alias("tiny-reg", "champion", mv.version)
e2 = mlflow.create_experiment("second")
print(json.dumps({"run_id": r.info.run_id, "model_id": info.model_id, "second": e2}))
"#;

const READ_TANDEM_RUN: &str = r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
exp = c.get_experiment_by_name("demo")
runs = c.search_runs([exp.experiment_id], filter_string="attributes.run_name = 'from-tandem'")
r = runs[0]
print(json.dumps({"n": len(runs), "metrics": r.data.metrics, "params": r.data.params,
                  "status": r.info.status, "n_all": len(c.search_runs([exp.experiment_id]))}))
"#;

#[test]
fn the_sqlite_store_reads_and_extends_what_mlflow_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("mlflow.db");
    let uri = sqlite_uri(&db);
    let ids = python_json(MLFLOW_FLOW, tmp.path(), &[("MLFLOW_TRACKING_URI", &uri)]);
    let (run_id, model_id) = (
        ids["run_id"].as_str().unwrap(),
        ids["model_id"].as_str().unwrap(),
    );
    let client = client_for(&db);
    let exp = client.get_experiment_by_name("demo").unwrap().unwrap();
    assert_eq!(exp.experiment_id, "1");
    assert_eq!(ids["second"], "2");
    assert_eq!(
        exp.artifact_location,
        tmp.path().join("mlruns/1").display().to_string()
    );
    let runs = client
        .list_runs(&RunQuery::new([exp.experiment_id.clone()]))
        .unwrap();
    assert_eq!(runs.len(), 1);
    let run = client.get_run(run_id).unwrap();
    assert_eq!(run.info.run_name, "r1");
    assert_eq!(run.info.status, RunStatus::Finished);
    assert_eq!(run.param("alpha"), Some("0.5"));
    assert_eq!(run.metric("loss"), Some(0.2), "the greater step wins");
    assert_eq!(run.metric("acc"), Some(0.9));
    assert_eq!(run.tag("team"), Some("x"));
    assert_eq!(run.tag("mlflow.runName"), Some("r1"));
    assert_eq!(run.outputs.model_outputs[0].model_id, model_id);
    assert_eq!(client.metric_history(run_id, "loss").unwrap().len(), 2);
    let model = client.get_logged_model(model_id).unwrap();
    assert_eq!(model.info.name, "tiny");
    assert_eq!(model.info.source_run_id.as_deref(), Some(run_id));
    assert_eq!(
        model.info.status,
        tandem_mlflow_client::LoggedModelStatus::Ready
    );
    let mut params: Vec<_> = model.data.params.iter().map(|p| p.key.as_str()).collect();
    params.sort_unstable();
    assert_eq!(params, ["alpha", "depth", "lr"]);
    assert!(
        model
            .data
            .metrics
            .iter()
            .any(|m| m.key == "acc" && m.value == 0.9 && m.run_id.as_deref() == Some(run_id))
    );
    let found = client
        .search_logged_models(
            &LoggedModelQuery {
                experiment_ids: vec![exp.experiment_id.clone()],
                filter: Some("params.depth = '3' AND metrics.acc >= 0.9".into()),
                ..LoggedModelQuery::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(found.items.len(), 1);
    let by_alias = client
        .get_model_version_by_alias("tiny-reg", "champion")
        .unwrap();
    assert_eq!(by_alias.version, "1");
    assert_eq!(by_alias.model_id.as_deref(), Some(model_id));
    assert_eq!(by_alias.current_stage, "None");
    assert_eq!(
        client.model_version_download_uri("tiny-reg", "1").unwrap(),
        model.info.artifact_uri
    );
    assert_eq!(
        client.get_registered_model("tiny-reg").unwrap().aliases[0].alias,
        "champion"
    );
    let files: Vec<String> = std::fs::read_dir(&model.info.artifact_uri)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().any(|f| f == "MLmodel"), "{files:?}");

    // Tandem writes into MLflow's database; MLflow reads it.
    let mine = client
        .create_run(&NewRun::new(&exp.experiment_id).name("from-tandem"))
        .unwrap();
    client
        .log_metric(&mine.info.run_id, "rmse", 1.5, 0)
        .unwrap();
    client.log_param(&mine.info.run_id, "k", "3").unwrap();
    client
        .end_run(&mine.info.run_id, RunStatus::Finished)
        .unwrap();
    let out = python_json(
        READ_TANDEM_RUN,
        tmp.path(),
        &[("MLFLOW_TRACKING_URI", &uri)],
    );
    assert_eq!(out["n"], 1);
    assert_eq!(out["n_all"], 2);
    assert_eq!(out["metrics"], serde_json::json!({"rmse": 1.5}));
    assert_eq!(out["params"], serde_json::json!({"k": "3"}));
    assert_eq!(out["status"], "FINISHED");
}
