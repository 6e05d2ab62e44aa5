//! Pipeline specs: the serialized (YAML or JSON) form of a pipeline.
//!
//! A spec names each node's function by id instead of holding code, so it can
//! be described and filtered without the functions
//! ([`PipelineSpec::to_pipeline_unresolved`]) and turned into a runnable
//! pipeline with a [`FunctionRegistry`] ([`PipelineSpec::to_pipeline`]).

mod forms;
pub mod keys;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::modular::pipeline;
use crate::names::DatasetNames;
use crate::node::{Node, NodeBuilder, node};
use crate::pipeline::{Pipeline, PipelineItem};
use crate::registry::FunctionRegistry;
use crate::suggest::close_matches_all;

/// A pipeline in serialized form: nodes and nested modular pipelines, with the
/// options of Kedro's `pipeline()` applied to all of them.
///
/// The top level of a spec file and the body of a nested `pipeline:` entry
/// have the same keys. Unknown keys are errors. `inputs` and `outputs` keep
/// the form they were written in (a name, a list or a mapping), which matters
/// because Kedro's node identity depends on it.
///
/// ```
/// use tandem_pipeline_core::PipelineSpec;
///
/// let spec = PipelineSpec::from_yaml_str(
///     r#"
/// nodes:
///   - name: clean
///     func: builtin:identity
///     inputs: raw
///     outputs: clean
///   - pipeline:
///       namespace: model
///       inputs: [clean]
///       nodes:
///         - {name: fit, func: my_project::fit, inputs: [clean, params:alpha], outputs: [model]}
/// "#,
///     Some("pipeline.yml"),
/// )?;
/// let p = spec.to_pipeline_unresolved()?;
/// let order: Vec<&str> = p.nodes().map(|n| n.name()).collect();
/// assert_eq!(order, ["clean", "model.fit"]);
/// assert_eq!(p.node("model.fit").unwrap().inputs(), ["clean", "params:model.alpha"]);
/// # Ok::<(), tandem_pipeline_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Nodes and nested pipelines.
    pub nodes: Vec<SpecItem>,
    /// Namespace for every node (and, by default, for their datasets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Free inputs to keep or rename (inner name → outer name).
    #[serde(default, skip_serializing_if = "is_absent")]
    pub inputs: DatasetNames,
    /// Outputs to keep or rename (inner name → outer name).
    #[serde(default, skip_serializing_if = "is_absent")]
    pub outputs: DatasetNames,
    /// Parameters to keep or rename; `params:` is implied.
    #[serde(default, skip_serializing_if = "is_absent")]
    pub parameters: DatasetNames,
    /// Tags added to every node.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "forms::tag_list"
    )]
    pub tags: Vec<String>,
    /// Whether the namespace also prefixes datasets and parameters.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub prefix_datasets_with_namespace: bool,
}

/// One entry of [`PipelineSpec::nodes`]: a node or a nested modular pipeline
/// (written as `pipeline: {...}`).
#[derive(Clone, Debug, PartialEq)]
pub enum SpecItem {
    /// A node.
    Node(NodeSpec),
    /// A nested modular pipeline, Kedro's `pipeline(...)`.
    Pipeline(PipelineSpec),
}

/// A node in serialized form.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeSpec {
    /// The node's name without namespace; `None` gives Kedro's default name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The function id, resolved with a [`FunctionRegistry`].
    pub func: String,
    /// Inputs as written: a name, a list, or a mapping from parameter to dataset.
    #[serde(skip_serializing_if = "is_absent")]
    pub inputs: DatasetNames,
    /// Outputs as written.
    #[serde(skip_serializing_if = "is_absent")]
    pub outputs: DatasetNames,
    /// The node's tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The node's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

fn is_absent(names: &DatasetNames) -> bool {
    *names == DatasetNames::None
}

fn yes() -> bool {
    true
}

fn is_true(on: &bool) -> bool {
    *on
}

impl PipelineSpec {
    /// A spec with these items and no modular-pipeline options.
    pub fn new(nodes: Vec<SpecItem>) -> Self {
        PipelineSpec {
            nodes,
            namespace: None,
            inputs: DatasetNames::None,
            outputs: DatasetNames::None,
            parameters: DatasetNames::None,
            tags: Vec::new(),
            prefix_datasets_with_namespace: true,
        }
    }

    /// Parses YAML; `file` only labels errors.
    ///
    /// Booleans follow YAML 1.2 (`true`/`false` only), so datasets named `y`,
    /// `no` or `on` need no quotes, and `007` stays a name.
    pub fn from_yaml_str(text: &str, file: Option<&str>) -> Result<Self, Error> {
        parse_yaml(text, file)
    }

