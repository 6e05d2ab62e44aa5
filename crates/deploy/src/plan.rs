//! `DeploymentPlan`: a pipeline cut into tasks (node groups) with their
//! dependencies, following kedro-airflow's grouping rules.
//!
//! Everything is linear in nodes + edges: the pipeline's producer/consumer
//! and parent indexes are read once per node, groups are a union-find over
//! node positions, dependencies are deduplicated with a per-task stamp, and
//! tasks are ordered by Kahn's algorithm (a heap keyed by each task's first
//! node, so the order is deterministic).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use serde::Serialize;
use tandem_catalog::DataCatalog;
use tandem_pipeline_core::Pipeline;

use crate::error::{Crossing, Error};
use crate::ids::task_ids;

/// How nodes are grouped into tasks (kedro-airflow's `--group-by`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// One task per node.
    #[default]
    None,
    /// One task per top-level namespace (`a.b.x` → `a`); nodes outside any
    /// namespace stay alone.
    Namespace,
    /// Nodes joined by memory datasets share a task (connected components).
    Memory,
}

impl GroupBy {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::None => "none",
            GroupBy::Namespace => "namespace",
            GroupBy::Memory => "memory",
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One task: a group of nodes run by one process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Task {
    /// The task id: unique, `[a-z0-9-]`, at most 250 characters.
    pub id: String,
    /// The group's name (kedro-airflow's: the node name, the namespace, or
    /// the node names joined by `_`).
    pub name: String,
    /// Full node names in execution order.
    pub nodes: Vec<String>,
    /// Ids of the tasks this one waits for, in plan order.
    pub dependencies: Vec<String>,
    /// Positions in [`DeploymentPlan::tasks`] of the dependencies.
    #[serde(skip)]
    pub upstream: Vec<usize>,
}

/// A pipeline's tasks in a topological order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeploymentPlan {
    /// The grouping used.
    pub group_by: GroupBy,
    /// Tasks, every task after the tasks it depends on.
    pub tasks: Vec<Task>,
}

/// Disjoint sets over node positions, with path halving and union by size.
struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}

