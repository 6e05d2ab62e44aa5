//! Filters: `filter(...)` and the helpers behind it (Kedro's
//! `TestPipelineFilter`, `TestPipelineFilterHelpers`, `TestPipelineRunnerHelpers`).

use tandem_pipeline_core::{Filter, Pipeline};

use crate::pipeline::complex;
use crate::support::{assert_error, n, names, namespaced, pipe, set, tagged};

/// The complex pipeline with tags: node1 {tag1, tag2}, node4 {tag1}, node5 {tag3}.
fn complex_pipeline() -> Pipeline {
    let nodes = complex().nodes.into_iter().map(|node| match node.name() {
        "node1" => node.with_tags(["tag1", "tag2"]).unwrap(),
        "node4" => node.with_tags(["tag1"]).unwrap(),
        "node5" => node.with_tags(["tag3"]).unwrap(),
        _ => node,
    });
    pipe(nodes)
}

fn namespaces_pipeline() -> Pipeline {
    pipe([
        namespaced("katie", "node1", "A", "B"),
        namespaced("lisa", "node2", "B", "C"),
        namespaced("john", "node3", "C", "D"),
        namespaced("katie.lisa", "node4", "D", "E"),
        namespaced("lisa.john", "node5", "E", "F"),
        namespaced("katie.lisa.john", "node6", "F", "G"),
        namespaced("data", "x", "G", "H"),
        namespaced("data_eng", "y", "H", "I"),
        n("z", "I", "J"),
    ])
}

#[track_caller]
fn assert_filtered(p: &Pipeline, filter: Filter, expected: &[&str]) {
    let filtered = p.filter(&filter).unwrap();
    assert_eq!(names(&filtered), set(expected), "{filter:?}");
}

mod combined {
    use super::*;

    #[test]
    fn no_filters_returns_a_copy() {
        let p = complex_pipeline();
        let copy = p.filter(&Filter::default()).unwrap();
        assert_eq!(copy, p);
        assert_eq!(names(&copy), names(&p));
    }

    #[test]
    fn one_filter() {
        let p = complex_pipeline();
        let all = ["node1", "node2", "node3", "node4"];
        assert_filtered(&p, Filter::default().tags(["tag1"]), &["node1", "node4"]);
        assert_filtered(&p, Filter::default().from_nodes(["node4"]), &all);
        assert_filtered(
            &p,
            Filter::default().to_nodes(["node4"]),
            &["node4", "node7", "node8", "node9"],
        );
        assert_filtered(
            &p,
            Filter::default().node_names(["node4", "node5"]),
            &["node4", "node5"],
        );
        assert_filtered(
            &p,
            Filter::default().from_inputs(["F"]),
            &["node1", "node3"],
        );
        assert_filtered(
            &p,
            Filter::default().to_outputs(["F"]),
            &["node4", "node7", "node8", "node9"],
        );
    }

    #[test]
    fn two_filters_intersect() {
        let p = complex_pipeline();
        assert_filtered(
            &p,
            Filter::default().from_nodes(["node4"]).to_nodes(["node1"]),
            &["node1", "node2", "node3", "node4"],
        );
        assert_filtered(
            &p,
            Filter::default().from_inputs(["F"]).to_outputs(["N"]),
            &["node1", "node3"],
        );
        assert_filtered(
            &p,
            Filter::default()
                .tags(["tag1", "tag3"])
                .from_nodes(["node6"]),
            &["node5"],
        );
        assert_filtered(
            &p,
            Filter::default().tags(["tag1"]).to_outputs(["H"]),
            &["node4"],
        );
    }

    #[test]
    fn three_filters_intersect() {
        let p = complex_pipeline();
        assert_filtered(
            &p,
            Filter::default()
                .from_nodes(["node7"])
                .to_nodes(["node1"])
                .node_names(["node4", "node6", "node1"]),
            &["node1", "node4"],
        );
    }

    #[test]
    fn each_filter_applies_to_the_whole_pipeline() {
        // On A→n1→B→n2→C→n3, from_inputs=[A] applied after node_names would
        // keep only n1; applied to the whole pipeline it keeps all three.
        let p = pipe([n("n1", "A", "B"), n("n2", "B", "C"), n("n3", "C", "D")]);
        assert_filtered(
            &p,
            Filter::default()
                .node_names(["n1", "n3"])
                .from_inputs(["A"]),
            &["n1", "n3"],
        );
        assert_filtered(
            &p,
            Filter::default().node_names(["n3"]).from_nodes(["n1"]),
            &["n3"],
        );
    }

