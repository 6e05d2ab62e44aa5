//! Logged models (MLflow 3 and the 2.x fallback), the registry and model URIs.

use std::time::Duration;

use tandem_mlflow_client::{LoggedModelQuery, LoggedModelStatus, NewRun};
use tandem_test_support::mlflow::server;

use crate::support::{client, client_for, model_dir, tree, unique};
use tandem_test_support::proxy::{FaultMix, Proxy};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn logged_model_registry_aliases_and_uris() {
    let client = client();
    let exp = client.get_or_create_experiment(&unique("models")).unwrap();
    let run = client.create_run(&NewRun::new(&exp.experiment_id)).unwrap();
    let run_id = run.info.run_id.clone();
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());

    let logged = client.log_model(&run_id, "model", &model).unwrap();
    let model_id = logged.model_id.clone().unwrap();
    assert!(model_id.starts_with("m-"));
    assert_eq!(logged.model_uri, format!("models:/{model_id}"));
    assert!(
        logged
            .artifact_uri
            .ends_with(&format!("/models/{model_id}/artifacts"))
    );
    let info = client.get_logged_model(&model_id).unwrap().info;
    assert_eq!(info.status, LoggedModelStatus::Ready);
    assert_eq!(info.source_run_id.as_deref(), Some(run_id.as_str()));
    let run = client.get_run(&run_id).unwrap();
    assert_eq!(run.outputs.model_outputs[0].model_id, model_id);
    let found = client
        .search_logged_models(
            &LoggedModelQuery {
                experiment_ids: vec![exp.experiment_id.clone()],
                filter: Some("name = 'model'".into()),
                ..LoggedModelQuery::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(found.items.len(), 1);

    let expected = tree(&model);
    let listed = client.list_artifacts_at(&logged.model_uri).unwrap();
    let names: Vec<&str> = listed.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(names, ["MLmodel", "data"]);
    let got = client
        .download_uri(&logged.model_uri, &tmp.path().join("dl-id"))
        .unwrap();
    assert_eq!(tree(&got), expected);

    let name = unique("registered");
    let v1 = client.register_model(&logged, &name, WAIT).unwrap();
    assert_eq!(v1.version, "1");
    assert_eq!(v1.source, format!("models:/{model_id}"));
    // Registering again: the existing registered model is tolerated.
    let v2 = client.register_model(&logged, &name, WAIT).unwrap();
    assert_eq!(v2.version, "2");

    client.set_model_alias(&name, "champion", "1").unwrap();
    assert_eq!(
        client
            .get_model_version_by_alias(&name, "champion")
            .unwrap()
            .version,
        "1"
    );
    let reserved = client.set_model_alias(&name, "latest", "1").unwrap_err();
    assert_eq!(reserved.kind(), "invalid_request");
    for uri in [
        format!("models:/{name}/1"),
        format!("models:/{name}@champion"),
        format!("models:/{name}"),
        format!("runs:/{run_id}/model"),
    ] {
        let dst = tmp.path().join(format!("dl-{}", unique("u")));
        let got = client.download_uri(&uri, &dst).unwrap();
        assert_eq!(tree(&got), expected, "{uri}");
    }
    let single = client
        .download_uri(&format!("models:/{model_id}"), &tmp.path().join("whole"))
        .unwrap();
    assert!(single.join("MLmodel").is_file());
    client.delete_model_alias(&name, "champion").unwrap();
    let unknown = client
        .get_model_version_by_alias(&name, "champion")
        .unwrap_err();
    assert_eq!(unknown.kind(), "invalid_request", "{unknown}");

    let versions = client
        .search_model_versions(Some(&format!("name='{name}'")))
        .unwrap();
    assert_eq!(versions.len(), 2);
    assert!(
        client
            .model_version_download_uri(&name, "2")
            .unwrap()
            .contains(&model_id)
    );
}

#[test]
fn servers_without_logged_models_get_the_2x_layout() {
    // The proxy plays an MLflow 2.x server: no logged-model routes (HTML 404).
    let not_found = "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>".to_owned();
    let proxy = Proxy::start(
        server().port,
        FaultMix::NONE,
        vec![(
            "/api/2.0/mlflow/logged-models".into(),
            404,
            "text/html",
            not_found,
        )],
    );
    let client = client_for(&proxy.uri(), tandem_mlflow_client::Credentials::None);
    let run_id = crate::support::new_run(&client, "legacy");
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());

    let logged = client.log_model(&run_id, "model", &model).unwrap();
    assert_eq!(logged.model_id, None);
    assert_eq!(logged.model_uri, format!("runs:/{run_id}/model"));
    let run = client.get_run(&run_id).unwrap();
    let history: serde_json::Value =
        serde_json::from_str(run.tag("mlflow.log-model.history").unwrap()).unwrap();
    assert_eq!(history[0]["artifact_path"], "model");
    assert_eq!(history[0]["run_id"], run_id.as_str());
    assert_eq!(history[0]["flavors"]["rust_linear"]["format_version"], 1);

    let got = client
        .download_artifacts(&run_id, "model", &tmp.path().join("dl"))
        .unwrap();
    assert_eq!(tree(&got), tree(&model));
    let version = client
        .register_model(&logged, &unique("legacy-reg"), WAIT)
        .unwrap();
    assert_eq!(version.run_id, run_id);
    assert!(version.source.ends_with("/model"), "{}", version.source);
}