impl DeploymentPlan {
    /// The plan of `pipeline`, a dataset being memory when `catalog` has no
    /// entry or pattern for it (Kedro's runtime default) or resolves it to an
    /// ephemeral dataset (a `MemoryDataset`, whatever its copy mode).
    ///
    /// ```
    /// use serde_json::json;
    /// use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
    /// use tandem_deploy::{DeploymentPlan, GroupBy};
    /// use tandem_pipeline_core::{node, Pipeline};
    ///
    /// fn inc(x: &i64) -> i64 { x + 1 }
    /// let pipeline = Pipeline::new([
    ///     node(inc, "a", "b").name("first").build()?,
    ///     node(inc, "b", "c").name("second").build()?,
    /// ])?;
    /// let conf = json!({"b": {"type": "MemoryDataset", "copy_mode": "assign"}});
    /// let catalog = DataCatalog::from_config(conf.as_object().unwrap(), &Default::default(),
    ///     &CatalogOptions::new(DatasetRegistry::with_memory()), ".")?;
    /// let err = DeploymentPlan::new(&pipeline, &catalog, GroupBy::None).unwrap_err();
    /// assert_eq!(err.kind(), "memory_dataset_crosses_tasks");
    /// let plan = DeploymentPlan::new(&pipeline, &catalog, GroupBy::Memory)?;
    /// assert_eq!(plan.tasks[0].id, "first-second");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        pipeline: &Pipeline,
        catalog: &DataCatalog,
        group_by: GroupBy,
    ) -> Result<Self, Error> {
        Self::with_classifier(pipeline, group_by, |name| {
            Ok(catalog
                .get(name)?
                .is_none_or(|dataset| dataset.is_ephemeral()))
        })
    }

    /// The plan of `pipeline`, `is_memory(name)` saying whether a dataset
    /// lives only in memory. It is asked once per output that some node of
    /// the pipeline consumes: free inputs, free outputs and parameters are
    /// never edges between tasks.
    pub fn with_classifier(
        pipeline: &Pipeline,
        group_by: GroupBy,
        mut is_memory: impl FnMut(&str) -> Result<bool, Error>,
    ) -> Result<Self, Error> {
        let nodes: Vec<&tandem_pipeline_core::Node> = pipeline.nodes().collect();
        if nodes.is_empty() {
            return Err(Error::EmptyPlan);
        }
        // Intermediate datasets: (producer, dataset, memory), classified once.
        let mut edges: Vec<(usize, &str, bool)> = Vec::new();
        for (position, node) in nodes.iter().enumerate() {
            for output in node.outputs() {
                if !pipeline.consumers_of(output).is_empty() {
                    edges.push((position, output.as_str(), is_memory(output)?));
                }
            }
        }

        let group_of = assign_groups(pipeline, &nodes, group_by, &edges);
        let crossings: Vec<Crossing> = edges
            .iter()
            .filter(|(_, _, memory)| *memory)
            .filter_map(|&(producer, dataset, _)| {
                let consumer = pipeline
                    .consumers_of(dataset)
                    .iter()
                    .find(|&&c| group_of[c] != group_of[producer])?;
                Some(Crossing {
                    dataset: dataset.to_owned(),
                    producer: nodes[producer].name().to_owned(),
                    consumer: nodes[*consumer].name().to_owned(),
                })
            })
            .collect();
        if !crossings.is_empty() {
            return Err(Error::MemoryCrossesTasks { crossings });
        }

        // Group members in execution order; groups numbered by first node.
        let groups = group_count(&group_of);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups];
        for (position, &group) in group_of.iter().enumerate() {
            members[group].push(position);
        }
        let mut upstream: Vec<Vec<usize>> = vec![Vec::new(); groups];
        let mut stamp = vec![usize::MAX; groups];
        for (group, positions) in members.iter().enumerate() {
            for &position in positions {
                for &parent in pipeline.parents_of(position) {
                    let from = group_of[parent];
                    if from != group && stamp[from] != group {
                        stamp[from] = group;
                        upstream[group].push(from);
                    }
                }
            }
        }
        let order = topological(&upstream, group_by, &members, &nodes)?;

        let names: Vec<String> = members
            .iter()
            .map(|positions| group_name(group_by, positions, &nodes))
            .collect();
        let node_names: Vec<Vec<&str>> = members
            .iter()
            .map(|positions| positions.iter().map(|&p| nodes[p].name()).collect())
            .collect();
        let ids = task_ids(&names, &node_names)?;

        let mut rank = vec![0; groups];
        for (at, &group) in order.iter().enumerate() {
            rank[group] = at;
        }
        let mut tasks: Vec<Task> = Vec::with_capacity(groups);
        let mut names = names.into_iter().map(Some).collect::<Vec<_>>();
        for &group in &order {
            let mut up: Vec<usize> = upstream[group].iter().map(|&g| rank[g]).collect();
            up.sort_unstable();
            tasks.push(Task {
                id: ids[group].clone(),
                name: names[group].take().unwrap_or_default(),
                nodes: node_names[group].iter().map(|&s| s.to_owned()).collect(),
                dependencies: up.iter().map(|&u| ids[order[u]].clone()).collect(),
                upstream: up,
            });
        }
        Ok(DeploymentPlan { group_by, tasks })
    }

    /// Tasks that wait for no other: where a first task (opening a shared
    /// run, say) would attach.
    pub fn roots(&self) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(|t| t.upstream.is_empty())
    }

    /// Tasks no other waits for: where a final task would attach.
    pub fn leaves(&self) -> impl Iterator<Item = &Task> {
        let mut has_child = vec![false; self.tasks.len()];
        for task in &self.tasks {
            for &u in &task.upstream {
                has_child[u] = true;
            }
        }
        self.tasks
            .iter()
            .zip(has_child)
            .filter(|(_, child)| !child)
            .map(|(t, _)| t)
    }
}

