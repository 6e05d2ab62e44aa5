//! The order of the layer bands: kedro-viz sorts layers topologically, a
//! layer coming before every layer found downstream of one of its nodes,
//! ties broken alphabetically.

use std::collections::{BTreeMap, BTreeSet};

/// Sorts the layers of `layer_of` (node index → layer) over the graph
/// `children` (node index → its successors, a DAG). Each node's downstream
/// layer set is computed once, in reverse topological order, so the cost is
/// O((nodes + edges) × layers). A cycle between layers (data flowing from a
/// later layer back to an earlier one) leaves the rest in alphabetical
/// order rather than failing the export.
pub(crate) fn sort_layers(layer_of: &[Option<&str>], children: &[Vec<usize>]) -> Vec<String> {
    let layers: BTreeSet<&str> = layer_of.iter().flatten().copied().collect();
    let index: BTreeMap<&str, usize> = layers.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let n = layer_of.len();
    // Reverse topological order by an iterative DFS post-order.
    let mut order = Vec::with_capacity(n);
    let mut state = vec![0u8; n];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some((node, next)) = stack.pop() {
            if let Some(&child) = children[node].get(next) {
                stack.push((node, next + 1));
                if state[child] == 0 {
                    state[child] = 1;
                    stack.push((child, 0));
                }
            } else {
                state[node] = 2;
                order.push(node);
            }
        }
    }
    let mut downstream: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for &node in &order {
        let mut below = BTreeSet::new();
        for &child in &children[node] {
            below.extend(downstream[child].iter().copied());
            if let Some(layer) = layer_of[child] {
                below.insert(index[layer]);
            }
        }
        downstream[node] = below;
    }
    // before[l] = the layers that must come before layer l.
    let mut before: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); layers.len()];
    for (node, layer) in layer_of.iter().enumerate() {
        if let Some(layer) = layer {
            let own = index[layer];
            for &later in &downstream[node] {
                if later != own {
                    before[later].insert(own);
                }
            }
        }
    }
    let names: Vec<&str> = layers.into_iter().collect();
    let mut placed = vec![false; names.len()];
    let mut sorted = Vec::with_capacity(names.len());
    loop {
        let ready: Vec<usize> = (0..names.len())
            .filter(|&l| !placed[l] && before[l].iter().all(|&b| placed[b]))
            .collect();
        if ready.is_empty() {
            break;
        }
        for l in ready {
            placed[l] = true;
            sorted.push(names[l].to_owned());
        }
    }
    sorted.extend(
        (0..names.len())
            .filter(|&l| !placed[l])
            .map(|l| names[l].to_owned()),
    );
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_follow_the_data_not_the_alphabet() {
        // raw(0) -> task(1) -> primary(2) -> task(3) -> feature(4); a lone "aaa" node.
        let layer_of = [
            Some("raw"),
            None,
            Some("primary"),
            None,
            Some("feature"),
            Some("aaa"),
        ];
        let children = vec![vec![1], vec![2], vec![3], vec![4], vec![], vec![]];
        assert_eq!(
            sort_layers(&layer_of, &children),
            ["aaa", "raw", "primary", "feature"]
        );
    }

    #[test]
    fn a_layer_cycle_falls_back_to_alphabetical() {
        let layer_of = [Some("b"), Some("a"), Some("b")];
        let children = vec![vec![1], vec![2], vec![]];
        assert_eq!(sort_layers(&layer_of, &children), ["a", "b"]);
    }
}
