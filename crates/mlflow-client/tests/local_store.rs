//! The local store against MLflow's own Python client, both directions.

use tandem_mlflow_client::{
    Dataset, DatasetInput, LoggedModelQuery, LoggedModelStatus, Metric, MlflowClient, NewRun,
    RunQuery, RunStatus, Tag,
};

use crate::support::{model_dir, python};

/// MLflow 3.x refuses file stores unless this is set.
const ALLOW: (&str, &str) = ("MLFLOW_ALLOW_FILE_STORE", "true");

const READ_BACK: &str = r#"
import json, os
from mlflow import MlflowClient
import mlflow.artifacts
uri = os.environ["STORE_URI"]
c = MlflowClient(tracking_uri=uri)
exp = c.get_experiment_by_name("local-demo")
runs = c.search_runs([exp.experiment_id])
r = runs[0]
rid = r.info.run_id
def walk(path=None):
    for f in c.list_artifacts(rid, path):
        if f.is_dir:
            yield from walk(f.path)
        else:
            yield f.path
model_id = r.outputs.model_outputs[0].model_id
model = c.get_logged_model(model_id)
dl = mlflow.artifacts.download_artifacts(f"models:/{model_id}", tracking_uri=uri)
notes = mlflow.artifacts.download_artifacts(run_id=rid, artifact_path="docs/notes.txt", tracking_uri=uri)
print(json.dumps({
    "default": c.get_experiment("0").name,
    "n_runs": len(runs),
    "name": r.info.run_name,
    "status": r.info.status,
    "params": r.data.params,
    "metrics": {k: str(v) for k, v in r.data.metrics.items()},
    "tags": r.data.tags,
    "history": [[m.step, str(m.value)] for m in c.get_metric_history(rid, "loss")],
    "artifacts": sorted(walk()),
    "notes": open(notes).read(),
    "datasets": [[d.dataset.name, d.tags[0].value] for d in r.inputs.dataset_inputs],
    "model": [model.name, str(model.status), model.source_run_id, model.params],
    # MLflow adds registered_model_meta to any models:/ download.
    "model_files": sorted(os.path.relpath(os.path.join(d, f), dl) for d, _, fs in os.walk(dl) for f in fs
                          if f != "registered_model_meta"),
    "searched": [m.model_id for m in c.search_logged_models(experiment_ids=[exp.experiment_id])] == [model_id],
}))
"#;

#[test]
fn mlflow_reads_what_the_local_store_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mlruns");
    let client = MlflowClient::local(&root).unwrap();
    let exp = client.get_or_create_experiment("local-demo").unwrap();
    let run = client
        .create_run(
            &NewRun::new(&exp.experiment_id)
                .name("local-run")
                .tag("team", "ml"),
        )
        .unwrap();
    let id = run.info.run_id.clone();
    client.log_param(&id, "alpha", "0.5").unwrap();
    client.log_param(&id, "nested/key", "1").unwrap();
    let losses: Vec<Metric> = [1.0, 0.5, f64::NAN, f64::INFINITY]
        .into_iter()
        .enumerate()
        .map(|(i, v)| Metric::new("loss", v, i as i64))
        .collect();
    client
        .log_batch(&id, &losses, &[], &[Tag::new("note", "multi\nline")])
        .unwrap();
    client.log_metric(&id, "acc", 0.9, 0).unwrap();
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
    client.end_run(&id, RunStatus::Finished).unwrap();

    let uri = url::Url::from_file_path(&root).unwrap().to_string();
    // download_artifacts resolves models:/ through the global tracking URI.
    let out = python(
        READ_BACK,
        &[ALLOW, ("STORE_URI", &uri), ("MLFLOW_TRACKING_URI", &uri)],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(v["default"], "Default");
    assert_eq!(v["n_runs"], 1);
    assert_eq!(v["name"], "local-run");
    assert_eq!(v["status"], "FINISHED");
    assert_eq!(
        v["params"],
        serde_json::json!({"alpha": "0.5", "nested/key": "1"})
    );
    assert_eq!(v["metrics"]["loss"], "inf");
    assert_eq!(v["metrics"]["acc"], "0.9");
    assert_eq!(v["tags"]["team"], "ml");
    assert_eq!(v["tags"]["note"], "multi\nline");
    assert_eq!(v["tags"]["mlflow.runName"], "local-run");
    assert_eq!(
        v["history"],
        serde_json::json!([[0, "1.0"], [1, "0.5"], [2, "nan"], [3, "inf"]])
    );
    assert_eq!(v["artifacts"], serde_json::json!(["docs/notes.txt"]));
    assert_eq!(v["notes"], "trained");
    assert_eq!(v["datasets"], serde_json::json!([["companies", "train"]]));
    assert_eq!(v["model"][0], "model");
    assert_eq!(v["model"][1], "READY");
    assert_eq!(v["model"][2], id.as_str());
    assert_eq!(
        v["model_files"],
        serde_json::json!(["MLmodel", "data/nested/notes.txt", "data/weights.json"])
    );
    assert_eq!(v["searched"], true);
    assert!(logged.artifact_uri.starts_with("file://"));
}