/// What MLflow's Python client reads back of a logged model: its params,
/// tags and metrics, its `MLmodel`'s identity and a metric search.
const READ_MODEL: &str = r#"
import json, os, mlflow
from mlflow import MlflowClient
client = MlflowClient(os.environ["STORE_URI"])
model = client.get_logged_model(os.environ["MODEL_ID"])
info = mlflow.models.get_model_info("models:/" + os.environ["MODEL_ID"])
found = mlflow.search_logged_models(
    experiment_ids=[model.experiment_id],
    filter_string="metrics.acc > 0.5",
    output_format="list",
)
print(json.dumps({
    "params": model.params,
    "tags": model.tags,
    "metrics": sorted([m.key, m.value, m.step, m.model_id, m.run_id] for m in model.metrics),
    "mlflow_version": info.mlflow_version,
    "model_id": info.model_id,
    "model_uuid": info.model_uuid,
    "artifact_path": info.artifact_path,
    "run_id": info.run_id,
    "found": [m.model_id for m in found],
}))
"#;

/// A run as MLflow's fluent API leaves it before `log_model`: params,
/// provenance tags, metrics at step 0 (and one later, which stays the
/// run's); then the model logged with a clashing explicit param.
fn log_with_run_values(client: &tandem_mlflow_client::MlflowClient) -> (String, String) {
    use tandem_mlflow_client::{Metric, Param, Tag};
    let exp = client
        .get_or_create_experiment(&unique("model-log"))
        .unwrap();
    let run = client
        .create_run(
            &NewRun::new(&exp.experiment_id)
                .tag("mlflow.user", "alice")
                .tag("mlflow.source.name", "train.py")
                .tag("mlflow.source.type", "LOCAL")
                .tag(
                    "mlflow.source.git.commit",
                    "0123456789abcdef0123456789abcdef01234567",
                )
                .tag("team", "x"),
        )
        .unwrap();
    let run_id = run.info.run_id;
    client
        .log_batch(
            &run_id,
            &[
                Metric::new("acc", 0.9, 0),
                Metric::new("loss", 0.3, 0),
                Metric::new("later", 1.0, 1),
            ],
            &[Param::new("lr", "from_run"), Param::new("alpha", "0.5")],
            &[Tag::new("other", "y")],
        )
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = model_dir(tmp.path());
    let logged = client
        .log_model_with_params(
            &run_id,
            "model",
            &dir,
            &[Param::new("lr", "explicit"), Param::new("depth", "3")],
        )
        .unwrap();
    let model_id = logged.model_id.unwrap();
    // The local MLmodel now says what was uploaded.
    let local = std::fs::read_to_string(dir.join("MLmodel")).unwrap();
    assert!(local.contains(&format!("model_id: {model_id}")), "{local}");
    (run_id, model_id)
}