/// Each node's group, numbered densely in order of the groups' first nodes.
fn assign_groups(
    pipeline: &Pipeline,
    nodes: &[&tandem_pipeline_core::Node],
    group_by: GroupBy,
    edges: &[(usize, &str, bool)],
) -> Vec<usize> {
    let n = nodes.len();
    let raw: Vec<usize> = match group_by {
        GroupBy::None => (0..n).collect(),
        GroupBy::Namespace => {
            let mut first: rustc_hash::FxHashMap<&str, usize> = Default::default();
            nodes
                .iter()
                .enumerate()
                .map(|(position, node)| match node.namespace() {
                    Some(ns) => {
                        let top = ns.split('.').next().unwrap_or(ns);
                        *first.entry(top).or_insert(position)
                    }
                    None => position,
                })
                .collect()
        }
        GroupBy::Memory => {
            let mut sets = UnionFind::new(n);
            for &(producer, dataset, memory) in edges {
                if memory {
                    for &consumer in pipeline.consumers_of(dataset) {
                        sets.union(producer, consumer);
                    }
                }
            }
            (0..n).map(|p| sets.find(p)).collect()
        }
    };
    let mut dense = vec![usize::MAX; n];
    let mut next = 0;
    raw.iter()
        .map(|&key| {
            if dense[key] == usize::MAX {
                dense[key] = next;
                next += 1;
            }
            dense[key]
        })
        .collect()
}

fn group_count(group_of: &[usize]) -> usize {
    group_of.iter().max().map_or(0, |&m| m + 1)
}

/// kedro-airflow's group names.
fn group_name(
    group_by: GroupBy,
    positions: &[usize],
    nodes: &[&tandem_pipeline_core::Node],
) -> String {
    let first = nodes[positions[0]];
    match (group_by, first.namespace()) {
        (GroupBy::Namespace, Some(ns)) => ns.split('.').next().unwrap_or(ns).to_owned(),
        _ => {
            let mut name = String::new();
            for (i, &p) in positions.iter().enumerate() {
                if i > 0 {
                    name.push('_');
                }
                name.push_str(nodes[p].name());
            }
            name
        }
    }
}

/// Kahn's algorithm over groups, ready groups taken by first node; a cycle
/// is reported with the tasks on it.
fn topological(
    upstream: &[Vec<usize>],
    group_by: GroupBy,
    members: &[Vec<usize>],
    nodes: &[&tandem_pipeline_core::Node],
) -> Result<Vec<usize>, Error> {
    let groups = upstream.len();
    let mut downstream: Vec<Vec<usize>> = vec![Vec::new(); groups];
    let mut waiting: Vec<usize> = upstream.iter().map(Vec::len).collect();
    for (group, ups) in upstream.iter().enumerate() {
        for &u in ups {
            downstream[u].push(group);
        }
    }
    // Groups are numbered by first node, so the number is the key.
    let mut ready: BinaryHeap<Reverse<usize>> = (0..groups)
        .filter(|&g| waiting[g] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(groups);
    while let Some(Reverse(group)) = ready.pop() {
        order.push(group);
        for &d in &downstream[group] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    if order.len() == groups {
        return Ok(order);
    }
    // Walk upstream among the groups left waiting until one repeats.
    let start = (0..groups).find(|&g| waiting[g] > 0).unwrap_or(0);
    let mut seen = vec![usize::MAX; groups];
    let mut path = Vec::new();
    let mut at = start;
    while seen[at] == usize::MAX {
        seen[at] = path.len();
        path.push(at);
        at = upstream[at]
            .iter()
            .copied()
            .find(|&u| waiting[u] > 0)
            .unwrap_or(start);
    }
    let mut cycle: Vec<usize> = path[seen[at]..].to_vec();
    cycle.reverse();
    cycle.push(cycle[0]);
    Err(Error::TaskCycle {
        group_by: group_by.name(),
        tasks: cycle
            .into_iter()
            .map(|g| group_name(group_by, &members[g], nodes))
            .collect(),
    })
}
