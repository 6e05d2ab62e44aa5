//! One loaded model shared by many threads: predictions stay independent
//! (parameters included) and artifacts are shared, not copied.

mod support;

use std::sync::Arc;
use std::thread;

use arrow_array::RecordBatch;
use serde_json::json;
use support::*;
use tandem_pipeline_core::{Data, Pipeline, node};
use tandem_pipeline_ml::{PipelineMlOptions, RunnerChoice};
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};

const THREADS: usize = 8;
const CALLS: usize = 25;

#[test]
fn concurrent_predicts_match_sequential_ones() {
    let (dir, catalog, ml) = trained(PipelineMlOptions::default());
    let m = dir.path().join("model");
    save_model(&ml, &catalog, &m, &save_options!()).unwrap();
    let model = Arc::new(PipelineModel::load(&m, &functions(), &LoadOptions::default()).unwrap());
    let input = catalog.load("features").unwrap();
    let thresholds: Vec<f64> = (0..THREADS).map(|t| t as f64 - 4.0).collect();
    let expected: Vec<Vec<bool>> = thresholds
        .iter()
        .map(|t| {
            let params = json!({"threshold": t});
            labels(
                &model
                    .predict(input.clone(), params.as_object().unwrap(), None)
                    .unwrap(),
            )
        })
        .collect();
    assert!(
        expected.windows(2).any(|w| w[0] != w[1]),
        "thresholds must matter for the test to mean anything"
    );

    let handles: Vec<_> = thresholds
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (model, input, expected) = (Arc::clone(&model), input.clone(), expected[i].clone());
            let params = json!({"threshold": t});
            thread::spawn(move || {
                for call in 0..CALLS {
                    let runner = (call % 2 == 0).then_some(RunnerChoice::Parallel);
                    let out = model
                        .predict(input.clone(), params.as_object().unwrap(), runner)
                        .unwrap();
                    assert_eq!(labels(&out), expected);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

/// The address of a table's first column buffer, the threshold it saw and
/// the input size: enough to tell shared artifacts and per-call parameters.
fn probe(features: &RecordBatch, reference: &RecordBatch, threshold: &f64) -> Vec<u64> {
    let address = reference.column(0).to_data().buffers()[0].as_ptr() as usize as u64;
    vec![address, threshold.to_bits(), features.num_rows() as u64]
}

#[test]
fn artifacts_are_loaded_once_and_shared_by_every_call() {
    let mut functions = functions();
    functions.register("demo.probe", probe);
    let inference = Pipeline::new([node(
        functions.get("demo.probe").unwrap().clone(),
        ["features", "train", "params:threshold"],
        "probe",
    )
    .build()
    .unwrap()])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("model");
    save_trained(&scaler_ml(inference), &parameters(), 10, &m);
    let model = load(&m, &functions);
    let loaded = model.artifacts()["train"]
        .downcast_ref::<RecordBatch>()
        .unwrap();
    let shared = loaded.column(0).to_data().buffers()[0].as_ptr() as usize as u64;

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let model = Arc::clone(&model);
            thread::spawn(move || {
                let threshold = t as f64 / 10.0;
                let params = json!({"threshold": threshold});
                for rows in 1..=CALLS {
                    let input = Data::new(table(rows, false));
                    let out = model
                        .predict(input, params.as_object().unwrap(), None)
                        .unwrap();
                    let seen = out.downcast_ref::<Vec<u64>>().unwrap();
                    assert_eq!(seen, &[shared, threshold.to_bits(), rows as u64]);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    // A copying mode does copy, which is how the test above can tell.
    let copying = LoadOptions {
        copy_mode: Some(serde_json::from_value(json!({"train": "deepcopy"})).unwrap()),
        ..LoadOptions::default()
    };
    let model = PipelineModel::load(&m, &functions, &copying).unwrap();
    let loaded = model.artifacts()["train"]
        .downcast_ref::<RecordBatch>()
        .unwrap();
    let own = loaded.column(0).to_data().buffers()[0].as_ptr() as usize as u64;
    let out = model
        .predict(Data::new(table(1, false)), &no_params(), None)
        .unwrap();
    assert_ne!(out.downcast_ref::<Vec<u64>>().unwrap()[0], own);
}
