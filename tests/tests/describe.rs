//! `tandem pipeline describe` on the spaceflights example: output formats and
//! every `kedro run` filter flag.

use serde_json::json;
use tandem_tests::tandem;

const SPEC: &str = "examples/spaceflights.yml";

/// The node names `describe --json` lists after `filters`.
fn nodes_after(filters: &[&str]) -> Vec<String> {
    let mut args = vec!["pipeline", "describe", "--spec", SPEC, "--json"];
    args.extend_from_slice(filters);
    let run = tandem(&args);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    serde_json::from_value(run.stdout_json()["nodes"].clone()).unwrap()
}

#[test]
fn json_lists_order_layers_inputs_and_outputs() {
    let run = tandem(["pipeline", "describe", "--spec", SPEC, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout_json(),
        json!({
            "type": "pipeline",
            "nodes": [
                "data_processing.preprocess_companies",
                "data_processing.preprocess_shuttles",
                "data_processing.create_model_input_table",
                "reporting.compare_passenger_capacity",
                "data_science.split_data",
                "data_science.train_model",
                "data_science.predict",
                "publish_model",
                "data_science.evaluate_model",
            ],
            "layers": [
                ["data_processing.preprocess_companies", "data_processing.preprocess_shuttles"],
                ["data_processing.create_model_input_table", "reporting.compare_passenger_capacity"],
                ["data_science.split_data"],
                ["data_science.train_model"],
                ["data_science.predict", "publish_model"],
                ["data_science.evaluate_model"],
            ],
            "inputs": ["companies", "params:model_options", "reviews", "shuttles"],
            "outputs": ["model_metrics", "passenger_capacity_report", "production_model"],
        })
    );
    assert_eq!(run.stdout.lines().count(), 1, "one JSON object: {run:?}");
}

#[test]
fn text_output_is_kedro_describe() {
    let run = tandem(["pipeline", "describe", "--spec", SPEC, "--tags", "training"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "#### Pipeline execution order ####\n\
         Inputs: model_input_table, params:model_options\n\
         \n\
         data_science.split_data\n\
         data_science.train_model\n\
         \n\
         Outputs: data_science.X_test, data_science.y_test, regressor\n\
         ##################################\n"
    );
    assert!(run.stderr.is_empty(), "{run:?}");
}

#[test]
fn tags_keep_nodes_with_any_tag() {
    assert_eq!(
        nodes_after(&["--tags", "training"]),
        ["data_science.split_data", "data_science.train_model"]
    );
    let either = [
        "data_science.split_data",
        "data_science.train_model",
        "data_science.predict",
        "publish_model",
        "data_science.evaluate_model",
    ];
    assert_eq!(nodes_after(&["--tags", "training, inference"]), either);
    // Short form, repeated flags.
    assert_eq!(nodes_after(&["-t", "training", "-t", "inference"]), either);
}

#[test]
fn nodes_keep_exactly_the_named_nodes() {
    assert_eq!(
        nodes_after(&["--nodes", "publish_model,data_science.train_model"]),
        ["data_science.train_model", "publish_model"]
    );
}

#[test]
fn from_nodes_and_to_nodes_follow_the_graph() {
    assert_eq!(
        nodes_after(&["--from-nodes", "data_science.train_model"]),
        [
            "data_science.train_model",
            "data_science.predict",
            "publish_model",
            "data_science.evaluate_model",
        ]
    );
    assert_eq!(
        nodes_after(&["--to-nodes", "data_science.split_data"]),
        [
            "data_processing.preprocess_companies",
            "data_processing.preprocess_shuttles",
            "data_processing.create_model_input_table",
            "data_science.split_data",
        ]
    );
}

#[test]
fn from_inputs_and_to_outputs_follow_the_graph() {
    assert_eq!(
        nodes_after(&["--from-inputs", "regressor"]),
        [
            "data_science.predict",
            "publish_model",
            "data_science.evaluate_model"
        ]
    );
    assert_eq!(
        nodes_after(&["--to-outputs", "model_metrics"]),
        [
            "data_processing.preprocess_companies",
            "data_processing.preprocess_shuttles",
            "data_processing.create_model_input_table",
            "data_science.split_data",
            "data_science.train_model",
            "data_science.predict",
            "data_science.evaluate_model",
        ]
    );
}

#[test]
fn namespaces_match_whole_namespace_segments() {
    assert_eq!(
        nodes_after(&["--namespaces", "reporting,data_processing"]),
        [
            "data_processing.preprocess_companies",
            "data_processing.preprocess_shuttles",
            "data_processing.create_model_input_table",
            "reporting.compare_passenger_capacity",
        ]
    );
    let run = tandem([
        "pipeline",
        "describe",
        "--spec",
        SPEC,
        "--json",
        "--namespaces",
        "data",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json_error().0, "unknown_namespace");
}

#[test]
fn combined_flags_intersect_in_any_order() {
    let expected = ["data_science.predict", "data_science.evaluate_model"];
    assert_eq!(
        nodes_after(&[
            "--from-nodes",
            "data_science.train_model",
            "--tags",
            "inference",
            "--namespaces",
            "data_science",
        ]),
        expected
    );
    assert_eq!(
        nodes_after(&[
            "--namespaces",
            "data_science",
            "--tags",
            "inference",
            "--from-nodes",
            "data_science.train_model",
        ]),
        expected
    );
    assert_eq!(
        nodes_after(&[
            "--to-outputs",
            "model_metrics",
            "--from-inputs",
            "model_input_table",
            "--to-nodes",
            "data_science.train_model",
        ]),
        ["data_science.split_data", "data_science.train_model"]
    );
}

#[test]
fn json_specs_are_read_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipeline.json");
    let spec = json!({
        "nodes": [
            {"name": "copy", "func": "builtin:identity", "inputs": ["a"], "outputs": ["b"]},
            {"pipeline": {
                "namespace": "inner",
                "inputs": {"x": "b"},
                "nodes": [{"name": "again", "func": "builtin:identity", "inputs": "x", "outputs": "y"}]
            }}
        ]
    });
    std::fs::write(&path, spec.to_string()).unwrap();
    let run = tandem([
        "pipeline".as_ref(),
        "describe".as_ref(),
        "--json".as_ref(),
        "--spec".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.stdout_json();
    assert_eq!(out["nodes"], json!(["copy", "inner.again"]));
    assert_eq!(out["outputs"], json!(["inner.y"]));
}

#[test]
fn check_resolves_functions_in_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.yml");
    std::fs::write(
        &path,
        "nodes:\n  - {name: copy, func: builtin:identity, inputs: [a, b], outputs: [c, d]}\n",
    )
    .unwrap();
    let run = tandem([
        "pipeline".as_ref(),
        "check".as_ref(),
        "--spec".as_ref(),
        path.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout_json(),
        json!({"nodes": ["copy"], "functions": ["builtin:identity"]})
    );

    // The stock binary knows only the builtins; every unknown id is listed.
    let run = tandem(["pipeline", "check", "--spec", SPEC, "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let (kind, message) = run.json_error();
    assert_eq!(kind, "unknown_function");
    assert!(
        message.contains("spaceflights::data_science::train_model"),
        "{message}"
    );
    assert!(
        message.contains("spaceflights::reporting::compare_passenger_capacity"),
        "{message}"
    );
}
