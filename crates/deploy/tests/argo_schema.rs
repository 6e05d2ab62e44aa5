//! Argo manifests against Argo's own JSON schema (a copy of Argo
//! Workflows' `api/jsonschema/schema.json`, Draft 2020-12, in tests/data),
//! checked by the Python `jsonschema` package (the reference validator) in
//! the tools venv.

use std::path::PathBuf;

use serde_json::{Value, json};
use tandem_deploy::{ArgoWorkflow, DeployParams, DeploymentPlan, GroupBy};
use tandem_pipeline_core::{Pipeline, node};
use tandem_test_support::python::{run_script, tools_bin};

fn inc(x: &i64) -> i64 {
    x + 1
}

/// Validates each manifest against Argo's published schema (kept with the
/// tests, tests/data/README.md); each one's errors, in order.
fn errors(manifests: &[&Value]) -> Vec<Vec<String>> {
    const VALIDATE: &str = "\
import json, sys
from jsonschema import Draft202012Validator
with open(sys.argv[1]) as f:
    validator = Draft202012Validator(json.load(f))
for manifest in sys.argv[2:]:
    found = validator.iter_errors(json.loads(manifest))
    print(json.dumps(['%s at /%s' % (e.message, '/'.join(map(str, e.absolute_path)))
                      for e in found]))";
    let schema =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/argo-workflow-schema.json");
    let args = std::iter::once(schema.into_os_string())
        .chain(manifests.iter().map(|m| m.to_string().into()));
    let out = run_script(&tools_bin().join("python"), VALIDATE, args)
        .unwrap_or_else(|e| panic!("validating against Argo's schema: {e}"));
    out.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn plan() -> DeploymentPlan {
    let pipeline = Pipeline::new([
        node(inc, "raw", "a").name("load").build().unwrap(),
        node(inc, "a", "b").name("left").build().unwrap(),
        node(inc, "a", "c").name("right").build().unwrap(),
        node(|b: &i64, c: &i64| b + c, ["b", "c"], "out")
            .name("join")
            .build()
            .unwrap(),
    ])
    .unwrap();
    DeploymentPlan::with_classifier(&pipeline, GroupBy::None, |_| Ok(false)).unwrap()
}

#[test]
fn the_manifest_is_a_valid_workflow_with_one_task_per_group() {
    let plan = plan();
    let params = DeployParams::from_parameters(json!({"seed": 42}).as_object().unwrap());
    let workflow = ArgoWorkflow {
        plan: &plan,
        name: "demo-training".into(),
        pipeline: "training".into(),
        image: "registry.example/demo:1.0".into(),
        command: vec!["demo".into()],
        run_args: vec![
            "--conf".into(),
            "conf".into(),
            "--env".into(),
            "prod".into(),
        ],
        params,
        retries: 1,
    };
    let yaml = workflow.render().unwrap();
    let manifest: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(
        manifest,
        workflow.manifest().unwrap(),
        "the YAML reads back"
    );

    let tasks = manifest["spec"]["templates"][0]["dag"]["tasks"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["load", "left", "right", "join"]);
    assert_eq!(tasks[3]["dependencies"], json!(["left", "right"]));
    assert!(tasks[0].get("dependencies").is_none());
    assert_eq!(tasks[3]["arguments"]["parameters"][0]["value"], "join");
    let container = &manifest["spec"]["templates"][1]["container"];
    assert_eq!(container["image"], "registry.example/demo:1.0");
    assert_eq!(
        container["args"],
        json!([
            "run",
            "--pipeline",
            "training",
            "--nodes",
            "{{inputs.parameters.nodes}}",
            "--conf",
            "conf",
            "--env",
            "prod",
            "--params",
            "{{workflow.parameters.params}}"
        ])
    );
    assert_eq!(
        manifest["spec"]["arguments"]["parameters"][0]["value"],
        "seed=42"
    );

    // The check can fail: the schema rejects a task template without an
    // image, and an integer retry limit (IntOrString is a string there).
    let mut no_image = manifest.clone();
    no_image["spec"]["templates"][1]["container"]
        .as_object_mut()
        .unwrap()
        .remove("image");
    let mut int_limit = manifest.clone();
    int_limit["spec"]["templates"][1]["retryStrategy"]["limit"] = json!(1);
    let found = errors(&[&manifest, &no_image, &int_limit]);
    assert_eq!(found.len(), 3);
    assert_eq!(found[0], Vec::<String>::new(), "{yaml}");
    assert!(!found[1].is_empty());
    assert!(!found[2].is_empty());
}