const WRITE: &str = r#"
import json, os
import mlflow
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
c = MlflowClient(tracking_uri=os.environ["STORE_URI"])
eid = c.create_experiment("from-python", tags={"owner": "py"})
r = c.create_run(eid, run_name="py-run")
rid = r.info.run_id
c.log_param(rid, "lr", "0.01")
for i, v in enumerate([3.0, float("nan"), 1e-05]):
    c.log_metric(rid, "loss", v, step=i, timestamp=1000 + i)
c.set_tag(rid, "k", "v")
p = os.path.join(os.environ["WORK"], "a.txt")
open(p, "w").write("from python")
c.log_artifact(rid, p, "sub")
m = c.create_logged_model(eid, name="pymodel", source_run_id=rid, params={"depth": "3"})
c.finalize_logged_model(m.model_id, LoggedModelStatus.READY)
c.set_terminated(rid, "FAILED")
print(json.dumps({"run_id": rid, "model_id": m.model_id, "experiment_id": eid}))
"#;

#[test]
fn the_local_store_reads_what_mlflow_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mlruns");
    let uri = url::Url::from_file_path(&root).unwrap().to_string();
    let work = tmp.path().display().to_string();
    let out = python(WRITE, &[ALLOW, ("STORE_URI", &uri), ("WORK", &work)]);
    let ids: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    let (run_id, model_id) = (
        ids["run_id"].as_str().unwrap(),
        ids["model_id"].as_str().unwrap(),
    );

    let client = MlflowClient::local(&root).unwrap();
    let exp = client
        .get_experiment_by_name("from-python")
        .unwrap()
        .unwrap();
    assert_eq!(exp.experiment_id, ids["experiment_id"].as_str().unwrap());
    assert_eq!(exp.tags, [Tag::new("owner", "py")]);
    let runs = client
        .list_runs(&RunQuery::new([exp.experiment_id.clone()]))
        .unwrap();
    assert_eq!(runs.len(), 1);
    let run = client.get_run(run_id).unwrap();
    assert_eq!(run.info.status, RunStatus::Failed);
    assert_eq!(run.info.run_name, "py-run");
    assert_eq!(run.param("lr"), Some("0.01"));
    assert_eq!(run.tag("k"), Some("v"));
    assert_eq!(run.metric("loss"), Some(1e-5));
    let history = client.metric_history(run_id, "loss").unwrap();
    assert_eq!(history.len(), 3);
    assert!(history[1].value.is_nan());
    assert_eq!(history[0].timestamp, 1000);
    let files = client.list_artifacts(run_id, Some("sub")).unwrap();
    assert_eq!(files[0].path, "sub/a.txt");
    let got = client
        .download_artifacts(run_id, "sub/a.txt", &tmp.path().join("dl"))
        .unwrap();
    assert_eq!(std::fs::read_to_string(got).unwrap(), "from python");
    let model = client.get_logged_model(model_id).unwrap();
    assert_eq!(model.info.status, LoggedModelStatus::Ready);
    assert_eq!(model.info.name, "pymodel");
    assert_eq!(model.data.params[0].value, "3");
    let found = client
        .search_logged_models(
            &LoggedModelQuery {
                filter: Some(format!("source_run_id = '{run_id}'")),
                ..LoggedModelQuery::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(found.items.len(), 1);

    // The run keeps accepting values from this side.
    client.log_metric(run_id, "loss", 0.5, 3).unwrap();
    assert_eq!(client.metric_history(run_id, "loss").unwrap().len(), 4);
}

const FINISH: &str = r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=os.environ["STORE_URI"])
out = {}
for rid in os.environ["RUN_IDS"].split(","):
    c.set_terminated(rid, "FINISHED")
    out[rid] = c.get_run(rid).info.status
print(json.dumps(out))
"#;

/// MLflow's file store takes a run without an `artifacts` folder for a
/// missing one: a run that only logs a model has none of its own files, and
/// runs written before tandem made the folder are given it when the store
/// opens.
#[test]
fn mlflow_gets_and_terminates_every_run_of_the_local_store() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mlruns");
    let client = MlflowClient::local(&root).unwrap();
    let exp = client.get_or_create_experiment("model-only").unwrap();
    let model_only = client
        .create_run(&NewRun::new(&exp.experiment_id))
        .unwrap()
        .info
        .run_id;
    client
        .log_model(&model_only, "model", &model_dir(tmp.path()))
        .unwrap();
    let older = client
        .create_run(&NewRun::new(&exp.experiment_id))
        .unwrap()
        .info
        .run_id;
    let older_artifacts = root.join(&exp.experiment_id).join(&older).join("artifacts");
    std::fs::remove_dir(&older_artifacts).unwrap();
    drop(client);
    MlflowClient::local(&root).unwrap();
    assert!(
        older_artifacts.is_dir(),
        "opening the store repairs the run"
    );

    let uri = url::Url::from_file_path(&root).unwrap().to_string();
    let ids = format!("{model_only},{older}");
    let out = python(FINISH, &[ALLOW, ("STORE_URI", &uri), ("RUN_IDS", &ids)]);
    let v: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(v[&model_only], "FINISHED");
    assert_eq!(v[&older], "FINISHED");
}