    #[test]
    fn namespace_filter() {
        let p = namespaces_pipeline();
        let f = |ns: &[&str]| Filter::default().node_namespaces(ns.iter().copied());
        assert_filtered(
            &p,
            f(&["katie"]),
            &["katie.node1", "katie.lisa.node4", "katie.lisa.john.node6"],
        );
        assert_filtered(&p, f(&["lisa"]), &["lisa.node2", "lisa.john.node5"]);
        assert_filtered(&p, f(&["john"]), &["john.node3"]);
        assert_filtered(
            &p,
            f(&["katie.lisa"]),
            &["katie.lisa.node4", "katie.lisa.john.node6"],
        );
        assert_filtered(&p, f(&["katie.lisa.john"]), &["katie.lisa.john.node6"]);
        assert_filtered(
            &p,
            f(&["katie", "lisa"]),
            &[
                "katie.node1",
                "katie.lisa.node4",
                "katie.lisa.john.node6",
                "lisa.node2",
                "lisa.john.node5",
            ],
        );
        assert_filtered(
            &p,
            f(&["katie"]).to_nodes(["katie.lisa.node4"]),
            &["katie.node1", "katie.lisa.node4"],
        );
    }

    #[test]
    fn empty_result_is_an_error() {
        let p = complex_pipeline();
        let err = p
            .filter(&Filter::default().node_names(["node5"]).to_nodes(["node1"]))
            .unwrap_err();
        assert_error(
            &err,
            "empty_pipeline",
            &["no nodes after applying all provided filters"],
        );
        let err = p.filter(&Filter::default().tags(["nope"])).unwrap_err();
        assert_eq!(err.kind(), "empty_pipeline");
    }

    #[test]
    fn errors_propagate() {
        let p = complex_pipeline();
        let err = p
            .filter(&Filter::default().tags(["tag1"]).from_nodes(["missing"]))
            .unwrap_err();
        assert_error(&err, "unknown_node", &["['missing']"]);
        let err = p
            .filter(&Filter::default().to_outputs(["nope"]))
            .unwrap_err();
        assert_error(&err, "unknown_dataset", &["['nope']"]);
        let err = p
            .filter(&Filter::default().node_namespaces(["nope"]))
            .unwrap_err();
        assert_error(&err, "unknown_namespace", &["['nope']"]);
    }

    #[test]
    fn filter_is_empty_only_without_fields() {
        assert!(Filter::default().is_empty());
        assert!(!Filter::default().node_namespaces(["x"]).is_empty());
        assert!(!Filter::default().to_outputs(["x"]).is_empty());
    }
}

mod helpers {
    use super::*;

    fn tags_pipeline() -> Pipeline {
        pipe([
            tagged("node1", (), "E", &["tag1", "tag2"]),
            tagged("node2", "E", "F", &["tag1"]),
            tagged("node3", "F", "G", &["tag2"]),
            n("node4", "G", "H"),
        ])
    }

    #[test]
    fn only_nodes_with_tags_is_an_or() {
        let p = tags_pipeline();
        let with = |tags: &[&str]| names(&p.only_nodes_with_tags(tags.iter().copied()));
        assert_eq!(with(&["tag1"]), set(&["node1", "node2"]));
        assert_eq!(with(&["tag2"]), set(&["node1", "node3"]));
        assert_eq!(with(&["tag1", "tag2"]), set(&["node1", "node2", "node3"]));
        assert_eq!(with(&["tag2", "missing"]), set(&["node1", "node3"]));
        assert!(with(&[]).is_empty());
        assert!(with(&["missing"]).is_empty());
    }

    #[test]
    fn from_and_to_nodes() {
        let p = complex_pipeline();
        let from = p.from_nodes(["node7"]).unwrap();
        assert_eq!(
            names(&from),
            set(&[
                "node1", "node2", "node3", "node4", "node5", "node6", "node7"
            ])
        );
        let to = p.to_nodes(["node5", "node2"]).unwrap();
        assert_eq!(
            names(&to),
            set(&[
                "node2", "node4", "node5", "node6", "node7", "node8", "node9"
            ])
        );
        assert_eq!(names(&p.from_nodes(["node1"]).unwrap()), set(&["node1"]));
        assert_eq!(names(&p.to_nodes(["node9"]).unwrap()), set(&["node9"]));
    }

    #[test]
    fn only_nodes() {
        let p = complex_pipeline();
        assert_eq!(
            names(&p.only_nodes(["node3", "node1"]).unwrap()),
            set(&["node1", "node3"])
        );
        // Naming a node twice rebuilds a pipeline with a duplicate (a Kedro quirk).
        let err = p.only_nodes(["node3", "node3"]).unwrap_err();
        assert_error(&err, "duplicate_node_name", &["['node3']"]);
    }

