//! `tandem run`'s pipeline selection and filter flags, each checked by the
//! nodes that actually ran.

use serde_json::json;

use crate::run_support::{Project, json_failure, node_names, sorted};

/// A project whose persisted datasets all exist, so any subset can run.
fn project_after_a_full_run() -> Project {
    let project = Project::new();
    project.run_json(&[]);
    project
}

fn ran(project: &Project, args: &[&str]) -> Vec<String> {
    sorted(node_names(&project.run_json(args)))
}

#[test]
fn every_filter_flag_selects_like_kedro() {
    let project = project_after_a_full_run();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--tags", "features"],
            &[
                "features.copy_prices",
                "features.select_prices",
                "features.write_input",
            ],
        ),
        (
            &["-t", "copies,reporting"],
            &["echo_params", "features.copy_prices"],
        ),
        (
            &["--nodes", "ingest.to_csv,echo_params"],
            &["echo_params", "ingest.to_csv"],
        ),
        (&["-n", "ingest.to_csv"], &["ingest.to_csv"]),
        (
            &["--from-nodes", "features.select_prices"],
            &["features.copy_prices", "features.select_prices"],
        ),
        (
            &["--to-nodes", "features.select_prices"],
            &[
                "features.select_prices",
                "features.write_input",
                "ingest.to_parquet",
            ],
        ),
        (&["--from-inputs", "prices"], &["features.copy_prices"]),
        (
            // A bare name matches every transcoding of it.
            &["--from-inputs", "model_input"],
            &["features.copy_prices", "features.select_prices"],
        ),
        (
            &["--to-outputs", "cars_back"],
            &["ingest.to_csv", "ingest.to_parquet"],
        ),
        (
            &["--namespaces", "ingest"],
            &["ingest.to_csv", "ingest.to_parquet"],
        ),
        (
            // Flags intersect, as one Kedro filter.
            &[
                "--tags",
                "features",
                "--from-nodes",
                "features.select_prices",
            ],
            &["features.copy_prices", "features.select_prices"],
        ),
        (
            &["--namespaces", "features", "--to-outputs", "prices"],
            &["features.select_prices", "features.write_input"],
        ),
    ];
    for (flags, expected) in cases {
        assert_eq!(ran(&project, flags), *expected, "flags {flags:?}");
    }
}

#[test]
fn pipelines_are_chosen_by_name_and_summed() {
    let project = project_after_a_full_run();
    let summary = project.run_json(&["-p", "report"]);
    assert_eq!(node_names(&summary), ["echo_params"]);
    assert_eq!(summary["pipelines"], json!(["report"]));

    let summary = project.run_json(&["--pipelines", "report,convert", "--pipelines", "report"]);
    assert_eq!(summary["pipelines"], json!(["report", "convert"]));
    assert_eq!(node_names(&summary).len(), 6);

    // Filters apply to the sum.
    let summary = project.run_json(&["--pipeline", "convert", "--tags", "ingest"]);
    assert_eq!(
        sorted(node_names(&summary)),
        ["ingest.to_csv", "ingest.to_parquet"]
    );
}

#[test]
fn unknown_names_are_errors_with_suggestions() {
    let project = Project::new();
    let base = ["run", "--spec", "pipelines.yml", "--json"];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        project.tandem(&args)
    };

    let error = json_failure(&with(&["-p", "convrt"]), 1);
    assert_eq!(error["kind"], "pipeline_not_found");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("did you mean convert?"), "{message}");
    assert!(
        message.contains("__default__, convert, report"),
        "{message}"
    );
    assert_eq!(error["completed"], json!([]));
    assert_eq!(error["resume"], serde_json::Value::Null);

    let error = json_failure(&with(&["--nodes", "to_csv"]), 1);
    assert_eq!(error["kind"], "unknown_node");
    assert!(
        error["message"].as_str().unwrap().contains("ingest.to_csv"),
        "{error}"
    );

    let error = json_failure(&with(&["--tags", "ingest", "--namespaces", "features"]), 1);
    assert_eq!(error["kind"], "empty_pipeline");

    let error = json_failure(&with(&["--from-inputs", "nothing"]), 1);
    assert_eq!(error["kind"], "unknown_dataset");
}

#[test]
fn bad_flags_are_usage_errors() {
    let project = Project::new();
    let bad: &[&[&str]] = &[
        &["--runner", "threads"],
        &["--max-workers", "0", "--runner", "parallel"],
        &["--max-workers", "2"],
        &["--pipeline", "a", "--pipelines", "b"],
        &["--load-versions", "cars_parquet"],
        &["--load-versions", "cars_parquet:"],
        &["--params", "novalue"],
        &["--params", ".a=1"],
        &["--frm-nodes", "x"],
    ];
    for flags in bad {
        let mut args = vec!["run", "--spec", "pipelines.yml"];
        args.extend_from_slice(flags);
        let run = project.tandem(&args);
        assert_eq!(run.code, 2, "{flags:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{flags:?}: {run:?}");
        assert!(run.stderr.contains("error"), "{flags:?}: {run:?}");
    }
    assert!(!project.path("data/03_primary").exists(), "nothing ran");
}
