//! Saving a trained PipelineMl as a model directory and loading it back:
//! ports of kedro-mlflow's `test_kedro_pipeline_model.py` save/load cases,
//! plus the bugs tandem fixes.

mod support;

use std::collections::BTreeMap;
use std::fs;

use serde_json::{Value, json};
use support::*;
use tandem_pipeline_core::{Data, FunctionRegistry};
use tandem_pipeline_ml::PipelineMlOptions;
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};

#[test]
fn save_load_predict_matches_the_in_process_run() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let model_dir = dir.path().join("model");
    save_model(&ml, &catalog, &model_dir, &save_options!()).unwrap();

    let model = PipelineModel::load(&model_dir, &functions(), &LoadOptions::default()).unwrap();
    let input = catalog.load("features").unwrap();
    let predicted = model.predict(input, &no_params(), None).unwrap();
    assert_eq!(batch(&predicted), batch(&in_process(&ml, &catalog)));
    assert_eq!(model.input_name(), "features");
    assert_eq!(model.output_name(), "predictions");
    assert_eq!(
        model.parameters(),
        BTreeMap::from([("threshold", &json!(0.5))])
    );
}

#[test]
fn the_model_directory_has_mlflows_layout() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    let written = save_model(&ml, &catalog, &m, &save_options!()).unwrap();

    for file in [
        "MLmodel",
        "input_example.json",
        "serving_input_example.json",
        "tandem/pipeline.yml",
    ] {
        assert!(m.join(file).is_file(), "{file}");
    }
    // Exactly the two artifacts, the version this run saved only.
    let mut packed: Vec<String> = walk(&m.join("artifacts"));
    packed.sort();
    assert_eq!(packed, ["model/model.msgpack", "scaler/scaler.json"]);

    let mlmodel = yaml(m.join("MLmodel"));
    assert_eq!(mlmodel["artifact_path"], "model");
    assert_eq!(mlmodel["model_uuid"].as_str().unwrap().len(), 32);
    assert_eq!(mlmodel["model_uuid"], json!(written.model_uuid));
    assert!(mlmodel["utc_time_created"].as_str().unwrap().len() == 26);
    assert_eq!(
        mlmodel["signature"]["inputs"],
        r#"[{"type": "double", "name": "x1", "required": true}, {"type": "double", "name": "x2", "required": true}]"#
    );
    // Inferred as MLflow's log_model does: the model run on its example.
    assert_eq!(
        mlmodel["signature"]["outputs"],
        r#"[{"type": "double", "name": "score", "required": true}, {"type": "boolean", "name": "label", "required": true}]"#
    );
    assert_eq!(
        mlmodel["mlflow_version"],
        tandem_pipeline_model::MLFLOW_VERSION
    );
    assert_eq!(
        mlmodel["model_id"],
        Value::Null,
        "only a logged model has an id"
    );
    // Only the inference parameter: l2 is training-only.
    assert_eq!(
        mlmodel["signature"]["params"],
        r#"[{"name": "threshold", "default": 0.5, "shape": null, "type": "double"}]"#
    );
    assert_eq!(
        mlmodel["saved_input_example_info"],
        json!({"artifact_path": "input_example.json", "pandas_orient": "split",
               "serving_input_path": "serving_input_example.json", "type": "dataframe"})
    );
    let flavor = &mlmodel["flavors"]["tandem"];
    assert_eq!(flavor["format_version"], 1);
    assert_eq!(flavor["input_name"], "features");
    assert_eq!(flavor["output_name"], "predictions");
    assert_eq!(flavor["functions"], json!(["demo.predict", "demo.scale"]));
    assert_eq!(flavor["package_name"], "tandem-pipeline-model");
    assert_eq!(flavor["package_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(flavor["copy_mode"], "assign");
    assert_eq!(flavor["runner"], "sequential");
    assert_eq!(flavor["pipeline"], "tandem/pipeline.yml");
    assert_eq!(
        flavor["input_schema"][0],
        json!({"name": "x1", "type": "Float64", "nullable": false})
    );
    assert!(
        flavor["target"]
            .as_str()
            .unwrap()
            .contains(std::env::consts::OS)
    );

    let model_catalog = yaml(m.join("tandem/catalog.yml"));
    assert_eq!(
        model_catalog,
        json!({
            "features": {"type": "MemoryDataset"},
            "model": {"type": "SerdeDataset", "filepath": "artifacts/model/model.msgpack"},
            "scaler": {"type": "SerdeDataset", "filepath": "artifacts/scaler/scaler.json"},
        })
    );
    assert_eq!(
        yaml(m.join("tandem/parameters.yml")),
        json!({"threshold": 0.5})
    );

    let example: Value = serde_json::from_str(&read(m.join("input_example.json"))).unwrap();
    assert_eq!(example["columns"], json!(["x1", "x2"]));
    assert_eq!(example["data"].as_array().unwrap().len(), 5);
    let serving: Value = serde_json::from_str(&read(m.join("serving_input_example.json"))).unwrap();
    assert_eq!(serving["dataframe_split"], example);
    // No staging directory is left next to the model.
    let siblings: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        siblings.iter().all(|s| !s.contains(".tmp-")),
        "{siblings:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            out.extend(
                walk(&entry.path())
                    .into_iter()
                    .map(|s| format!("{name}/{s}")),
            );
        } else {
            out.push(name);
        }
    }
    out
}

