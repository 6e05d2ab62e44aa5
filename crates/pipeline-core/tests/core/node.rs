//! Node definitions, equality, names and display (Kedro's `test_node.py`).

use std::collections::HashSet;

use tandem_pipeline_core::{DatasetNames, NodeBuilder, NodeFunction, node, pipeline};

use crate::support::assert_error;

fn identity(x: &i64) -> i64 {
    *x
}

fn biconcat(a: &String, b: &String) -> String {
    format!("{a}{b}")
}

fn constant() -> i64 {
    1
}

fn split(x: &i64) -> (i64, i64) {
    (*x, -*x)
}

fn step2b_fit_model(x: &i64) -> i64 {
    *x
}

fn is_default_name(name: &str, func: &str) -> bool {
    let Some(hash) = name.strip_prefix(func).and_then(|r| r.strip_prefix("__")) else {
        return false;
    };
    hash.len() == 8 && hash.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

mod bad_definitions {
    use super::*;

    #[test]
    fn no_inputs_and_no_outputs() {
        let err = NodeBuilder::unresolved("f", (), ()).build().unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["it must have some inputs or outputs"],
        );
        let err = node(constant, (), ()).build().unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["it must have some inputs or outputs"],
        );
        let empty: Vec<&str> = Vec::new();
        let err = NodeBuilder::unresolved("f", empty.clone(), empty)
            .build()
            .unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["it must have some inputs or outputs"],
        );
    }

    #[test]
    fn too_few_and_too_many_inputs() {
        let err = node(biconcat, "a", "c").name("n").build().unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &[
                "'n'",
                "biconcat' function expected 2 argument(s), but got 'a'",
            ],
        );
        let err = node(identity, ["a", "b"], "c").build().unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["expected 1 argument(s)", "['a', 'b']"],
        );
        let err = node(constant, "a", "c").build().unwrap_err();
        assert_error(&err, "invalid_node", &["expected 0 argument(s)"]);
    }

    #[test]
    fn arity_error_lists_declared_parameter_names() {
        let f = NodeFunction::new(biconcat).with_params(["left", "right"]);
        let err = node(f, ["a"], "c").build().unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["expected [left, right], but got ['a']"],
        );
    }

    #[test]
    fn declared_output_count_must_match_the_function() {
        let err = node(identity, "a", ["b", "c"]).build().unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["returns 1 output(s) but the node declares 2: ['b', 'c']"],
        );
        let err = node(split, "a", "b").build().unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["returns 2 output(s) but the node declares 1"],
        );
    }

    #[test]
    fn invalid_names_and_tags() {
        for bad in ["name,with,comma", "name with space", "a/b", "a:b"] {
            let err = node(identity, "a", "b").name(bad).build().unwrap_err();
            assert_error(
                &err,
                "invalid_node",
                &[&format!("'{bad}' is not a valid node name"), "fullstops"],
            );
        }
        let err = node(identity, "a", "b").tag("bad tag").build().unwrap_err();
        assert_error(&err, "invalid_node", &["'bad tag' is not a valid node tag"]);
        let err = node(identity, "a", "b")
            .namespace("bad ns")
            .build()
            .unwrap_err();
        assert_error(&err, "invalid_node", &["not a valid namespace"]);
        for good in ["a.b-c_1", "données", "_"] {
            let n = node(identity, "a", "b")
                .name(good)
                .tag(good)
                .build()
                .unwrap();
            assert_eq!(n.name(), good);
        }
    }

    #[test]
    fn duplicate_outputs() {
        let err = NodeBuilder::unresolved("f", "a", ["b", "c", "b"])
            .name("dup")
            .build()
            .unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["'dup'", "duplicate output(s) ['b']", "must be unique"],
        );
    }

    #[test]
    fn duplicate_inputs_are_allowed() {
        let n = node(biconcat, ["a", "a"], "b").build().unwrap();
        assert_eq!(n.inputs(), ["a", "a"]);
    }

    #[test]
    fn same_input_and_output_even_if_transcoded() {
        let err = node(identity, "a", "a").build().unwrap_err();
        assert_error(&err, "invalid_node", &["same inputs and outputs", "['a']"]);
        let err = NodeBuilder::unresolved("f", ["x", "a@pandas"], "a@spark")
            .build()
            .unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["even if they are transcoded: ['a']"],
        );
    }

    #[test]
    fn more_than_one_transcoding_separator() {
        let err = NodeBuilder::unresolved("f", "a@b@c", "d")
            .build()
            .unwrap_err();
        assert_error(&err, "transcoding", &["found 2", "'a@b@c'"]);
        let err = NodeBuilder::unresolved("f", "a", "d@x@y@z")
            .build()
            .unwrap_err();
        assert_error(&err, "transcoding", &["found 3"]);
    }

    #[test]
    fn mapping_inputs_need_declared_parameter_names() {
        let err = node(biconcat, DatasetNames::map([("a", "A"), ("b", "B")]), "c")
            .build()
            .unwrap_err();
        assert_error(
            &err,
            "invalid_node",
            &["does not declare its parameter names"],
        );
        let f = NodeFunction::new(biconcat).with_params(["a", "b"]);
        let err = node(f.clone(), DatasetNames::map([("a", "A")]), "c")
            .build()
            .unwrap_err();
        assert_error(&err, "invalid_node", &["missing parameter 'b'"]);
        let err = node(
            f,
            DatasetNames::map([("a", "A"), ("b", "B"), ("z", "Z")]),
            "c",
        )
        .build()
        .unwrap_err();
        assert_error(&err, "invalid_node", &["no parameter named 'z'"]);
    }
}

