//! `mlflow.MlflowArtifactDataset` wrapping the plot datasets, with no code
//! of its own for them: a tracked run on a real `mlflow server` saves a
//! PNG and a plotly JSON through the wrapper, and both are in the run's
//! artifacts, byte for byte what was written locally.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
use tandem_mlflow_client::RunQuery;
use tandem_pipeline_core::{FunctionRegistry, Pipeline, node};
use tandem_pipeline_model::save_options;
use tandem_plots::Figure;
use tandem_runners::{Hook, RunOptions, Runner, SequentialRunner};
use tandem_test_support::mlflow::server;
use tandem_tracking::{
    MlflowConfig, MlflowHook, TrackingContext, TrackingProject, register_datasets,
};

fn points(knee: f64) -> Vec<(f64, f64)> {
    vec![(0.0, 0.0), (0.2, knee), (1.0, 1.0)]
}

fn roc(knee: &f64) -> Figure {
    Figure::axes("ROC curve").line("model", points(*knee))
}

fn bars(knee: &f64) -> Value {
    let (x, y): (Vec<f64>, Vec<f64>) = points(*knee).into_iter().unzip();
    json!({"data": [{"type": "bar", "x": x, "y": y}], "layout": {}})
}

#[test]
fn a_tracked_run_logs_the_png_and_the_plotly_json_as_artifacts() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let experiment = "plots-artifacts";
    let config = MlflowConfig::from_yaml(&format!(
        "server:\n  mlflow_tracking_uri: {}\ntracking:\n  experiment:\n    name: {experiment}\n",
        server.uri
    ))
    .unwrap();

    let mut registry = DatasetRegistry::with_builtins();
    tandem_plots::register(&mut registry);
    let context = TrackingContext::new();
    let (factory_root, factory_config) = (root.clone(), config.clone());
    register_datasets(
        &mut registry,
        context.clone(),
        Arc::new(move || factory_config.client(&factory_root, &Map::new())),
        FunctionRegistry::new(),
    );
    let entries = json!({
        "knee": {"type": "MemoryDataset"},
        "roc_curve": {
            "type": "mlflow.MlflowArtifactDataset",
            "dataset": {"type": "matplotlib.MatplotlibWriter", "filepath": "data/08_reporting/roc.png"},
            "artifact_path": "plots",
        },
        "bar_plot": {
            "type": "mlflow.MlflowArtifactDataset",
            "dataset": {"type": "plotly.JSONDataset", "filepath": "data/08_reporting/bars.json"},
        },
    });
    let catalog = DataCatalog::from_config(
        entries.as_object().unwrap(),
        &Map::new(),
        &CatalogOptions::new(registry),
        &root,
    )
    .unwrap();
    catalog
        .save("knee", tandem_pipeline_core::Data::new(0.7_f64))
        .unwrap();
    let pipeline = Pipeline::new([
        node(roc, "knee", "roc_curve")
            .name("plot_roc")
            .build()
            .unwrap(),
        node(bars, "knee", "bar_plot")
            .name("plot_bars")
            .build()
            .unwrap(),
    ])
    .unwrap();
    let hook = MlflowHook::new(
        config.clone(),
        TrackingProject {
            root: root.clone(),
            credentials: Map::new(),
        },
        "reporting",
        None,
        save_options!(),
    )
    .with_context(context);
    let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(hook)];
    SequentialRunner
        .run(&pipeline, &catalog, &hooks, &RunOptions::default())
        .unwrap();

    let client = config.client(&root, &Map::new()).unwrap();
    let experiment = client.get_experiment_by_name(experiment).unwrap().unwrap();
    let runs = client
        .list_runs(&RunQuery::new([experiment.experiment_id]))
        .unwrap();
    assert_eq!(runs.len(), 1);
    let run_id = &runs[0].info.run_id;

    let listed: Vec<String> = client
        .list_artifacts(run_id, Some("plots"))
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(listed, ["plots/roc.png"]);
    let downloads = tempfile::tempdir().unwrap();
    let png = client
        .download_artifacts(run_id, "plots/roc.png", downloads.path())
        .unwrap();
    let logged = std::fs::read(png).unwrap();
    assert_eq!(&logged[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&logged[12..16], b"IHDR");
    let width = u32::from_be_bytes(logged[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(logged[20..24].try_into().unwrap());
    assert_eq!((width, height), (640, 480));
    assert_eq!(
        logged,
        std::fs::read(root.join("data/08_reporting/roc.png")).unwrap()
    );

    let json_file = client
        .download_artifacts(run_id, "bars.json", downloads.path())
        .unwrap();
    let figure: Value = serde_json::from_slice(&std::fs::read(json_file).unwrap()).unwrap();
    assert_eq!(figure["data"][0]["y"], json!([0.0, 0.7, 1.0]));
}
