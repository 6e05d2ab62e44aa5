//! Authentication: MLflow's basic-auth app, bearer tokens, and secrets kept
//! out of errors and `Debug` output.

use tandem_mlflow_client::{Config, Credentials, MlflowClient, NewRun, Secret};
use tandem_test_support::mlflow::{ADMIN, ADMIN_PASSWORD, auth_server, server};

use crate::support::{admin, client_for, unique};
use tandem_test_support::proxy::{FaultMix, Proxy};

#[test]
fn basic_auth_server_accepts_the_right_credentials_only() {
    let server = auth_server();
    let client = client_for(&server.uri, admin());
    let exp = client.get_or_create_experiment(&unique("auth")).unwrap();
    let run = client.create_run(&NewRun::new(&exp.experiment_id)).unwrap();
    client.log_metric(&run.info.run_id, "m", 1.0, 0).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a.txt");
    std::fs::write(&file, "guarded").unwrap();
    client.log_artifact(&run.info.run_id, &file, None).unwrap();
    let got = client
        .download_artifacts(&run.info.run_id, "a.txt", tmp.path())
        .unwrap();
    assert_eq!(std::fs::read_to_string(got).unwrap(), "guarded");
    assert!(!format!("{client:?}").contains(ADMIN_PASSWORD));

    let wrong = client_for(
        &server.uri,
        Credentials::Basic {
            username: ADMIN.into(),
            password: Secret::new("not-the-password-xyz"),
        },
    );
    let err = wrong.get_experiment(&exp.experiment_id).unwrap_err();
    assert_eq!(err.kind(), "unauthenticated", "{err}");
    assert_eq!(err.status(), Some(401));
    assert!(!err.to_string().contains("not-the-password-xyz"));

    let anonymous = client_for(&server.uri, Credentials::None);
    assert_eq!(
        anonymous.get_experiment("0").unwrap_err().kind(),
        "unauthenticated"
    );

    // Credentials may also come in the tracking URI (moved to the header).
    let in_uri = format!("http://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{}", server.port);
    let from_uri = MlflowClient::new(Config::default().with_tracking_uri(in_uri)).unwrap();
    assert_eq!(
        from_uri.get_experiment(&exp.experiment_id).unwrap().name,
        exp.name
    );
    assert!(!from_uri.tracking_uri().contains(ADMIN_PASSWORD));
    assert!(!format!("{from_uri:?}").contains(ADMIN_PASSWORD));
}

#[test]
fn bearer_tokens_are_sent_as_authorization_headers() {
    let proxy = Proxy::start(server().port, FaultMix::NONE, Vec::new());
    let client = client_for(&proxy.uri(), Credentials::Bearer(Secret::new("tok-4242")));
    client.get_experiment("0").unwrap();
    let heads = proxy.heads();
    assert!(
        heads.iter().any(|h| h
            .lines()
            .any(|l| l.eq_ignore_ascii_case("authorization: Bearer tok-4242"))),
        "{heads:?}"
    );
    assert!(!format!("{client:?}").contains("tok-4242"));
}

#[test]
fn credentials_never_reach_an_artifact_host_or_a_redirect_target() {
    // A second loopback listener stands in for another host: it answers
    // every request 200 and records the headers it got.
    let elsewhere = Proxy::start(
        server().port,
        FaultMix::NONE,
        vec![("/".into(), 200, "application/json", "{}".into())],
    );
    // The tracking server hands out a run whose artifact URI names that host.
    let run = serde_json::json!({"run": {"info": {
        "run_id": "r1", "experiment_id": "0", "status": "RUNNING",
        "artifact_uri": format!("mlflow-artifacts://127.0.0.1:{}/0/r1/artifacts", elsewhere.port),
    }}});
    let proxy = Proxy::start(
        server().port,
        FaultMix::NONE,
        vec![(
            "/api/2.0/mlflow/runs/get".into(),
            200,
            "application/json",
            run.to_string(),
        )],
    );
    let client = client_for(&proxy.uri(), admin());
    let run_id = "r1";
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a.txt");
    std::fs::write(&file, "x").unwrap();
    client.log_artifact(run_id, &file, None).unwrap();
    // And the tracking server redirects a request to that host.
    proxy.redirect(
        "/api/2.0/mlflow/experiments/get",
        &format!(
            "http://127.0.0.1:{}/api/2.0/mlflow/experiments/get",
            elsewhere.port
        ),
    );
    let _ = client.get_experiment("0");

    let authorized = |h: &String| {
        h.lines()
            .any(|l| l.to_ascii_lowercase().starts_with("authorization:"))
    };
    assert!(
        proxy.heads().iter().any(authorized),
        "the tracking server got them"
    );
    let got = elsewhere.heads();
    assert!(got.iter().any(|h| h.starts_with("PUT ")), "{got:?}");
    assert!(got.iter().any(|h| h.starts_with("GET ")), "{got:?}");
    assert!(!got.iter().any(authorized), "credentials leaked: {got:?}");
}
