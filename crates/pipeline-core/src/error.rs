//! The crate's error type.
//!
//! Every variant maps to a stable, machine-readable kind string (see
//! [`Error::kind`]) that the CLI prints in its JSON errors and that callers can
//! match on without parsing messages.

use std::fmt;

/// A boxed error from user code (a node function).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while building, filtering, combining or running
/// nodes and pipelines.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A node definition is malformed (bad name, arity mismatch, duplicate outputs...).
    #[error("invalid node definition{}: {message}", node_label(.node))]
    InvalidNode {
        /// The node's name or its description when it has no name yet.
        node: Option<String>,
        /// What is wrong.
        message: String,
    },

    /// Two or more nodes share a name.
    #[error(
        "pipeline nodes must have unique names; these names appear more than once: {}. \
         Give each node a distinct name (or namespace the sub-pipelines)",
        list(.names)
    )]
    DuplicateNodeName {
        /// The duplicated names, sorted.
        names: Vec<String>,
    },

    /// Two or more nodes produce the same dataset (transcoding suffixes ignored).
    #[error(
        "output(s) {} are returned by more than one node; node outputs must be unique",
        list(.outputs)
    )]
    OutputNotUnique {
        /// The contested outputs, sorted, without transcoding suffixes.
        outputs: Vec<String>,
    },

    /// The node graph has a cycle.
    #[error(
        "circular dependencies exist among the following {} node(s): {}",
        .nodes.len(),
        list(.nodes)
    )]
    CircularDependency {
        /// The nodes of one cycle, in dependency order.
        nodes: Vec<String>,
    },

    /// A dataset name uses the `@` transcoding separator inconsistently.
    #[error("{message}")]
    Transcoding {
        /// What is wrong, naming the datasets.
        message: String,
    },

    /// A modular pipeline's `inputs`, `outputs` or `parameters` mapping is invalid.
    #[error("{message}")]
    Mapping {
        /// What is wrong, naming the datasets.
        message: String,
    },

    /// A filter names nodes the pipeline does not have.
    #[error("pipeline does not contain nodes named {}{}", list(.names), hint(.suggestions))]
    UnknownNode {
        /// The unknown names as given.
        names: Vec<String>,
        /// Close matches among the pipeline's node names.
        suggestions: Vec<String>,
    },

    /// A filter names datasets the pipeline does not have.
    #[error("pipeline does not contain datasets named {}{}", list(.names), hint(.suggestions))]
    UnknownDataset {
        /// The unknown names, sorted.
        names: Vec<String>,
        /// Close matches among the pipeline's datasets.
        suggestions: Vec<String>,
    },

    /// A namespace filter matches no node.
    #[error(
        "pipeline does not contain nodes with the following namespaces: {}{}",
        list(.namespaces),
        hint(.suggestions)
    )]
    UnknownNamespace {
        /// The namespaces that matched nothing.
        namespaces: Vec<String>,
        /// Close matches among the pipeline's namespaces.
        suggestions: Vec<String>,
    },

    /// Filtering left no node.
    #[error(
        "pipeline contains no nodes after applying all provided filters; \
         check that the filters select at least one node"
    )]
    EmptyPipeline,

    /// A value is not of the type a node declared.
    #[error("expected a value of type `{expected}` but found `{actual}`{context}")]
    TypeMismatch {
        /// The Rust type the consumer declared.
        expected: &'static str,
        /// The Rust type of the value held.
        actual: &'static str,
        /// Where it happened (e.g. " for input 'x' of node 'fit'"), possibly empty.
        context: String,
    },

    /// A JSON parameter could not be deserialized into the declared type.
    #[error("parameter value does not fit type `{expected}`{context}: {message}")]
    InvalidParameter {
        /// The Rust type the consumer declared.
        expected: &'static str,
        /// The deserializer's explanation.
        message: String,
        /// Where it happened, possibly empty.
        context: String,
    },

    /// A value of another type could not be converted into the declared
    /// type ([`DataValue::convert_from`](crate::DataValue::convert_from)).
    #[error("cannot convert `{actual}` into `{expected}`{context}: {message}")]
    Conversion {
        /// The Rust type the consumer declared.
        expected: &'static str,
        /// The Rust type of the value held.
        actual: &'static str,
        /// Why the conversion failed.
        message: String,
        /// Where it happened, possibly empty.
        context: String,
    },

    /// A node's function returned an error.
    #[error("node '{node}' failed: {source}")]
    NodeFailed {
        /// The node's full name.
        node: String,
        /// The function's own error.
        #[source]
        source: BoxError,
    },

    /// A node was run with the wrong number of inputs or produced the wrong number of outputs.
    #[error("node '{node}': {message}")]
    NodeIo {
        /// The node's full name.
        node: String,
        /// What did not match.
        message: String,
    },

    /// A node function id is not in the function registry.
    #[error("unknown node function(s) {}{}", list(.ids), hint(.suggestions))]
    UnknownFunction {
        /// Every unknown id, sorted.
        ids: Vec<String>,
        /// Close matches among the registered ids.
        suggestions: Vec<String>,
    },

    /// A node was run although its function was never resolved from the registry.
    #[error("node '{node}' refers to function '{func}' which was not resolved from a registry")]
    UnresolvedFunction {
        /// The node's full name.
        node: String,
        /// The function id.
        func: String,
    },

    /// A pipeline spec is malformed.
    #[error("invalid pipeline spec{}: {message}", spec_location(.file, .line))]
    InvalidSpec {
        /// The file it was read from, when known.
        file: Option<String>,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// The stable, machine-readable kind of this error.
    ///
    /// ```
    /// use tandem_pipeline_core::Error;
    /// assert_eq!(Error::EmptyPipeline.kind(), "empty_pipeline");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidNode { .. } => "invalid_node",
            Error::DuplicateNodeName { .. } => "duplicate_node_name",
            Error::OutputNotUnique { .. } => "output_not_unique",
            Error::CircularDependency { .. } => "circular_dependency",
            Error::Transcoding { .. } => "transcoding",
            Error::Mapping { .. } => "mapping_error",
            Error::UnknownNode { .. } => "unknown_node",
            Error::UnknownDataset { .. } => "unknown_dataset",
            Error::UnknownNamespace { .. } => "unknown_namespace",
            Error::EmptyPipeline => "empty_pipeline",
            Error::TypeMismatch { .. } => "type_mismatch",
            Error::InvalidParameter { .. } => "invalid_parameter",
            Error::Conversion { .. } => "conversion_failed",
            Error::NodeFailed { .. } => "node_failed",
            Error::NodeIo { .. } => "node_io",
            Error::UnknownFunction { .. } => "unknown_function",
            Error::UnresolvedFunction { .. } => "unresolved_function",
            Error::InvalidSpec { .. } => "invalid_spec",
        }
    }

    pub(crate) fn invalid_node(node: Option<&str>, message: impl Into<String>) -> Self {
        Error::InvalidNode {
            node: node.map(str::to_owned),
            message: message.into(),
        }
    }

    /// Adds where a type or parameter error happened; other errors are returned unchanged.
    pub(crate) fn with_context(self, where_: impl fmt::Display) -> Self {
        match self {
            Error::TypeMismatch {
                expected, actual, ..
            } => Error::TypeMismatch {
                expected,
                actual,
                context: format!(" {where_}"),
            },
            Error::InvalidParameter {
                expected, message, ..
            } => Error::InvalidParameter {
                expected,
                message,
                context: format!(" {where_}"),
            },
            Error::Conversion {
                expected,
                actual,
                message,
                ..
            } => Error::Conversion {
                expected,
                actual,
                message,
                context: format!(" {where_}"),
            },
            other => other,
        }
    }
}

fn node_label(node: &Option<String>) -> String {
    match node {
        Some(n) => format!(" '{n}'"),
        None => String::new(),
    }
}

fn spec_location(file: &Option<String>, line: &Option<usize>) -> String {
    match (file, line) {
        (Some(f), Some(l)) => format!(" {f}:{l}"),
        (Some(f), None) => format!(" {f}"),
        (None, Some(l)) => format!(" (line {l})"),
        (None, None) => String::new(),
    }
}

/// Renders names the way Kedro does in its messages: `['a', 'b']`.
pub(crate) fn list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn hint(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(". Did you mean: {}?", list(suggestions))
    }
}
