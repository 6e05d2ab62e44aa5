//! `PipelineMl`: a training pipeline bound to the inference pipeline that
//! uses what training fitted, checked to fit together.

use std::collections::BTreeSet;
use std::ops::Deref;

use tandem_pipeline_core::{Filter, Pipeline};

use crate::error::Error;
use crate::options::PipelineMlOptions;

/// kedro-mlflow's `pipeline_ml_factory(training, inference, input_name)` with
/// default options.
///
/// ```
/// use tandem_pipeline_core::{node, Pipeline};
/// use tandem_pipeline_ml::pipeline_ml_factory;
///
/// fn fit(x: &[f64]) -> f64 { x.iter().sum::<f64>() / x.len() as f64 }
/// fn predict(x: &[f64], mean: &f64) -> Vec<bool> { x.iter().map(|v| v > mean).collect() }
///
/// let training = Pipeline::new([node(fit, "train_x", "mean").name("fit").build()?])?;
/// let inference = Pipeline::new([node(predict, ["x", "mean"], "flags").name("predict").build()?])?;
/// let ml = pipeline_ml_factory(training, inference, "x")?;
/// assert_eq!(ml.output_name(), "flags");
/// assert_eq!(ml.artifacts(), ["mean"]);
/// assert_eq!(ml.nodes().count(), 1); // it is the training pipeline
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pipeline_ml_factory(
    training: Pipeline,
    inference: Pipeline,
    input_name: impl Into<String>,
) -> Result<PipelineMl, Error> {
    PipelineMl::new(
        training,
        inference,
        input_name,
        PipelineMlOptions::default(),
    )
}

/// A training pipeline bound to its inference pipeline.
///
/// It dereferences to the training pipeline, so it runs, describes and
/// registers wherever a [`Pipeline`] is expected. The filters that keep the
/// binding meaningful (`from_inputs`, `to_outputs`, `from_nodes`, `to_nodes`,
/// `only_nodes_with_tags`, `tag`, `filter`, `&`) return a re-validated
/// `PipelineMl`; the others return the plain training result and log a
/// warning, as kedro-mlflow does.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineMl {
    training: Pipeline,
    inference: Pipeline,
    input_name: String,
    output_name: String,
    options: PipelineMlOptions,
}

impl PipelineMl {
    /// Binds and validates, in kedro-mlflow's order: the inference pipeline
    /// has exactly one output; `input_name` is one of its inputs; every other
    /// inference input is a training input or output, or a `params:` entry.
    pub fn new(
        training: Pipeline,
        inference: Pipeline,
        input_name: impl Into<String>,
        options: PipelineMlOptions,
    ) -> Result<Self, Error> {
        let input_name = input_name.into();
        let outputs: Vec<String> = inference.outputs().iter().cloned().collect();
        let [output_name] = outputs.as_slice() else {
            return Err(Error::InferenceOutputCount { outputs });
        };
        if !inference.inputs().contains(&input_name) {
            return Err(Error::InvalidInputName {
                input_name,
                inputs: inference.inputs().iter().cloned().collect(),
            });
        }
        let provided: BTreeSet<String> = training
            .all_outputs()
            .into_iter()
            .chain(training.inputs().iter().cloned())
            .collect();
        let free: Vec<String> = inference
            .inputs()
            .iter()
            .filter(|i| **i != input_name && !i.starts_with("params:") && !provided.contains(*i))
            .cloned()
            .collect();
        if !free.is_empty() {
            return Err(Error::FreeInferenceInputs { inputs: free });
        }
        Ok(PipelineMl {
            output_name: output_name.clone(),
            training,
            inference,
            input_name,
            options,
        })
    }

    /// The training pipeline.
    pub fn training(&self) -> &Pipeline {
        &self.training
    }

    /// The inference pipeline.
    pub fn inference(&self) -> &Pipeline {
        &self.inference
    }

    /// The inference input that receives the data to predict on.
    pub fn input_name(&self) -> &str {
        &self.input_name
    }

    /// The inference pipeline's single output.
    pub fn output_name(&self) -> &str {
        &self.output_name
    }

    /// The options.
    pub fn options(&self) -> &PipelineMlOptions {
        &self.options
    }

