//! Property tests on random DAGs: order, layering, filters and algebra.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::sample::Index;
use tandem_pipeline_core::transcoding::strip_transcoding;
use tandem_pipeline_core::{Filter, Node, NodeBuilder, Pipeline};

use crate::support::{names, order};

/// Name prefixes chosen to exercise code-point order (`B < Z < _ < a`).
const PREFIXES: [&str; 4] = ["a", "B", "_", "Z"];
const NAMESPACES: [Option<&str>; 4] = [None, Some("ns"), Some("ns.sub"), Some("nsx")];
const FREE: [&str; 4] = ["f0", "f1", "f2", "f3"];

/// One generated node: output count, input picks, prefix, namespace, tag bits,
/// and whether its outputs are transcoded.
type Gene = (usize, Vec<u16>, usize, usize, u8, bool);

fn gene() -> impl Strategy<Value = Gene> {
    (
        0usize..3,
        prop::collection::vec(any::<u16>(), 0..4),
        0usize..PREFIXES.len(),
        0usize..NAMESPACES.len(),
        0u8..4,
        any::<bool>(),
    )
}

/// Nodes with unique outputs whose inputs are earlier outputs or free names,
/// in generation order (so every edge points forward).
fn build(genes: &[Gene]) -> Vec<Node> {
    let mut produced: Vec<(String, bool)> = Vec::new();
    let mut nodes = Vec::with_capacity(genes.len());
    for (i, (outs, picks, prefix, ns, tags, transcode)) in genes.iter().enumerate() {
        let pool_len = produced.len() + FREE.len();
        let inputs: Vec<String> = picks
            .iter()
            .map(|&r| {
                let r = r as usize;
                // Mostly read one of the last three outputs, to get deep graphs.
                let k = if !r.is_multiple_of(4) && !produced.is_empty() {
                    produced.len() - 1 - (r / 4) % produced.len().min(3)
                } else {
                    r % pool_len
                };
                let format = if (r >> 8).is_multiple_of(2) { "p" } else { "c" };
                match produced.get(k) {
                    Some((name, true)) => format!("{name}@{format}"),
                    Some((name, false)) => name.clone(),
                    None => FREE[k - produced.len()].to_owned(),
                }
            })
            .collect();
        let count = if *outs == 0 && inputs.is_empty() {
            1
        } else {
            *outs
        };
        let outputs: Vec<String> = (0..count).map(|j| format!("d{i}_{j}")).collect();
        let written: Vec<String> = outputs
            .iter()
            .map(|o| {
                if *transcode {
                    format!("{o}@p")
                } else {
                    o.clone()
                }
            })
            .collect();
        produced.extend(outputs.into_iter().map(|o| (o, *transcode)));
        let mut builder = NodeBuilder::unresolved("props.f", inputs, written)
            .name(format!("{}{i}", PREFIXES[*prefix]))
            .tags(
                (0..2)
                    .filter(|b| tags & (1 << b) != 0)
                    .map(|b| format!("t{b}")),
            );
        if let Some(ns) = NAMESPACES[*ns] {
            builder = builder.namespace(ns);
        }
        nodes.push(builder.build().unwrap());
    }
    nodes
}

/// Generated nodes, the same nodes shuffled, and a few picks for selections.
fn dag() -> impl Strategy<Value = (Vec<Node>, Vec<Node>, Vec<Index>, Vec<Index>)> {
    prop::collection::vec(gene(), 1..28).prop_flat_map(|genes| {
        let nodes = build(&genes);
        (
            Just(nodes.clone()),
            Just(nodes).prop_shuffle(),
            prop::collection::vec(any::<Index>(), 1..4),
            prop::collection::vec(any::<Index>(), 1..4),
        )
    })
}

/// Parent names of each node, computed from the datasets without the crate.
fn parents(nodes: &[Node]) -> BTreeMap<String, BTreeSet<String>> {
    let mut producer = BTreeMap::new();
    for n in nodes {
        for o in n.outputs() {
            producer.insert(strip_transcoding(o).to_owned(), n.name().to_owned());
        }
    }
    nodes
        .iter()
        .map(|n| {
            let ps = n
                .inputs()
                .iter()
                .filter_map(|i| producer.get(strip_transcoding(i)).cloned())
                .collect();
            (n.name().to_owned(), ps)
        })
        .collect()
}

