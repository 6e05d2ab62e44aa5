//! Transcoded dataset names (`name@format`), Kedro's
//! `test_pipeline_with_transcoding.py`.

use tandem_pipeline_core::Pipeline;
use tandem_pipeline_core::transcoding::{is_transcoded, split_transcoding, strip_transcoding};

use crate::support::{assert_error, layers, n, names, pipe, set};

/// node1: A → B@pandas; node2: B@pandas → C; node3: B@spark → D.
fn transcoded() -> Pipeline {
    pipe([
        n("node1", "A", "B@pandas"),
        n("node2", "B@pandas", "C"),
        n("node3", "B@spark", "D"),
    ])
}

#[test]
fn helpers() {
    assert_eq!(strip_transcoding("b@spark"), "b");
    assert_eq!(split_transcoding("b@spark"), ("b", "spark"));
    assert_eq!(split_transcoding("b"), ("b", ""));
    assert!(is_transcoded("b@x") && !is_transcoded("b"));
}

#[test]
fn intermediates_are_neither_inputs_nor_outputs() {
    let p = transcoded();
    assert_eq!(*p.inputs(), set(&["A"]));
    assert_eq!(*p.outputs(), set(&["C", "D"]));
    let datasets = p.datasets();
    assert!(datasets.contains("B@pandas") && datasets.contains("B@spark"));
    assert_eq!(datasets, set(&["A", "B@pandas", "B@spark", "C", "D"]));
    assert_eq!(p.all_inputs(), set(&["A", "B@pandas", "B@spark"]));
}

#[test]
fn edges_use_stripped_names() {
    let p = transcoded();
    assert_eq!(layers(&p), [vec!["node1"], vec!["node2", "node3"]]);
    let deps = p.node_dependencies();
    assert_eq!(deps["node3"], ["node1"].into_iter().collect());
    assert_eq!(p.producer_of("B@spark"), p.position("node1"));
    assert_eq!(p.consumers_of("B").len(), 2);
}

#[test]
fn transcoded_fixtures_order_like_plain_ones() {
    let p = pipe([
        n("node1", ["H@pandas", "I", "M"], "N"),
        n("node2", "H@spark", "I"),
        n("node3", "F", ["G", "M"]),
        n("node4", "E", ["F", "H@pandas"]),
        n("node5", "D", ()),
        n("node6", "C", "D"),
        n("node7", "B", ["C", "E"]),
        n("node8", "A", ["B", "L"]),
        n("node9", (), "A"),
    ]);
    let plain = pipe(crate::pipeline::complex().nodes);
    assert_eq!(layers(&p), layers(&plain));
    assert_eq!(*p.outputs(), set(&["G", "L", "N"]));
    assert!(p.inputs().is_empty());
}

#[test]
fn duplicate_transcoded_outputs() {
    let err =
        Pipeline::new([n("n1", "input", "A@pandas"), n("n2", "input", "A@spark")]).unwrap_err();
    assert_error(&err, "output_not_unique", &["['A']"]);
    let err = tandem_pipeline_core::NodeBuilder::unresolved("f", "x", ["A@pandas", "A@spark"])
        .build()
        .map(|node| Pipeline::new([node]))
        .unwrap()
        .unwrap_err();
    assert_error(&err, "output_not_unique", &["['A']"]);
}

#[test]
fn transcoding_loop() {
    let err = Pipeline::new([
        n("node1", "A@pandas", "B@pandas"),
        n("node2", "B@spark", "A@spark"),
    ])
    .unwrap_err();
    assert_error(&err, "circular_dependency", &["'node1'", "'node2'"]);
}

#[test]
fn bare_and_transcoded_use_of_one_name() {
    let err = Pipeline::new([n("n1", "A", "B@pandas"), n("n2", "B", "C")]).unwrap_err();
    assert_error(
        &err,
        "transcoding",
        &["referenced without the separator: B"],
    );
    let err = Pipeline::new([n("n1", "x", ["A", "B"]), n("n2", ["A@x", "B@y"], "C")]).unwrap_err();
    assert_error(&err, "transcoding", &["separator: A, B"]);
}

#[test]
fn only_nodes_with_inputs() {
    let p = transcoded();
    assert_eq!(
        names(&p.only_nodes_with_inputs(["B@pandas"]).unwrap()),
        set(&["node2"])
    );
    assert_eq!(
        names(&p.only_nodes_with_inputs(["B@spark"]).unwrap()),
        set(&["node3"])
    );
    assert_eq!(
        names(&p.only_nodes_with_inputs(["B"]).unwrap()),
        set(&["node2", "node3"])
    );
    let err = p.only_nodes_with_inputs(["B@json"]).unwrap_err();
    assert_error(&err, "unknown_dataset", &["['B@json']"]);
}

#[test]
fn only_nodes_with_outputs() {
    let p = transcoded();
    assert_eq!(
        names(&p.only_nodes_with_outputs(["B@pandas"]).unwrap()),
        set(&["node1"])
    );
    assert_eq!(
        names(&p.only_nodes_with_outputs(["B"]).unwrap()),
        set(&["node1"])
    );
    // Known (node3 reads it) but nobody writes exactly `B@spark`.
    assert!(p.only_nodes_with_outputs(["B@spark"]).unwrap().is_empty());
}

#[test]
fn from_inputs_and_to_outputs() {
    let p = transcoded();
    assert_eq!(names(&p.from_inputs(["B@spark"]).unwrap()), set(&["node3"]));
    assert_eq!(
        names(&p.from_inputs(["B"]).unwrap()),
        set(&["node2", "node3"])
    );
    assert_eq!(
        names(&p.from_inputs(["A"]).unwrap()),
        set(&["node1", "node2", "node3"])
    );
    assert_eq!(
        names(&p.to_outputs(["D"]).unwrap()),
        set(&["node1", "node3"])
    );
    assert_eq!(names(&p.to_outputs(["B@pandas"]).unwrap()), set(&["node1"]));
    assert!(p.to_outputs(["B@spark"]).unwrap().is_empty());
}

#[test]
fn from_and_to_nodes() {
    let p = transcoded();
    assert_eq!(
        names(&p.from_nodes(["node1"]).unwrap()),
        set(&["node1", "node2", "node3"])
    );
    assert_eq!(
        names(&p.to_nodes(["node3"]).unwrap()),
        set(&["node1", "node3"])
    );
    let chain = pipe([
        n("node1", "A", "B@pandas"),
        n("node2", "B@spark", "C@x"),
        n("node3", "C@y", "D"),
    ]);
    assert_eq!(
        names(&chain.from_nodes(["node2"]).unwrap()),
        set(&["node2", "node3"])
    );
    assert_eq!(
        names(&chain.to_nodes(["node2"]).unwrap()),
        set(&["node1", "node2"])
    );
}

#[test]
fn union_checks_transcoding_across_operands() {
    let p1 = pipe([n("n1", "A", "B@pandas")]);
    let p2 = pipe([n("n2", "B", "C")]);
    let err = (p1 + p2).unwrap_err();
    assert_eq!(err.kind(), "transcoding");
}
