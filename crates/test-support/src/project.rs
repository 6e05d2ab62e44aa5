//! The demo project: a small scaler + linear-model `PipelineMl` on arrow
//! tables, trained for real with the sequential runner on a catalog of temp
//! files. Test code: it panics on anything unexpected.

#![allow(missing_docs, reason = "test fixtures, named for what they build")]
#![allow(clippy::missing_panics_doc, reason = "test fixtures panic by design")]

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry, Parameters};
use tandem_pipeline_core::{Data, FunctionRegistry, Pipeline, data_value, node};
use tandem_pipeline_ml::{PipelineMl, PipelineMlOptions};
use tandem_runners::{RunOptions, Runner, SequentialRunner};

/// Column-wise standardization fitted on the training features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub columns: Vec<String>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// A ridge regression on the scaled features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    pub weights: Vec<f64>,
    pub bias: f64,
}

data_value!(serde: Scaler, Linear);

pub const FEATURES: [&str; 2] = ["x1", "x2"];

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a [f64] {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
        .map(|c| c.values().as_ref())
        .unwrap_or(&[])
}

pub fn fit_scaler(train: &RecordBatch) -> Scaler {
    let (mut mean, mut std) = (Vec::new(), Vec::new());
    for name in FEATURES {
        let values = column(train, name);
        let m = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64;
        mean.push(m);
        std.push(var.sqrt().max(1e-12));
    }
    Scaler {
        columns: FEATURES.iter().map(|s| (*s).to_owned()).collect(),
        mean,
        std,
    }
}

