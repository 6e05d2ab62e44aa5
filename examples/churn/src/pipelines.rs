//! The project's pipelines, Kedro's `pipeline_registry.py`.
//!
//! The feature nodes (`impute`, `scale`, `encode`) are the same node values
//! in training and inference, tagged with both, as kedro-mlflow projects do:
//! whatever training fits, inference applies in exactly the same way. A
//! namespaced copy of them (`evaluation.*`, a modular pipeline) scores the
//! test split during training.

use std::collections::BTreeMap;

use tandem_pipeline_core::{
    DatasetNames, IntoNodeFunction, NodeBuilder, NodeFunction, Pipeline, node, pipeline,
};
use tandem_pipeline_ml::{AnyPipeline, Error, pipeline_ml_factory};

use crate::{features, generate, metrics, model, plots};

/// The dataset the inference pipeline predicts on: the served model's input.
pub const INPUT_NAME: &str = "customers";

/// Every node function under its stable id, so spec files and packed
/// models refer to the functions by id and the pipelines are built from the
/// very functions that are registered.
pub(crate) struct Functions {
    generate_customers: NodeFunction,
    split_customers: NodeFunction,
    fit_imputer: NodeFunction,
    impute: NodeFunction,
    fit_scaler: NodeFunction,
    scale: NodeFunction,
    fit_encoder: NodeFunction,
    encode: NodeFunction,
    fit_model: NodeFunction,
    predict: NodeFunction,
    evaluate: NodeFunction,
    track_metrics: NodeFunction,
    plot_roc_curve: NodeFunction,
    plot_confusion_matrix: NodeFunction,
}

fn with_id<M>(id: &str, function: impl IntoNodeFunction<M>) -> NodeFunction {
    NodeFunction::new(function).with_id(id)
}

impl Functions {
    pub(crate) fn new() -> Self {
        Functions {
            generate_customers: with_id("churn::generate_customers", generate::generate_customers),
            split_customers: with_id("churn::split_customers", generate::split_customers),
            fit_imputer: with_id("churn::fit_imputer", features::fit_imputer),
            impute: with_id("churn::impute", features::impute),
            fit_scaler: with_id("churn::fit_scaler", features::fit_scaler),
            scale: with_id("churn::scale", features::scale),
            fit_encoder: with_id("churn::fit_encoder", features::fit_encoder),
            encode: with_id("churn::encode", features::encode),
            fit_model: with_id("churn::fit_model", model::fit_model),
            predict: with_id("churn::predict", model::predict),
            evaluate: with_id("churn::evaluate", metrics::evaluate),
            track_metrics: with_id("churn::track_metrics", metrics::track_metrics),
            plot_roc_curve: with_id("churn::plot_roc_curve", plots::plot_roc_curve),
            plot_confusion_matrix: with_id(
                "churn::plot_confusion_matrix",
                plots::plot_confusion_matrix,
            ),
        }
    }

    pub(crate) fn all(&self) -> [&NodeFunction; 14] {
        [
            &self.generate_customers,
            &self.split_customers,
            &self.fit_imputer,
            &self.impute,
            &self.fit_scaler,
            &self.scale,
            &self.fit_encoder,
            &self.encode,
            &self.fit_model,
            &self.predict,
            &self.evaluate,
            &self.track_metrics,
            &self.plot_roc_curve,
            &self.plot_confusion_matrix,
        ]
    }
}

