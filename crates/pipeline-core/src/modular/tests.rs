//! Ports of Kedro's `tests/pipeline/test_pipeline_namespacing.py` behaviours.

use crate::{DatasetNames, Node, Pipeline, node, pipeline};

fn identity(x: &i64) -> i64 {
    *x
}

fn biconcat(a: &i64, b: &i64) -> i64 {
    a + b
}

fn n(inputs: impl Into<DatasetNames>, outputs: impl Into<DatasetNames>, name: &str) -> Node {
    node(identity, inputs, outputs).name(name).build().unwrap()
}

fn io(p: &Pipeline, name: &str) -> (Vec<String>, Vec<String>) {
    let node = p
        .node(name)
        .unwrap_or_else(|| panic!("no node {name} in {p:?}"));
    (node.inputs().to_vec(), node.outputs().to_vec())
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn namespace_prefixes_nodes_datasets_and_params() {
    let p = pipeline([node(biconcat, ["A", "params:x"], "B")
        .name("n")
        .build()
        .unwrap()])
    .namespace("ns")
    .build()
    .unwrap();
    assert_eq!(
        io(&p, "ns.n"),
        (strings(&["ns.A", "params:ns.x"]), strings(&["ns.B"]))
    );
    assert_eq!(p.node("ns.n").unwrap().namespace(), Some("ns"));
}

#[test]
fn mapped_and_listed_names_are_not_prefixed() {
    let template = [n("A", "B", "n1"), n("B", "C", "n2")];
    let mapped = pipeline(template.clone())
        .namespace("ns")
        .inputs(DatasetNames::map([("A", "A_new")]))
        .outputs("C")
        .build()
        .unwrap();
    assert_eq!(
        io(&mapped, "ns.n1"),
        (strings(&["A_new"]), strings(&["ns.B"]))
    );
    assert_eq!(io(&mapped, "ns.n2"), (strings(&["ns.B"]), strings(&["C"])));

    let listed = pipeline(template)
        .namespace("ns")
        .inputs(["A"])
        .build()
        .unwrap();
    assert_eq!(io(&listed, "ns.n1").0, strings(&["A"]));
}

#[test]
fn the_form_of_a_node_side_survives_renaming() {
    let p = pipeline([n("A", ["B"], "n1")])
        .namespace("ns")
        .build()
        .unwrap();
    let node = p.node("ns.n1").unwrap();
    assert_eq!(node.input_spec(), &DatasetNames::One("ns.A".into()));
    assert_eq!(node.output_spec(), &DatasetNames::List(vec!["ns.B".into()]));
}

#[test]
fn parameters_gain_the_params_prefix_on_both_sides() {
    let p = pipeline([node(biconcat, ["A", "params:alpha"], "B")
        .name("n")
        .build()
        .unwrap()])
    .parameters(DatasetNames::map([("alpha", "beta")]))
    .build()
    .unwrap();
    assert_eq!(io(&p, "n").0, strings(&["A", "params:beta"]));

    let explicit = pipeline([node(biconcat, ["A", "params:alpha"], "B")
        .name("n")
        .build()
        .unwrap()])
    .namespace("ns")
    .parameters(DatasetNames::map([("params:alpha", "params:beta")]))
    .build()
    .unwrap();
    assert_eq!(io(&explicit, "ns.n").0, strings(&["ns.A", "params:beta"]));
}

#[test]
fn all_parameters_dataset_is_never_renamed() {
    let p = pipeline([node(biconcat, ["A", "parameters"], "B")
        .name("n")
        .build()
        .unwrap()])
    .namespace("ns")
    .build()
    .unwrap();
    assert_eq!(io(&p, "ns.n").0, strings(&["ns.A", "parameters"]));
}

#[test]
fn transcoded_names_follow_their_base_mapping() {
    let p = pipeline([n("A", "out@pandas", "n1"), n("out@spark", "C", "n2")])
        .outputs(DatasetNames::map([("C", "C_new")]))
        .namespace("ns")
        .build()
        .unwrap();
    assert_eq!(io(&p, "ns.n1").1, strings(&["ns.out@pandas"]));
    assert_eq!(io(&p, "ns.n2").0, strings(&["ns.out@spark"]));

    let mapped = pipeline([n("in@pandas", "B", "n1")])
        .inputs(DatasetNames::map([("in", "IN")]))
        .build()
        .unwrap();
    assert_eq!(io(&mapped, "n1").0, strings(&["IN@pandas"]));
}

#[test]
fn prefixing_can_be_turned_off() {
    let p = pipeline([node(biconcat, ["A", "params:x"], "B")
        .name("n")
        .build()
        .unwrap()])
    .namespace("ns")
    .prefix_datasets_with_namespace(false)
    .build()
    .unwrap();
    assert_eq!(
        io(&p, "ns.n"),
        (strings(&["A", "params:x"]), strings(&["B"]))
    );
}

#[test]
fn namespaces_nest() {
    let inner = pipeline([n("A", "B", "n")])
        .namespace("inner")
        .build()
        .unwrap();
    let outer = pipeline([inner]).namespace("outer").build().unwrap();
    let node = outer.node("outer.inner.n").unwrap();
    assert_eq!(node.namespace(), Some("outer.inner"));
    assert_eq!(node.inputs(), ["outer.inner.A"]);
}

#[test]
fn default_node_names_are_namespaced_and_rehashed() {
    let plain = node(identity, "A", "B").build().unwrap();
    let p = pipeline([plain.clone()]).namespace("ns").build().unwrap();
    let renamed = p.nodes().next().unwrap();
    assert!(
        renamed.name().starts_with("ns.identity__"),
        "{}",
        renamed.name()
    );
    // Inputs and outputs were renamed, so the hash differs from the original's.
    assert_ne!(renamed.name(), format!("ns.{}", plain.name()));
}

#[test]
fn tags_apply_to_every_node() {
    let p = pipeline([n("A", "B", "n1"), n("B", "C", "n2")])
        .tags(["t1", "t2"])
        .build()
        .unwrap();
    assert!(
        p.nodes()
            .all(|n| n.tags().contains("t1") && n.tags().contains("t2"))
    );
}

#[test]
fn unknown_mapped_names_are_listed_with_suggestions() {
    let err = pipeline([n("raw", "B", "n1")])
        .inputs(DatasetNames::map([("rwa", "x")]))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), "mapping_error");
    let msg = err.to_string();
    assert!(msg.contains("rwa"), "{msg}");
    assert!(
        msg.contains("did you mean one of these instead: raw"),
        "{msg}"
    );

    let several = pipeline([n("raw", "B", "n1")])
        .inputs(["x", "y"])
        .build()
        .unwrap_err();
    assert!(
        several.to_string().contains("x, y do not exist"),
        "{several}"
    );
}

