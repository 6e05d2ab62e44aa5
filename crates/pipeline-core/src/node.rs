//! Nodes: a function bound to named inputs and outputs.

use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};

use crate::data::Data;
use crate::error::Error;
use crate::function::{CallError, IntoNodeFunction, NodeFunction, short_name};
use crate::names::{DatasetNames, python_list};
use crate::transcoding::{check_separators, strip_transcoding};

/// Starts a node definition, Kedro's `node(func, inputs, outputs)`.
///
/// ```
/// use tandem_pipeline_core::node;
///
/// fn add(a: &i64, b: &i64) -> i64 { a + b }
/// let n = node(add, ["a", "b"], "sum").name("adder").tags(["math"]).build().unwrap();
/// assert_eq!(n.name(), "adder");
/// assert_eq!(n.inputs(), ["a", "b"]);
/// ```
pub fn node<M>(
    func: impl IntoNodeFunction<M>,
    inputs: impl Into<DatasetNames>,
    outputs: impl Into<DatasetNames>,
) -> NodeBuilder {
    let function = func.into_node_function();
    NodeBuilder {
        func_id: function.id().to_owned(),
        function: Some(function),
        inputs: inputs.into(),
        outputs: outputs.into(),
        name: None,
        tags: BTreeSet::new(),
        namespace: None,
    }
}

/// A node under construction; [`NodeBuilder::build`] validates it.
#[derive(Clone, Debug)]
#[must_use = "a node builder does nothing until `build` is called"]
pub struct NodeBuilder {
    func_id: String,
    function: Option<NodeFunction>,
    inputs: DatasetNames,
    outputs: DatasetNames,
    name: Option<String>,
    tags: BTreeSet<String>,
    namespace: Option<String>,
}

impl NodeBuilder {
    /// A node that only refers to its function by id, for describing or
    /// serializing pipelines without the code; resolve it with a
    /// [`FunctionRegistry`](crate::FunctionRegistry) before running.
    pub fn unresolved(
        func_id: impl Into<String>,
        inputs: impl Into<DatasetNames>,
        outputs: impl Into<DatasetNames>,
    ) -> Self {
        NodeBuilder {
            func_id: func_id.into(),
            function: None,
            inputs: inputs.into(),
            outputs: outputs.into(),
            name: None,
            tags: BTreeSet::new(),
            namespace: None,
        }
    }

    /// The node's name, without namespace.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds tags.
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Adds one tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.insert(tag.into());
        self
    }

    /// Puts the node in a namespace; its full name becomes `namespace.name`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Validates the definition with Kedro's rules, in Kedro's order.
    pub fn build(self) -> Result<Node, Error> {
        let label = self.name.as_deref();
        for name in self.inputs.names().into_iter().chain(self.outputs.names()) {
            check_separators(name)?;
        }
        if self.inputs.is_empty() && self.outputs.is_empty() {
            return Err(Error::invalid_node(
                label,
                "it must have some inputs or outputs",
            ));
        }
        let inputs = bind_inputs(label, &self.func_id, self.function.as_ref(), &self.inputs)?;
        let outputs: Vec<String> = self
            .outputs
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if let Some(expected) = self.function.as_ref().and_then(NodeFunction::output_count)
            && expected != outputs.len()
        {
            return Err(Error::invalid_node(
                label,
                format!(
                    "function '{}' returns {expected} output(s) but the node declares {}: {}",
                    self.func_id,
                    outputs.len(),
                    crate::error::list(&outputs)
                ),
            ));
        }
        if let Some(name) = &self.name {
            check_name(name, "node name")?;
        }
        for tag in &self.tags {
            check_name(tag, "node tag")?;
        }
        if let Some(ns) = &self.namespace {
            for part in ns.split('.') {
                check_name(part, "namespace")?;
            }
        }
        // Sorted name lists rather than hash sets: a node has a handful of
        // outputs, and this runs for every node of a pipeline.
        let mut sorted: Vec<&str> = outputs.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        let mut duplicates: Vec<String> = sorted
            .windows(2)
            .filter(|pair| pair[0] == pair[1])
            .map(|pair| pair[0].to_owned())
            .collect();
        if !duplicates.is_empty() {
            duplicates.dedup();
            return Err(Error::invalid_node(
                label,
                format!(
                    "duplicate output(s) {}; node outputs must be unique",
                    crate::error::list(&duplicates)
                ),
            ));
        }
        let mut stripped_outputs: Vec<&str> =
            outputs.iter().map(|o| strip_transcoding(o)).collect();
        stripped_outputs.sort_unstable();
        let mut shared: Vec<String> = inputs
            .iter()
            .map(|i| strip_transcoding(i))
            .filter(|i| stripped_outputs.binary_search(i).is_ok())
            .map(str::to_owned)
            .collect();
        if !shared.is_empty() {
            shared.sort();
            shared.dedup();
            return Err(Error::invalid_node(
                label,
                format!(
                    "a node cannot have the same inputs and outputs even if they are transcoded: {}",
                    crate::error::list(&shared)
                ),
            ));
        }
        let short = short_name(&self.func_id);
        let base = match &self.name {
            Some(n) => n.clone(),
            None => default_name(&short, &self.func_id, &inputs, &outputs),
        };
        let full_name = match &self.namespace {
            Some(ns) => format!("{ns}.{base}"),
            None => base,
        };
        Ok(Node {
            func_id: self.func_id,
            function: self.function,
            func_short: short,
            user_name: self.name,
            namespace: self.namespace,
            name: full_name,
            input_spec: self.inputs,
            output_spec: self.outputs,
            inputs,
            outputs,
            tags: self.tags,
        })
    }
}

