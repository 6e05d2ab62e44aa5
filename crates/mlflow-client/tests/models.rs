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
