use super::*;
use crate::data::Data;
use crate::function::NodeFunction;

const FORMS: &str = r#"
nodes:
  - name: one
    func: f.one
    inputs: a
    outputs: [b, c]
    tags: [t1, t2]
    namespace: ns
  - func: f.two
    inputs: {y: c, x: b}
    outputs: d
  - name: three
    func: f.three
    inputs: d
  - name: four
    func: f.four
    inputs: []
    outputs: e
"#;

fn parse(text: &str) -> PipelineSpec {
    PipelineSpec::from_yaml_str(text, None).unwrap()
}

fn node_spec(spec: &PipelineSpec, index: usize) -> &NodeSpec {
    match &spec.nodes[index] {
        SpecItem::Node(n) => n,
        SpecItem::Pipeline(_) => panic!("entry {index} is a pipeline"),
    }
}

#[test]
fn dataset_name_forms_are_kept() {
    let spec = parse(FORMS);
    let one = node_spec(&spec, 0);
    assert_eq!(one.inputs, DatasetNames::One("a".into()));
    assert_eq!(one.outputs, DatasetNames::from(["b", "c"]));
    assert_eq!(one.tags, ["t1", "t2"]);
    assert_eq!(one.namespace.as_deref(), Some("ns"));
    // Insertion order, not key order.
    assert_eq!(
        node_spec(&spec, 1).inputs,
        DatasetNames::map([("y", "c"), ("x", "b")])
    );
    assert_eq!(node_spec(&spec, 2).outputs, DatasetNames::None);
    assert_eq!(node_spec(&spec, 3).inputs, DatasetNames::List(Vec::new()));
}

