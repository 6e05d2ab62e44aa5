//! Nothing created twice: every create whose answer is lost after the
//! server acted (the proxy forwards it, then drops or holds the answer) is
//! found again on retry instead of repeated.

use std::time::Duration;

use tandem_mlflow_client::{
    Config, Credentials, LoggedModelQuery, LoggedModelStatus, MlflowClient, NewRun, RunQuery,
    ViewType,
};
use tandem_test_support::mlflow::server;

use crate::support::{client, client_for, model_dir, quick_retry, unique};
use tandem_test_support::proxy::{Fault, FaultMix, Proxy};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn lost_answers_to_creates_never_duplicate_models_versions_or_move_aliases() {
    let proxy = Proxy::start(server().port, FaultMix::NONE, Vec::new());
    let flaky = client_for(&proxy.uri(), Credentials::None);
    let direct = client();
    let exp = direct.get_or_create_experiment(&unique("once")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let name = unique("once-reg");

    // Every create of the model-logging sequence loses its first answer.
    for create in [
        "POST /api/2.0/mlflow/runs/create",
        "POST /api/2.0/mlflow/logged-models ",
        "POST /api/2.0/mlflow/runs/outputs",
        "POST /api/2.0/mlflow/registered-models/create",
        "POST /api/2.0/mlflow/model-versions/create",
    ] {
        proxy.aim(create, Fault::DropAfter, 1);
    }
    let run_id = flaky
        .create_run(&NewRun::new(&exp.experiment_id))
        .unwrap()
        .info
        .run_id;
    let logged = flaky.log_model(&run_id, "model", &model).unwrap();
    let v1 = flaky.register_model(&logged, &name, WAIT).unwrap();
    assert_eq!(v1.version, "1");
    flaky
        .set_model_alias(&name, "champion", &v1.version)
        .unwrap();
    assert_eq!(
        proxy
            .faults()
            .iter()
            .filter(|f| **f == Fault::DropAfter)
            .count(),
        5,
        "every create lost an answer"
    );

    // A second version whose answer is held back past the client's timeout:
    // the retry finds it, so the alias stays on version 1 and no version 3.
    let impatient = MlflowClient::new(
        Config::default()
            .with_tracking_uri(proxy.uri())
            .with_timeout(Duration::from_millis(1500))
            .with_retry(quick_retry(6)),
    )
    .unwrap();
    proxy.set_delay(Duration::from_secs(4));
    proxy.aim("POST /api/2.0/mlflow/model-versions/create", Fault::Late, 1);
    let v2 = impatient.register_model(&logged, &name, WAIT).unwrap();
    assert_eq!(v2.version, "2");
    assert!(proxy.faults().contains(&Fault::Late));

    let mut runs = RunQuery::new([exp.experiment_id.clone()]);
    runs.view = ViewType::All;
    assert_eq!(direct.list_runs(&runs).unwrap().len(), 1, "duplicate run");
    let models = direct
        .search_logged_models(
            &LoggedModelQuery {
                experiment_ids: vec![exp.experiment_id.clone()],
                ..LoggedModelQuery::default()
            },
            None,
        )
        .unwrap()
        .items;
    assert_eq!(models.len(), 1, "an orphan logged model: {models:?}");
    assert_eq!(models[0].info.status, LoggedModelStatus::Ready);
    let outputs = direct.get_run(&run_id).unwrap().outputs.model_outputs;
    assert_eq!(outputs.len(), 1);
    let versions = direct
        .search_model_versions(Some(&format!("name='{name}'")))
        .unwrap();
    assert_eq!(versions.len(), 2, "duplicate versions: {versions:?}");
    let champion = direct
        .get_model_version_by_alias(&name, "champion")
        .unwrap();
    assert_eq!(champion.version, "1", "the alias moved");
}