mod equality {
    use super::*;

    fn with(
        inputs: impl Into<DatasetNames>,
        outputs: impl Into<DatasetNames>,
    ) -> tandem_pipeline_core::Node {
        NodeBuilder::unresolved("tests.f", inputs, outputs)
            .name("A")
            .build()
            .unwrap()
    }

    #[test]
    fn equal_definitions_are_equal_and_hash_alike() {
        let first = node(identity, "input1", "output1")
            .name("a_node")
            .build()
            .unwrap();
        let second = node(identity, "input1", "output1")
            .name("a_node")
            .build()
            .unwrap();
        assert_eq!(first, second);
        let set: HashSet<_> = [first.clone()].into_iter().collect();
        assert!(set.contains(&second));
    }

    #[test]
    fn tags_and_function_are_ignored() {
        let first = node(identity, "a", "b").name("n").tag("x").build().unwrap();
        let second = NodeBuilder::unresolved("other.func", "a", "b")
            .name("n")
            .build()
            .unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn names_must_match() {
        let first = node(identity, "a", "b").name("A").build().unwrap();
        let second = node(identity, "a", "b").name("B").build().unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn list_order_matters() {
        assert_ne!(
            with(["input1", "input2"], "o"),
            with(["input2", "input1"], "o")
        );
        assert_ne!(
            with("i", ["output1", "output2"]),
            with("i", ["output2", "output1"])
        );
    }

    #[test]
    fn mapping_order_is_ignored() {
        let a = DatasetNames::map([("input1", "a"), ("input2", "b")]);
        let b = DatasetNames::map([("input2", "b"), ("input1", "a")]);
        assert_eq!(with(a.clone(), "o"), with(b.clone(), "o"));
        assert_eq!(with("i", a), with("i", b));
    }

    #[test]
    fn list_string_and_mapping_forms_differ() {
        let as_map = DatasetNames::map([("input1", "input1"), ("input2", "input2")]);
        assert_ne!(with(["input1", "input2"], "o"), with(as_map.clone(), "o"));
        assert_ne!(with("i", ["input1", "input2"]), with("i", as_map));
        assert_ne!(with("a", "o"), with(["a"], "o"));
        assert_ne!(with("a", "o"), with("a", ["o"]));
        assert_ne!(with("a", "o"), with(DatasetNames::map([("a", "a")]), "o"));
    }

    #[test]
    fn namespace_is_part_of_the_name() {
        let plain = node(identity, "a", "b").name("n").build().unwrap();
        let spaced = node(identity, "a", "b")
            .name("n")
            .namespace("ns")
            .build()
            .unwrap();
        assert_ne!(plain, spaced);
    }
}

mod names {
    use super::*;

    #[test]
    fn named() {
        let n = node(identity, ["in"], ["out"])
            .name("name")
            .build()
            .unwrap();
        assert_eq!(n.to_string(), "name: identity([in]) -> [out]");
        assert_eq!(n.name(), "name");
        assert_eq!(n.user_name(), Some("name"));
        assert_eq!(n.short_name(), "name");
    }

    #[test]
    fn function_default_name() {
        let n = node(identity, ["in"], ["out"]).build().unwrap();
        assert_eq!(n.to_string(), "identity([in]) -> [out]");
        assert!(is_default_name(n.name(), "identity"), "{}", n.name());
        assert_eq!(n.user_name(), None);
        assert_eq!(n.short_name(), "Identity");
    }

    #[test]
    fn namespaced() {
        let n = node(identity, ["in"], ["out"])
            .namespace("namespace")
            .build()
            .unwrap();
        assert_eq!(n.to_string(), "identity([in]) -> [out]");
        let bare = n.name().strip_prefix("namespace.").unwrap();
        assert!(is_default_name(bare, "identity"), "{}", n.name());
        assert_eq!(n.namespace(), Some("namespace"));
        assert_eq!(n.short_name(), "Identity");
    }

    #[test]
    fn named_and_namespaced() {
        let n = node(identity, ["in"], ["out"])
            .name("name")
            .namespace("namespace")
            .build()
            .unwrap();
        assert_eq!(n.to_string(), "name: identity([in]) -> [out]");
        assert_eq!(n.name(), "namespace.name");
        assert_eq!(n.short_name(), "name");
    }

    #[test]
    fn closure() {
        let n = node(|x: &i64| *x, "in", "out").build().unwrap();
        assert_eq!(n.to_string(), "closure([in]) -> [out]");
        assert!(is_default_name(n.name(), "closure"), "{}", n.name());
        assert_eq!(n.short_name(), "Closure");
    }

    #[test]
    fn short_name_title_cases_like_python() {
        let n = node(step2b_fit_model, "in", "out").build().unwrap();
        assert_eq!(n.short_name(), "Step2B Fit Model");
        let n = NodeBuilder::unresolved("m.__private_thing", "a", "b")
            .build()
            .unwrap();
        assert_eq!(n.short_name(), "  Private Thing");
        let n = NodeBuilder::unresolved("m.HTTPFetch", "a", "b")
            .build()
            .unwrap();
        assert_eq!(n.short_name(), "Httpfetch");
    }

    #[test]
    fn display_of_empty_sides_and_mappings() {
        let n = node(constant, (), "x").build().unwrap();
        assert_eq!(n.to_string(), "constant(None) -> [x]");
        let n = NodeBuilder::unresolved("m.sink", ["a", "b"], ())
            .build()
            .unwrap();
        assert_eq!(n.to_string(), "sink([a;b]) -> None");
        let f = NodeFunction::new(biconcat).with_params(["a", "b"]);
        let n = node(
            f,
            DatasetNames::map([("b", "B"), ("a", "A")]),
            DatasetNames::map([("out", "C")]),
        )
        .name("cat")
        .build()
        .unwrap();
        assert_eq!(n.to_string(), "cat: biconcat([A;B]) -> [C]");
    }

    #[test]
    fn default_name_hashes_like_kedro() {
        // sha256("__main__.identity|['a']|['b']")[:8] == d6689c5f: Kedro hashes
        // the input and output lists, whatever form they were written in.
        for n in [
            NodeBuilder::unresolved("__main__.identity", "a", "b"),
            NodeBuilder::unresolved("__main__.identity", ["a"], ["b"]),
            NodeBuilder::unresolved("__main__.identity", DatasetNames::map([("x", "a")]), "b"),
        ] {
            assert_eq!(n.build().unwrap().name(), "identity__d6689c5f");
        }
        let n = NodeBuilder::unresolved("__main__.identity", (), "b")
            .build()
            .unwrap();
        assert_eq!(n.name(), "identity__47634dc4");
        let n = NodeBuilder::unresolved("__main__.identity", "a", ())
            .build()
            .unwrap();
        assert_eq!(n.name(), "identity__91cd41ff");
    }

    #[test]
    fn default_names_are_deterministic_and_depend_on_datasets() {
        let a = node(identity, "a", "b").build().unwrap();
        let again = node(identity, "a", "b").build().unwrap();
        let other = node(identity, "a", "c").build().unwrap();
        assert_eq!(a.name(), again.name());
        assert_ne!(a.name(), other.name());
    }

    #[test]
    fn namespaced_default_name_is_rehashed_by_pipeline() {
        let template = NodeBuilder::unresolved("__main__.identity", "a", "b")
            .build()
            .unwrap();
        assert_eq!(template.name(), "identity__d6689c5f");
        let p = pipeline([template]).namespace("ns").build().unwrap();
        let renamed = p.nodes().next().unwrap();
        assert_eq!(renamed.inputs(), ["ns.a"]);
        // sha256("__main__.identity|['ns.a']|['ns.b']")[:8]
        assert_eq!(renamed.name(), "ns.identity__3733eebc");
    }

    #[test]
    fn tag_returns_a_copy_with_tags_unioned() {
        let n = node(identity, "a", "b").tags(["t1"]).build().unwrap();
        let tagged = n.with_tags(["t2", "t1"]).unwrap();
        assert_eq!(tagged.tags().iter().collect::<Vec<_>>(), ["t1", "t2"]);
        assert_eq!(n.tags().len(), 1);
        assert_eq!(tagged, n);
        let err = n.with_tags(["bad tag"]).unwrap_err();
        assert_error(&err, "invalid_node", &["not a valid node tag"]);
    }

    #[test]
    fn mapping_inputs_are_ordered_by_parameters() {
        let f = NodeFunction::new(biconcat).with_params(["a", "b"]);
        let n = node(f, DatasetNames::map([("b", "B"), ("a", "A")]), "c")
            .build()
            .unwrap();
        assert_eq!(n.inputs(), ["A", "B"]);
        let n = NodeBuilder::unresolved("f", "a", DatasetNames::map([("y", "Y"), ("x", "X")]))
            .build()
            .unwrap();
        assert_eq!(n.outputs(), ["Y", "X"]);
    }
}
