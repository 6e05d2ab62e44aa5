//! Resilience: a run logged through a proxy that fails and drops a share of
//! requests loses nothing and exists once; a spent budget fails clearly.

use std::sync::mpsc;
use std::time::Duration;

use tandem_mlflow_client::{
    Config, Credentials, ErrorCode, Metric, MlflowClient, NewRun, Param, RetryPolicy, RunQuery,
    RunStatus, Tag, ViewType,
};
use tandem_test_support::mlflow::server;

use crate::support::{client, client_for, tree, unique};
use tandem_test_support::proxy::{Fault, FaultMix, Proxy};

#[test]
fn a_flaky_network_loses_nothing_and_duplicates_nothing() {
    let mix = FaultMix {
        unavailable: 15,
        too_many: 10,
        drop_before: 10,
        drop_after: 10,
    };
    let proxy = Proxy::start(server().port, mix, Vec::new());
    let flaky = client_for(&proxy.uri(), Credentials::None);
    let direct = client();
    let exp = direct.get_or_create_experiment(&unique("flaky")).unwrap();

    let mut run_ids = Vec::new();
    for i in 0..4 {
        let run = flaky
            .create_run(&NewRun::new(&exp.experiment_id).name(format!("run{i}")))
            .unwrap();
        run_ids.push(run.info.run_id);
    }
    let run_id = run_ids[0].clone();
    for i in 0..10 {
        flaky
            .log_param(&run_id, &format!("single{i}"), "v")
            .unwrap();
        flaky
            .log_metric(&run_id, "single", f64::from(i), i64::from(i))
            .unwrap();
        flaky.set_tag(&run_id, &format!("tag{i}"), "t").unwrap();
    }
    let metrics: Vec<Metric> = (0..1500)
        .map(|i| Metric::new("batch", i as f64, i).at(1_000 + i))
        .collect();
    let params: Vec<Param> = (0..120).map(|i| Param::new(format!("p{i}"), "x")).collect();
    let tags: Vec<Tag> = (0..30).map(|i| Tag::new(format!("bt{i}"), "y")).collect();
    flaky.log_batch(&run_id, &metrics, &params, &tags).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("files");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    for i in 0..8 {
        std::fs::write(src.join(format!("sub/f{i}.txt")), format!("content {i}")).unwrap();
    }
    flaky.log_artifacts(&run_id, &src, Some("out")).unwrap();
    flaky.end_run(&run_id, RunStatus::Finished).unwrap();

    let faults = proxy.faults();
    for kind in [
        Fault::Unavailable,
        Fault::TooMany,
        Fault::DropBefore,
        Fault::DropAfter,
    ] {
        assert!(faults.contains(&kind), "{kind:?} never injected");
    }

    // Checked on a direct connection: exactly the runs asked for, everything in them.
    let mut query = RunQuery::new([exp.experiment_id.clone()]);
    query.view = ViewType::All;
    let runs = direct.list_runs(&query).unwrap();
    assert_eq!(runs.len(), 4, "duplicate or missing runs");
    let run = direct.get_run(&run_id).unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    assert_eq!(run.data.params.len(), 130);
    for i in 0..10 {
        assert_eq!(run.tag(&format!("tag{i}")), Some("t"));
    }
    assert_eq!(run.tag("bt29"), Some("y"));
    assert_eq!(direct.metric_history(&run_id, "single").unwrap().len(), 10);
    let mut history: Vec<i64> = direct
        .metric_history(&run_id, "batch")
        .unwrap()
        .iter()
        .map(|m| m.step)
        .collect();
    history.sort_unstable();
    assert_eq!(history, (0..1500).collect::<Vec<_>>());
    let got = direct
        .download_artifacts(&run_id, "out", &tmp.path().join("dl"))
        .unwrap();
    assert_eq!(tree(&got), tree(&src));
}

