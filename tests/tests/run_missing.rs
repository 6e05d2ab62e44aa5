//! `tandem run --only-missing-outputs`, and free inputs the catalog lacks.

use serde_json::json;

use crate::run_support::{Project, json_failure, node_names, sorted};

#[test]
fn a_second_run_skips_nodes_whose_outputs_exist() {
    let project = Project::new();
    let first = project.run_json(&["--only-missing-outputs"]);
    assert_eq!(node_names(&first).len(), 6);

    let second = project.run_json(&["--only-missing-outputs"]);
    assert_eq!(second["nodes"], json!([]));
    assert_eq!(
        sorted(serde_json::from_value(second["skipped"].clone()).unwrap()).len(),
        6
    );

    std::fs::remove_file(project.path("data/05_model_input/prices.csv")).unwrap();
    let third = project.run_json(&["--only-missing-outputs"]);
    assert_eq!(node_names(&third), ["features.select_prices"]);
    assert!(project.path("data/05_model_input/prices.csv").is_file());

    // Without the flag everything runs again.
    assert_eq!(node_names(&project.run_json(&[])).len(), 6);
}

#[test]
fn missing_free_inputs_are_all_reported_before_anything_runs() {
    let project = Project::new();
    project.write(
        "missing.yml",
        "nodes:\n\
         \x20 - {name: a, func: builtin:identity, inputs: [nope_a, cars], outputs: [x, y]}\n\
         \x20 - {name: b, func: builtin:identity, inputs: nope_b, outputs: cars_back}\n",
    );
    let run = project.tandem(["run", "--spec", "missing.yml", "--json"]);
    let error = json_failure(&run, 1);
    assert_eq!(error["kind"], "missing_inputs");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("'nope_a', 'nope_b'"), "{message}");
    assert!(!message.contains("'cars'"), "{message}");
    assert_eq!(error["completed"], json!([]));
    assert_eq!(error["resume"], serde_json::Value::Null);
    assert!(!project.path("data/03_primary").exists(), "nothing ran");

    let text = project.tandem(["run", "--spec", "missing.yml"]);
    assert_eq!(text.code, 1, "{text:?}");
    assert!(
        text.stderr
            .contains("error: pipeline input(s) ['nope_a', 'nope_b'] not found"),
        "{text:?}"
    );
}

#[test]
fn a_dataset_name_cannot_write_outside_the_project_through_a_factory() {
    let project = Project::new();
    project.write(
        "conf/escape/catalog.yml",
        "\"{name}\":\n  type: JSONDataset\n  filepath: data/07_model_output/{name}.json\n",
    );
    project.write(
        "escape.yml",
        "nodes:\n\
         \x20 - {name: a, func: builtin:identity, inputs: params:title, outputs: ../../../outside/x}\n",
    );
    let run = project.tandem(["run", "--spec", "escape.yml", "--env", "escape", "--json"]);
    let error = json_failure(&run, 1);
    assert_eq!(error["kind"], "invalid_path", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("../../../outside/x"), "{message}");
    let outside = project.root().parent().unwrap().join("outside");
    assert!(!outside.exists(), "nothing was written outside the project");
}
