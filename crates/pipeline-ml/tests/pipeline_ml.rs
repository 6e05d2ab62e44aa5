//! Ports of kedro-mlflow's `tests/pipeline/test_pipeline_ml.py`, plus the
//! upstream bugs tandem fixes.

use tandem_pipeline_core::{Filter, Pipeline, node, pipeline};
use tandem_pipeline_ml::{AnyPipeline, PipelineMl, pipeline_ml_factory};

fn preprocess(data: &[f64]) -> Vec<f64> {
    data.iter().map(|x| x * 2.0).collect()
}

fn fit(data: &[f64]) -> f64 {
    data.iter().sum()
}

fn predict(data: &[f64], model: &f64) -> Vec<f64> {
    data.iter().map(|x| x * model).collect()
}

fn predict_with_threshold(data: &[f64], model: &f64, threshold: &f64) -> Vec<bool> {
    data.iter().map(|x| x * model > *threshold).collect()
}

fn postprocess(predictions: &[f64]) -> Vec<f64> {
    predictions.to_vec()
}

/// preprocess (training + inference) → fit (training) / predict (inference).
fn tagged() -> Pipeline {
    Pipeline::new([
        node(preprocess, "raw_data", "data")
            .name("preprocess_fun")
            .tags(["training", "inference"])
            .build()
            .unwrap(),
        node(fit, "data", "model")
            .name("fit_fun")
            .tags(["training"])
            .build()
            .unwrap(),
        node(predict, ["data", "model"], "predictions")
            .name("predict_fun")
            .tags(["inference"])
            .build()
            .unwrap(),
    ])
    .unwrap()
}

fn ml() -> PipelineMl {
    let p = tagged();
    pipeline_ml_factory(
        p.only_nodes_with_tags(["training"]),
        p.only_nodes_with_tags(["inference"]),
        "raw_data",
    )
    .unwrap()
}

fn names(p: &Pipeline) -> Vec<&str> {
    p.nodes().map(|n| n.name()).collect()
}

#[test]
fn it_is_the_training_pipeline() {
    let ml = ml();
    assert_eq!(names(&ml), ["preprocess_fun", "fit_fun"]);
    assert_eq!(ml.output_name(), "predictions");
    assert_eq!(ml.input_name(), "raw_data");
    assert_eq!(ml.artifacts(), ["model"]);
    let plain: Pipeline = ml.clone().into();
    assert_eq!(&plain, ml.training());
}

#[test]
fn demoting_filters_return_the_plain_training_result() {
    let ml = ml();
    assert_eq!(
        ml.only_nodes(["fit_fun"]).unwrap(),
        ml.training().only_nodes(["fit_fun"]).unwrap()
    );
    assert_eq!(
        ml.only_nodes_with_outputs(["model"]).unwrap(),
        ml.training().only_nodes_with_outputs(["model"]).unwrap()
    );
    assert_eq!(
        ml.only_nodes_with_inputs(["data"]).unwrap(),
        ml.training().only_nodes_with_inputs(["data"]).unwrap()
    );
}

#[test]
fn namespaced_training_with_remapped_inference_demotes_on_namespace_filter() {
    let training = pipeline([ml().training().clone()])
        .namespace("tmp_namespace")
        .inputs(["raw_data"])
        .build()
        .unwrap();
    let inference = pipeline([tagged().only_nodes_with_tags(["inference"])])
        .inputs(tandem_pipeline_core::DatasetNames::map([
            ("model", "tmp_namespace.model"),
            ("raw_data", "raw_data"),
        ]))
        .build()
        .unwrap();
    let ml = pipeline_ml_factory(training.clone(), inference, "raw_data").unwrap();
    assert_eq!(ml.artifacts(), ["tmp_namespace.model"]);
    let filtered = ml.only_nodes_with_namespaces(["tmp_namespace"]).unwrap();
    assert_eq!(filtered, training);
}

