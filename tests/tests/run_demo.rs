//! A project's own binary (examples/tandem-demo) built on the tandem-cli
//! library: registered functions, pipelines, dataset type and hook; a failing
//! node with the resume hint, in both runners; resuming from it.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::run_support::{Project, json_failure, node_names, sorted};

/// The mean of cars.csv's price column.
const MEAN_PRICE: f64 = (21500.5 + 180000.25 + 15999.75 + 9990.5 + 23450.5) / 5.0;

fn demo_json(project: &Project, args: &[&str]) -> tandem_tests::Run {
    let mut all = vec!["run", "--env", "demo", "--json"];
    all.extend_from_slice(args);
    project.demo(&all)
}

#[test]
fn registered_pipelines_run_with_the_binary_s_functions_and_dataset_type() {
    let project = Project::new();
    let run = demo_json(&project, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let summary = run.stdout_json();
    assert_eq!(
        sorted(node_names(&summary)),
        ["count", "mean", "report", "validate"]
    );
    let written: Value =
        serde_json::from_str(&project.read("data/08_reporting/summary.json")).unwrap();
    assert_eq!(written, json!({"mean": MEAN_PRICE, "rows": 5}));

    let run = demo_json(&project, &["-p", "stats", "--params", "column=engine_size"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(sorted(node_names(&run.stdout_json())), ["count", "mean"]);
    let mean: f64 = project
        .read("data/07_model_output/mean_value.json")
        .parse()
        .unwrap();
    assert!((mean - 2.34).abs() < 1e-9, "{mean}");
}

#[test]
fn the_binary_s_hook_runs_and_its_logs_show() {
    let project = Project::new();
    let run = project.demo(["run", "--env", "demo"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("demo hook: 4 node(s) ran"), "{run:?}");
    assert!(run.stdout.contains("completed: 4 node(s)"), "{run:?}");
}

#[test]
fn a_failing_node_stops_the_run_with_the_resume_hint() {
    for runner in ["sequential", "parallel"] {
        let project = Project::new();
        let run = demo_json(&project, &["--params", "fail=true", "--runner", runner]);
        let error = json_failure(&run, 1);
        assert_eq!(error["kind"], "run_failed", "{runner}");
        assert_eq!(error["node"], "validate", "{runner}");
        assert_eq!(error["cause"], "node_failed", "{runner}");
        let message = error["message"].as_str().unwrap();
        assert_eq!(
            message.matches("node 'validate' failed").count(),
            1,
            "the node is named once: {message}"
        );
        assert!(message.contains("validation fails on purpose"), "{message}");
        let completed: BTreeSet<&str> = error["completed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(completed, BTreeSet::from(["count", "mean"]), "{runner}");
        // Kedro's resume rule: mean_value is persisted, so mean need not run
        // again; row_count was only in memory, so count must.
        assert_eq!(
            error["resume"], "--from-nodes \"count,validate\"",
            "{runner}"
        );
        assert!(
            project
                .path("data/07_model_output/mean_value.json")
                .is_file()
        );
        assert!(!project.path("data/08_reporting/summary.json").exists());

        // The suggested command finishes the run.
        let resumed = demo_json(
            &project,
            &["--from-nodes", "count,validate", "--runner", runner],
        );
        assert_eq!(resumed.code, 0, "{resumed:?}");
        assert_eq!(
            sorted(node_names(&resumed.stdout_json())),
            ["count", "report", "validate"]
        );
        assert!(project.path("data/08_reporting/summary.json").is_file());
    }
}

#[test]
fn text_mode_prints_the_error_and_kedro_s_hint_once() {
    let project = Project::new();
    let run = project.demo(["run", "--env", "demo", "--params", "fail=true"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr.contains("error: node 'validate' failed: "),
        "{run:?}"
    );
    let hint = "There are 2 nodes that have not run.\nYou can resume the pipeline run from the \
                nearest nodes with persisted inputs by adding the following argument to your \
                previous command:\n  --from-nodes \"count,validate\"";
    assert_eq!(run.stderr.matches(hint).count(), 1, "{run:?}");
}

#[test]
fn a_failure_before_any_node_completes_says_to_repeat_the_command() {
    let project = Project::new();
    let run = demo_json(&project, &["--params", "column=make"]);
    let error = json_failure(&run, 1);
    assert_eq!(error["node"], "mean");
    assert!(
        error["message"].as_str().unwrap().contains("not a number"),
        "{error}"
    );
    // count may have finished first; if nothing did, there is nothing to resume from.
    if error["completed"] == json!([]) {
        assert_eq!(error["resume"], Value::Null);
    }
    let text = project.demo([
        "run",
        "--env",
        "demo",
        "--params",
        "column=make",
        "--nodes",
        "mean",
    ]);
    assert_eq!(text.code, 1, "{text:?}");
    assert!(
        text.stderr
            .contains("No nodes ran. Repeat the previous command to attempt a new run."),
        "{text:?}"
    );
}

#[test]
fn the_binary_s_dataset_type_is_known_to_its_catalog_commands_only() {
    let project = Project::new();
    let run = project.demo(["catalog", "describe", "max_mean", "--env", "demo", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let described = run.stdout_json();
    assert_eq!(described["dataset"]["type_name"], "demo.ConstantDataset");
    assert_eq!(described["dataset"]["details"]["value"], 1_000_000);

    // The plain binary lists the entry as unusable here, and fails on use.
    let run = project.tandem(["catalog", "list", "--env", "demo", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let listing = run.stdout_json();
    let max_mean = listing["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "max_mean")
        .unwrap();
    assert_eq!(max_mean["unusable"]["kind"], "unknown_dataset_type");
    let run = project.tandem(["catalog", "describe", "max_mean", "--env", "demo", "--json"]);
    let error = json_failure(&run, 1);
    assert_eq!(error["kind"], "unknown_dataset_type");
    assert!(
        error["message"].as_str().unwrap().contains("max_mean"),
        "{error}"
    );
}
