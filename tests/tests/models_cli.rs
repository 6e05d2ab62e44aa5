//! `models save` and `models predict` through the churn example's binary:
//! train, pack the PipelineMl, predict from files, and agree with the model
//! loaded in process.

use tandem_tests::{churn, ok, workspace_file};

use crate::run_support::copy_dir;

#[test]
fn train_save_and_predict_from_the_command_line() {
    let project = tempfile::tempdir().unwrap();
    copy_dir(
        &workspace_file("examples/churn/conf"),
        &project.path().join("conf"),
    );
    let small = "data_generation.n_customers=600";
    ok(&churn(&["run", "--params", small, "-q"], project.path()));

    let model = project.path().join("model");
    let saved = ok(&churn(
        &[
            "models",
            "save",
            "--pipeline",
            "training",
            "-o",
            "model",
            "--json",
        ],
        project.path(),
    ));
    let mlmodel: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(mlmodel["flavors"]["tandem"]["input_name"], "customers");
    assert!(model.join("MLmodel").is_file());
    assert!(model.join("artifacts/model").is_dir());

    // Refuses to overwrite a model.
    let again = churn(
        &["models", "save", "--pipeline", "training", "-o", "model"],
        project.path(),
    );
    assert_eq!(again.status.code(), Some(1));

    let request = model.join("serving_input_example.json");
    let out = ok(&churn(
        &[
            "models",
            "predict",
            "-m",
            "model",
            "-i",
            request.to_str().unwrap(),
        ],
        project.path(),
    ));
    let predictions: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = predictions["predictions"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let p = row["churn_probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{row}");
        assert_eq!(row["churn"].as_bool().unwrap(), p >= 0.5, "{row}");
    }

    // A parameter override changes the decisions for that call only.
    let strict = ok(&churn(
        &[
            "models",
            "predict",
            "-m",
            "model",
            "-i",
            request.to_str().unwrap(),
            "--params",
            "threshold=0.99",
        ],
        project.path(),
    ));
    let strict: serde_json::Value = serde_json::from_str(&strict).unwrap();
    assert!(
        strict["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["churn"] == false)
    );

    // -o writes the same JSON to a file.
    let written = project.path().join("predictions.json");
    ok(&churn(
        &[
            "models",
            "predict",
            "-m",
            "model",
            "-i",
            request.to_str().unwrap(),
            "-o",
            written.to_str().unwrap(),
        ],
        project.path(),
    ));
    let from_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&written).unwrap()).unwrap();
    assert_eq!(from_file, predictions);

    // A plain pipeline cannot be saved as a model.
    let plain = churn(
        &["models", "save", "--pipeline", "data_generation", "-o", "x"],
        project.path(),
    );
    assert_eq!(plain.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("not a PipelineMl"));
}

#[test]
fn describe_shows_the_inference_side_of_an_ml_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("ml.yml");
    std::fs::write(
        &spec,
        "ml:\n  input_name: x\n  training:\n    nodes:\n      - {name: fit, func: f, inputs: x_train, outputs: model}\n  inference:\n    nodes:\n      - {name: predict, func: g, inputs: [x, model, 'params:t'], outputs: y}\n",
    )
    .unwrap();
    let run = tandem_tests::tandem([
        "pipeline",
        "describe",
        "--spec",
        spec.to_str().unwrap(),
        "--json",
    ]);
    let out = run.stdout_json();
    assert_eq!(out["type"], "pipeline_ml");
    assert_eq!(out["nodes"], serde_json::json!(["fit"]));
    assert_eq!(out["inference"]["nodes"], serde_json::json!(["predict"]));
    assert_eq!(out["input_name"], "x");
    assert_eq!(out["artifacts"], serde_json::json!(["model", "params:t"]));

    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&spec)
            .unwrap()
            .replace("input_name: x", "input_name: nope"),
    )
    .unwrap();
    let run = tandem_tests::tandem([
        "pipeline",
        "describe",
        "--spec",
        broken.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.json_error().0, "invalid_input_name");
}