#[test]
fn operators_other_than_intersection_demote() {
    let ml = ml();
    let other = Pipeline::new([node(postprocess, "predictions", "final")
        .name("post")
        .build()
        .unwrap()])
    .unwrap();
    let sum = ml.union(&other).unwrap();
    assert!(sum.as_ml().is_none());
    assert_eq!(sum.len(), 3);
    let diff = ml.difference(&ml.training().only_nodes(["fit_fun"]).unwrap());
    assert_eq!(names(&diff), ["preprocess_fun"]);
    let any = AnyPipeline::from(ml.clone());
    assert!(
        any.union(&AnyPipeline::from(other))
            .unwrap()
            .as_ml()
            .is_none()
    );
}

#[test]
fn adding_an_empty_pipeline_keeps_the_binding_on_either_side() {
    let ml = ml();
    let kept = ml.union(&Pipeline::empty()).unwrap();
    assert_eq!(kept.as_ml(), Some(&ml));
    let left = AnyPipeline::from(Pipeline::empty())
        .union(&AnyPipeline::from(ml.clone()))
        .unwrap();
    assert_eq!(left.as_ml(), Some(&ml));
}

#[test]
fn filters_keep_a_revalidated_binding() {
    let ml = ml();
    let cases = [
        Filter::default().tags(["training"]),
        Filter::default().from_nodes(["preprocess_fun"]),
        Filter::default().to_nodes(["fit_fun"]),
        Filter::default().node_names(["preprocess_fun", "fit_fun"]),
        Filter::default().from_inputs(["raw_data"]),
        Filter::default().to_outputs(["model"]),
        Filter::default().tags(["training"]).from_inputs(["data"]),
    ];
    for f in cases {
        let filtered = ml.filter(&f).unwrap();
        assert_eq!(filtered.inference(), ml.inference(), "{f:?}");
        assert_eq!(
            filtered.training(),
            &ml.training().filter(&f).unwrap(),
            "{f:?}"
        );
        assert_eq!(filtered.options(), ml.options());
    }
    assert_eq!(ml.from_inputs(["raw_data"]).unwrap().len(), 2);
    assert_eq!(ml.from_nodes(["preprocess_fun"]).unwrap().len(), 2);
    assert_eq!(ml.to_nodes(["fit_fun"]).unwrap().len(), 2);
    assert_eq!(ml.only_nodes_with_tags(["training"]).unwrap().len(), 2);
    assert_eq!(ml.intersection(ml.training()).unwrap(), ml);
}

#[test]
fn to_outputs_filters_by_outputs_not_node_names() {
    let ml = ml();
    let upstream = ml.to_outputs(["model"]).unwrap();
    assert_eq!(names(&upstream), ["preprocess_fun", "fit_fun"]);
    assert_eq!(
        ml.to_outputs(["fit_fun"]).unwrap_err().kind(),
        "unknown_dataset"
    );
}

#[test]
fn filtering_away_the_producer_of_an_artifact_is_an_error() {
    let ml = ml();
    for f in [
        Filter::default().node_names(["preprocess_fun"]),
        Filter::default().to_nodes(["preprocess_fun"]),
        Filter::default().to_outputs(["data"]),
    ] {
        let err = ml.filter(&f).unwrap_err();
        assert_eq!(err.kind(), "free_inference_inputs", "{f:?}");
        assert!(err.to_string().contains("'model'"), "{err}");
    }
}

#[test]
fn free_inference_inputs_are_all_listed() {
    let p = tagged();
    let inference = Pipeline::new([node(
        predict_with_threshold,
        ["data", "model", "other"],
        "predictions",
    )
    .name("predict_fun")
    .build()
    .unwrap()])
    .unwrap();
    let training = p
        .only_nodes_with_tags(["training"])
        .only_nodes(["fit_fun"])
        .unwrap();
    let err = pipeline_ml_factory(training, inference, "data").unwrap_err();
    assert_eq!(err.kind(), "free_inference_inputs");
    assert!(err.to_string().contains("'other'"), "{err}");
    assert!(
        !err.to_string().contains("'model'"),
        "model is a training output: {err}"
    );
}