/// The registered pipelines:
///
/// - `data_generation`: writes `raw_customers` from `params:data_generation`
///   and `params:seed`;
/// - `training` (bound to `inference`): split, fit the imputer, scaler,
///   encoder and model, score the test split into `metrics` (a report)
///   and `tracked_metrics` (the scores, for MLflow), and draw the test
///   split's `roc_curve` and `confusion_matrix` (PNGs, logged to MLflow);
/// - `inference`: `customers` → impute → scale → encode → `predictions`
///   with `params:threshold`;
/// - `__default__` (bound to `inference`): `data_generation` + `training`,
///   the whole job in one run.
pub fn pipelines() -> Result<BTreeMap<String, AnyPipeline>, Error> {
    let f = Functions::new();
    let data_generation = Pipeline::new([node(
        f.generate_customers.clone(),
        ["params:data_generation", "params:seed"],
        "raw_customers",
    )
    .name("generate_customers")
    .tags(["data_generation"])
    .build()?])?;
    let shared = feature_nodes(&f)?.tag(["training", "inference"])?;
    let inference = Pipeline::new([
        shared.clone(),
        Pipeline::new([predict_node(&f).tags(["inference"]).build()?])?,
    ])?;
    let fitting = Pipeline::new([
        node(
            f.split_customers.clone(),
            ["raw_customers", "params:test_size", "params:seed"],
            [INPUT_NAME, "customers_test", "labels_train", "labels_test"],
        )
        .name("split_customers")
        .build()?,
        node(f.fit_imputer.clone(), INPUT_NAME, "imputer")
            .name("fit_imputer")
            .build()?,
        node(f.fit_scaler.clone(), "customers_imputed", "scaler")
            .name("fit_scaler")
            .build()?,
        node(f.fit_encoder.clone(), INPUT_NAME, "encoder")
            .name("fit_encoder")
            .build()?,
        node(
            f.fit_model.clone(),
            ["features", "labels_train", "params:model"],
            "model",
        )
        .name("fit_model")
        .build()?,
        node(
            f.evaluate.clone(),
            ["test_predictions", "labels_test", "params:threshold"],
            "metrics",
        )
        .name("evaluate")
        .build()?,
        node(f.track_metrics.clone(), "metrics", "tracked_metrics")
            .name("track_metrics")
            .build()?,
        node(
            f.plot_roc_curve.clone(),
            ["test_predictions", "labels_test"],
            "roc_curve",
        )
        .name("plot_roc_curve")
        .build()?,
        node(
            f.plot_confusion_matrix.clone(),
            ["test_predictions", "labels_test"],
            "confusion_matrix",
        )
        .name("plot_confusion_matrix")
        .build()?,
    ])?
    .tag(["training"])?;
    let evaluation = pipeline([
        feature_nodes(&f)?,
        Pipeline::new([predict_node(&f).build()?])?,
    ])
    .namespace("evaluation")
    .inputs(DatasetNames::map([
        (INPUT_NAME, "customers_test"),
        ("imputer", "imputer"),
        ("scaler", "scaler"),
        ("encoder", "encoder"),
        ("model", "model"),
    ]))
    .outputs(DatasetNames::map([("predictions", "test_predictions")]))
    .parameters(["threshold"])
    .tags(["training", "evaluation"])
    .build()?;
    let training = Pipeline::new([fitting, shared, evaluation])?;
    let default = data_generation.union(&training)?;
    Ok(BTreeMap::from([
        ("data_generation".to_owned(), data_generation.into()),
        (
            "training".to_owned(),
            pipeline_ml_factory(training, inference.clone(), INPUT_NAME)?.into(),
        ),
        ("inference".to_owned(), inference.clone().into()),
        (
            "__default__".to_owned(),
            pipeline_ml_factory(default, inference, INPUT_NAME)?.into(),
        ),
    ]))
}

/// `customers` → `customers_imputed` → `customers_scaled` → `features`,
/// untagged: callers tag or namespace them.
fn feature_nodes(f: &Functions) -> Result<Pipeline, Error> {
    Ok(Pipeline::new([
        node(
            f.impute.clone(),
            [INPUT_NAME, "imputer"],
            "customers_imputed",
        )
        .name("impute")
        .build()?,
        node(
            f.scale.clone(),
            ["customers_imputed", "scaler"],
            "customers_scaled",
        )
        .name("scale")
        .build()?,
        node(
            f.encode.clone(),
            ["customers_scaled", "encoder"],
            "features",
        )
        .name("encode")
        .build()?,
    ])?)
}

fn predict_node(f: &Functions) -> NodeBuilder {
    node(
        f.predict.clone(),
        ["features", "model", "params:threshold"],
        "predictions",
    )
    .name("predict")
}

#[cfg(test)]
mod tests {
    use tandem_pipeline_core::FunctionRegistry;

    use super::*;

    #[test]
    fn feature_nodes_are_shared_and_every_function_is_registered() {
        let pipelines = pipelines().unwrap();
        let ml = pipelines["__default__"].as_ml().unwrap();
        let names = |p: &Pipeline| p.nodes().map(|n| n.name().to_owned()).collect::<Vec<_>>();
        assert_eq!(
            names(ml.inference()),
            ["impute", "scale", "encode", "predict"]
        );
        for name in ["impute", "scale", "encode"] {
            let node = ml.training().node(name).unwrap();
            assert_eq!(Some(node), ml.inference().node(name));
            assert_eq!(
                node.tags().iter().collect::<Vec<_>>(),
                ["inference", "training"]
            );
        }
        let evaluation: Vec<String> = names(ml.training())
            .into_iter()
            .filter(|n| n.starts_with("evaluation."))
            .collect();
        assert_eq!(evaluation.len(), 4);
        assert_eq!(ml.training().len(), 17);
        assert_eq!(
            ml.training().inputs().iter().collect::<Vec<_>>(),
            [
                "params:data_generation",
                "params:model",
                "params:seed",
                "params:test_size",
                "params:threshold"
            ]
        );

        let mut registry = FunctionRegistry::new();
        crate::functions(&mut registry);
        assert_eq!(registry.ids().len(), 14);
        for pipeline in pipelines.values() {
            for node in pipeline.nodes() {
                assert!(registry.contains(node.func_id()), "{}", node.func_id());
            }
        }
    }
}