pub fn scale(features: &RecordBatch, scaler: &Scaler) -> RecordBatch {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (i, name) in scaler.columns.iter().enumerate() {
        let scaled: Float64Array = column(features, name)
            .iter()
            .map(|v| (v - scaler.mean[i]) / scaler.std[i])
            .collect::<Vec<_>>()
            .into();
        fields.push(Field::new(name.clone(), DataType::Float64, false));
        arrays.push(Arc::new(scaled));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .unwrap_or_else(|_| RecordBatch::new_empty(features.schema()))
}

/// Ridge regression by the normal equations, solved by Gaussian elimination.
pub fn fit_linear(scaled: &RecordBatch, train: &RecordBatch, l2: &f64) -> Linear {
    let y = column(train, "y");
    let xs: Vec<&[f64]> = FEATURES.iter().map(|f| column(scaled, f)).collect();
    let k = xs.len() + 1;
    let row = |r: usize| -> Vec<f64> {
        std::iter::once(1.0)
            .chain(xs.iter().map(|x| x[r]))
            .collect()
    };
    let mut a = vec![vec![0.0; k + 1]; k];
    for (r, target) in y.iter().enumerate() {
        let features = row(r);
        for (i, line) in a.iter_mut().enumerate() {
            for (cell, feature) in line.iter_mut().zip(&features) {
                *cell += features[i] * feature;
            }
            line[k] += features[i] * target;
        }
    }
    for (i, line) in a.iter_mut().enumerate().skip(1) {
        line[i] += l2;
    }
    for col in 0..k {
        let pivot = a[col][col];
        let pivot_row: Vec<f64> = a[col].iter().map(|v| v / pivot).collect();
        for (r, line) in a.iter_mut().enumerate() {
            if r == col {
                line.clone_from(&pivot_row);
            } else {
                let factor = line[col];
                for (cell, p) in line.iter_mut().zip(&pivot_row) {
                    *cell -= factor * p;
                }
            }
        }
    }
    Linear {
        bias: a[0][k],
        weights: (1..k).map(|i| a[i][k]).collect(),
    }
}

pub fn predict(scaled: &RecordBatch, model: &Linear, threshold: &f64) -> RecordBatch {
    let xs: Vec<&[f64]> = FEATURES.iter().map(|f| column(scaled, f)).collect();
    let scores: Vec<f64> = (0..scaled.num_rows())
        .map(|r| {
            model.bias
                + xs.iter()
                    .zip(&model.weights)
                    .map(|(x, w)| x[r] * w)
                    .sum::<f64>()
        })
        .collect();
    let labels: BooleanArray = scores.iter().map(|s| Some(s > threshold)).collect();
    let schema = Schema::new(vec![
        Field::new("score", DataType::Float64, false),
        Field::new("label", DataType::Boolean, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(Float64Array::from(scores)), Arc::new(labels)],
    )
    .unwrap_or_else(|_| RecordBatch::new_empty(scaled.schema()))
}

/// The project's functions, as its binary would register them.
pub fn functions() -> FunctionRegistry {
    let mut registry = FunctionRegistry::with_builtins();
    registry
        .register("demo.fit_scaler", fit_scaler)
        .register("demo.scale", scale)
        .register("demo.fit_linear", fit_linear)
        .register("demo.predict", predict);
    registry
}

fn f(registry: &FunctionRegistry, id: &str) -> tandem_pipeline_core::NodeFunction {
    registry
        .get(id)
        .cloned()
        .unwrap_or_else(|| panic!("no function {id}"))
}

/// The demo project's pipelines on the training table `train` and the
/// inference input `input`. Training: fit the scaler, scale, fit the
/// model. Inference: scale the input with the fitted scaler, score it with
/// the fitted model.
pub fn pipelines(train: &str, input: &str) -> (Pipeline, Pipeline) {
    let r = functions();
    let scaled = format!("{train}_scaled");
    let training = Pipeline::new([
        node(f(&r, "demo.fit_scaler"), train, "scaler")
            .name("fit_scaler")
            .build()
            .unwrap(),
        node(f(&r, "demo.scale"), [train, "scaler"], scaled.as_str())
            .name("scale_train")
            .build()
            .unwrap(),
        node(
            f(&r, "demo.fit_linear"),
            [scaled.as_str(), train, "params:l2"],
            "model",
        )
        .name("fit_linear")
        .build()
        .unwrap(),
    ])
    .unwrap();
    let inference = Pipeline::new([
        node(f(&r, "demo.scale"), [input, "scaler"], "features_scaled")
            .name("scale")
            .build()
            .unwrap(),
        node(
            f(&r, "demo.predict"),
            ["features_scaled", "model", "params:threshold"],
            "predictions",
        )
        .name("predict")
        .build()
        .unwrap(),
    ])
    .unwrap();
    (training, inference)
}

/// The demo project's [`pipelines`] on `train`, input `features`.
pub fn ml_pipeline(options: PipelineMlOptions) -> PipelineMl {
    let (training, inference) = pipelines("train", "features");
    PipelineMl::new(training, inference, "features", options).unwrap()
}

/// A `PipelineMl` whose training only fits the demo scaler (`train` to
/// `scaler`) and whose inference, on input `features`, is `inference`.
pub fn scaler_ml(inference: Pipeline) -> PipelineMl {
    let training = Pipeline::new([node(f(&functions(), "demo.fit_scaler"), "train", "scaler")
        .name("fit_scaler")
        .build()
        .unwrap()])
    .unwrap();
    PipelineMl::new(
        training,
        inference,
        "features",
        PipelineMlOptions::default(),
    )
    .unwrap()
}

/// `n` rows of two features and a target, deterministic.
pub fn table(n: usize, with_target: bool) -> RecordBatch {
    let x1: Vec<f64> = (0..n).map(|i| (i % 17) as f64 * 0.5 - 3.0).collect();
    let x2: Vec<f64> = (0..n).map(|i| ((i * 7) % 11) as f64 + 0.25).collect();
    let mut fields = vec![
        Field::new("x1", DataType::Float64, false),
        Field::new("x2", DataType::Float64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(x1.clone())),
        Arc::new(Float64Array::from(x2.clone())),
    ];
    if with_target {
        let y: Vec<f64> = x1
            .iter()
            .zip(&x2)
            .map(|(a, b)| 2.0 * a - 0.5 * b + 1.0)
            .collect();
        fields.push(Field::new("y", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from(y)));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// The demo project's catalog.yml.
pub fn catalog_entries() -> Value {
    json!({
        "train": {"type": "ParquetDataset", "filepath": "data/01_raw/train.parquet"},
        "features": {"type": "ParquetDataset", "filepath": "data/01_raw/features.parquet"},
        "scaler": {"type": "SerdeDataset", "filepath": "data/06_models/scaler.json"},
        "model": {"type": "SerdeDataset", "filepath": "data/06_models/model.msgpack", "versioned": true},
    })
}

pub fn parameters() -> Value {
    json!({"l2": 0.1, "threshold": 0.5})
}

/// A catalog of `entries` rooted at `root`, with `params` and a pinned save version.
pub fn catalog(
    root: &Path,
    entries: &Value,
    params: &Value,
    save_version: Option<&str>,
) -> DataCatalog {
    let mut options = CatalogOptions::new(DatasetRegistry::with_builtins());
    options.save_version = save_version.map(str::to_owned);
    let catalog =
        DataCatalog::from_config(entries.as_object().unwrap(), &Map::new(), &options, root)
            .unwrap();
    catalog.add_parameters(&Parameters::new(params.as_object().unwrap().clone()));
    catalog
}

/// Writes the raw data (`rows` rows) a training run reads.
pub fn write_raw(catalog: &DataCatalog, rows: usize) {
    catalog.save("train", Data::new(table(rows, true))).unwrap();
    catalog
        .save("features", Data::new(table(rows, false)))
        .unwrap();
}

/// Runs the training pipeline.
pub fn train(ml: &PipelineMl, catalog: &DataCatalog) {
    SequentialRunner
        .run(ml.training(), catalog, &[], &RunOptions::default())
        .unwrap();
}

/// The inference pipeline's output, run in process on the training catalog.
pub fn in_process(ml: &PipelineMl, catalog: &DataCatalog) -> Data {
    let out = SequentialRunner
        .run(ml.inference(), catalog, &[], &RunOptions::default())
        .unwrap();
    out.outputs[ml.output_name()].clone()
}

/// A trained demo project in a temp dir: (dir, catalog, ml).
pub fn trained(options: PipelineMlOptions) -> (tempfile::TempDir, DataCatalog, PipelineMl) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path(), &catalog_entries(), &parameters(), None);
    write_raw(&catalog, 40);
    let ml = ml_pipeline(options);
    train(&ml, &catalog);
    (dir, catalog, ml)
}

pub fn batch(data: &Data) -> &RecordBatch {
    data.downcast_ref::<RecordBatch>().unwrap()
}

pub fn labels(data: &Data) -> Vec<bool> {
    let b = batch(data);
    let labels = b
        .column_by_name("label")
        .unwrap()
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap();
    labels.iter().map(|v| v.unwrap_or(false)).collect()
}

pub fn no_params() -> Map<String, Value> {
    Map::new()
}

pub fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap()
}

pub fn yaml(path: impl AsRef<Path>) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap()
}