fn check_read_back(v: &serde_json::Value, run_id: &str, model_id: &str) {
    assert_eq!(
        v["params"],
        serde_json::json!({"alpha": "0.5", "depth": "3", "lr": "from_run"})
    );
    let tags = &v["tags"];
    assert_eq!(tags["mlflow.user"], "alice");
    assert_eq!(tags["mlflow.source.name"], "train.py");
    assert_eq!(tags["mlflow.source.type"], "LOCAL");
    assert_eq!(
        tags["mlflow.source.git.commit"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(tags.get("team"), None, "only provenance is copied: {tags}");
    assert_eq!(
        v["metrics"],
        serde_json::json!([
            ["acc", 0.9, 0, model_id, run_id],
            ["loss", 0.3, 0, model_id, run_id],
        ])
    );
    assert_eq!(v["mlflow_version"], "3.17.2");
    assert_eq!(v["model_id"], model_id);
    assert_eq!(v["model_uuid"], model_id);
    assert_eq!(v["run_id"], run_id);
    assert!(
        v["artifact_path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/models/{model_id}/artifacts")),
        "{}",
        v["artifact_path"]
    );
    assert_eq!(v["found"], serde_json::json!([model_id]));
}

#[test]
fn a_logged_model_carries_the_runs_params_provenance_and_metrics() {
    let client = client();
    let (run_id, model_id) = log_with_run_values(&client);
    let uri = server().uri.clone();
    let out = crate::support::python(
        READ_MODEL,
        &[
            ("STORE_URI", &uri),
            ("MLFLOW_TRACKING_URI", &uri),
            ("MODEL_ID", &model_id),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    check_read_back(&v, &run_id, &model_id);
    // The run's history holds the linked copies too, as MLflow's does.
    let history = client.metric_history(&run_id, "acc").unwrap();
    assert!(history.iter().any(|m| m.model_id.is_none()), "{history:?}");

    // Registering tags the model with its versions, appended.
    let logged = tandem_mlflow_client::LoggedModelRef {
        model_id: Some(model_id.clone()),
        model_uri: format!("models:/{model_id}"),
        artifact_uri: String::new(),
        run_id: run_id.clone(),
    };
    let name = unique("tagged");
    client.register_model(&logged, &name, WAIT).unwrap();
    client.register_model(&logged, &name, WAIT).unwrap();
    let tags = client.get_logged_model(&model_id).unwrap().info.tags;
    let versions = tags
        .iter()
        .find(|t| t.key == "mlflow.modelVersions")
        .unwrap();
    assert_eq!(
        versions.value,
        format!(r#"[{{"name": "{name}", "version": 1}}, {{"name": "{name}", "version": 2}}]"#)
    );
}

#[test]
fn a_locally_logged_model_reads_back_the_same_in_mlflow() {
    let root = tempfile::tempdir().unwrap();
    let client = tandem_mlflow_client::MlflowClient::local(root.path().join("mlruns")).unwrap();
    let (run_id, model_id) = log_with_run_values(&client);
    let uri = url::Url::from_file_path(root.path().join("mlruns"))
        .unwrap()
        .to_string();
    let out = crate::support::python(
        READ_MODEL,
        &[
            ("MLFLOW_ALLOW_FILE_STORE", "true"),
            ("STORE_URI", &uri),
            ("MLFLOW_TRACKING_URI", &uri),
            ("MODEL_ID", &model_id),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    check_read_back(&v, &run_id, &model_id);
}