#[test]
fn yaml_and_json_round_trip() {
    let spec = parse(FORMS);
    let yaml = spec.to_yaml_string().unwrap();
    assert_eq!(PipelineSpec::from_yaml_str(&yaml, None).unwrap(), spec);
    let json = spec.to_json_string().unwrap();
    assert_eq!(PipelineSpec::from_json_str(&json, None).unwrap(), spec);
    assert!(json.contains(r#""inputs": {"#), "{json}");
    assert!(!yaml.contains("prefix_datasets_with_namespace"), "{yaml}");
}

#[test]
fn names_that_look_like_other_scalars_stay_names() {
    let spec = parse(
        "nodes: [{func: f, inputs: y, outputs: [yes, on, '2020', '007', 'null', 'true']}, {func: g, inputs: 007, outputs: n}]",
    );
    assert_eq!(node_spec(&spec, 0).inputs, DatasetNames::from("y"));
    assert_eq!(node_spec(&spec, 1).inputs, DatasetNames::from("007"));
    let yaml = spec.to_yaml_string().unwrap();
    assert_eq!(
        PipelineSpec::from_yaml_str(&yaml, None).unwrap(),
        spec,
        "{yaml}"
    );
    let err = PipelineSpec::from_yaml_str("nodes: [{func: f, inputs: true, outputs: x}]", None)
        .unwrap_err();
    assert!(err.to_string().contains("boolean"), "{err}");
}

#[test]
fn null_and_absent_sides_are_the_same() {
    let spec = parse("nodes: [{func: f, inputs: ~, outputs: x}, {func: g, outputs: y}]");
    assert_eq!(node_spec(&spec, 0).inputs, DatasetNames::None);
    assert_eq!(node_spec(&spec, 1).inputs, DatasetNames::None);
    let json = r#"{"nodes": [{"func": "f", "inputs": null, "outputs": "x"}]}"#;
    let spec = PipelineSpec::from_json_str(json, None).unwrap();
    assert_eq!(node_spec(&spec, 0).inputs, DatasetNames::None);
}

#[test]
fn tags_may_be_a_single_name_but_not_a_mapping() {
    let spec = parse("nodes: [{func: f, outputs: x, tags: training}]\ntags: all");
    assert_eq!(node_spec(&spec, 0).tags, ["training"]);
    assert_eq!(spec.tags, ["all"]);
    let err = PipelineSpec::from_yaml_str("nodes: [{func: f, outputs: x, tags: {a: b}}]", None)
        .unwrap_err();
    assert!(err.to_string().contains("not a mapping"), "{err}");
}

#[test]
fn nested_pipelines_apply_kedro_pipeline_options() {
    let spec = parse(
        r#"
nodes:
  - pipeline:
      namespace: prep
      inputs: {raw: companies}
      outputs: {clean: model_input}
      parameters: {alpha: beta}
      tags: wrapped
      nodes:
        - {name: clean, func: f, inputs: [raw, params:alpha], outputs: clean, tags: [own]}
  - pipeline:
      namespace: flat
      prefix_datasets_with_namespace: false
      nodes:
        - {name: use, func: g, inputs: model_input, outputs: report}
"#,
    );
    let p = spec.to_pipeline_unresolved().unwrap();
    let clean = p.node("prep.clean").unwrap();
    assert_eq!(clean.inputs(), ["companies", "params:beta"]);
    assert_eq!(clean.outputs(), ["model_input"]);
    assert_eq!(clean.tags().iter().collect::<Vec<_>>(), ["own", "wrapped"]);
    assert_eq!(clean.namespace(), Some("prep"));
    let used = p.node("flat.use").unwrap();
    assert_eq!(used.inputs(), ["model_input"]);
    assert_eq!(used.outputs(), ["report"]);
    let order: Vec<&str> = p.nodes().map(|n| n.name()).collect();
    assert_eq!(order, ["prep.clean", "flat.use"]);
}

#[test]
fn mapping_errors_from_nested_pipelines_propagate() {
    let spec = parse(
        "nodes:\n  - pipeline:\n      inputs: [nope]\n      nodes: [{func: f, inputs: a, outputs: b}]\n",
    );
    let err = spec.to_pipeline_unresolved().unwrap_err();
    assert_eq!(err.kind(), "mapping_error");
}

fn scale(x: &f64, factor: f64) -> f64 {
    x * factor
}

fn split(x: &f64) -> (f64, f64) {
    (x.floor(), x - x.floor())
}

fn registry() -> FunctionRegistry {
    let mut registry = FunctionRegistry::with_builtins();
    registry
        .register(
            "math.scale",
            NodeFunction::new(scale).with_params(["x", "factor"]),
        )
        .register("math.split", split);
    registry
}

fn sample_pipeline(registry: &FunctionRegistry) -> Pipeline {
    let get = |id: &str| registry.get(id).unwrap().clone();
    let inner = Pipeline::new([
        node(get("math.split"), "x", ["whole", "frac"])
            .name("split")
            .tags(["prep"])
            .build()
            .unwrap(),
        node(
            get("math.scale"),
            DatasetNames::map([("factor", "params:k"), ("x", "frac")]),
            "scaled",
        )
        .build()
        .unwrap(),
    ])
    .unwrap();
    let wrapped = pipeline([inner])
        .namespace("inner")
        .inputs(DatasetNames::map([("x", "raw")]))
        .tags(["wrapped"])
        .build()
        .unwrap();
    let copy = node(get(FunctionRegistry::IDENTITY), ["raw"], ["raw_copy"])
        .name("copy")
        .namespace("io")
        .build()
        .unwrap();
    Pipeline::new([PipelineItem::Pipeline(wrapped), PipelineItem::Node(copy)]).unwrap()
}

#[test]
fn pipeline_round_trips_through_a_spec() {
    let registry = registry();
    let original = sample_pipeline(&registry);
    let yaml = PipelineSpec::from_pipeline(&original)
        .to_yaml_string()
        .unwrap();
    let spec = PipelineSpec::from_yaml_str(&yaml, None).unwrap();
    assert_eq!(PipelineSpec::from_pipeline(&original), spec);
    let rebuilt = spec.to_pipeline(&registry).unwrap();
    assert_eq!(rebuilt, original, "{yaml}");
    for (a, b) in rebuilt.nodes().zip(original.nodes()) {
        assert_eq!(a.name(), b.name());
        assert_eq!(a.func_id(), b.func_id());
        assert_eq!(a.tags(), b.tags());
        assert_eq!(a.namespace(), b.namespace());
        assert_eq!(a.input_spec(), b.input_spec());
        assert_eq!(a.output_spec(), b.output_spec());
        assert_eq!(a.inputs(), b.inputs());
    }
}

#[test]
fn unresolved_pipelines_keep_the_spec() {
    let registry = registry();
    let spec = PipelineSpec::from_pipeline(&sample_pipeline(&registry));
    let unresolved = spec.to_pipeline_unresolved().unwrap();
    assert_eq!(PipelineSpec::from_pipeline(&unresolved), spec);
    assert!(unresolved.nodes().all(|n| n.function().is_none()));
}

#[test]
fn resolved_pipelines_run_and_unresolved_ones_do_not() {
    let spec =
        parse("nodes: [{name: s, func: math.scale, inputs: {x: a, factor: params:k}, outputs: b}]");
    let p = spec.to_pipeline(&registry()).unwrap();
    let out = p
        .node("s")
        .unwrap()
        .run(vec![Data::new(2.0f64), Data::json(serde_json::json!(1.5))])
        .unwrap();
    assert_eq!(*out[0].downcast_ref::<f64>().unwrap(), 3.0);
    let unresolved = spec.to_pipeline_unresolved().unwrap();
    let err = unresolved.node("s").unwrap().run(Vec::new()).unwrap_err();
    assert_eq!(err.kind(), "unresolved_function");
}

#[test]
fn resolving_checks_arity() {
    let spec = parse("nodes: [{func: math.split, inputs: a, outputs: b}]");
    let err = spec.to_pipeline(&registry()).unwrap_err();
    assert_eq!(err.kind(), "invalid_node");
}

#[test]
fn all_unknown_functions_are_reported_at_once() {
    let spec = parse(
        r#"
nodes:
  - {func: math.scael, inputs: a, outputs: b}
  - {func: zzz, inputs: b, outputs: c}
  - pipeline:
      nodes: [{func: math.scael, inputs: c, outputs: d}, {func: math.split, inputs: d, outputs: [e, f]}]
"#,
    );
    match spec.to_pipeline(&registry()).unwrap_err() {
        Error::UnknownFunction { ids, suggestions } => {
            assert_eq!(ids, ["math.scael", "zzz"]);
            assert_eq!(suggestions.first().map(String::as_str), Some("math.scale"));
        }
        other => panic!("unexpected error {other}"),
    }
}

fn spec_error(result: Result<PipelineSpec, Error>) -> (Option<String>, Option<usize>, String) {
    match result.unwrap_err() {
        Error::InvalidSpec {
            file,
            line,
            message,
        } => (file, line, message),
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn yaml_errors_name_the_file_and_line() {
    let cases = [
        (
            "nodes:\n  - func: f\n    inputs: a\n    bogus: 1\n",
            4,
            "unknown field `bogus`",
        ),
        (
            "nodes:\n  - func: f\n    inputs: [a\n",
            3,
            "unclosed bracket",
        ),
        ("nodes:\n  - name: x\n", 2, "missing field `func`"),
        // Errors raised after a key was read point at the start of the entry.
        (
            "nodes:\n  - pipeline:\n      nodes: []\n    func: f\n",
            2,
            "cannot also have node keys",
        ),
        (
            "nodes:\n  - func: f\n    inputs: 3\n",
            3,
            "expected a dataset name",
        ),
        (
            "nodes: []\nnamespace: a\nextra: 1\n",
            3,
            "unknown field `extra`",
        ),
    ];
    for (text, line, needle) in cases {
        let (file, got_line, message) =
            spec_error(PipelineSpec::from_yaml_str(text, Some("p.yml")));
        assert_eq!(file.as_deref(), Some("p.yml"));
        assert_eq!(got_line, Some(line), "{message}");
        assert!(message.contains(needle), "{message}");
        assert!(!message.contains("at line"), "{message}");
    }
}

#[test]
fn json_errors_name_the_file_and_line() {
    let text = "{\"nodes\": [{\"func\": \"f\",\n \"x\": 1}]}";
    let (file, line, message) = spec_error(PipelineSpec::from_json_str(text, Some("p.json")));
    assert_eq!((file.as_deref(), line), (Some("p.json"), Some(2)));
    assert!(message.contains("unknown field `x`"), "{message}");
    assert!(message.ends_with("(column 4)"), "{message}");
    let dup = r#"{"nodes": [{"func": "f", "inputs": {"a": "x", "a": "y"}}]}"#;
    let (_, _, message) = spec_error(PipelineSpec::from_json_str(dup, None));
    assert!(message.contains("duplicate key `a`"), "{message}");
}

#[test]
fn files_are_read_by_extension() {
    let dir = std::env::temp_dir().join(format!("tandem-spec-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = parse(FORMS);
    let json = dir.join("p.JSON");
    let yaml = dir.join("p.yml");
    std::fs::write(&json, spec.to_json_string().unwrap()).unwrap();
    std::fs::write(&yaml, spec.to_yaml_string().unwrap()).unwrap();
    assert_eq!(PipelineSpec::from_path(&json).unwrap(), spec);
    assert_eq!(PipelineSpec::from_path(&yaml).unwrap(), spec);
    // A JSON file is parsed as JSON: its errors use JSON's wording.
    std::fs::write(&json, "{\"nodes\": 3}").unwrap();
    let (file, _, message) = spec_error(PipelineSpec::from_path(&json));
    assert_eq!(file, Some(json.display().to_string()));
    assert!(message.contains("invalid type: integer `3`"), "{message}");
    let missing = dir.join("missing.yml");
    let (file, line, message) = spec_error(PipelineSpec::from_path(&missing));
    assert_eq!((file, line), (Some(missing.display().to_string()), None));
    assert!(message.starts_with("cannot read the file"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}