#[test]
fn params_and_training_inputs_and_intermediates_are_allowed() {
    let training = Pipeline::new([
        node(preprocess, "raw_data", "data")
            .name("pre")
            .build()
            .unwrap(),
        node(fit, "data", "model").name("fit").build().unwrap(),
    ])
    .unwrap();
    let inference = Pipeline::new([node(
        predict_with_threshold,
        ["raw_data", "model", "params:threshold"],
        "flags",
    )
    .name("predict")
    .build()
    .unwrap()])
    .unwrap();
    let ml = pipeline_ml_factory(training.clone(), inference, "raw_data").unwrap();
    assert_eq!(ml.artifacts(), ["model", "params:threshold"]);
    assert_eq!(ml.inference_parameters(), ["params:threshold"]);

    // An intermediate training dataset (`data`) and a training input used as artifacts.
    let inference = Pipeline::new([node(predict, ["x", "data"], "out")
        .name("p")
        .build()
        .unwrap()])
    .unwrap();
    assert!(pipeline_ml_factory(training.clone(), inference, "x").is_ok());
    let inference = Pipeline::new([node(predict, ["x", "raw_data"], "out")
        .name("p")
        .build()
        .unwrap()])
    .unwrap();
    assert!(pipeline_ml_factory(training, inference, "x").is_ok());
}

#[test]
fn the_whole_parameters_dataset_is_not_exempt() {
    fn use_all(x: &[f64], _p: &serde_json::Value) -> Vec<f64> {
        x.to_vec()
    }
    let training =
        Pipeline::new([node(fit, "data", "model").name("fit").build().unwrap()]).unwrap();
    let inference = Pipeline::new([node(use_all, ["x", "parameters"], "out")
        .name("p")
        .build()
        .unwrap()])
    .unwrap();
    let err = pipeline_ml_factory(training, inference, "x").unwrap_err();
    assert!(err.to_string().contains("'parameters'"), "{err}");
}

#[test]
fn tag_accepts_one_or_many_tags() {
    let ml = ml();
    let one = ml.tag(["hello"]).unwrap();
    assert!(one.nodes().all(|n| n.tags().contains("hello")));
    let many = ml.tag(["a", "b"]).unwrap();
    assert!(
        many.nodes()
            .all(|n| n.tags().contains("a") && n.tags().contains("b"))
    );
    assert_eq!(many.inference(), ml.inference());
}

#[test]
fn invalid_input_name_lists_the_valid_ones() {
    let p = tagged();
    let err = pipeline_ml_factory(
        p.only_nodes_with_tags(["training"]),
        p.only_nodes_with_tags(["inference"]),
        "whoops_bad_name",
    )
    .unwrap_err();
    assert_eq!(err.kind(), "invalid_input_name");
    let msg = err.to_string();
    assert!(
        msg.contains("whoops_bad_name") && msg.contains("'raw_data'") && msg.contains("'model'"),
        "{msg}"
    );
}

#[test]
fn inference_needs_exactly_one_output() {
    let p = tagged();
    let two = Pipeline::new([
        node(predict, ["data", "model"], "predictions")
            .name("p1")
            .build()
            .unwrap(),
        node(fit, "data", "other").name("p2").build().unwrap(),
    ])
    .unwrap();
    let err = pipeline_ml_factory(p.only_nodes_with_tags(["training"]), two, "data").unwrap_err();
    assert_eq!(err.kind(), "inference_output_count");
    assert!(err.to_string().contains("'other'") && err.to_string().contains("'predictions'"));

    fn sink(_x: &Vec<f64>) {}
    let none = Pipeline::new([node(sink, "data", ()).name("sink").build().unwrap()]).unwrap();
    let err = pipeline_ml_factory(p.only_nodes_with_tags(["training"]), none, "data").unwrap_err();
    assert_eq!(err.kind(), "inference_output_count");
}
