//! Modular pipelines, Kedro's `pipeline()` helper: wrap nodes or pipelines in
//! a namespace, remap their free inputs, outputs and parameters, and tag them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::error::Error;
use crate::names::DatasetNames;
use crate::node::Node;
use crate::pipeline::{Pipeline, PipelineItem};
use crate::suggest::close_matches_all;
use crate::transcoding::{split_transcoding, strip_transcoding};

const PARAMS_PREFIX: &str = "params:";
const ALL_PARAMETERS: &str = "parameters";

/// Starts a modular pipeline from nodes and pipelines.
///
/// ```
/// use tandem_pipeline_core::{node, pipeline, DatasetNames};
///
/// fn clean(raw: &Vec<f64>, threshold: &f64) -> Vec<f64> {
///     raw.iter().copied().filter(|x| x > threshold).collect()
/// }
/// let template = [node(clean, ["raw", "params:threshold"], "clean").name("clean").build().unwrap()];
/// let p = pipeline(template)
///     .namespace("cars")
///     .inputs(DatasetNames::map([("raw", "cars_raw")]))
///     .build()
///     .unwrap();
/// let n = p.node("cars.clean").unwrap();
/// assert_eq!(n.inputs(), ["cars_raw", "params:cars.threshold"]);
/// assert_eq!(n.outputs(), ["cars.clean"]);
/// ```
pub fn pipeline<I: Into<PipelineItem>>(items: impl IntoIterator<Item = I>) -> PipelineBuilder {
    PipelineBuilder {
        items: items.into_iter().map(Into::into).collect(),
        inputs: DatasetNames::None,
        outputs: DatasetNames::None,
        parameters: DatasetNames::None,
        tags: Vec::new(),
        namespace: None,
        prefix_datasets: true,
    }
}

/// A modular pipeline under construction; see [`pipeline()`].
#[derive(Clone, Debug)]
#[must_use = "a pipeline builder does nothing until `build` is called"]
pub struct PipelineBuilder {
    items: Vec<PipelineItem>,
    inputs: DatasetNames,
    outputs: DatasetNames,
    parameters: DatasetNames,
    tags: Vec<String>,
    namespace: Option<String>,
    prefix_datasets: bool,
}

impl PipelineBuilder {
    /// Puts every node in `namespace` (nested under a namespace it already has)
    /// and, unless disabled, prefixes unmapped datasets and parameters with it.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Free inputs to rename: a name or list keeps the names (and exempts them
    /// from prefixing); a mapping goes from inner name to outer name.
    pub fn inputs(mut self, names: impl Into<DatasetNames>) -> Self {
        self.inputs = names.into();
        self
    }

    /// Outputs to rename, in the same forms as [`PipelineBuilder::inputs`].
    pub fn outputs(mut self, names: impl Into<DatasetNames>) -> Self {
        self.outputs = names.into();
        self
    }

    /// Parameters to rename; `params:` is added to keys and values that lack it.
    pub fn parameters(mut self, names: impl Into<DatasetNames>) -> Self {
        self.parameters = names.into();
        self
    }

    /// Tags added to every node.
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Whether the namespace also prefixes datasets and parameters (default `true`).
    pub fn prefix_datasets_with_namespace(mut self, on: bool) -> Self {
        self.prefix_datasets = on;
        self
    }

    /// Validates the items, applies the remapping and tags, and validates the result.
    pub fn build(self) -> Result<Pipeline, Error> {
        let base = Pipeline::new(self.items)?;
        let remap = !self.inputs.is_empty()
            || !self.outputs.is_empty()
            || !self.parameters.is_empty()
            || self.namespace.is_some();
        if !remap && self.tags.is_empty() {
            // Nothing renamed or tagged: `base` is already validated, and
            // validating the same nodes again would double the cost.
            return Ok(base);
        }
        let mut nodes: Vec<Arc<Node>> = if remap {
            let mapping = Mapping::new(&base, &self.inputs, &self.outputs, &self.parameters)?;
            let renamer = Renamer {
                mapping: &mapping.names,
                namespace: self.namespace.as_deref(),
                prefix: self.prefix_datasets,
            };
            base.nodes()
                .map(|n| renamer.node(n).map(Arc::new))
                .collect::<Result<_, _>>()?
        } else {
            base.node_arcs().to_vec()
        };
        if !self.tags.is_empty() {
            nodes = nodes
                .iter()
                .map(|n| n.with_tags(self.tags.iter().cloned()).map(Arc::new))
                .collect::<Result<_, _>>()?;
        }
        Pipeline::from_arcs(nodes, true)
    }
}

/// Kedro's `_to_dict`: a name or list maps each name to itself.
fn pairs(names: &DatasetNames) -> Vec<(String, String)> {
    match names {
        DatasetNames::Map(pairs) => pairs.clone(),
        other => other
            .names()
            .into_iter()
            .map(|n| (n.to_owned(), n.to_owned()))
            .collect(),
    }
}

