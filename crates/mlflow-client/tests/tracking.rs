//! Experiments, runs, params, metrics, tags, batches and inputs on a real server.

use std::time::Duration;

use serde_json::json;
use tandem_mlflow_client::{
    Dataset, DatasetInput, ErrorCode, Metric, Param, RunQuery, RunStatus, Tag, ViewType,
};
use tandem_test_support::http;
use tandem_test_support::mlflow::server;

use crate::support::{client, unique};

#[test]
fn experiments_get_or_create_races_and_deleted_ones() {
    let client = client();
    let name = unique("race");
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    client
                        .get_or_create_experiment(&name)
                        .unwrap()
                        .experiment_id
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    let again = client.get_or_create_experiment(&name).unwrap();
    assert_eq!(again.experiment_id, ids[0]);
    assert!(again.artifact_location.starts_with("mlflow-artifacts:/"));

    let dup = client.create_experiment(&name, None, &[]).unwrap_err();
    assert!(dup.is_already_exists(), "{dup}");
    assert_eq!(dup.status(), Some(400));

    let doomed = unique("deleted");
    let id = client
        .create_experiment(&doomed, None, &[Tag::new("team", "x")])
        .unwrap();
    let deleted = http::send_json(
        server().port,
        "POST",
        "/api/2.0/mlflow/experiments/delete",
        &json!({"experiment_id": id}),
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    let found = client.get_experiment_by_name(&doomed).unwrap().unwrap();
    assert!(found.is_deleted());
    let err = client.get_or_create_experiment(&doomed).unwrap_err();
    assert!(err.to_string().contains("is deleted"), "{err}");
    assert!(
        client
            .get_experiment_by_name(&unique("absent"))
            .unwrap()
            .is_none()
    );

    let names: Vec<String> = (0..3).map(|i| unique(&format!("page{i}"))).collect();
    for n in &names {
        client.create_experiment(n, None, &[]).unwrap();
    }
    let first = client
        .search_experiments(ViewType::ActiveOnly, 1, None)
        .unwrap();
    assert_eq!(first.items.len(), 1);
    assert!(first.next_page_token.is_some());
    let all = client.list_experiments(ViewType::All).unwrap();
    for n in names.iter().chain([&doomed]) {
        assert!(all.iter().any(|e| &e.name == n), "{n} missing");
    }
}

#[test]
fn runs_values_and_typed_errors() {
    let client = client();
    let exp = client.get_or_create_experiment(&unique("runs")).unwrap();
    let run = client
        .create_run(
            &tandem_mlflow_client::NewRun::new(&exp.experiment_id)
                .name("first")
                .tag("stage", "dev"),
        )
        .unwrap();
    let id = run.info.run_id.clone();
    assert_eq!(run.info.run_name, "first");
    assert_eq!(run.info.status, RunStatus::Running);
    assert!(run.info.artifact_uri.starts_with("mlflow-artifacts:/"));

    client.log_param(&id, "alpha", "0.5").unwrap();
    client.log_param(&id, "alpha", "0.5").unwrap();
    let conflict = client.log_param(&id, "alpha", "0.7").unwrap_err();
    assert_eq!(conflict.kind(), "invalid_request");
    assert_eq!(conflict.code(), Some(&ErrorCode::InvalidParameterValue));

    for (step, v) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.25]
        .into_iter()
        .enumerate()
    {
        client.log_metric(&id, "odd", v, step as i64).unwrap();
    }
    let history = client.metric_history(&id, "odd").unwrap();
    let mut values: Vec<(i64, f64)> = history.iter().map(|m| (m.step, m.value)).collect();
    values.sort_by_key(|(s, _)| *s);
    assert!(values[0].1.is_nan());
    assert_eq!(values[1].1, f64::INFINITY);
    assert_eq!(values[2].1, f64::NEG_INFINITY);
    assert_eq!(values[3].1, 0.25);

    // Well past every per-request limit: split client-side, nothing lost.
    let metrics: Vec<Metric> = (0..2500)
        .map(|i| Metric::new("loss", i as f64 / 10.0, i))
        .collect();
    let params: Vec<Param> = (0..150)
        .map(|i| Param::new(format!("p{i}"), format!("v{i}")))
        .collect();
    let tags: Vec<Tag> = (0..150)
        .map(|i| Tag::new(format!("t{i}"), "y".repeat(5000)))
        .collect();
    client.log_batch(&id, &metrics, &params, &tags).unwrap();
    assert_eq!(client.metric_history(&id, "loss").unwrap().len(), 2500);

    client.set_tag(&id, "gone", "soon").unwrap();
    client.delete_tag(&id, "gone").unwrap();
    client
        .log_inputs(
            &id,
            &[DatasetInput {
                tags: vec![Tag::new("mlflow.data.context", "training")],
                dataset: Dataset {
                    name: "companies".into(),
                    digest: "abc123".into(),
                    source_type: "local".into(),
                    source: r#"{"uri": "data/companies.csv"}"#.into(),
                    ..Dataset::default()
                },
            }],
            &[],
        )
        .unwrap();
    client.end_run(&id, RunStatus::Finished).unwrap();

    let run = client.get_run(&id).unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    assert!(run.info.end_time.is_some());
    assert_eq!(run.param("p149"), Some("v149"));
    assert_eq!(run.data.params.len(), 151);
    assert_eq!(run.metric("loss"), Some(249.9));
    assert_eq!(run.tag("stage"), Some("dev"));
    assert_eq!(run.tag("t3").map(str::len), Some(5000));
    assert_eq!(run.tag("gone"), None);
    assert_eq!(run.inputs.dataset_inputs[0].dataset.name, "companies");

    let missing = client
        .get_run("0123456789abcdef0123456789abcdef")
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert_eq!(missing.status(), Some(404));
    assert!(
        missing.to_string().contains("GET /api/2.0/mlflow/runs/get"),
        "{missing}"
    );
}

#[test]
fn run_search_pages_through_everything() {
    let client = client();
    let exp = client.get_or_create_experiment(&unique("search")).unwrap();
    for i in 0..5 {
        let run = client
            .create_run(
                &tandem_mlflow_client::NewRun::new(&exp.experiment_id).name(format!("r{i}")),
            )
            .unwrap();
        client
            .log_param(&run.info.run_id, "i", &i.to_string())
            .unwrap();
    }
    let mut query = RunQuery::new([exp.experiment_id.clone()]);
    query.max_results = 2;
    let page = client.search_runs(&query, None).unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.next_page_token.is_some());
    assert_eq!(client.list_runs(&query).unwrap().len(), 5);
    let filtered = client
        .list_runs(&query.clone().filter("params.i = '3'"))
        .unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].info.run_name, "r3");
}
