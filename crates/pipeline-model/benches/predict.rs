//! `PipelineModel` latency on the scaler + linear-model demo (two nodes,
//! two artifacts, one parameter), for 1 and 10,000 rows.
//!
//! `cargo bench -p tandem-pipeline-ml --bench predict`; figures in docs/benchmarks.md.
//!
//! - `predict`: a `RecordBatch` in, a `RecordBatch` out (the library call);
//! - `predict_request`: an MLflow `dataframe_split` body in, the
//!   `{"predictions": ...}` JSON out, what `tandem models predict` and a
//!   server do per request (parse, enforce the signature, predict, encode);
//! - `load`: `PipelineModel::load` of the saved directory.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::OnceLock;

use divan::Bencher;
use serde_json::json;
use tandem_pipeline_core::Data;
use tandem_pipeline_ml::PipelineMlOptions;
use tandem_pipeline_model::envelope::InputFormat;
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};

fn main() {
    divan::main();
}

const ROWS: &[usize] = &[1, 10_000];

struct Fixture {
    /// Keeps the model directory alive for `load`.
    dir: tempfile::TempDir,
    model: PipelineModel,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (dir, catalog, ml) = support::trained(PipelineMlOptions::default());
        let path = dir.path().join("model");
        save_model(&ml, &catalog, &path, &save_options!()).expect("the demo model saves");
        let model = PipelineModel::load(&path, &support::functions(), &LoadOptions::default())
            .expect("and loads");
        Fixture { dir, model }
    })
}

/// An MLflow `dataframe_split` body of `rows` rows.
fn body(rows: usize) -> Vec<u8> {
    let table = support::table(rows, false);
    let columns: Vec<&str> = support::FEATURES.to_vec();
    let x1 = table
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .expect("x1");
    let x2 = table
        .column(1)
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .expect("x2");
    let data: Vec<[f64; 2]> = x1
        .values()
        .iter()
        .zip(x2.values().iter())
        .map(|(a, b)| [*a, *b])
        .collect();
    json!({"dataframe_split": {"columns": columns, "data": data}})
        .to_string()
        .into_bytes()
}

#[divan::bench(args = ROWS, sample_count = 50)]
fn predict(bencher: Bencher<'_, '_>, rows: usize) {
    let model = &fixture().model;
    let input = Data::new(support::table(rows, false));
    let params = serde_json::Map::new();
    bencher.bench(|| {
        model
            .predict(input.clone(), &params, None)
            .expect("predicts")
    });
}

#[divan::bench(args = ROWS, sample_count = 50)]
fn predict_request(bencher: Bencher<'_, '_>, rows: usize) {
    let model = &fixture().model;
    let body = body(rows);
    let params = serde_json::Map::new();
    bencher.bench(|| {
        model
            .predict_request(&body, InputFormat::Json, &params, None)
            .expect("predicts")
    });
}

#[divan::bench(sample_count = 20)]
fn load(bencher: Bencher<'_, '_>) {
    let path = fixture().dir.path().join("model");
    let functions = support::functions();
    bencher
        .bench(|| PipelineModel::load(&path, &functions, &LoadOptions::default()).expect("loads"));
}