    /// Parses JSON; `file` only labels errors.
    pub fn from_json_str(text: &str, file: Option<&str>) -> Result<Self, Error> {
        parse_json(text, file)
    }

    /// Reads a spec file: JSON when the extension is `.json`, YAML otherwise.
    /// An unreadable file is an [`Error::InvalidSpec`] naming it.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, Error> {
        read_document(path)
    }

    /// The spec as YAML.
    pub fn to_yaml_string(&self) -> Result<String, Error> {
        serde_saphyr::to_string(self).map_err(|e| unserializable(&e))
    }

    /// The spec as pretty-printed JSON.
    pub fn to_json_string(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self).map_err(|e| unserializable(&e))
    }

    /// The spec of an existing pipeline: its nodes in execution order, each
    /// with its user name, function id, inputs and outputs as written, tags
    /// and namespace. Modular-pipeline options are already applied to the
    /// nodes, so none remain.
    pub fn from_pipeline(pipeline: &Pipeline) -> Self {
        let nodes = pipeline
            .nodes()
            .map(|n| {
                SpecItem::Node(NodeSpec {
                    name: n.user_name().map(str::to_owned),
                    func: n.func_id().to_owned(),
                    inputs: n.input_spec().clone(),
                    outputs: n.output_spec().clone(),
                    tags: n.tags().iter().cloned().collect(),
                    namespace: n.namespace().map(str::to_owned),
                })
            })
            .collect();
        PipelineSpec::new(nodes)
    }

    /// Every function id the spec uses, nested pipelines included.
    pub fn function_ids(&self) -> BTreeSet<&str> {
        let mut ids = BTreeSet::new();
        self.collect_ids(&mut ids);
        ids
    }

    fn collect_ids<'a>(&'a self, ids: &mut BTreeSet<&'a str>) {
        for item in &self.nodes {
            match item {
                SpecItem::Node(n) => {
                    ids.insert(n.func.as_str());
                }
                SpecItem::Pipeline(p) => p.collect_ids(ids),
            }
        }
    }

    /// Builds the pipeline with nodes that only know their function ids, for
    /// describing and filtering without the code. Running such a node is an
    /// [`Error::UnresolvedFunction`].
    pub fn to_pipeline_unresolved(&self) -> Result<Pipeline, Error> {
        self.build(&|n: &NodeSpec| {
            Ok(NodeBuilder::unresolved(
                n.func.clone(),
                n.inputs.clone(),
                n.outputs.clone(),
            ))
        })
    }

    /// Builds a runnable pipeline, resolving every function id in `registry`.
    ///
    /// All unknown ids are reported together in one [`Error::UnknownFunction`]
    /// before anything is built.
    pub fn to_pipeline(&self, registry: &FunctionRegistry) -> Result<Pipeline, Error> {
        let unknown: Vec<String> = self
            .function_ids()
            .into_iter()
            .filter(|id| !registry.contains(id))
            .map(str::to_owned)
            .collect();
        if !unknown.is_empty() {
            let suggestions = close_matches_all(&unknown, registry.ids());
            return Err(Error::UnknownFunction {
                ids: unknown,
                suggestions,
            });
        }
        self.build(&|n: &NodeSpec| {
            // Every id was found above; a miss stays an error, not a panic.
            let function = registry
                .get(&n.func)
                .ok_or_else(|| Error::UnknownFunction {
                    ids: vec![n.func.clone()],
                    suggestions: Vec::new(),
                })?;
            Ok(node(function.clone(), n.inputs.clone(), n.outputs.clone()))
        })
    }

    fn build(&self, start: &NodeStart<'_>) -> Result<Pipeline, Error> {
        let items = self
            .nodes
            .iter()
            .map(|item| match item {
                SpecItem::Node(n) => n.build(start).map(PipelineItem::Node),
                SpecItem::Pipeline(p) => p.build(start).map(PipelineItem::Pipeline),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut builder = pipeline(items)
            .inputs(self.inputs.clone())
            .outputs(self.outputs.clone())
            .parameters(self.parameters.clone())
            .tags(self.tags.iter().cloned())
            .prefix_datasets_with_namespace(self.prefix_datasets_with_namespace);
        if let Some(ns) = &self.namespace {
            builder = builder.namespace(ns.clone());
        }
        builder.build()
    }
}

/// How a node definition starts: with or without its function.
type NodeStart<'a> = dyn Fn(&NodeSpec) -> Result<NodeBuilder, Error> + 'a;

impl NodeSpec {
    /// A node calling `func` with no name, tags or namespace.
    pub fn new(
        func: impl Into<String>,
        inputs: impl Into<DatasetNames>,
        outputs: impl Into<DatasetNames>,
    ) -> Self {
        NodeSpec {
            name: None,
            func: func.into(),
            inputs: inputs.into(),
            outputs: outputs.into(),
            tags: Vec::new(),
            namespace: None,
        }
    }

    fn build(&self, start: &NodeStart<'_>) -> Result<Node, Error> {
        let mut builder = start(self)?.tags(self.tags.iter().cloned());
        if let Some(name) = &self.name {
            builder = builder.name(name.clone());
        }
        if let Some(ns) = &self.namespace {
            builder = builder.namespace(ns.clone());
        }
        builder.build()
    }
}

/// The YAML parser's resource limits for a document of `len` bytes. The
/// parser's defaults (250,000 nodes, 1,000,000 events, 64 MiB of scalars)
/// refuse a 100,000-node pipeline spec or catalog, so the limits grow with
/// the text, which already holds every node and scalar: a document can
/// only outgrow its text through aliases, whose limits stay the defaults.
pub fn yaml_budget(len: usize) -> Option<serde_saphyr::Budget> {
    let defaults = serde_saphyr::Budget::default();
    let mut budget = defaults.clone();
    budget.max_nodes = defaults.max_nodes.max(len);
    budget.max_events = defaults.max_events.max(len.saturating_mul(4));
    budget.max_total_scalar_bytes = defaults.max_total_scalar_bytes.max(len);
    Some(budget)
}

/// Parses any spec-like YAML document with the spec settings (YAML 1.2
/// booleans, leading-zero numbers kept as text); errors are
/// [`Error::InvalidSpec`] with the file and line. Other crates use it for
/// documents that embed pipeline specs.
///
/// Plainly written YAML (block collections, one-line flow collections,
/// string scalars) is read by a fast subset reader,
/// [`plain_yaml`](crate::plain_yaml); anything else, and any document whose
/// value `T` does not accept, goes through the general parser, so the
/// result and the errors are the general parser's either way.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: Option<&str>,
) -> Result<T, Error> {
    if let Some(value) = crate::plain_yaml::parse(text)
        && let Ok(parsed) = T::deserialize(value)
    {
        return Ok(parsed);
    }
    parse_yaml_general(text, file)
}

