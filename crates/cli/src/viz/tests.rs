//! The export's JSON shape, checked against the reference's verified
//! kedro-viz 12.5 example (deploy-viz-mlflow-store.md §3.2, §3.6).

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use tandem_pipeline_core::{NodeBuilder, Pipeline};

use super::*;

/// The reference's hand-written export: `raw_data` (layer raw) → task
/// `clean` in namespace `ns` → `ns.clean_data`, tagged `prep`, in
/// `__default__` and `other`.
fn reference_project() -> (Pipeline, HashMap<String, DatasetInfo>) {
    let clean = NodeBuilder::unresolved("prep::clean", "raw_data", "ns.clean_data")
        .name("clean")
        .namespace("ns")
        .tags(["prep"])
        .build()
        .unwrap();
    let datasets = HashMap::from([(
        "raw_data".to_owned(),
        DatasetInfo {
            dataset_type: kedro_type("pandas.CSVDataset"),
            layer: Some("raw".to_owned()),
            filepath: Some("data/01_raw/raw.csv".to_owned()),
        },
    )]);
    (Pipeline::new([clean]).unwrap(), datasets)
}

fn node<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("no node {id} in {doc}"))
}

#[test]
fn the_reference_example_has_kedro_viz_ids_nodes_and_tree() {
    let (pipeline, datasets) = reference_project();
    let export = export(
        &[
            ("__default__".to_owned(), &pipeline),
            ("other".to_owned(), &pipeline),
        ],
        &datasets,
        &Map::new(),
    );
    assert_eq!(export.selected, "__default__");
    let doc = &export.pipelines[0].1;
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "nodes",
        "edges",
        "layers",
        "tags",
        "pipelines",
        "modular_pipelines",
        "selected_pipeline",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert_eq!(
        node(doc, "eb2e1827"),
        &json!({
            "id": "eb2e1827", "name": "clean", "tags": ["prep"],
            "pipelines": ["__default__", "other"], "type": "task",
            "modular_pipelines": ["ns"], "node_extras": null, "parameters": {},
            "full_name": "ns.clean",
        })
    );
    assert_eq!(
        node(doc, "7c58d8e6"),
        &json!({
            "id": "7c58d8e6", "name": "raw_data", "tags": ["prep"],
            "pipelines": ["__default__", "other"], "type": "data",
            // A dataset feeding a namespace lists it.
            "modular_pipelines": ["ns"], "node_extras": null, "layer": "raw",
            "dataset_type": "pandas.csv_dataset.CSVDataset",
        })
    );
    assert_eq!(
        node(doc, "d4a11815")["dataset_type"],
        "io.memory_dataset.MemoryDataset"
    );
    assert_eq!(node(doc, "ns")["type"], "modularPipeline");
    assert_eq!(node(doc, "ns")["modular_pipelines"], Value::Null);
    assert_eq!(doc["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(
        doc["edges"],
        json!([
            {"source": "7c58d8e6", "target": "eb2e1827"},
            {"source": "eb2e1827", "target": "d4a11815"},
            {"source": "7c58d8e6", "target": "ns"},
            {"source": "ns", "target": "d4a11815"},
        ])
    );
    assert_eq!(doc["layers"], json!(["raw"]));
    assert_eq!(doc["tags"], json!([{"id": "prep", "name": "prep"}]));
    assert_eq!(
        doc["pipelines"],
        json!([{"id": "__default__", "name": "__default__"}, {"id": "other", "name": "other"}])
    );
    assert_eq!(doc["selected_pipeline"], "__default__");
    assert_eq!(export.pipelines[1].1["selected_pipeline"], "other");
    assert_eq!(
        doc["modular_pipelines"],
        json!({
            "__root__": {
                "id": "__root__", "name": "__root__", "inputs": [], "outputs": [],
                "children": [
                    {"id": "7c58d8e6", "type": "data"},
                    {"id": "d4a11815", "type": "data"},
                    {"id": "ns", "type": "modularPipeline"},
                ],
            },
            "ns": {
                "id": "ns", "name": "ns", "inputs": ["7c58d8e6"], "outputs": ["d4a11815"],
                "children": [{"id": "eb2e1827", "type": "task"}],
            },
        })
    );
    // Node documents: the metadata panel.
    assert_eq!(
        export.nodes["eb2e1827"]["run_command"],
        "tandem run --to-nodes='ns.clean'"
    );
    assert_eq!(export.nodes["7c58d8e6"]["run_command"], Value::Null);
    assert_eq!(export.nodes["7c58d8e6"]["filepath"], "data/01_raw/raw.csv");
    assert_eq!(
        export.nodes["d4a11815"]["run_command"],
        "tandem run --to-outputs=ns.clean_data"
    );
    assert_eq!(export.nodes["ns"]["body"], "{}");
}

#[test]
fn parameters_are_root_nodes_with_their_values() {
    let fit = NodeBuilder::unresolved(
        "m::fit",
        ["ds.features", "params:model.alpha", "parameters"],
        "ds.model",
    )
    .name("fit")
    .namespace("ds")
    .build()
    .unwrap();
    let featurize = NodeBuilder::unresolved("m::featurize", "raw", "ds.features")
        .namespace("ds")
        .build()
        .unwrap();
    let pipeline = Pipeline::new([featurize, fit]).unwrap();
    let parameters = json!({"model": {"alpha": 0.5}, "seed": 1});
    let export = export(
        &[("__default__".to_owned(), &pipeline)],
        &HashMap::new(),
        parameters.as_object().unwrap(),
    );
    let doc = &export.pipelines[0].1;
    let alpha = dataset_id_of("params:model.alpha");
    let p = node(doc, &alpha);
    assert_eq!(p["type"], "parameters");
    assert_eq!(p["name"], "params:model.alpha");
    assert_eq!(p["modular_pipelines"], Value::Null);
    assert_eq!(
        export.nodes[&alpha],
        json!({"parameters": {"model.alpha": 0.5}})
    );
    // `parameters` replaces the whole set, as kedro-viz does.
    let fit = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "fit")
        .unwrap();
    assert_eq!(fit["parameters"], parameters);
    // An unnamed node is called after its function.
    assert!(
        doc["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "featurize" && n["type"] == "task")
    );
    let root = &doc["modular_pipelines"]["__root__"]["children"];
    assert!(
        root.as_array()
            .unwrap()
            .contains(&json!({"id": alpha, "type": "parameters"}))
    );
    // The internal dataset is the namespace's child, not the root's.
    let features = dataset_id_of("ds.features");
    assert!(
        doc["modular_pipelines"]["ds"]["children"]
            .as_array()
            .unwrap()
            .contains(&json!({"id": features, "type": "data"}))
    );
    assert!(!root.as_array().unwrap().iter().any(|c| c["id"] == features));
}

#[test]
fn nested_namespaces_explode_into_every_ancestor() {
    let inner = NodeBuilder::unresolved("m::f", "a.b.x", "a.b.y")
        .name("f")
        .namespace("a.b")
        .build()
        .unwrap();
    let outer = NodeBuilder::unresolved("m::g", "a.b.y", "a.z")
        .name("g")
        .namespace("a")
        .build()
        .unwrap();
    let pipeline = Pipeline::new([inner, outer]).unwrap();
    let export = export(&[("p".to_owned(), &pipeline)], &HashMap::new(), &Map::new());
    assert_eq!(export.selected, "p");
    let tree = &export.pipelines[0].1["modular_pipelines"];
    assert!(
        tree["a"]["children"]
            .as_array()
            .unwrap()
            .contains(&json!({"id": "a.b", "type": "modularPipeline"}))
    );
    assert!(
        tree["__root__"]["children"]
            .as_array()
            .unwrap()
            .contains(&json!({"id": "a", "type": "modularPipeline"}))
    );
    // a.b.y leaves a.b but stays inside a.
    let y = dataset_id_of("a.b.y");
    assert_eq!(tree["a.b"]["outputs"], json!([y]));
    assert_eq!(tree["a"]["outputs"], json!([dataset_id_of("a.z")]));
}

#[test]
fn a_namespace_edge_that_would_close_a_cycle_is_dropped() {
    // ns.a: x → y, outside: y → z, ns.c: z → w; collapsed, ns would both
    // feed and read the outside node.
    let a = NodeBuilder::unresolved("m::a", "x", "y")
        .name("a")
        .namespace("ns")
        .build()
        .unwrap();
    let b = NodeBuilder::unresolved("m::b", "y", "z")
        .name("b")
        .build()
        .unwrap();
    let c = NodeBuilder::unresolved("m::c", "z", "w")
        .name("c")
        .namespace("ns")
        .build()
        .unwrap();
    let pipeline = Pipeline::new([a, b, c]).unwrap();
    let export = export(&[("p".to_owned(), &pipeline)], &HashMap::new(), &Map::new());
    let edges = &export.pipelines[0].1["edges"];
    let z = dataset_id_of("z");
    assert!(
        !edges
            .as_array()
            .unwrap()
            .contains(&json!({"source": z, "target": "ns"}))
    );
    assert!(
        edges
            .as_array()
            .unwrap()
            .contains(&json!({"source": dataset_id_of("x"), "target": "ns"}))
    );
}

#[test]
fn the_export_directory_has_every_file_kedro_viz_reads() {
    let (pipeline, datasets) = reference_project();
    let export = export(
        &[("__default__".to_owned(), &pipeline)],
        &datasets,
        &Map::new(),
    );
    let dir = tempfile::tempdir().unwrap();
    export.write(dir.path(), "01.02.2026 03:04:05").unwrap();
    let read = |rel: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir.path().join(rel)).unwrap()).unwrap()
    };
    assert_eq!(read("api/main"), read("api/pipelines/__default__"));
    for id in ["eb2e1827", "7c58d8e6", "d4a11815", "ns"] {
        read(&format!("api/nodes/{id}"));
    }
    assert_eq!(
        read("api/run-status")["pipeline"]["run_id"],
        "default-run-id"
    );
    assert_eq!(read("api/version")["installed"], KEDRO_VIZ_VERSION);
    assert_eq!(
        read("api/deploy-viz-metadata"),
        json!({"timestamp": "01.02.2026 03:04:05", "version": KEDRO_VIZ_VERSION})
    );
}

#[test]
fn names_that_are_no_file_names_are_refused() {
    let (pipeline, datasets) = reference_project();
    let export = export(
        &[("../escape".to_owned(), &pipeline)],
        &datasets,
        &Map::new(),
    );
    let dir = tempfile::tempdir().unwrap();
    let err = export.write(dir.path(), "t").unwrap_err();
    assert!(matches!(err, WriteError::UnsafeName(ref what) if what.contains("../escape")));
    assert!(!dir.path().join("escape").exists());
}

fn dataset_id_of(name: &str) -> String {
    super::ids::dataset_id(name)
}
