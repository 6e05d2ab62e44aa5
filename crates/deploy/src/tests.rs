//! Grouping rules, errors and ids of plans, through the public API.

use serde_json::json;
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
use tandem_pipeline_core::{Node, Pipeline, node};

use crate::{DeploymentPlan, Error, GroupBy};

fn inc(x: &i64) -> i64 {
    x + 1
}

fn add(x: &i64, y: &i64) -> i64 {
    x + y
}

fn n(name: &str, inputs: &[&str], output: &str) -> Node {
    let builder = match inputs {
        [one] => node(inc, *one, output),
        [a, b] => node(add, [*a, *b], output),
        _ => unreachable!("one or two inputs"),
    };
    builder.name(name).build().unwrap()
}

fn ids(plan: &DeploymentPlan) -> Vec<&str> {
    plan.tasks.iter().map(|t| t.id.as_str()).collect()
}

fn catalog(conf: serde_json::Value) -> DataCatalog {
    let options = CatalogOptions::new(DatasetRegistry::with_builtins());
    let dir = std::env::temp_dir();
    DataCatalog::from_config(
        conf.as_object().unwrap(),
        &Default::default(),
        &options,
        dir,
    )
    .unwrap()
}

/// raw → a → (b, via memory `m`) → c, and `p` persisted from a to c.
fn diamond() -> Pipeline {
    Pipeline::new([
        n("a", &["raw"], "m"),
        n("b", &["m"], "x"),
        n("c", &["x", "params:k"], "out"),
    ])
    .unwrap()
}

#[test]
fn none_is_one_task_per_node_and_needs_persisted_intermediates() {
    let catalog = catalog(json!({
        "m": {"type": "json.JSONDataset", "filepath": "m.json"},
        "x": {"type": "json.JSONDataset", "filepath": "x.json"},
    }));
    let plan = DeploymentPlan::new(&diamond(), &catalog, GroupBy::None).unwrap();
    assert_eq!(ids(&plan), ["a", "b", "c"]);
    assert_eq!(plan.tasks[1].dependencies, ["a"]);
    assert_eq!(plan.tasks[2].dependencies, ["b"]);
    // Free input `raw`, output `out` and `params:k` are no edges.
    assert!(plan.tasks[0].dependencies.is_empty());
    assert_eq!(plan.roots().map(|t| &t.id).collect::<Vec<_>>(), ["a"]);
    assert_eq!(plan.leaves().map(|t| &t.id).collect::<Vec<_>>(), ["c"]);
}

#[test]
fn a_memory_dataset_crossing_tasks_is_named_with_a_suggestion() {
    // `m` is declared MemoryDataset with a copy mode (kedro-plugins#1085);
    // `x` has no entry at all.
    let catalog = catalog(json!({"m": {"type": "MemoryDataset", "copy_mode": "assign"}}));
    let err = DeploymentPlan::new(&diamond(), &catalog, GroupBy::None).unwrap_err();
    assert_eq!(err.kind(), "memory_dataset_crosses_tasks");
    let Error::MemoryCrossesTasks { crossings } = &err else {
        panic!("{err}")
    };
    let names: Vec<&str> = crossings.iter().map(|c| c.dataset.as_str()).collect();
    assert_eq!(names, ["m", "x"]);
    let message = err.to_string();
    assert!(message.contains("'m' (a -> b)"), "{message}");
    assert!(message.contains("factory pattern"), "{message}");
    assert!(message.contains("--group-by memory"), "{message}");
}

#[test]
fn memory_groups_join_nodes_through_memory_datasets_only() {
    // `m` memory (a+b together); `x` persisted by a factory pattern.
    let catalog = catalog(json!({
        "m": {"type": "MemoryDataset", "copy_mode": "deepcopy"},
        "{name}": {"type": "json.JSONDataset", "filepath": "{name}.json"},
    }));
    let plan = DeploymentPlan::new(&diamond(), &catalog, GroupBy::Memory).unwrap();
    assert_eq!(ids(&plan), ["a-b", "c"]);
    assert_eq!(plan.tasks[0].name, "a_b");
    assert_eq!(plan.tasks[0].nodes, ["a", "b"]);
    assert_eq!(plan.tasks[1].dependencies, ["a-b"]);
    // Everything memory: one task.
    let plan = DeploymentPlan::new(&diamond(), &catalog_without_entries(), GroupBy::Memory);
    assert_eq!(ids(&plan.unwrap()), ["a-b-c"]);
}

fn catalog_without_entries() -> DataCatalog {
    catalog(json!({}))
}

