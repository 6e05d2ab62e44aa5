//! A PipelineMl whose nodes use Polars (training on a Polars dataset, a
//! lazy scaling node and an eager predicting node at inference) trained
//! through the catalog, saved as a model, loaded, predicted in process and
//! served over HTTP by tandem-serving.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, BooleanArray, Float64Array, RecordBatch};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry, Parameters};
use tandem_pipeline_core::{Data, FunctionRegistry, NodeFunction, Pipeline, data_value, node};
use tandem_pipeline_ml::{PipelineMl, PipelineMlOptions};
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};
use tandem_runners::{RunOptions, Runner, SequentialRunner};

const FEATURES: [&str; 2] = ["x1", "x2"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Scaler {
    mean: Vec<f64>,
    std: Vec<f64>,
}

/// One slope per standardized feature (a sum of univariate fits) and a bias.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Linear {
    weights: Vec<f64>,
    bias: f64,
}

data_value!(serde: Scaler, Linear);

fn polars_error(e: impl std::fmt::Display) -> PolarsError {
    PolarsError::ComputeError(e.to_string().into())
}

fn scalar(frame: &DataFrame, name: &str) -> PolarsResult<f64> {
    frame
        .column(name)?
        .f64()?
        .get(0)
        .ok_or_else(|| polars_error(format!("no {name}")))
}

fn fit_scaler(train: &DataFrame) -> PolarsResult<Scaler> {
    let stats = train
        .clone()
        .lazy()
        .select(
            FEATURES
                .iter()
                .flat_map(|f| {
                    [
                        col(*f).mean().alias(format!("{f}_mean")),
                        col(*f).std(0).alias(format!("{f}_std")),
                    ]
                })
                .collect::<Vec<_>>(),
        )
        .collect()?;
    let mut scaler = Scaler {
        mean: Vec::new(),
        std: Vec::new(),
    };
    for f in FEATURES {
        scaler.mean.push(scalar(&stats, &format!("{f}_mean"))?);
        scaler
            .std
            .push(scalar(&stats, &format!("{f}_std"))?.max(1e-12));
    }
    Ok(scaler)
}

/// Lazy: the plan standardizes the features; collected by `predict`.
fn scale(features: &DataFrame, scaler: &Scaler) -> LazyFrame {
    let exprs: Vec<Expr> = FEATURES
        .iter()
        .enumerate()
        .map(|(i, f)| ((col(*f) - lit(scaler.mean[i])) / lit(scaler.std[i])).alias(*f))
        .collect();
    features.clone().lazy().select(exprs)
}

fn fit_linear(scaled: &DataFrame, train: &DataFrame) -> PolarsResult<Linear> {
    let y = train.column("y")?.f64()?;
    let bias = y.mean().ok_or_else(|| polars_error("empty y"))?;
    let mut weights = Vec::new();
    for f in FEATURES {
        let x = scaled.column(f)?.f64()?;
        let cov: f64 = x
            .into_no_null_iter()
            .zip(y.into_no_null_iter())
            .map(|(x, y)| x * (y - bias))
            .sum::<f64>()
            / x.len() as f64;
        weights.push(cov);
    }
    Ok(Linear { weights, bias })
}

/// Eager: declares a DataFrame, so the scaling LazyFrame is collected here;
/// returns arrow for the scoring envelope.
fn predict(scaled: &DataFrame, model: &Linear, threshold: &f64) -> PolarsResult<RecordBatch> {
    let score = FEATURES
        .iter()
        .zip(&model.weights)
        .fold(lit(model.bias), |acc, (f, w)| acc + col(*f) * lit(*w));
    let out = scaled
        .clone()
        .lazy()
        .select([
            score.clone().alias("score"),
            score.gt(lit(*threshold)).alias("label"),
        ])
        .collect()?;
    tandem_polars::to_record_batch(&out).map_err(polars_error)
}

fn functions() -> FunctionRegistry {
    let mut registry = FunctionRegistry::with_builtins();
    registry
        .register("polars_demo.fit_scaler", fit_scaler)
        .register("polars_demo.scale", scale)
        .register("polars_demo.fit_linear", fit_linear)
        .register("polars_demo.predict", predict);
    registry
}

fn f(id: &str) -> NodeFunction {
    functions().get(id).cloned().unwrap()
}

fn ml() -> PipelineMl {
    let training = Pipeline::new([
        node(f("polars_demo.fit_scaler"), "train", "scaler")
            .name("fit_scaler")
            .build()
            .unwrap(),
        node(f("polars_demo.scale"), ["train", "scaler"], "train_scaled")
            .name("scale_train")
            .build()
            .unwrap(),
        node(
            f("polars_demo.fit_linear"),
            ["train_scaled", "train"],
            "model",
        )
        .name("fit_linear")
        .build()
        .unwrap(),
    ])
    .unwrap();
    let inference = Pipeline::new([
        node(
            f("polars_demo.scale"),
            ["features", "scaler"],
            "features_scaled",
        )
        .name("scale")
        .build()
        .unwrap(),
        node(
            f("polars_demo.predict"),
            ["features_scaled", "model", "params:threshold"],
            "predictions",
        )
        .name("predict")
        .build()
        .unwrap(),
    ])
    .unwrap();
    PipelineMl::new(
        training,
        inference,
        "features",
        PipelineMlOptions::default(),
    )
    .unwrap()
}

