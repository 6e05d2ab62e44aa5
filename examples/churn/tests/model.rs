//! The packed model: saved after training and loaded back with
//! `PipelineModel`, it predicts exactly what the in-process pipeline did,
//! from arrow data and from an MLflow JSON request alike.

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use churn::model::{CHURN, CHURN_PROBABILITY};
use common::Project;
use serde_json::{Map, Value, json};
use tandem_pipeline_core::{Data, FunctionRegistry};
use tandem_pipeline_ml::RunnerChoice;
use tandem_pipeline_model::envelope::InputFormat;
use tandem_pipeline_model::{LoadOptions, PipelineModel, save_model, save_options};
use tandem_runners::SequentialRunner;

/// One cell as JSON, the way a client would send it.
fn cell(array: &ArrayRef, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Float64 => json!(array.as_primitive::<Float64Type>().value(row)),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(row)),
        DataType::Utf8 => json!(array.as_string::<i32>().value(row)),
        other => panic!("no JSON form for {other} in this test"),
    }
}

/// The first `rows` rows as MLflow's `dataframe_split` envelope.
fn dataframe_split(batch: &RecordBatch, rows: usize) -> Vec<u8> {
    let columns: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let data: Vec<Value> = (0..rows)
        .map(|row| batch.columns().iter().map(|c| cell(c, row)).collect())
        .collect();
    json!({"dataframe_split": {"columns": columns, "data": data}})
        .to_string()
        .into_bytes()
}

fn probabilities(batch: &RecordBatch) -> Vec<f64> {
    let column = batch.column_by_name(CHURN_PROBABILITY).unwrap();
    column.as_primitive::<Float64Type>().values().to_vec()
}

fn decisions(batch: &RecordBatch) -> Vec<bool> {
    let column = batch.column_by_name(CHURN).unwrap();
    column.as_boolean().iter().map(Option::unwrap).collect()
}

#[test]
fn the_saved_model_predicts_what_training_evaluated() {
    let project = Project::new();
    let catalog = project.catalog();
    project.run("__default__", &SequentialRunner, &catalog);
    let pipelines = churn::pipelines().unwrap();
    let dir = project.path("data/06_models/churn_pipeline");
    let ml = pipelines["__default__"].as_ml().unwrap();
    save_model(ml, &catalog, &dir, &save_options!()).unwrap();

    let mut functions = FunctionRegistry::with_builtins();
    churn::functions(&mut functions);
    let model = PipelineModel::load(&dir, &functions, &LoadOptions::default()).unwrap();
    let customers: RecordBatch = catalog
        .load("customers_test")
        .unwrap()
        .into_value()
        .unwrap();
    let expected: RecordBatch = catalog
        .load("test_predictions")
        .unwrap()
        .into_value()
        .unwrap();

    let predicted = model
        .predict(Data::new(customers.clone()), &Map::new(), None)
        .unwrap();
    assert_eq!(predicted.into_value::<RecordBatch>().unwrap(), expected);

    // A stricter threshold for one call flags fewer customers, from the same probabilities.
    let strict = json!({"threshold": 0.9});
    let strict: RecordBatch = model
        .predict(
            Data::new(customers.clone()),
            strict.as_object().unwrap(),
            Some(RunnerChoice::Parallel),
        )
        .unwrap()
        .into_value()
        .unwrap();
    assert_eq!(probabilities(&strict), probabilities(&expected));
    let flagged = |b: &RecordBatch| decisions(b).into_iter().filter(|c| *c).count();
    assert!(flagged(&strict) < flagged(&expected));

    // What `churn models predict` does with a JSON request.
    let rows = 25;
    let body = dataframe_split(&customers, rows);
    let response = model
        .predict_request(&body, InputFormat::Json, &Map::new(), None)
        .unwrap();
    let response: serde_json::Value = serde_json::from_slice(&response).unwrap();
    let records = response["predictions"].as_array().unwrap();
    assert_eq!(records.len(), rows);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(
            record[CHURN_PROBABILITY].as_f64().unwrap(),
            probabilities(&expected)[i],
            "row {i}"
        );
        assert_eq!(
            record[CHURN].as_bool().unwrap(),
            decisions(&expected)[i],
            "row {i}"
        );
    }
}
