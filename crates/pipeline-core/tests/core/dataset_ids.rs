//! Dense dataset ids: numbered on first use in execution order, repeats and
//! transcoded names as Kedro counts them, shared by clones.

use tandem_pipeline_core::Pipeline;

use crate::support::{n, pipe};

/// a → b@pandas, read twice by one node with d → c; b@spark (the same data
/// transcoded) is its own dataset; d is a second free input.
fn sample() -> Pipeline {
    pipe([
        n("first", "a", "b@pandas"),
        n("second", ["b@pandas", "b@pandas", "d"], "c"),
        n("third", "b@spark", "e"),
    ])
}

fn id(p: &Pipeline, name: &str) -> usize {
    p.dataset_names().position(|n| n == name).unwrap()
}

#[test]
fn every_raw_name_gets_one_id_in_first_use_order() {
    let p = sample();
    let names: Vec<&str> = p.dataset_names().collect();
    assert_eq!(names.len(), p.dataset_ids().len());
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["a", "b@pandas", "b@spark", "c", "d", "e"]);
    for (i, name) in names.iter().enumerate() {
        assert_eq!(p.dataset_name(i), Some(*name));
    }
    assert_eq!(p.dataset_name(names.len()), None);
}

#[test]
fn node_ids_follow_the_node_order_and_count_repeats() {
    let p = sample();
    let ids = p.dataset_ids();
    let i = p.nodes().position(|n| n.name() == "second").unwrap();
    let (b, c, d) = (id(&p, "b@pandas"), id(&p, "c"), id(&p, "d"));
    assert_eq!(ids.inputs(i), [b, b, d]);
    assert_eq!(ids.outputs(i), [c]);
    assert_eq!(ids.loads(b), 2);
    assert_eq!(ids.loads(c), 0);
    assert_eq!(ids.loads(id(&p, "b@spark")), 1);
}

#[test]
fn free_inputs_and_outputs_are_flagged() {
    let p = sample();
    let ids = p.dataset_ids();
    let flagged = |f: &dyn Fn(usize) -> bool| -> Vec<&str> {
        let mut v: Vec<&str> = p
            .dataset_names()
            .enumerate()
            .filter(|(i, _)| f(*i))
            .map(|(_, n)| n)
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(flagged(&|i| ids.is_free_input(i)), ["a", "d"]);
    assert_eq!(flagged(&|i| ids.is_free_output(i)), ["c", "e"]);
}

#[test]
fn clones_share_the_numbering() {
    let p = sample();
    let clone = p.clone();
    assert!(std::ptr::eq(p.dataset_ids(), clone.dataset_ids()));
}

#[test]
fn an_empty_pipeline_has_no_ids() {
    let p = Pipeline::empty();
    assert!(p.dataset_ids().is_empty());
    assert_eq!(p.dataset_names().count(), 0);
}