#[test]
fn a_spent_retry_budget_is_a_clear_error() {
    let mix = FaultMix {
        unavailable: 100,
        too_many: 0,
        drop_before: 0,
        drop_after: 0,
    };
    let proxy = Proxy::start(server().port, mix, Vec::new());
    let policy = RetryPolicy {
        max_retries: 3,
        backoff_factor: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        jitter: Duration::ZERO,
        budget: Duration::from_secs(30),
    };
    let client = MlflowClient::new(
        Config::default()
            .with_tracking_uri(proxy.uri())
            .with_retry(policy),
    )
    .unwrap();
    let err = client.get_experiment("0").unwrap_err();
    assert_eq!(err.kind(), "retries_exhausted", "{err}");
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.code(), Some(&ErrorCode::TemporarilyUnavailable));
    let text = err.to_string();
    assert!(
        text.contains("GET /api/2.0/mlflow/experiments/get: gave up after 4 attempts"),
        "{text}"
    );
    assert_eq!(proxy.faults().len(), 4);

    // The time budget also bounds a server that asks to wait too long: a
    // `Retry-After` past the budget ends the call at once, retries to spare.
    proxy.set_retry_after(3600);
    let patient = RetryPolicy {
        budget: Duration::from_secs(20),
        max_retries: 50,
        ..RetryPolicy::default()
    };
    let client = MlflowClient::new(
        Config::default()
            .with_tracking_uri(proxy.uri())
            .with_retry(patient),
    )
    .unwrap();
    let before = proxy.faults().len();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(client.create_run(&NewRun::new("0")).map(|_| ()));
    });
    // Only a guard against hanging (the client sleeping the hour it was
    // asked to): what is checked is how many requests the server saw.
    let err = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the client waited out the Retry-After")
        .unwrap_err();
    assert_eq!(err.kind(), "retries_exhausted", "{err}");
    let text = err.to_string();
    assert!(text.contains("gave up after 1 attempts"), "{text}");
    assert!(text.contains("(retry budget 20s)"), "{text}");
    assert_eq!(proxy.faults().len() - before, 1, "retried past the budget");
}

#[test]
fn a_dead_server_fails_an_operation_within_one_budget_and_names_it() {
    let proxy = Proxy::start(server().port, FaultMix::NONE, Vec::new());
    // MLflow's schedule (immediate retry, then 2 s × 2^n) under a 1 s
    // budget: the first retry fits, the second (4 s) does not. Far more
    // retries are allowed, so the budget is what stops the operation.
    let policy = RetryPolicy {
        max_retries: 100,
        jitter: Duration::ZERO,
        budget: Duration::from_secs(1),
        ..RetryPolicy::default()
    };
    let client = MlflowClient::new(
        Config::default()
            .with_tracking_uri(proxy.uri())
            .with_retry(policy),
    )
    .unwrap();
    let run_id = crate::support::new_run(&client, "dead");
    proxy.set_dead(true);

    // 1,500 metrics and 150 params are several requests; they share one
    // budget, so the operation stops after the first request's 2 attempts.
    let metrics: Vec<Metric> = (0..1500).map(|i| Metric::new("m", 1.0, i)).collect();
    let params: Vec<Param> = (0..150).map(|i| Param::new(format!("p{i}"), "x")).collect();
    let err = client
        .log_batch(&run_id, &metrics, &params, &[])
        .unwrap_err();
    assert_eq!(err.kind(), "retries_exhausted", "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("log_batch for run {run_id}: POST /api/2.0/mlflow/runs/log-batch: gave up after 2 attempts")),
        "{text}"
    );
    assert_eq!(proxy.count("POST /api/2.0/mlflow/runs/log-batch"), 2);

    // Cleanup after a failure has a hard budget of its own, attempts
    // included: with none left, each request is tried once at most.
    let err = client
        .operation_within("mark run FAILED", Duration::ZERO, || {
            client.end_run(&run_id, RunStatus::Failed)
        })
        .unwrap_err();
    assert!(err.to_string().starts_with("mark run FAILED: "), "{err}");
    assert!(proxy.count("POST /api/2.0/mlflow/runs/update") <= 1);
}
