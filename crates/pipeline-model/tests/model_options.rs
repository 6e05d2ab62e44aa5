//! The model options: copy modes, runner, signature choice, as set on the
//! PipelineMl and overridden at load (kedro-mlflow's `kpm_kwargs` and
//! `log_model_kwargs` cases).

mod support;

use serde_json::{Value, json};
use support::*;
use tandem_pipeline_ml::{
    LogModelOptions, ModelOptions, PipelineMlOptions, RunnerChoice, SignatureChoice,
};
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};

#[test]
fn copy_modes_one_for_all_or_per_dataset() {
    let (dir, catalog, _) = trained(PipelineMlOptions::default());
    for (i, (mode, expect_model)) in [
        (json!(null), "assign"),
        (json!("assign"), "assign"),
        (json!("deepcopy"), "deepcopy"),
        (json!({"model": "copy"}), "copy"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut options = PipelineMlOptions::default();
        if !mode.is_null() {
            options.model = serde_json::from_value(json!({"copy_mode": mode})).unwrap();
        }
        let ml = ml_pipeline(options);
        let m = dir.path().join(format!("model-{i}"));
        save_model(&ml, &catalog, &m, &save_options!()).unwrap();
        let model = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap();
        let modes = model.copy_modes();
        assert_eq!(modes["model"].as_str(), expect_model, "{mode}");
        let others = if mode.is_object() || mode.is_null() {
            "assign"
        } else {
            expect_model
        };
        for name in ["features", "scaler", "params:threshold", "features_scaled"] {
            assert_eq!(modes[name].as_str(), others, "{name} for {mode}");
        }
        assert!(!modes.contains_key("predictions"));
        let out = model
            .predict(catalog.load("features").unwrap(), &no_params(), None)
            .unwrap();
        assert_eq!(batch(&out), batch(&in_process(&ml, &catalog)));
    }
}

#[test]
fn wrong_copy_modes_fail_at_load() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    for mode in [
        json!("bogus"),
        json!({"model": "bogus"}),
        json!({"nope": "copy"}),
    ] {
        let options = LoadOptions {
            copy_mode: Some(serde_json::from_value(mode.clone()).unwrap()),
            ..LoadOptions::default()
        };
        let err = PipelineModel::load(&m, &functions(), &options).unwrap_err();
        assert_eq!(err.kind(), "invalid_option", "{mode}");
    }
    // A bad mode in the PipelineMl options is refused before anything is written.
    let bad = ml
        .clone()
        .with_options(serde_json::from_value(json!({"model": {"copy_mode": "bogus"}})).unwrap());
    let err = save_model(&bad, &catalog, dir.path().join("bad"), &save_options!()).unwrap_err();
    assert_eq!(err.kind(), "invalid_option");
    assert!(!dir.path().join("bad").exists());
}

#[test]
fn runner_is_chosen_at_load_and_per_call() {
    let options = PipelineMlOptions {
        model: ModelOptions {
            runner: RunnerChoice::Parallel,
            ..ModelOptions::default()
        },
        ..PipelineMlOptions::default()
    };
    let (dir, catalog, ml) = trained(options);
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let model = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap();
    assert_eq!(model.runner(), RunnerChoice::Parallel);
    let sequential = LoadOptions {
        runner: Some(RunnerChoice::Sequential),
        ..LoadOptions::default()
    };
    assert_eq!(
        PipelineModel::load(&m, &functions(), &sequential)
            .unwrap()
            .runner(),
        RunnerChoice::Sequential
    );
    let input = catalog.load("features").unwrap();
    let parallel = model.predict(input.clone(), &no_params(), None).unwrap();
    let per_call = model
        .predict(input, &no_params(), Some(RunnerChoice::Sequential))
        .unwrap();
    assert_eq!(batch(&parallel), batch(&per_call));
}

#[test]
fn signature_none_and_explicit() {
    let (dir, catalog, _) = trained(PipelineMlOptions::default());
    let none = PipelineMlOptions {
        log_model: LogModelOptions {
            signature: SignatureChoice::None,
            ..LogModelOptions::default()
        },
        ..PipelineMlOptions::default()
    };
    let m = dir.path().join("none");
    save_model(&ml_pipeline(none), &catalog, &m, &save_options!()).unwrap();
    let mlmodel = yaml(m.join("MLmodel"));
    assert!(mlmodel.get("signature").is_none());
    assert!(mlmodel["flavors"]["tandem"].get("input_schema").is_none());
    let model = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap();
    assert!(model.input_spec().is_none());

    let inputs = r#"[{"type": "double", "name": "x1", "required": true}, {"type": "double", "name": "x2", "required": false}]"#;
    let explicit = PipelineMlOptions {
        log_model: LogModelOptions {
            name: "scorer".to_owned(),
            signature: SignatureChoice::Explicit(json!({"inputs": inputs, "outputs": null})),
            ..LogModelOptions::default()
        },
        ..PipelineMlOptions::default()
    };
    let m = dir.path().join("explicit");
    save_model(&ml_pipeline(explicit), &catalog, &m, &save_options!()).unwrap();
    let mlmodel = yaml(m.join("MLmodel"));
    assert_eq!(mlmodel["signature"]["inputs"], inputs);
    assert_eq!(mlmodel["signature"]["params"], Value::Null);
    assert_eq!(mlmodel["artifact_path"], "scorer");
    let model = PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap();
    assert!(!model.input_spec().unwrap().columns[1].required);

    let body = br#"{"dataframe_records": [{"x1": 1.0}]}"#;
    let out = request(&model, body, "json".parse().unwrap(), &no_params(), None).unwrap();
    assert_eq!(out["predictions"].as_array().unwrap().len(), 1);
}