fn table(n: usize) -> DataFrame {
    let x1: Vec<f64> = (0..n).map(|i| (i % 17) as f64 * 0.5 - 3.0).collect();
    let x2: Vec<f64> = (0..n).map(|i| ((i * 7) % 11) as f64 + 0.25).collect();
    let y: Vec<f64> = x1
        .iter()
        .zip(&x2)
        .map(|(a, b)| 2.0 * a - 0.5 * b + 1.0)
        .collect();
    df!("x1" => x1, "x2" => x2, "y" => y).unwrap()
}

fn catalog(root: &Path) -> DataCatalog {
    let entries = json!({
        "train": {"type": "polars.ParquetDataset", "filepath": "data/01_raw/train.parquet"},
        // The model's input is arrow, as the scoring server hands it over.
        "features": {"type": "pandas.ParquetDataset", "filepath": "data/01_raw/features.parquet"},
        "scaler": {"type": "SerdeDataset", "filepath": "data/06_models/scaler.json"},
        "model": {"type": "SerdeDataset", "filepath": "data/06_models/model.json"},
    });
    let mut registry = DatasetRegistry::with_builtins();
    tandem_polars::register(&mut registry);
    let catalog = DataCatalog::from_config(
        entries.as_object().unwrap(),
        &Map::new(),
        &CatalogOptions::new(registry),
        root,
    )
    .unwrap();
    let params = json!({"threshold": 0.5});
    catalog.add_parameters(&Parameters::new(params.as_object().unwrap().clone()));
    catalog
}

fn columns(batch: &RecordBatch) -> (Vec<f64>, Vec<bool>) {
    let score = batch
        .column_by_name("score")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    let label = batch
        .column_by_name("label")
        .unwrap()
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap();
    (
        score.values().to_vec(),
        label.iter().map(|v| v.unwrap()).collect(),
    )
}

/// The expected scores, computed without Polars from the fitted artifacts.
fn expected(catalog: &DataCatalog, rows: &[[f64; 2]]) -> Vec<f64> {
    let scaler = catalog
        .load("scaler")
        .unwrap()
        .into_value::<Scaler>()
        .unwrap();
    let model = catalog
        .load("model")
        .unwrap()
        .into_value::<Linear>()
        .unwrap();
    rows.iter()
        .map(|row| {
            model.bias
                + (0..2)
                    .map(|i| (row[i] - scaler.mean[i]) / scaler.std[i] * model.weights[i])
                    .sum::<f64>()
        })
        .collect()
}

#[test]
fn a_polars_pipeline_ml_is_saved_loaded_predicted_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path());
    let train = table(40);
    catalog.save("train", Data::new(train.clone())).unwrap();
    let features = tandem_polars::to_record_batch(&train.drop("y").unwrap()).unwrap();
    catalog
        .save("features", Data::new(features.clone()))
        .unwrap();

    let ml = ml();
    SequentialRunner
        .run(ml.training(), &catalog, &[], &RunOptions::default())
        .unwrap();
    let model_dir = dir.path().join("model");
    save_model(&ml, &catalog, &model_dir, &save_options!()).unwrap();

    let model =
        Arc::new(PipelineModel::load(&model_dir, &functions(), &LoadOptions::default()).unwrap());
    let rows = [[1.0, 2.0], [-3.0, 10.25], [0.5, 0.25]];
    let input = RecordBatch::try_from_iter([
        (
            "x1",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r[0]).collect::<Vec<_>>(),
            )) as arrow_array::ArrayRef,
        ),
        (
            "x2",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r[1]).collect::<Vec<_>>(),
            )),
        ),
    ])
    .unwrap();
    let predicted = model.predict(Data::new(input), &Map::new(), None).unwrap();
    let (scores, labels) = columns(predicted.downcast_ref::<RecordBatch>().unwrap());
    let want = expected(&catalog, &rows);
    for (got, want) in scores.iter().zip(&want) {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
    assert_eq!(labels, want.iter().map(|s| *s > 0.5).collect::<Vec<_>>());
    // The fitted model tracks the generating function's direction.
    assert!(scores[0] > scores[1]);

    // Served: the same answer over MLflow's JSON protocol, with a param.
    let body = json!({
        "dataframe_split": {"columns": ["x1", "x2"], "data": rows},
        "params": {"threshold": 100.0},
    })
    .to_string();
    let answer = serve_once(Arc::clone(&model), &body);
    let predictions = &answer["predictions"];
    let served: Vec<f64> = predictions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    for (got, want) in served.iter().zip(&want) {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
    assert!(
        predictions
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["label"] == json!(false))
    );
}

/// POSTs `body` to a tandem-serving server on a loopback port; the JSON answer.
fn serve_once(model: Arc<PipelineModel>, body: &str) -> Value {
    use tandem_serving::{ServeConfig, Server};
    let config = ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    };
    let body = body.to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let server = Server::bind(model, config).await.unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.run(async {
            stopped.await.ok();
        }));
        let answer = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            write!(
                stream,
                "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        })
        .await
        .unwrap();
        stop.send(()).ok();
        serving.await.unwrap().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // The body, whether sent with a length or chunked.
        let (_, body) = answer.split_once("\r\n\r\n").unwrap();
        let json = &body[body.find('{').unwrap()..=body.rfind('}').unwrap()];
        serde_json::from_str(json).unwrap()
    })
}