/// Orders inputs: lists positionally, mappings by the function's parameter order.
fn bind_inputs(
    label: Option<&str>,
    func_id: &str,
    function: Option<&NodeFunction>,
    spec: &DatasetNames,
) -> Result<Vec<String>, Error> {
    let expected = function.and_then(NodeFunction::input_count);
    let params = function.and_then(NodeFunction::params);
    let describe_params = || match (params, expected) {
        (Some(p), _) => format!("[{}]", p.join(", ")),
        (None, Some(n)) => format!("{n} argument(s)"),
        (None, None) => "any number of arguments".to_owned(),
    };
    match spec {
        DatasetNames::Map(pairs) => {
            let Some(function) = function else {
                return Ok(pairs.iter().map(|(_, v)| v.clone()).collect());
            };
            let Some(params) = function.params() else {
                return Err(Error::invalid_node(
                    label,
                    format!(
                        "inputs are given as a mapping but function '{func_id}' does not declare \
                         its parameter names; declare them with `NodeFunction::with_params` or \
                         pass the inputs as a list"
                    ),
                ));
            };
            let mut ordered = Vec::with_capacity(params.len());
            for param in params {
                match pairs.iter().find(|(k, _)| k == param) {
                    Some((_, v)) => ordered.push(v.clone()),
                    None => {
                        return Err(Error::invalid_node(
                            label,
                            format!(
                                "inputs of '{func_id}' function expected {}, but got {}: \
                                 missing parameter '{param}'",
                                describe_params(),
                                spec.python_repr()
                            ),
                        ));
                    }
                }
            }
            if let Some((k, _)) = pairs.iter().find(|(k, _)| !params.contains(k)) {
                return Err(Error::invalid_node(
                    label,
                    format!(
                        "inputs of '{func_id}' function expected {}, but got {}: \
                         no parameter named '{k}'",
                        describe_params(),
                        spec.python_repr()
                    ),
                ));
            }
            Ok(ordered)
        }
        other => {
            let names: Vec<String> = other.names().into_iter().map(str::to_owned).collect();
            if let Some(n) = expected
                && n != names.len()
            {
                return Err(Error::invalid_node(
                    label,
                    format!(
                        "inputs of '{func_id}' function expected {}, but got {}",
                        describe_params(),
                        other.python_repr()
                    ),
                ));
            }
            Ok(names)
        }
    }
}

/// Kedro's `[\w.-]+` rule for names and tags.
pub(crate) fn check_name(name: &str, what: &str) -> Result<(), Error> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_node(
            None,
            format!(
                "'{name}' is not a valid {what}. It must contain only letters, digits, \
                 hyphens, underscores and/or fullstops"
            ),
        ))
    }
}

/// Kedro 1.x default names: `<func>__<first 8 hex digits of sha256(key)>`,
/// where the key holds the bound input and output lists as Python lists, so
/// `"a"`, `["a"]` and `{x: a}` hash alike.
fn default_name(short: &str, func_id: &str, inputs: &[String], outputs: &[String]) -> String {
    let key = format!("{func_id}|{}|{}", python_list(inputs), python_list(outputs));
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{short}__{hex}")
}

/// Python's `str.title()`: a character is lower-cased when it follows a cased
/// letter and upper-cased otherwise (`step2b fit` → `Step2B Fit`).
fn python_title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_cased = false;
    for c in text.chars() {
        if after_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        after_cased = c.is_lowercase() || c.is_uppercase();
    }
    out
}

/// A function bound to named inputs and outputs.
///
/// Nodes are immutable; methods that change them return copies. Equality and
/// hashing follow Kedro: the full name plus the inputs and outputs as written
/// (a mapping's order ignored); tags and the function are not compared.
#[derive(Clone)]
pub struct Node {
    func_id: String,
    function: Option<NodeFunction>,
    func_short: String,
    user_name: Option<String>,
    namespace: Option<String>,
    name: String,
    input_spec: DatasetNames,
    output_spec: DatasetNames,
    inputs: Vec<String>,
    outputs: Vec<String>,
    tags: BTreeSet<String>,
}

