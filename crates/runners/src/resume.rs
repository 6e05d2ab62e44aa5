//! Kedro's resume suggestion: after a failure, the nearest nodes whose inputs
//! are all persisted, so `--from-nodes` re-runs as little as possible.
//!
//! Unlike Kedro's parallel runner, tandem computes it after every running
//! node has finished, so nodes that completed after the failure count as done.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fmt;

use tandem_pipeline_core::Pipeline;
use tandem_pipeline_core::transcoding::is_transcoded;

use rustc_hash::FxHashSet;

/// How to resume a failed run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResumeHint {
    /// No node completed: repeat the command.
    NothingRan,
    /// Re-run from these nodes.
    FromNodes {
        /// How many nodes did not run.
        not_run: usize,
        /// The nodes to pass to `--from-nodes`, sorted.
        nodes: Vec<String>,
    },
}

impl ResumeHint {
    /// The `--from-nodes` argument value (`"a,b"`), if any.
    pub fn from_nodes_arg(&self) -> Option<String> {
        match self {
            ResumeHint::NothingRan => None,
            ResumeHint::FromNodes { nodes, .. } => Some(nodes.join(",")),
        }
    }
}

impl fmt::Display for ResumeHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResumeHint::NothingRan => {
                f.write_str("No nodes ran. Repeat the previous command to attempt a new run.")
            }
            ResumeHint::FromNodes { not_run, nodes } => write!(
                f,
                "There are {not_run} nodes that have not run.\nYou can resume the pipeline run \
                 from the nearest nodes with persisted inputs by adding the following argument \
                 to your previous command:\n  --from-nodes \"{}\"",
                nodes.join(",")
            ),
        }
    }
}

/// Kedro's `_find_nodes_to_resume_from`, over the pipeline that was run.
pub(crate) fn suggest(
    pipeline: &Pipeline,
    done: &HashSet<String>,
    persisted: &FxHashSet<&str>,
) -> ResumeHint {
    if done.is_empty() {
        return ResumeHint::NothingRan;
    }
    let remaining: Vec<&str> = pipeline
        .nodes()
        .map(|n| n.name())
        .filter(|n| !done.contains(*n))
        .collect();
    if remaining.is_empty() {
        return ResumeHint::FromNodes {
            not_run: 0,
            nodes: Vec::new(),
        };
    }
    let nodes = nodes_to_resume_from(pipeline, &remaining, persisted)
        .unwrap_or_else(|| remaining.iter().map(|n| (*n).to_owned()).collect());
    ResumeHint::FromNodes {
        not_run: remaining.len(),
        nodes,
    }
}

fn nodes_to_resume_from(
    pipeline: &Pipeline,
    remaining: &[&str],
    persisted: &FxHashSet<&str>,
) -> Option<Vec<String>> {
    let unfinished = pipeline.only_nodes(remaining.iter().copied()).ok()?;
    let seeds = unfinished
        .only_nodes_with_inputs(unfinished.inputs())
        .ok()?;

    let mut to_run: BTreeSet<String> = remaining.iter().map(|n| (*n).to_owned()).collect();
    let mut visited: HashSet<String> = seeds.nodes().map(|n| n.name().to_owned()).collect();
    let mut queue: VecDeque<String> = seeds.nodes().map(|n| n.name().to_owned()).collect();
    while let Some(current) = queue.pop_front() {
        let node = pipeline.node(&current)?;
        to_run.insert(current.clone());
        for input in node.inputs() {
            if input.starts_with("params:") || persisted.contains(input.as_str()) {
                continue;
            }
            let Some(producer) = pipeline.producer_of(input) else {
                continue;
            };
            let producer = &pipeline.node_arcs()[producer];
            if is_transcoded(input) && !producer.outputs().contains(input) {
                continue;
            }
            if visited.insert(producer.name().to_owned()) {
                queue.push_back(producer.name().to_owned());
            }
        }
    }
    let widened = pipeline.from_nodes(&to_run).ok()?;
    let names: Vec<&str> = widened.nodes().map(|n| n.name()).collect();
    let sub = pipeline.only_nodes(names).ok()?;
    let mut first: Vec<String> = sub
        .layers()
        .next()
        .map(|layer| layer.iter().map(|n| n.name().to_owned()).collect())
        .unwrap_or_default();
    first.sort();
    Some(first)
}