fn children(parents: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = parents
        .keys()
        .map(|k| (k.clone(), BTreeSet::new()))
        .collect();
    for (child, ps) in parents {
        for p in ps {
            out.get_mut(p).unwrap().insert(child.clone());
        }
    }
    out
}

/// Everything reachable from `start` along `edges`, `start` included.
fn reach(start: &BTreeSet<String>, edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut seen = start.clone();
    let mut stack: Vec<String> = start.iter().cloned().collect();
    while let Some(x) = stack.pop() {
        for y in &edges[&x] {
            if seen.insert(y.clone()) {
                stack.push(y.clone());
            }
        }
    }
    seen
}

fn pick_names(nodes: &[Node], picks: &[Index]) -> Vec<String> {
    let chosen: BTreeSet<String> = picks
        .iter()
        .map(|i| nodes[i.index(nodes.len())].name().to_owned())
        .collect();
    chosen.into_iter().collect()
}

fn pick_datasets(p: &Pipeline, picks: &[Index]) -> Vec<String> {
    let all: Vec<String> = p.datasets().into_iter().collect();
    let chosen: BTreeSet<String> = picks
        .iter()
        .map(|i| all[i.index(all.len())].clone())
        .collect();
    chosen.into_iter().collect()
}

fn closed(result: &BTreeSet<String>, edges: &BTreeMap<String, BTreeSet<String>>) -> bool {
    result.iter().all(|x| edges[x].is_subset(result))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn order_is_topological_and_layers_are_sorted_kahn_layers((nodes, shuffled, _, _) in dag()) {
        let p = Pipeline::new(shuffled).unwrap();
        prop_assert_eq!(p.len(), nodes.len());
        let parents = parents(&nodes);
        let position: BTreeMap<String, usize> =
            order(&p).into_iter().enumerate().map(|(i, n)| (n, i)).collect();
        for (child, ps) in &parents {
            for parent in ps {
                prop_assert!(position[parent] < position[child], "{} before {}", parent, child);
            }
        }
        let mut layer_of = BTreeMap::new();
        for (k, layer) in p.layers().enumerate() {
            prop_assert!(!layer.is_empty());
            for pair in layer.windows(2) {
                prop_assert!(pair[0].name() < pair[1].name());
            }
            for n in layer {
                layer_of.insert(n.name().to_owned(), k);
            }
        }
        prop_assert_eq!(layer_of.len(), nodes.len());
        for (child, ps) in &parents {
            let k = layer_of[child];
            prop_assert!(ps.iter().all(|p| layer_of[p] < k));
            if k > 0 {
                prop_assert!(ps.iter().any(|p| layer_of[p] == k - 1), "{} in layer {}", child, k);
            } else {
                prop_assert!(ps.is_empty());
            }
        }
    }

    #[test]
    fn construction_ignores_input_order((nodes, shuffled, _, _) in dag()) {
        let a = Pipeline::new(nodes).unwrap();
        let b = Pipeline::new(shuffled).unwrap();
        prop_assert_eq!(order(&a), order(&b));
        prop_assert_eq!(a.describe(), b.describe());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn free_inputs_and_outputs_are_consistent((nodes, _, _, _) in dag()) {
        let p = Pipeline::new(nodes).unwrap();
        let stripped = |set: &BTreeSet<String>| -> BTreeSet<String> {
            set.iter().map(|d| strip_transcoding(d).to_owned()).collect()
        };
        let produced = stripped(&p.all_outputs());
        let consumed = stripped(&p.all_inputs());
        prop_assert!(stripped(p.inputs()).is_disjoint(&stripped(p.outputs())));
        prop_assert!(p.inputs().is_subset(&p.all_inputs()));
        prop_assert!(p.outputs().is_subset(&p.all_outputs()));
        for d in p.all_inputs() {
            prop_assert_eq!(p.inputs().contains(&d), !produced.contains(strip_transcoding(&d)));
        }
        for d in p.all_outputs() {
            prop_assert_eq!(p.outputs().contains(&d), !consumed.contains(strip_transcoding(&d)));
        }
    }

    #[test]
    fn node_and_dataset_filters_are_reachability((nodes, _, picks, more) in dag()) {
        let p = Pipeline::new(nodes.clone()).unwrap();
        let parents = parents(&nodes);
        let children = children(&parents);
        let start: Vec<String> = pick_names(&nodes, &picks);
        let start_set: BTreeSet<String> = start.iter().cloned().collect();

        let from = names(&p.from_nodes(&start).unwrap());
        prop_assert!(closed(&from, &children));
        prop_assert_eq!(&from, &reach(&start_set, &children));
        let to = names(&p.to_nodes(&start).unwrap());
        prop_assert!(closed(&to, &parents));
        prop_assert_eq!(&to, &reach(&start_set, &parents));

        let datasets = pick_datasets(&p, &more);
        let from_inputs = names(&p.from_inputs(&datasets).unwrap());
        let direct = names(&p.only_nodes_with_inputs(&datasets).unwrap());
        prop_assert!(closed(&from_inputs, &children));
        prop_assert_eq!(&from_inputs, &reach(&direct, &children));
        let to_outputs = names(&p.to_outputs(&datasets).unwrap());
        let producers = names(&p.only_nodes_with_outputs(&datasets).unwrap());
        prop_assert!(closed(&to_outputs, &parents));
        prop_assert_eq!(&to_outputs, &reach(&producers, &parents));
        for n in &direct {
            let inputs = p.node(n).unwrap().inputs();
            let reads = |d: &String| {
                inputs.iter().any(|i| i == d || (!d.contains('@') && strip_transcoding(i) == d))
            };
            prop_assert!(datasets.iter().any(reads), "{} reads none of {:?}", n, datasets);
        }
    }

    #[test]
    fn combined_filter_is_the_intersection((nodes, _, picks, more) in dag()) {
        let p = Pipeline::new(nodes.clone()).unwrap();
        let a = pick_names(&nodes, &picks);
        let b = pick_names(&nodes, &more);
        let cases = [
            (
                Filter::default().from_nodes(&a).to_nodes(&b),
                Ok(p.from_nodes(&a).unwrap() & p.to_nodes(&b).unwrap()),
            ),
            (
                Filter::default().tags(["t0"]).from_nodes(&b),
                Ok(p.only_nodes_with_tags(["t0"]) & p.from_nodes(&b).unwrap()),
            ),
            (
                Filter::default().node_names(&a).to_nodes(&b),
                Ok(p.only_nodes(&a).unwrap() & p.to_nodes(&b).unwrap()),
            ),
            (
                Filter::default().node_namespaces(["ns"]).tags(["t1"]),
                p.only_nodes_with_namespaces(["ns"]).map(|ns| ns & p.only_nodes_with_tags(["t1"])),
            ),
        ];
        for (filter, expected) in cases {
            match (p.filter(&filter), expected) {
                (Ok(result), Ok(expected)) => prop_assert_eq!(result, expected),
                (Err(err), Ok(expected)) => {
                    prop_assert_eq!(err.kind(), "empty_pipeline");
                    prop_assert!(expected.is_empty());
                }
                (result, Err(expected)) => {
                    prop_assert_eq!(result.unwrap_err().kind(), expected.kind());
                }
            }
        }
    }

    #[test]
    fn algebra_of_sub_pipelines((nodes, _, picks, more) in dag()) {
        let p = Pipeline::new(nodes.clone()).unwrap();
        let a = p.only_nodes(pick_names(&nodes, &picks)).unwrap();
        let b = p.to_nodes(pick_names(&nodes, &more)).unwrap();
        let union = (&a + &b).unwrap();
        prop_assert_eq!(names(&union), names(&a).union(&names(&b)).cloned().collect::<BTreeSet<_>>());
        prop_assert_eq!(&union, &(&b | &a).unwrap());
        prop_assert_eq!(&union - &b, &a - &b);
        prop_assert_eq!(((&a - &b) + (&a & &b)).unwrap(), a.clone());
        prop_assert_eq!(&a & &b, &b & &a);
        prop_assert_eq!(names(&(&a & &b)), names(&a).intersection(&names(&b)).cloned().collect::<BTreeSet<_>>());
        prop_assert!((&a - &a).is_empty());
        prop_assert_eq!((&union + &p).unwrap(), p.clone());
        let summed: Result<Pipeline, _> = [a.clone(), b.clone(), p.clone()].into_iter().sum();
        prop_assert_eq!(summed.unwrap(), p);
    }
}