#[test]
fn parameters_in_inputs_are_rejected() {
    let err = pipeline([node(biconcat, ["A", "params:x"], "B")
        .name("n")
        .build()
        .unwrap()])
    .inputs(["params:x"])
    .build()
    .unwrap_err();
    assert_eq!(err.kind(), "mapping_error");
    assert!(err.to_string().contains("'parameters' argument"), "{err}");
}

#[test]
fn inputs_must_be_free_and_outputs_must_be_produced() {
    let template = [n("A", "B", "n1"), n("B", "C", "n2")];
    let err = pipeline(template.clone())
        .inputs(["B"])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("must not be outputs"), "{err}");
    let err = pipeline(template).outputs(["A"]).build().unwrap_err();
    assert!(
        err.to_string().contains("must be generated by some node"),
        "{err}"
    );
}

#[test]
fn intermediate_outputs_can_be_exposed_and_stay_consistent() {
    let p = pipeline([n("A", "B", "n1"), n("B", "C", "n2")])
        .namespace("ns")
        .outputs(DatasetNames::map([("B", "B_out")]))
        .build()
        .unwrap();
    assert_eq!(io(&p, "ns.n1").1, strings(&["B_out"]));
    assert_eq!(io(&p, "ns.n2").0, strings(&["B_out"]));
    assert_eq!(p.len(), 2);
}

#[test]
fn wrapping_the_same_template_twice_under_two_namespaces_combines() {
    let template = Pipeline::new([n("A", "B", "n")]).unwrap();
    let a = pipeline([template.clone()]).namespace("a").build().unwrap();
    let b = pipeline([template.clone()]).namespace("b").build().unwrap();
    let both = (a + b).unwrap();
    assert_eq!(both.len(), 2);
    let twice = (pipeline([template.clone()]).build().unwrap() + template).unwrap();
    assert_eq!(twice.len(), 1);
}

#[test]
fn duplicate_names_inside_items_are_reported() {
    let err = pipeline([n("A", "B", "same"), n("C", "D", "same")])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), "duplicate_node_name");
}