    /// A copy with other options.
    pub fn with_options(mut self, options: PipelineMlOptions) -> Self {
        self.options = options;
        self
    }

    /// What training hands to inference: the inference inputs other than
    /// `input_name` (fitted objects and `params:` entries), sorted.
    pub fn artifacts(&self) -> Vec<&str> {
        self.inference
            .inputs()
            .iter()
            .map(String::as_str)
            .filter(|i| *i != self.input_name)
            .collect()
    }

    /// The `params:` inputs of the inference pipeline, sorted.
    pub fn inference_parameters(&self) -> Vec<&str> {
        self.artifacts()
            .into_iter()
            .filter(|a| a.starts_with("params:"))
            .collect()
    }

    /// Rebinds a filtered training pipeline, re-running every check.
    fn rebind(&self, training: Pipeline) -> Result<PipelineMl, Error> {
        PipelineMl::new(
            training,
            self.inference.clone(),
            self.input_name.clone(),
            self.options.clone(),
        )
    }

    /// Training nodes consuming the datasets and everything downstream.
    pub fn from_inputs<S: AsRef<str>>(
        &self,
        datasets: impl IntoIterator<Item = S>,
    ) -> Result<PipelineMl, Error> {
        self.rebind(self.training.from_inputs(datasets)?)
    }

    /// Producers of the datasets and everything upstream. (kedro-mlflow
    /// filters by node names here, a bug: this filters by outputs.)
    pub fn to_outputs<S: AsRef<str>>(
        &self,
        datasets: impl IntoIterator<Item = S>,
    ) -> Result<PipelineMl, Error> {
        self.rebind(self.training.to_outputs(datasets)?)
    }

    /// The named nodes and everything downstream.
    pub fn from_nodes<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<PipelineMl, Error> {
        self.rebind(self.training.from_nodes(names)?)
    }

    /// The named nodes and everything upstream.
    pub fn to_nodes<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<PipelineMl, Error> {
        self.rebind(self.training.to_nodes(names)?)
    }

    /// Training nodes with any of the tags.
    pub fn only_nodes_with_tags<S: AsRef<str>>(
        &self,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<PipelineMl, Error> {
        self.rebind(self.training.only_nodes_with_tags(tags))
    }

    /// Tags every training node with one or many tags (kedro-mlflow accepts
    /// only a one-element list).
    pub fn tag<S: Into<String>>(
        &self,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<PipelineMl, Error> {
        self.rebind(self.training.tag(tags)?)
    }

    /// Kedro's `filter(...)` on the training pipeline.
    pub fn filter(&self, filter: &Filter) -> Result<PipelineMl, Error> {
        self.rebind(self.training.filter(filter)?)
    }

    /// The training nodes also in `other`, still bound.
    pub fn intersection(&self, other: &Pipeline) -> Result<PipelineMl, Error> {
        self.rebind(self.training.intersection(other))
    }

    /// Exactly the named training nodes, as a plain pipeline.
    pub fn only_nodes<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        demoted("only_nodes");
        Ok(self.training.only_nodes(names)?)
    }

    /// Training nodes in the namespaces, as a plain pipeline.
    pub fn only_nodes_with_namespaces<S: AsRef<str>>(
        &self,
        namespaces: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        demoted("only_nodes_with_namespaces");
        Ok(self.training.only_nodes_with_namespaces(namespaces)?)
    }

    /// Direct consumers of the datasets in training, as a plain pipeline.
    pub fn only_nodes_with_inputs<S: AsRef<str>>(
        &self,
        datasets: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        demoted("only_nodes_with_inputs");
        Ok(self.training.only_nodes_with_inputs(datasets)?)
    }

    /// Producers of the datasets in training, as a plain pipeline.
    pub fn only_nodes_with_outputs<S: AsRef<str>>(
        &self,
        datasets: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        demoted("only_nodes_with_outputs");
        Ok(self.training.only_nodes_with_outputs(datasets)?)
    }

    /// `training + other`. Adding an empty pipeline keeps the binding (the
    /// shape Kedro's session builds, `Pipeline([]) + pipeline`); anything
    /// else gives a plain pipeline.
    pub fn union(&self, other: &Pipeline) -> Result<AnyPipeline, Error> {
        if other.is_empty() {
            return Ok(AnyPipeline::Ml(Box::new(self.clone())));
        }
        demoted("+");
        Ok(AnyPipeline::Plain(self.training.union(other)?))
    }

    /// `training - other`, as a plain pipeline.
    pub fn difference(&self, other: &Pipeline) -> Pipeline {
        demoted("-");
        self.training.difference(other)
    }
}

fn demoted(operation: &str) {
    tracing::warn!(
        "'{operation}' on a PipelineMl returns a plain Pipeline: the result is no longer bound \
         to an inference pipeline and logs no model"
    );
}

impl Deref for PipelineMl {
    type Target = Pipeline;