#[test]
fn namespaces_group_by_their_top_level_and_others_stay_alone() {
    let pipeline = Pipeline::new([
        n("prep", &["raw"], "clean"),
        node(inc, "clean", "f1")
            .name("one")
            .namespace("ds.inner")
            .build()
            .unwrap(),
        node(inc, "f1", "f2")
            .name("two")
            .namespace("ds")
            .build()
            .unwrap(),
        n("report", &["f2"], "out"),
    ])
    .unwrap();
    let plan =
        DeploymentPlan::with_classifier(&pipeline, GroupBy::Namespace, |name| Ok(name == "f1"))
            .unwrap();
    assert_eq!(ids(&plan), ["prep", "ds", "report"]);
    assert_eq!(plan.tasks[1].nodes, ["ds.inner.one", "ds.two"]);
    assert_eq!(plan.tasks[2].dependencies, ["ds"]);
    let err =
        DeploymentPlan::with_classifier(&pipeline, GroupBy::Namespace, |name| Ok(name == "clean"))
            .unwrap_err();
    assert!(
        err.to_string().contains("'clean' (prep -> ds.inner.one)"),
        "{err}"
    );
}

#[test]
fn a_grouping_that_makes_a_cycle_is_refused() {
    // x writes m (memory) and p (persisted); y reads p, z reads m and y's q:
    // {x, z} and {y} would wait for each other.
    fn split(x: &i64) -> (i64, i64) {
        (*x, *x)
    }
    let pipeline = Pipeline::new([
        node(split, "raw", ["m", "p"]).name("x").build().unwrap(),
        n("y", &["p"], "q"),
        n("z", &["m", "q"], "out"),
    ])
    .unwrap();
    let err = DeploymentPlan::with_classifier(&pipeline, GroupBy::Memory, |name| Ok(name == "m"))
        .unwrap_err();
    assert_eq!(err.kind(), "task_cycle");
    let message = err.to_string();
    assert!(
        message.contains("x_z") && message.contains(" y "),
        "{message}"
    );
}

#[test]
fn ids_are_stable_unique_and_valid_for_airflow() {
    let pipeline = Pipeline::new([
        n("Fit-Model", &["raw"], "a"),
        n("fit_model", &["a"], "b"),
        n("__Score..it__", &["b"], "c"),
    ])
    .unwrap();
    let plan =
        |_: ()| DeploymentPlan::with_classifier(&pipeline, GroupBy::None, |_| Ok(false)).unwrap();
    let first = plan(());
    assert_eq!(first, plan(()), "same pipeline, same ids");
    let ids = ids(&first);
    assert!(ids[0].starts_with("fit-model-") && ids[1].starts_with("fit-model-"));
    assert_ne!(ids[0], ids[1]);
    assert_eq!(ids[2], "score-it");
    for id in ids {
        assert!(id.len() <= crate::MAX_TASK_ID_LEN);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        );
    }
}

#[test]
fn an_empty_pipeline_is_nothing_to_deploy() {
    let err = DeploymentPlan::with_classifier(&Pipeline::empty(), GroupBy::None, |_| Ok(false));
    assert_eq!(err.unwrap_err().kind(), "empty_pipeline");
}

/// A 100,000-node chain plans in one pass per grouping (no timing
/// assertion: a quadratic step would take hours, not fail an assert).
#[test]
fn a_long_chain_plans_linearly() {
    const N: usize = 100_000;
    let nodes: Vec<Node> = (0..N)
        .map(|i| {
            n(
                &format!("n{i}"),
                &[&format!("d{i}")],
                &format!("d{}", i + 1),
            )
        })
        .collect();
    let pipeline = Pipeline::new(nodes).unwrap();
    let plan = DeploymentPlan::with_classifier(&pipeline, GroupBy::None, |_| Ok(false)).unwrap();
    assert_eq!(plan.tasks.len(), N);
    assert_eq!(plan.tasks[N - 1].dependencies, [format!("n{}", N - 2)]);
    let plan = DeploymentPlan::with_classifier(&pipeline, GroupBy::Memory, |_| Ok(true)).unwrap();
    assert_eq!(plan.tasks.len(), 1);
    assert_eq!(plan.tasks[0].nodes.len(), N);
    assert!(plan.tasks[0].id.len() <= crate::MAX_TASK_ID_LEN);
    // Every other dataset in memory: pairs.
    let plan = DeploymentPlan::with_classifier(&pipeline, GroupBy::Memory, |name| {
        Ok(name[1..].parse::<usize>().is_ok_and(|i| i % 2 == 1))
    })
    .unwrap();
    assert_eq!(plan.tasks.len(), N / 2);
}
