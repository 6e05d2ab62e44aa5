//! Helpers shared by the test modules: structural nodes and set views.

use std::collections::BTreeSet;

use tandem_pipeline_core::{DatasetNames, Error, Node, NodeBuilder, Pipeline};

/// A named node that only refers to its function by id, for structural tests.
pub fn n(name: &str, inputs: impl Into<DatasetNames>, outputs: impl Into<DatasetNames>) -> Node {
    NodeBuilder::unresolved("tests.identity", inputs, outputs)
        .name(name)
        .build()
        .unwrap()
}

/// Like [`n`], with tags.
pub fn tagged(
    name: &str,
    inputs: impl Into<DatasetNames>,
    outputs: impl Into<DatasetNames>,
    tags: &[&str],
) -> Node {
    NodeBuilder::unresolved("tests.identity", inputs, outputs)
        .name(name)
        .tags(tags.iter().copied())
        .build()
        .unwrap()
}

/// Like [`n`], in a namespace.
pub fn namespaced(
    namespace: &str,
    name: &str,
    inputs: impl Into<DatasetNames>,
    outputs: impl Into<DatasetNames>,
) -> Node {
    NodeBuilder::unresolved("tests.identity", inputs, outputs)
        .name(name)
        .namespace(namespace)
        .build()
        .unwrap()
}

/// A pipeline of the nodes; panics on invalid input.
pub fn pipe(nodes: impl IntoIterator<Item = Node>) -> Pipeline {
    Pipeline::new(nodes).unwrap()
}

/// Node names in execution order.
pub fn order(p: &Pipeline) -> Vec<String> {
    p.nodes().map(|n| n.name().to_owned()).collect()
}

/// Node names as a set.
pub fn names(p: &Pipeline) -> BTreeSet<String> {
    p.nodes().map(|n| n.name().to_owned()).collect()
}

/// Owned string set from literals.
pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The layers as lists of names.
pub fn layers(p: &Pipeline) -> Vec<Vec<String>> {
    p.layers()
        .map(|layer| layer.iter().map(|n| n.name().to_owned()).collect())
        .collect()
}

/// Asserts the error's kind and that its message contains every fragment.
#[track_caller]
pub fn assert_error(err: &Error, kind: &str, fragments: &[&str]) {
    assert_eq!(err.kind(), kind, "unexpected error: {err}");
    let msg = err.to_string();
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} does not contain {f:?}");
    }
}