impl Node {
    /// The full name, `namespace.name` when namespaced.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name the user gave, without namespace (`None` for default names).
    pub fn user_name(&self) -> Option<&str> {
        self.user_name.as_deref()
    }

    /// Kedro's `short_name`: the user name without namespace, or the function
    /// name in title case with spaces (`fit_scaler` → `Fit Scaler`).
    pub fn short_name(&self) -> String {
        match &self.user_name {
            Some(n) => n.clone(),
            None => python_title(&self.func_short.replace('_', " ")),
        }
    }

    /// The namespace, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The function id (what a spec stores and a registry resolves).
    pub fn func_id(&self) -> &str {
        &self.func_id
    }

    /// The function, when resolved.
    pub fn function(&self) -> Option<&NodeFunction> {
        self.function.as_ref()
    }

    /// Input dataset names in call order (may repeat).
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// Output dataset names in order.
    pub fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// The inputs as written (list, single name or mapping).
    pub fn input_spec(&self) -> &DatasetNames {
        &self.input_spec
    }

    /// The outputs as written.
    pub fn output_spec(&self) -> &DatasetNames {
        &self.output_spec
    }

    /// The node's tags.
    pub fn tags(&self) -> &BTreeSet<String> {
        &self.tags
    }

    /// A copy with `tags` added.
    pub fn with_tags<S: Into<String>>(
        &self,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<Node, Error> {
        let mut copy = self.clone();
        for tag in tags {
            let tag = tag.into();
            check_name(&tag, "node tag")?;
            copy.tags.insert(tag);
        }
        Ok(copy)
    }

    /// A builder pre-filled with this node's definition, to derive a changed copy.
    pub fn to_builder(&self) -> NodeBuilder {
        NodeBuilder {
            func_id: self.func_id.clone(),
            function: self.function.clone(),
            inputs: self.input_spec.clone(),
            outputs: self.output_spec.clone(),
            name: self.user_name.clone(),
            tags: self.tags.clone(),
            namespace: self.namespace.clone(),
        }
    }

    /// A copy whose function is `function` (after checking its arity), used when
    /// resolving a spec against a registry.
    pub fn resolved(&self, function: NodeFunction) -> Result<Node, Error> {
        let mut builder = self.to_builder();
        builder.func_id = function.id().to_owned();
        builder.function = Some(function);
        let node = builder.build()?;
        // The registry may register a function under an alias; keep the spec's id.
        Ok(Node {
            func_id: self.func_id.clone(),
            ..node
        })
    }

    pub(crate) fn with_parts(
        &self,
        inputs: DatasetNames,
        outputs: DatasetNames,
        namespace: Option<String>,
    ) -> Result<Node, Error> {
        let mut builder = self.to_builder();
        builder.inputs = inputs;
        builder.outputs = outputs;
        builder.namespace = namespace;
        builder.build()
    }

    /// Runs the function on inputs given in [`Node::inputs`] order.
    ///
    /// Type errors name the input dataset and the node; a function error is
    /// wrapped in [`Error::NodeFailed`] with the node's name.
    pub fn run(&self, inputs: Vec<Data>) -> Result<Vec<Data>, Error> {
        let Some(function) = &self.function else {
            return Err(Error::UnresolvedFunction {
                node: self.name.clone(),
                func: self.func_id.clone(),
            });
        };
        if inputs.len() != self.inputs.len() {
            return Err(Error::NodeIo {
                node: self.name.clone(),
                message: format!(
                    "expected {} input(s) {}, but got {}",
                    self.inputs.len(),
                    crate::error::list(&self.inputs),
                    inputs.len()
                ),
            });
        }
        let outputs = function.call(inputs).map_err(|e| match e {
            CallError::Input(position, error) => error.with_context(format_args!(
                "for input '{}' of node '{}'",
                self.inputs.get(position).map_or("?", String::as_str),
                self.name
            )),
            CallError::Failed(source) => Error::NodeFailed {
                node: self.name.clone(),
                source,
            },
        })?;
        if outputs.len() != self.outputs.len() {
            return Err(Error::NodeIo {
                node: self.name.clone(),
                message: format!(
                    "function returned {} output(s) but the node declares {}: {}",
                    outputs.len(),
                    self.outputs.len(),
                    crate::error::list(&self.outputs)
                ),
            });
        }
        Ok(outputs)
    }
}

impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.input_spec.same_key(&other.input_spec)
            && self.output_spec.same_key(&other.output_spec)
    }
}

impl Eq for Node {}

impl Hash for Node {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |names: &[String]| {
            if names.is_empty() {
                "None".to_owned()
            } else {
                format!("[{}]", names.join(";"))
            }
        };
        if let Some(n) = &self.user_name {
            write!(f, "{n}: ")?;
        }
        write!(
            f,
            "{}({}) -> {}",
            self.func_short,
            side(&self.inputs),
            side(&self.outputs)
        )
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node({:?}, {self})", self.name)
    }
}
