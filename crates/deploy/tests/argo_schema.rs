//! Argo manifests against Argo's own JSON schema (a copy of Argo
//! Workflows' `api/jsonschema/schema.json`, Draft 2020-12, in tests/data).

use std::path::PathBuf;

use serde_json::{Value, json};
use tandem_deploy::{ArgoWorkflow, DeployParams, DeploymentPlan, GroupBy};
use tandem_pipeline_core::{Pipeline, node};

fn inc(x: &i64) -> i64 {
    x + 1
}

fn schema() -> Value {
    // Argo's published schema, kept with the tests (tests/data/README.md).
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/argo-workflow-schema.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("Argo's schema {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn errors(validator: &jsonschema::Validator, manifest: &Value) -> Vec<String> {
    validator
        .iter_errors(manifest)
        .map(|e| format!("{} at {}", e, e.instance_path()))
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

    let validator = jsonschema::validator_for(&schema()).unwrap();
    assert_eq!(
        errors(&validator, &manifest),
        Vec::<String>::new(),
        "{yaml}"
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
    let mut broken = manifest.clone();
    broken["spec"]["templates"][1]["container"]
        .as_object_mut()
        .unwrap()
        .remove("image");
    assert!(!errors(&validator, &broken).is_empty());
    let mut broken = manifest;
    broken["spec"]["templates"][1]["retryStrategy"]["limit"] = json!(1);
    assert!(!errors(&validator, &broken).is_empty());
}
