//! Pipeline construction, order, free inputs/outputs and validation
//! (Kedro's `test_pipeline.py`).

use std::collections::{BTreeMap, BTreeSet};

use tandem_pipeline_core::{DatasetNames, Error, Node, NodeBuilder, Pipeline, PipelineItem};

use crate::support::{assert_error, layers, n, names, order, pipe, set, tagged};

/// Kedro's test fixtures: nodes, expected layers, free inputs and outputs.
pub struct Fixture {
    pub nodes: Vec<Node>,
    pub layers: Vec<Vec<&'static str>>,
    pub inputs: Vec<&'static str>,
    pub outputs: Vec<&'static str>,
}

fn unnamed(inputs: impl Into<DatasetNames>, outputs: impl Into<DatasetNames>) -> Node {
    NodeBuilder::unresolved("tests.identity", inputs, outputs)
        .build()
        .unwrap()
}

fn branchless() -> (Vec<Node>, Vec<Node>) {
    let nodes = vec![
        unnamed("E", ()),
        unnamed("D", "E"),
        unnamed("C", "D"),
        unnamed("A", "B"),
        unnamed("B", "C"),
        NodeBuilder::unresolved("tests.constant_output", (), "A")
            .build()
            .unwrap(),
    ];
    let expected = vec![
        nodes[5].clone(),
        nodes[3].clone(),
        nodes[4].clone(),
        nodes[2].clone(),
        nodes[1].clone(),
        nodes[0].clone(),
    ];
    (nodes, expected)
}

/// `pipeline_list_with_lists`: the "complex pipeline" of Kedro's tests.
pub fn complex() -> Fixture {
    Fixture {
        nodes: vec![
            n("node1", ["H", "I", "M"], "N"),
            n("node2", "H", "I"),
            n("node3", "F", ["G", "M"]),
            n("node4", "E", ["F", "H"]),
            n("node5", "D", ()),
            n("node6", "C", "D"),
            n("node7", "B", ["C", "E"]),
            n("node8", "A", ["B", "L"]),
            n("node9", (), "A"),
        ],
        layers: vec![
            vec!["node9"],
            vec!["node8"],
            vec!["node7"],
            vec!["node4", "node6"],
            vec!["node2", "node3", "node5"],
            vec!["node1"],
        ],
        inputs: vec![],
        outputs: vec!["G", "L", "N"],
    }
}

fn with_dicts() -> Fixture {
    let map = |pairs: [(&str, &str); 2]| DatasetNames::map(pairs);
    Fixture {
        nodes: vec![
            n("node1", ["H", "I", "M"], "N"),
            n("node2", "H", "I"),
            n("node3", "F", map([("M", "M"), ("N", "G")])),
            n("node4", "E", map([("O", "F"), ("P", "H")])),
            n("node5", DatasetNames::map([("input1", "D")]), ()),
            n("node6", "C", "D"),
            n("node7", "B", map([("P", "C"), ("Q", "E")])),
            n("node8", "A", map([("R", "B"), ("S", "L")])),
            n("node9", (), "A"),
        ],
        ..complex()
    }
}

fn simple(nodes: Vec<Node>, layers: Vec<Vec<&'static str>>, io: [Vec<&'static str>; 2]) -> Fixture {
    let [inputs, outputs] = io;
    Fixture {
        nodes,
        layers,
        inputs,
        outputs,
    }
}

/// The fixtures of `test_pipeline.py` except `branchless_pipeline` (unnamed nodes).
pub fn fixtures() -> Vec<(&'static str, Fixture)> {
    vec![
        ("pipeline_list_with_lists", complex()),
        ("pipeline_with_dicts", with_dicts()),
        (
            "free_input_needed_pipeline",
            simple(
                vec![
                    n("node1", "A", "B"),
                    n("node2", "B", "C"),
                    n("node3", "C", "D"),
                ],
                vec![vec!["node1"], vec!["node2"], vec!["node3"]],
                [vec!["A"], vec!["D"]],
            ),
        ),
        (
            "disjoint_pipeline",
            simple(
                vec![
                    n("node1", "A", "B"),
                    n("node2", "B", "C"),
                    n("node3", "D", "E"),
                    n("node4", "E", "F"),
                ],
                vec![vec!["node1", "node3"], vec!["node2", "node4"]],
                [vec!["A", "D"], vec!["C", "F"]],
            ),
        ),
        (
            "pipeline_input_duplicated",
            simple(
                vec![
                    n("node1", ["A", "A"], "B"),
                    n("node2", "B", "C"),
                    n("node3", "C", "D"),
                ],
                vec![vec!["node1"], vec!["node2"], vec!["node3"]],
                [vec!["A"], vec!["D"]],
            ),
        ),
        (
            "str_node_inputs_list",
            simple(
                vec![
                    n("node1", ["input1", "input2"], ["input3"]),
                    n("node2", "input3", "input4"),
                ],
                vec![vec!["node1"], vec!["node2"]],
                [vec!["input1", "input2"], vec!["input4"]],
            ),
        ),
    ]
}