    #[test]
    fn unknown_nodes() {
        let p = complex_pipeline();
        for err in [
            p.from_nodes(["missing_node"]).unwrap_err(),
            p.to_nodes(["missing_node"]).unwrap_err(),
            p.only_nodes(["node1", "missing_node"]).unwrap_err(),
        ] {
            assert_error(
                &err,
                "unknown_node",
                &["pipeline does not contain nodes named ['missing_node']"],
            );
        }
    }

    #[test]
    fn unknown_node_suggests_its_namespaced_name() {
        let p = pipe([
            namespaced("ns", "x", "a", "b"),
            namespaced("other", "x", "b", "c"),
            n("y", "c", "d"),
        ]);
        let err = p.only_nodes(["x"]).unwrap_err();
        assert_error(
            &err,
            "unknown_node",
            &["nodes named ['x']. Did you mean: ['ns.x', 'other.x']?"],
        );
        let err = p.from_nodes(["x"]).unwrap_err();
        assert_error(
            &err,
            "unknown_node",
            &["Did you mean: ['ns.x', 'other.x']?"],
        );
    }

    #[test]
    fn unknown_datasets_are_listed_sorted() {
        let p = complex_pipeline();
        for err in [
            p.only_nodes_with_inputs(["Z", "W", "E", "C"]).unwrap_err(),
            p.only_nodes_with_outputs(["Z", "W", "E", "C"]).unwrap_err(),
            p.from_inputs(["Z", "W", "E"]).unwrap_err(),
            p.to_outputs(["W", "C", "Z"]).unwrap_err(),
        ] {
            assert_error(
                &err,
                "unknown_dataset",
                &["pipeline does not contain datasets named ['W', 'Z']"],
            );
        }
    }

    #[test]
    fn direct_consumers_and_producers() {
        let p = complex_pipeline();
        let consumers = p.only_nodes_with_inputs(["E", "C"]).unwrap();
        assert_eq!(names(&consumers), set(&["node4", "node6"]));
        let producers = p.only_nodes_with_outputs(["E", "C", "G"]).unwrap();
        assert_eq!(names(&producers), set(&["node3", "node7"]));
        // A free output has no consumer; an input-less node's output has a producer.
        assert!(p.only_nodes_with_inputs(["N"]).unwrap().is_empty());
        assert_eq!(
            names(&p.only_nodes_with_outputs(["A"]).unwrap()),
            set(&["node9"])
        );
    }

    #[test]
    fn from_inputs_and_to_outputs() {
        let p = complex_pipeline();
        assert_eq!(
            names(&p.from_inputs(["C", "H"]).unwrap()),
            set(&["node1", "node2", "node5", "node6"])
        );
        assert_eq!(
            names(&p.to_outputs(["D", "I"]).unwrap()),
            set(&["node2", "node4", "node6", "node7", "node8", "node9"])
        );
        let chain = pipe([n("n1", "A", "B"), n("n2", "B", "C")]);
        assert!(chain.to_outputs(["A"]).unwrap().is_empty());
        assert!(chain.from_inputs(["C"]).unwrap().is_empty());
        assert_eq!(
            names(&chain.from_inputs(["A"]).unwrap()),
            set(&["n1", "n2"])
        );
    }

    #[test]
    fn namespaces_match_exactly_or_as_a_dotted_prefix() {
        let p = namespaces_pipeline();
        let data = p.only_nodes_with_namespaces(["data"]).unwrap();
        assert_eq!(names(&data), set(&["data.x"]));
        let eng = p.only_nodes_with_namespaces(["data_eng"]).unwrap();
        assert_eq!(names(&eng), set(&["data_eng.y"]));
        let err = p.only_nodes_with_namespaces(["kat"]).unwrap_err();
        assert_error(&err, "unknown_namespace", &["['kat']"]);
    }

    #[test]
    fn unknown_namespaces_are_all_reported() {
        let p = namespaces_pipeline();
        let err = p
            .only_nodes_with_namespaces(["katie", "non_existent", "lisa.jon"])
            .unwrap_err();
        assert_error(
            &err,
            "unknown_namespace",
            &[
                "pipeline does not contain nodes with the following namespaces: ['non_existent', 'lisa.jon']",
            ],
        );
    }

    #[test]
    fn filters_revalidate_and_reorder() {
        let p = complex_pipeline();
        let sub = p.from_nodes(["node4"]).unwrap();
        assert_eq!(sub.inputs().iter().collect::<Vec<_>>(), ["E"]);
        assert_eq!(sub.outputs().iter().collect::<Vec<_>>(), ["G", "N"]);
        assert_eq!(
            crate::support::layers(&sub),
            [vec!["node4"], vec!["node2", "node3"], vec!["node1"]]
        );
    }
}