    fn deref(&self) -> &Pipeline {
        &self.training
    }
}

impl From<PipelineMl> for Pipeline {
    fn from(ml: PipelineMl) -> Pipeline {
        ml.training
    }
}

/// A pipeline that may be bound to an inference pipeline: what a pipeline
/// registry holds and what operations on a [`PipelineMl`] may return.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyPipeline {
    /// A plain pipeline.
    Plain(Pipeline),
    /// A training pipeline bound to its inference pipeline.
    Ml(Box<PipelineMl>),
}

impl AnyPipeline {
    /// The bound pipeline, if any.
    pub fn as_ml(&self) -> Option<&PipelineMl> {
        match self {
            AnyPipeline::Ml(ml) => Some(ml),
            AnyPipeline::Plain(_) => None,
        }
    }

    /// Kedro's `filter(...)`, keeping the binding when there is one.
    pub fn filter(&self, filter: &Filter) -> Result<AnyPipeline, Error> {
        match self {
            AnyPipeline::Plain(p) => Ok(AnyPipeline::Plain(p.filter(filter)?)),
            AnyPipeline::Ml(ml) => Ok(AnyPipeline::Ml(Box::new(ml.filter(filter)?))),
        }
    }

    /// `self + other`: a bound pipeline stays bound only when `other` is empty,
    /// and an empty plain pipeline plus a bound one is the bound one.
    pub fn union(&self, other: &AnyPipeline) -> Result<AnyPipeline, Error> {
        match (self, other) {
            (AnyPipeline::Ml(ml), other) => ml.union(other),
            (AnyPipeline::Plain(p), AnyPipeline::Ml(ml)) if p.is_empty() => {
                Ok(AnyPipeline::Ml(ml.clone()))
            }
            (AnyPipeline::Plain(p), other) => {
                if other.as_ml().is_some() {
                    demoted("+");
                }
                Ok(AnyPipeline::Plain(p.union(other)?))
            }
        }
    }

    /// The sum of `pipelines`, gathered and validated once (linear in their
    /// total size, where folding with [`union`](Self::union) re-validates
    /// the growing sum at each step). Empty pipelines are dropped; a single
    /// remaining one is returned as it is, so a `PipelineMl` stays bound;
    /// several give a plain pipeline.
    pub fn union_all(
        pipelines: impl IntoIterator<Item = AnyPipeline>,
    ) -> Result<AnyPipeline, Error> {
        let mut pipelines: Vec<AnyPipeline> =
            pipelines.into_iter().filter(|p| !p.is_empty()).collect();
        if pipelines.len() <= 1 {
            return Ok(pipelines
                .pop()
                .unwrap_or_else(|| AnyPipeline::Plain(Pipeline::empty())));
        }
        if pipelines.iter().any(|p| p.as_ml().is_some()) {
            demoted("+");
        }
        let sum: Result<Pipeline, _> = pipelines.iter().map(|p| &**p).sum();
        Ok(AnyPipeline::Plain(sum?))
    }
}

impl Deref for AnyPipeline {
    type Target = Pipeline;

    fn deref(&self) -> &Pipeline {
        match self {
            AnyPipeline::Plain(p) => p,
            AnyPipeline::Ml(ml) => ml.training(),
        }
    }
}

impl From<Pipeline> for AnyPipeline {
    fn from(p: Pipeline) -> Self {
        AnyPipeline::Plain(p)
    }
}

impl From<PipelineMl> for AnyPipeline {
    fn from(ml: PipelineMl) -> Self {
        AnyPipeline::Ml(Box::new(ml))
    }
}