#[test]
fn grouped_nodes_match_every_fixture() {
    for (name, f) in fixtures() {
        let p = pipe(f.nodes.clone());
        assert_eq!(layers(&p), f.layers, "{name}");
        let flat: Vec<String> = f.layers.concat().into_iter().map(str::to_owned).collect();
        assert_eq!(order(&p), flat, "{name}");
    }
}

#[test]
fn free_inputs_and_outputs_match_every_fixture() {
    for (name, f) in fixtures() {
        let p = pipe(f.nodes);
        assert_eq!(*p.inputs(), set(&f.inputs), "{name}");
        assert_eq!(*p.outputs(), set(&f.outputs), "{name}");
    }
}

#[test]
fn branchless_pipeline_runs_in_chain_order() {
    let (nodes, expected) = branchless();
    let p = pipe(nodes);
    assert_eq!(p.nodes().cloned().collect::<Vec<_>>(), expected);
    assert_eq!(p.layers().len(), 6);
    assert!(p.inputs().is_empty());
    assert!(p.outputs().is_empty());
}

#[test]
fn layers_sort_by_code_point_of_full_name() {
    // Independent roots and chains; namespaced names sort on the whole string.
    let p = pipe([
        n("n2", "a", "b"),
        n("n3", "b", "c"),
        n("n1", "x", "a"),
        crate::support::namespaced("ns", "n4", "y", "z"),
        crate::support::namespaced("ns.sub", "n5", "z", "w"),
        crate::support::namespaced("nsx", "n6", "q", "r"),
    ]);
    assert_eq!(
        layers(&p),
        [
            vec!["n1", "ns.n4", "nsx.n6"],
            vec!["n2", "ns.sub.n5"],
            vec!["n3"],
        ]
    );
    let p = pipe([
        n("a", "i", "o1"),
        n("_", "i", "o2"),
        n("Z", "i", "o3"),
        n("B", "i", "o4"),
    ]);
    assert_eq!(order(&p), ["B", "Z", "_", "a"]);
}

#[test]
fn construction_order_does_not_matter() {
    let f = complex();
    let forward = pipe(f.nodes.clone());
    let backward = pipe(f.nodes.into_iter().rev());
    assert_eq!(order(&forward), order(&backward));
    assert_eq!(forward, backward);
}

#[test]
fn node_dependencies_map_children_to_parents() {
    let p = pipe(complex().nodes);
    let expected: BTreeMap<&str, BTreeSet<&str>> = [
        ("node1", vec!["node2", "node3", "node4"]),
        ("node2", vec!["node4"]),
        ("node3", vec!["node4"]),
        ("node4", vec!["node7"]),
        ("node5", vec!["node6"]),
        ("node6", vec!["node7"]),
        ("node7", vec!["node8"]),
        ("node8", vec!["node9"]),
        ("node9", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.into_iter().collect()))
    .collect();
    assert_eq!(p.node_dependencies(), expected);
}

#[test]
fn graph_queries() {
    let p = pipe(complex().nodes);
    let pos = |name: &str| p.position(name).unwrap();
    let named = |positions: &[usize]| -> BTreeSet<String> {
        positions.iter().map(|&i| order(&p)[i].clone()).collect()
    };
    assert_eq!(
        named(p.children_of(pos("node4"))),
        set(&["node1", "node2", "node3"])
    );
    assert_eq!(
        named(p.parents_of(pos("node1"))),
        set(&["node2", "node3", "node4"])
    );
    assert_eq!(p.producer_of("H"), Some(pos("node4")));
    assert_eq!(p.producer_of("nope"), None);
    assert_eq!(named(p.consumers_of("H")), set(&["node1", "node2"]));
    assert!(p.consumers_of("N").is_empty());
    assert_eq!(p.node("node5").unwrap().inputs(), ["D"]);
    assert!(p.node("node10").is_none());
}

#[test]
fn all_inputs_all_outputs_and_datasets() {
    let p = pipe(complex().nodes);
    assert_eq!(
        p.all_inputs(),
        set(&["A", "B", "C", "D", "E", "F", "H", "I", "M"])
    );
    assert_eq!(
        p.all_outputs(),
        set(&["A", "B", "C", "D", "E", "F", "G", "H", "I", "L", "M", "N"])
    );
    assert_eq!(p.datasets(), p.all_outputs());
}

#[test]
fn pipeline_tags_are_unioned_with_node_tags() {
    let p = pipe([
        tagged("n1", "A", "B", &["node1", "p1"]),
        tagged("n2", "B", "C", &["node2"]),
        n("n3", "C", "D"),
    ])
    .tag(["p1", "p2"])
    .unwrap();
    let tags = |name: &str| p.node(name).unwrap().tags().clone();
    assert_eq!(tags("n1"), set(&["node1", "p1", "p2"]));
    assert_eq!(tags("n2"), set(&["node2", "p1", "p2"]));
    assert_eq!(tags("n3"), set(&["p1", "p2"]));
    let err = p.tag(["bad tag"]).unwrap_err();
    assert_error(&err, "invalid_node", &["not a valid node tag"]);
}