#[test]
fn parameters_come_from_the_model_file() {
    // kedro-mlflow keeps the pickled training-time value: editing the
    // parameter artifact changes nothing. In tandem the file is the truth.
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let input = catalog.load("features").unwrap();
    let before = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap();
    let default_labels = labels(&before.predict(input.clone(), &no_params(), None).unwrap());

    fs::write(m.join("tandem/parameters.yml"), "threshold: 1000.0\n").unwrap();
    let after = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap();
    let edited = labels(&after.predict(input, &no_params(), None).unwrap());
    assert!(default_labels.iter().any(|l| *l));
    assert!(edited.iter().all(|l| !l));
}

#[test]
fn predict_time_params_apply_to_one_call_only() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let model = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap();
    let input = catalog.load("features").unwrap();
    let default = labels(&model.predict(input.clone(), &no_params(), None).unwrap());
    let high = json!({"threshold": 1000.0});
    let overridden = labels(
        &model
            .predict(input.clone(), high.as_object().unwrap(), None)
            .unwrap(),
    );
    assert!(overridden.iter().all(|l| !l));
    let prefixed = json!({"params:threshold": 1000});
    assert_eq!(
        labels(
            &model
                .predict(input.clone(), prefixed.as_object().unwrap(), None)
                .unwrap()
        ),
        overridden
    );
    // kedro-mlflow saves predict-time params into its catalog for good.
    assert_eq!(
        labels(&model.predict(input.clone(), &no_params(), None).unwrap()),
        default
    );

    let unknown = json!({"treshold": 1.0});
    let err = model
        .predict(input.clone(), unknown.as_object().unwrap(), None)
        .unwrap_err();
    assert_eq!(err.kind(), "unknown_parameter");
    assert!(
        err.to_string().contains("'treshold'") && err.to_string().contains("'threshold'"),
        "{err}"
    );
    let wrong_kind = json!({"threshold": "high"});
    let err = model
        .predict(input, wrong_kind.as_object().unwrap(), None)
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_parameter");

    let parsed = model.parse_params(["threshold=0.75"]).unwrap();
    assert_eq!(parsed["threshold"], 0.75);
    assert_eq!(
        model.parse_params(["threshold"]).unwrap_err().kind(),
        "invalid_parameter"
    );
    assert_eq!(
        model.parse_params(["nope=1"]).unwrap_err().kind(),
        "unknown_parameter"
    );
    assert_eq!(
        model.parse_params(["threshold=abc"]).unwrap_err().kind(),
        "invalid_parameter"
    );
}

#[test]
fn missing_functions_are_listed_with_the_builder() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let err = PipelineModel::load(
        &m,
        &FunctionRegistry::with_builtins(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "missing_functions");
    let message = err.to_string();
    for part in [
        "'demo.predict'",
        "'demo.scale'",
        "tandem-pipeline-model",
        env!("CARGO_PKG_VERSION"),
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
}

#[test]
fn too_many_outputs_in_a_saved_pipeline_fail_at_load() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let spec = read(m.join("tandem/pipeline.yml"));
    let extra =
        "- func: demo.scale\n  inputs: [features, scaler]\n  outputs: other\n  name: extra\n";
    fs::write(
        m.join("tandem/pipeline.yml"),
        spec.replacen("nodes:\n", &format!("nodes:\n{extra}"), 1),
    )
    .unwrap();
    let err = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap_err();
    assert_eq!(err.kind(), "inference_output_count", "{err}");
}

#[test]
fn model_files_cannot_point_outside_the_model() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let original = read(m.join("tandem/catalog.yml"));
    for escape in [
        "../../secrets.json",
        "/etc/passwd",
        "s3://bucket/model.json",
    ] {
        let edited = original.replace("artifacts/scaler/scaler.json", escape);
        fs::write(m.join("tandem/catalog.yml"), edited).unwrap();
        let err = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap_err();
        assert_eq!(err.kind(), "invalid_model", "{escape}");
    }
    fs::write(m.join("tandem/catalog.yml"), original).unwrap();
    let mlmodel = read(m.join("MLmodel"));
    fs::write(
        m.join("MLmodel"),
        mlmodel.replace("catalog: tandem/catalog.yml", "catalog: ../catalog.yml"),
    )
    .unwrap();
    let err = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap_err();
    assert_eq!(err.kind(), "invalid_model");
}

