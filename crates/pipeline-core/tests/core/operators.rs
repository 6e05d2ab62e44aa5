//! Pipeline algebra (Kedro's `TestPipelineOperators` and the `+` cases of
//! `TestInvalidPipeline`).

use tandem_pipeline_core::{Error, Pipeline};

use crate::support::{assert_error, n, names, pipe, set, tagged};

fn biconcat(name: &str, inputs: [&str; 2], output: &str) -> Pipeline {
    pipe([n(name, inputs, output)])
}

#[test]
fn add_and_sum() {
    let p1 = biconcat("1", ["input", "input1"], "output1");
    let p2 = biconcat("2", ["input", "input2"], "output2");
    let added = (&p1 + &p2).unwrap();
    assert_eq!(*added.inputs(), set(&["input", "input1", "input2"]));
    assert_eq!(*added.outputs(), set(&["output1", "output2"]));
    assert_eq!(names(&added), set(&["1", "2"]));
    let summed: Result<Pipeline, Error> = [p1.clone(), p2.clone()].into_iter().sum();
    assert_eq!(summed.unwrap(), added);
    let by_ref: Result<Pipeline, Error> = [&p1, &p2].into_iter().sum();
    assert_eq!(by_ref.unwrap(), added);
    let nothing: Result<Pipeline, Error> = std::iter::empty::<Pipeline>().sum();
    assert!(nothing.unwrap().is_empty());
    assert_eq!((Pipeline::empty() + p1.clone()).unwrap(), p1);
    assert_eq!((p1.clone() + Pipeline::empty()).unwrap(), p1);
}

#[test]
fn union_links_the_graphs() {
    let upstream = pipe([n("a", "x", "y")]);
    let downstream = pipe([n("b", "y", "z")]);
    let joined = (downstream + upstream).unwrap();
    assert_eq!(crate::support::order(&joined), ["a", "b"]);
    assert_eq!(*joined.inputs(), set(&["x"]));
    assert_eq!(*joined.outputs(), set(&["z"]));
}

#[test]
fn remove() {
    let p1 = biconcat("1", ["input", "input1"], "output1");
    let p2 = biconcat("2", ["input", "output1"], "output2");
    let p3 = biconcat("3", ["output1", "output2"], "output3");
    let all = ((&p1 + &p2).unwrap() + &p3).unwrap();
    assert_eq!(all.len(), 3);
    let without = &all - &p3;
    assert_eq!(without.len(), 2);
    assert_eq!(*without.inputs(), set(&["input", "input1"]));
    assert_eq!(*without.outputs(), set(&["output2"]));
    assert_eq!(names(&without), set(&["1", "2"]));
    // Removing nodes that are not there is fine.
    let again = &without - &p3;
    assert_eq!(again, without);
}

#[test]
fn remove_with_partial_intersection() {
    let p1 = pipe([
        n("node1", ["input", "input1"], "output1"),
        n("node2", ["input", "input1"], "output2"),
    ]);
    let p2 = pipe([n("node2", ["input", "input1"], "output2")]);
    let diff = p1 - p2;
    assert_eq!(*diff.inputs(), set(&["input", "input1"]));
    assert_eq!(*diff.outputs(), set(&["output1"]));
    assert_eq!(names(&diff), set(&["node1"]));
}

#[test]
fn remove_edge_cases() {
    let p = biconcat("1", ["a", "b"], "c");
    assert_eq!(&p - &Pipeline::empty(), p);
    assert!((Pipeline::empty() - &p).is_empty());
    assert!((&p - &p).is_empty());
    // A same-named node with other datasets is a different node.
    let other = biconcat("1", ["a", "b"], "d");
    assert_eq!(&p - &other, p);
}

#[test]
fn intersection() {
    let p1 = pipe([
        n("node1", ["input", "input1"], "output1"),
        n("node2", ["input", "input2"], "output2"),
    ]);
    let p2 = pipe([n("node2", ["input", "input2"], "output2")]);
    let both = &p1 & &p2;
    assert_eq!(*both.inputs(), set(&["input", "input2"]));
    assert_eq!(*both.outputs(), set(&["output2"]));
    assert_eq!(names(&both), set(&["node2"]));
    assert!((&p1 & &Pipeline::empty()).is_empty());
}

#[test]
fn union_with_or() {
    let p1 = pipe([
        n("node1", ["input", "input1"], "output1"),
        n("node2", ["input", "input2"], "output2"),
    ]);
    let p2 = pipe([n("node2", ["input", "input2"], "output2")]);
    let union = (p1 | p2).unwrap();
    assert_eq!(*union.inputs(), set(&["input", "input1", "input2"]));
    assert_eq!(*union.outputs(), set(&["output1", "output2"]));
    assert_eq!(names(&union), set(&["node1", "node2"]));
}

#[test]
fn identical_nodes_are_deduplicated() {
    let p1 = biconcat("node", ["input", "input1"], "output");
    let p2 = biconcat("node", ["input", "input1"], "output");
    let combined = (p1 + p2).unwrap();
    assert_eq!(*combined.inputs(), set(&["input", "input1"]));
    assert_eq!(*combined.outputs(), set(&["output"]));
    assert_eq!(names(&combined), set(&["node"]));
}

#[test]
fn deduplication_keeps_the_left_operands_node() {
    let left = pipe([tagged("node", "a", "b", &["left"])]);
    let right = pipe([tagged("node", "a", "b", &["right"])]);
    let combined = (&left + &right).unwrap();
    let tags = combined.node("node").unwrap().tags();
    assert_eq!(*tags, set(&["left"]));
}

#[test]
fn conflicting_names() {
    let p1 = biconcat("a", ["input", "input1"], "output1");
    let p2 = biconcat("a", ["input", "input1"], "output2");
    let err = (&p1 + &p2).unwrap_err();
    assert_error(&err, "duplicate_node_name", &["['a']"]);
    let err = (p1 | p2).unwrap_err();
    assert_eq!(err.kind(), "duplicate_node_name");
}

#[test]
fn conflicting_outputs() {
    let p1 = pipe([n("a", ["input", "input1"], ["output", "output1"])]);
    let p2 = pipe([n("b", ["input", "input2"], ["output", "output2"])]);
    let err = (&p1 + &p2).unwrap_err();
    assert_error(&err, "output_not_unique", &["['output']"]);
    let summed: Result<Pipeline, Error> = [p1, p2].into_iter().sum();
    assert_eq!(summed.unwrap_err().kind(), "output_not_unique");
}

#[test]
fn union_can_close_a_cycle() {
    let p1 = pipe([n("a", "x", "y")]);
    let p2 = pipe([n("b", "y", "x")]);
    let err = (p1 + p2).unwrap_err();
    assert_error(&err, "circular_dependency", &["'a'", "'b'"]);
}