#[test]
fn nested_pipelines_are_flattened() {
    let inner = pipe([n("a", "x", "y"), n("b", "y", "z")]);
    let items: [PipelineItem; 2] = [inner.into(), n("c", "z", "w").into()];
    let outer = Pipeline::new(items).unwrap();
    assert_eq!(order(&outer), ["a", "b", "c"]);
    let empty = Pipeline::new(Vec::<Node>::new()).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty, Pipeline::empty());
    assert_eq!(Pipeline::default().len(), 0);
}

mod invalid {
    use super::*;

    #[test]
    fn cycle() {
        let err = Pipeline::new([
            n("node1", "A", "B"),
            n("node2", "B", "C"),
            n("node3", "C", "A"),
        ])
        .unwrap_err();
        assert_error(
            &err,
            "circular_dependency",
            &["3 node(s)", "'node1'", "'node2'", "'node3'"],
        );
        let Error::CircularDependency { nodes } = err else {
            unreachable!()
        };
        assert_eq!(nodes, ["node1", "node2", "node3"]);
    }

    #[test]
    fn cycle_beside_a_valid_part_names_only_the_cycle() {
        let err = Pipeline::new([
            n("root", "in", "A"),
            n("x", ["A", "C"], "B"),
            n("y", "B", "C"),
            n("leaf", "B", "out"),
        ])
        .unwrap_err();
        let Error::CircularDependency { nodes } = err else {
            panic!("expected a cycle")
        };
        assert_eq!(nodes, ["x", "y"]);
    }

    #[test]
    fn unique_outputs() {
        let err = Pipeline::new([
            n("node1", ["A", "B"], ["C", "D"]),
            n("node2", ["A", "B"], ["D", "E"]),
            n("node3", ["A", "B"], ["E"]),
        ])
        .unwrap_err();
        assert_error(&err, "output_not_unique", &["['D', 'E']"]);
    }

    #[test]
    fn duplicate_free_nodes() {
        let err = Pipeline::new([n("same_name", "in1", "out1"), n("same_name", "in2", "out2")])
            .unwrap_err();
        assert_error(&err, "duplicate_node_name", &["['same_name']"]);
        // An identical node next to a pipeline holding it is still a duplicate.
        let p = pipe([n("same_name", "in1", "out1")]);
        let items: [PipelineItem; 2] = [p.into(), n("same_name", "in1", "out1").into()];
        let err = Pipeline::new(items).unwrap_err();
        assert_error(&err, "duplicate_node_name", &["['same_name']"]);
    }

    #[test]
    fn duplicate_nodes_in_pipelines() {
        let p = pipe([n("node", ["input", "input1"], ["output", "output1"])]);
        let first = p.nodes().next().unwrap().clone();
        for items in [
            vec![p.clone().into(), first.clone().into()],
            vec![first.clone().into(), p.clone().into()],
            vec![p.clone().into(), p.clone().into()],
        ] {
            let err = Pipeline::new::<PipelineItem>(items).unwrap_err();
            assert_error(&err, "duplicate_node_name", &["['node']"]);
        }
    }

    #[test]
    fn transcoding_inconsistency() {
        let err = Pipeline::new([n("n1", "A", "B"), n("n2", "B@pandas", "C")]).unwrap_err();
        assert_error(
            &err,
            "transcoding",
            &["used with transcoding, but were referenced without the separator: B"],
        );
    }
}

mod describe {
    use super::*;

    #[test]
    fn names_only() {
        let p = pipe([
            n("node1", ["input1", "input2"], ["input3"]),
            n("node2", "input3", "input4"),
        ]);
        let expected = [
            "#### Pipeline execution order ####",
            "Inputs: input1, input2",
            "",
            "node1",
            "node2",
            "",
            "Outputs: input4",
            "##################################",
        ];
        assert_eq!(p.describe().split('\n').collect::<Vec<_>>(), expected);
    }

    #[test]
    fn empty_sides_print_none() {
        let p = pipe([n("only", (), "x"), n("sink", "x", ())]);
        assert_eq!(
            p.describe(),
            "#### Pipeline execution order ####\nInputs: None\n\nonly\nsink\n\nOutputs: None\n\
             ##################################"
        );
    }

    #[test]
    fn empty_pipeline() {
        // Kedro joins zero node names into an empty line between the blank lines.
        assert_eq!(
            Pipeline::empty().describe(),
            "#### Pipeline execution order ####\nInputs: None\n\n\n\nOutputs: None\n\
             ##################################"
        );
    }
}

#[test]
fn debug_lists_node_names() {
    let p = pipe([n("b", "x", "y"), n("a", "y", "z")]);
    assert_eq!(format!("{p:?}"), r#"Pipeline(["b", "a"])"#);
    assert_eq!(names(&p), set(&["a", "b"]));
}