/// [`parse_yaml`] with the general parser alone.
pub(crate) fn parse_yaml_general<T: serde::de::DeserializeOwned>(
    text: &str,
    file: Option<&str>,
) -> Result<T, Error> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        budget: yaml_budget(text.len()),
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| yaml_error(&e, file))
}

/// Parses any spec-like JSON document; errors as [`parse_yaml`].
pub fn parse_json<T: serde::de::DeserializeOwned>(
    text: &str,
    file: Option<&str>,
) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| json_error(&e, file))
}

/// Reads a document: JSON when the extension is `.json`, YAML otherwise. An
/// unreadable file is an [`Error::InvalidSpec`] naming it.
pub fn read_document<T: serde::de::DeserializeOwned>(path: impl AsRef<Path>) -> Result<T, Error> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid_spec(Some(&file), None, format!("cannot read the file: {e}")))?;
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    if is_json {
        parse_json(&text, Some(&file))
    } else {
        parse_yaml(&text, Some(&file))
    }
}

fn yaml_error(error: &serde_saphyr::Error, file: Option<&str>) -> Error {
    let text = error.render_with_options(serde_saphyr::render_options! {
        snippets: serde_saphyr::SnippetMode::Off,
    });
    // Both parsers append the position to their message; the line has its own
    // field, so only the column stays in the message.
    let Some(location) = error.location().filter(|l| l.line() > 0) else {
        return invalid_spec(file, None, text);
    };
    let suffix = format!(" at line {}, column {}", location.line(), location.column());
    invalid_spec(
        file,
        usize::try_from(location.line()).ok(),
        without_position(text, &suffix, location.column()),
    )
}

fn json_error(error: &serde_json::Error, file: Option<&str>) -> Error {
    let text = error.to_string();
    if error.line() == 0 {
        return invalid_spec(file, None, text);
    }
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    invalid_spec(
        file,
        Some(error.line()),
        without_position(text, &suffix, error.column() as u64),
    )
}

fn without_position(text: String, suffix: &str, column: u64) -> String {
    match text.strip_suffix(suffix) {
        Some(bare) if column > 0 => format!("{bare} (column {column})"),
        Some(bare) => bare.to_owned(),
        None => text,
    }
}

fn invalid_spec(file: Option<&str>, line: Option<usize>, message: String) -> Error {
    Error::InvalidSpec {
        file: file.map(str::to_owned),
        line,
        message,
    }
}

fn unserializable(error: &dyn fmt::Display) -> Error {
    invalid_spec(None, None, format!("cannot serialize the spec: {error}"))
}
