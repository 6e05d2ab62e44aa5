//! The whole job in process: generate, train, evaluate, then predict with
//! the inference pipeline on what training persisted.

mod common;

use arrow_array::RecordBatch;
use churn::features::{Imputer, OneHotEncoder, Scaler};
use churn::metrics::Metrics;
use churn::model::LogisticModel;
use common::Project;
use tandem_pipeline_core::{Data, DataValue};
use tandem_runners::{ParallelRunner, SequentialRunner};

fn load<T: DataValue>(project: &Project, dataset: &str) -> T {
    project
        .catalog()
        .load(dataset)
        .unwrap()
        .into_value()
        .unwrap()
}

fn file(project: &Project, relative: &str) -> String {
    std::fs::read_to_string(project.path(relative)).unwrap()
}

#[test]
fn default_pipeline_trains_a_useful_model_and_runners_agree() {
    let sequential = Project::new();
    let (output, _) = sequential.run("__default__", &SequentialRunner, &sequential.catalog());
    assert_eq!(
        output.free_outputs,
        ["confusion_matrix", "roc_curve", "tracked_metrics"]
    );
    let parallel = Project::new();
    parallel.run(
        "__default__",
        &ParallelRunner::new(Some(2)).unwrap(),
        &parallel.catalog(),
    );

    for relative in [
        "data/01_raw/customers.csv",
        "data/06_models/imputer.json",
        "data/06_models/scaler.json",
        "data/06_models/encoder.json",
        "data/08_reporting/metrics.json",
    ] {
        assert_eq!(
            file(&sequential, relative),
            file(&parallel, relative),
            "{relative}"
        );
    }
    let model: LogisticModel = load(&sequential, "model");
    assert_eq!(model, load::<LogisticModel>(&parallel, "model"));

    // The evaluation's figures: PNGs of the size each node asks for
    // (5 x 5 in and 5 x 4.5 in at 100 dpi), the same from both runners.
    for (relative, size) in [
        ("data/08_reporting/roc_curve.png", (500, 500)),
        ("data/08_reporting/confusion_matrix.png", (500, 450)),
    ] {
        let png = std::fs::read(sequential.path(relative)).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{relative}");
        assert_eq!(&png[12..16], b"IHDR", "{relative}");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), size, "{relative}");
        assert_eq!(
            png,
            std::fs::read(parallel.path(relative)).unwrap(),
            "{relative}"
        );
    }

    let raw: RecordBatch = load(&sequential, "raw_customers");
    assert_eq!(raw.num_rows(), 5000);
    let missing = raw.column_by_name("total_charges").unwrap().null_count();
    assert!(
        (150..=350).contains(&missing),
        "{missing} missing total_charges"
    );

    let metrics: Metrics = load(&sequential, "metrics");
    assert_eq!(metrics.n_test, 1000);
    let majority = metrics.base_rate.max(1.0 - metrics.base_rate);
    assert!(metrics.accuracy > majority + 0.05, "{metrics:?}");
    assert!(metrics.roc_auc.unwrap() > 0.8, "{metrics:?}");
    assert!(
        metrics.recall > 0.4 && metrics.precision > 0.5,
        "{metrics:?}"
    );
    assert!(metrics.log_loss < 0.5, "{metrics:?}");
}

#[test]
fn inference_on_the_test_customers_reproduces_the_evaluation() {
    let project = Project::new();
    project.run("__default__", &SequentialRunner, &project.catalog());

    let catalog = project.catalog();
    let test_customers = catalog.load("customers_test").unwrap();
    // The served model's input replaces the training split.
    catalog.insert_data(churn::INPUT_NAME, test_customers);
    let pipelines = churn::pipelines().unwrap();
    let inference = pipelines["training"].as_ml().unwrap().inference().clone();
    let output = tandem_runners::Runner::run(
        &SequentialRunner,
        &inference,
        &catalog,
        &[],
        &Default::default(),
    )
    .unwrap();
    let predictions: RecordBatch = output.outputs["predictions"].clone().into_value().unwrap();
    let evaluated: RecordBatch = load(&project, "test_predictions");
    assert_eq!(predictions, evaluated);

    let labels: RecordBatch = load(&project, "labels_test");
    let threshold = load::<f64>(&project, "params:threshold");
    let metrics = churn::metrics::evaluate(&predictions, &labels, threshold).unwrap();
    assert_eq!(metrics, load::<Metrics>(&project, "metrics"));
}

#[test]
fn fitted_objects_round_trip_through_their_json_files() {
    let project = Project::new();
    let (_, produced) = project.run("__default__", &SequentialRunner, &project.catalog());
    fn same<T: DataValue + PartialEq + std::fmt::Debug>(
        project: &Project,
        produced: &Data,
        name: &str,
    ) {
        let in_memory: &T = produced.downcast_ref().unwrap();
        assert_eq!(&load::<T>(project, name), in_memory, "{name}");
    }
    same::<Imputer>(&project, &produced["imputer"], "imputer");
    same::<Scaler>(&project, &produced["scaler"], "scaler");
    same::<OneHotEncoder>(&project, &produced["encoder"], "encoder");
    same::<LogisticModel>(&project, &produced["model"], "model");
    same::<Metrics>(&project, &produced["metrics"], "metrics");

    let encoder: serde_json::Value =
        serde_json::from_str(&file(&project, "data/06_models/encoder.json")).unwrap();
    assert_eq!(
        encoder,
        serde_json::json!({"column": "contract", "categories": ["month-to-month", "one-year", "two-year"]})
    );
    // Versioned: data/06_models/churn_model.json/<run version>/churn_model.json.
    let versions: Vec<_> = std::fs::read_dir(project.path("data/06_models/churn_model.json"))
        .unwrap()
        .collect();
    assert_eq!(versions.len(), 1);
    let model: LogisticModel = load(&project, "model");
    assert_eq!(
        model.feature_names,
        [
            "tenure_months",
            "monthly_charges",
            "total_charges",
            "support_calls",
            "contract=month-to-month",
            "contract=one-year",
            "contract=two-year"
        ]
    );
    assert!(project.path("data/01_raw/customers.csv").exists());
}