fn as_param(name: &str) -> String {
    if name.starts_with(PARAMS_PREFIX) {
        name.to_owned()
    } else {
        format!("{PARAMS_PREFIX}{name}")
    }
}

fn is_parameter(name: &str) -> bool {
    name == ALL_PARAMETERS || name.starts_with(PARAMS_PREFIX)
}

struct Mapping {
    names: HashMap<String, String>,
}

impl Mapping {
    /// Checks the mapping against the pipeline, with Kedro's checks in Kedro's order.
    fn new(
        pipe: &Pipeline,
        inputs: &DatasetNames,
        outputs: &DatasetNames,
        parameters: &DatasetNames,
    ) -> Result<Self, Error> {
        let inputs = pairs(inputs);
        let outputs = pairs(outputs);
        let parameters: Vec<(String, String)> = pairs(parameters)
            .into_iter()
            .map(|(k, v)| {
                if k == ALL_PARAMETERS {
                    (k, v)
                } else {
                    (as_param(&k), as_param(&v))
                }
            })
            .collect();

        let existing: BTreeSet<String> = pipe
            .datasets()
            .iter()
            .map(|d| strip_transcoding(d).to_owned())
            .collect();
        let wanted: BTreeSet<String> = inputs
            .iter()
            .chain(&outputs)
            .map(|(k, _)| strip_transcoding(k).to_owned())
            .chain(parameters.iter().map(|(k, _)| k.clone()))
            .collect();
        let missing: Vec<String> = wanted.difference(&existing).cloned().collect();
        if !missing.is_empty() {
            let suggestions = close_matches_all(&missing, existing.iter().map(String::as_str));
            let hint = if suggestions.is_empty() {
                String::new()
            } else {
                format!(
                    " - did you mean one of these instead: {}",
                    suggestions.join(", ")
                )
            };
            return Err(Error::Mapping {
                message: format!(
                    "failed to map datasets and/or parameters onto the nodes provided: {} {} not \
                     exist in the pipeline{hint}",
                    missing.join(", "),
                    if missing.len() == 1 { "does" } else { "do" },
                ),
            });
        }

        let free: BTreeSet<&str> = pipe.inputs().iter().map(|i| strip_transcoding(i)).collect();
        let params_in_inputs: Vec<&str> = inputs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| is_parameter(k))
            .collect();
        if !params_in_inputs.is_empty() {
            return Err(Error::Mapping {
                message: format!(
                    "parameters should be specified in the 'parameters' argument, not in \
                     'inputs': {}",
                    params_in_inputs.join(", ")
                ),
            });
        }
        let not_free: Vec<&str> = inputs
            .iter()
            .map(|(k, _)| strip_transcoding(k))
            .filter(|k| !free.contains(k))
            .collect();
        if !not_free.is_empty() {
            return Err(Error::Mapping {
                message: format!(
                    "inputs must not be outputs from another node in the same pipeline: {}",
                    not_free.join(", ")
                ),
            });
        }
        let free_outputs: Vec<&str> = outputs
            .iter()
            .map(|(k, _)| strip_transcoding(k))
            .filter(|k| free.contains(k))
            .collect();
        if !free_outputs.is_empty() {
            return Err(Error::Mapping {
                message: format!(
                    "all outputs must be generated by some node within the pipeline: {} {} \
                     free input(s)",
                    free_outputs.join(", "),
                    if free_outputs.len() == 1 {
                        "is a"
                    } else {
                        "are"
                    },
                ),
            });
        }
        let names = inputs
            .into_iter()
            .chain(outputs)
            .chain(parameters)
            .collect();
        Ok(Mapping { names })
    }
}

struct Renamer<'a> {
    mapping: &'a HashMap<String, String>,
    namespace: Option<&'a str>,
    prefix: bool,
}

impl Renamer<'_> {
    /// Kedro's rename rules; the first that applies wins.
    fn rename(&self, name: &str) -> String {
        if let Some(mapped) = self.mapping.get(name) {
            return mapped.clone();
        }
        if name == ALL_PARAMETERS {
            return name.to_owned();
        }
        let (base, suffix) = split_transcoding(name);
        if base != name
            && let Some(mapped) = self.mapping.get(base)
        {
            return format!("{mapped}@{suffix}");
        }
        match self.namespace {
            Some(ns) if self.prefix => match name.strip_prefix(PARAMS_PREFIX) {
                Some(param) => format!("{PARAMS_PREFIX}{ns}.{param}"),
                None => format!("{ns}.{name}"),
            },
            _ => name.to_owned(),
        }
    }

    fn node(&self, node: &Node) -> Result<Node, Error> {
        let namespace = match (self.namespace, node.namespace()) {
            (Some(ns), Some(inner)) => Some(format!("{ns}.{inner}")),
            (Some(ns), None) => Some(ns.to_owned()),
            (None, inner) => inner.map(str::to_owned),
        };
        node.with_parts(
            node.input_spec().renamed(|n| self.rename(n)),
            node.output_spec().renamed(|n| self.rename(n)),
            namespace,
        )
    }
}

#[cfg(test)]
mod tests;