#[test]
fn saving_refuses_a_non_empty_directory() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    fs::create_dir(&m).unwrap();
    save_model(&ml, &catalog, &m, &save_options!()).unwrap(); // empty: fine
    let err = save_model(&ml, &catalog, &m, &save_options!()).unwrap_err();
    assert_eq!(err.kind(), "model_exists");
}

#[test]
fn predict_request_reads_envelopes_like_mlflow_models_predict() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let model = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap();
    let serving = fs::read(m.join("serving_input_example.json")).unwrap();
    let out = request(
        &model,
        &serving,
        "json".parse().unwrap(),
        &no_params(),
        None,
    )
    .unwrap();
    let direct = model
        .predict(catalog.load("features").unwrap(), &no_params(), None)
        .unwrap();
    let expected: Vec<Value> = labels(&direct)
        .into_iter()
        .take(5)
        .map(Value::from)
        .collect();
    let got: Vec<Value> = out["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].clone())
        .collect();
    assert_eq!(got, expected);

    // Envelope params apply, and explicit ones win over them.
    let body = br#"{"dataframe_split": {"columns": ["x2", "x1"], "data": [[3, 1]]}, "params": {"threshold": 1000.0}}"#;
    let out = request(&model, body, "json".parse().unwrap(), &no_params(), None).unwrap();
    assert_eq!(out["predictions"][0]["label"], false);
    let low = json!({"threshold": -1000.0});
    let out = request(
        &model,
        body,
        "json".parse().unwrap(),
        low.as_object().unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(out["predictions"][0]["label"], true);
    let csv = b"x1,x2,unused\n1.0,3,a\n";
    let out = request(&model, csv, "csv".parse().unwrap(), &no_params(), None).unwrap();
    assert_eq!(out["predictions"].as_array().unwrap().len(), 1);
    let missing = br#"{"dataframe_records": [{"x1": 1.0}]}"#;
    let err = request(&model, missing, "json".parse().unwrap(), &no_params(), None).unwrap_err();
    assert_eq!(err.kind(), "schema_mismatch");
    assert!(err.to_string().contains("'x2'"), "{err}");
}

#[test]
fn a_list_model_round_trips() {
    // kedro-mlflow's `predict(1) == 2` shape: plain values, JSON artifacts.
    fn fit(x: &[f64]) -> f64 {
        x.iter().sum::<f64>() / x.len() as f64
    }
    fn above(x: &[f64], mean: &f64) -> Vec<bool> {
        x.iter().map(|v| v > mean).collect()
    }
    let mut registry = FunctionRegistry::with_builtins();
    registry.register("t.fit", fit).register("t.above", above);
    let node = |id: &str, i: Vec<&str>, o: &str| {
        tandem_pipeline_core::node(registry.get(id).unwrap().clone(), i, o)
            .build()
            .unwrap()
    };
    let training = tandem_pipeline_core::Pipeline::new([node("t.fit", vec!["x"], "mean")]).unwrap();
    let inference =
        tandem_pipeline_core::Pipeline::new([node("t.above", vec!["x", "mean"], "flags")]).unwrap();
    let ml = tandem_pipeline_ml::pipeline_ml_factory(training, inference, "x").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let entries = json!({"x": {"type": "JSONDataset", "filepath": "x.json"}, "mean": {"type": "JSONDataset", "filepath": "mean.json"}});
    let catalog = support::catalog(dir.path(), &entries, &json!({}), None);
    catalog
        .save("x", Data::new(vec![1.0_f64, 2.0, 6.0]))
        .unwrap();
    train(&ml, &catalog);
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let mlmodel = yaml(m.join("MLmodel"));
    assert_eq!(
        mlmodel["signature"]["inputs"],
        r#"[{"type": "double", "required": true}]"#
    );
    assert_eq!(
        read(m.join("input_example.json")),
        r#"{"inputs": [1.0, 2.0, 6.0]}"#
    );
    assert_eq!(mlmodel["saved_input_example_info"]["format"], "tf-serving");

    let model = PipelineModel::load(&m, &registry, &LoadOptions::default()).unwrap();
    let flags = model
        .predict(Data::new(vec![1.0_f64, 5.0]), &no_params(), None)
        .unwrap();
    assert_eq!(flags.downcast_ref::<Vec<bool>>().unwrap(), &[false, true]);
    let out = request(
        &model,
        br#"{"inputs": [0, 4]}"#,
        "json".parse().unwrap(),
        &no_params(),
        None,
    )
    .unwrap();
    assert_eq!(out, json!({"predictions": [false, true]}));
}
