//! Pipelines: a validated, ordered DAG of nodes.

use std::collections::{BTreeMap, BTreeSet};

// Graph maps are rebuilt for every pipeline value (filters and unions make
// new ones): FxHash rather than SipHash, names are not attacker-chosen keys.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::dataset_ids::DatasetIds;
use crate::error::Error;
use crate::node::Node;
use crate::transcoding::{is_transcoded, strip_transcoding};

/// Something a pipeline can be built from: a node or a whole pipeline.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "items are short-lived arguments moved once into the pipeline; boxing would add an allocation per node"
)]
pub enum PipelineItem {
    /// One node.
    Node(Node),
    /// All nodes of a pipeline.
    Pipeline(Pipeline),
}

impl From<Node> for PipelineItem {
    fn from(node: Node) -> Self {
        PipelineItem::Node(node)
    }
}

impl From<Pipeline> for PipelineItem {
    fn from(pipeline: Pipeline) -> Self {
        PipelineItem::Pipeline(pipeline)
    }
}

impl From<&Pipeline> for PipelineItem {
    fn from(pipeline: &Pipeline) -> Self {
        PipelineItem::Pipeline(pipeline.clone())
    }
}

/// A validated pipeline with Kedro 1.7 semantics.
///
/// Construction rejects duplicate node names, outputs produced twice
/// (transcoding ignored), cycles and inconsistent transcoding. Nodes are kept
/// in Kedro's execution order: Kahn layers, each sorted by full node name in
/// code-point order. Cloning is cheap (the graph is shared).
///
/// ```
/// use tandem_pipeline_core::{node, Pipeline};
///
/// fn inc(x: &i64) -> i64 { x + 1 }
/// let p = Pipeline::new([
///     node(inc, "b", "c").name("second").build().unwrap(),
///     node(inc, "a", "b").name("first").build().unwrap(),
/// ]).unwrap();
/// let order: Vec<&str> = p.nodes().map(|n| n.name()).collect();
/// assert_eq!(order, ["first", "second"]);
/// assert_eq!(p.inputs().iter().collect::<Vec<_>>(), ["a"]);
/// assert_eq!(p.outputs().iter().collect::<Vec<_>>(), ["c"]);
/// ```
#[derive(Clone)]
pub struct Pipeline {
    graph: Arc<Graph>,
}

struct Graph {
    /// Execution order.
    nodes: Vec<Arc<Node>>,
    /// Exclusive end offsets of each layer in `nodes`.
    layer_ends: Vec<usize>,
    by_name: HashMap<String, usize>,
    /// Stripped dataset name → producing node.
    producer: HashMap<String, usize>,
    /// Stripped dataset name → consuming nodes (each once, in execution order).
    consumers: HashMap<String, Vec<usize>>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    inputs: OnceLock<BTreeSet<String>>,
    outputs: OnceLock<BTreeSet<String>>,
    dataset_ids: OnceLock<DatasetIds>,
}

impl Pipeline {
    /// Builds a pipeline from nodes and pipelines (Kedro's `Pipeline(nodes)`).
    ///
    /// For namespacing, remapping and tags use [`pipeline`](crate::pipeline()).
    pub fn new<I: Into<PipelineItem>>(items: impl IntoIterator<Item = I>) -> Result<Self, Error> {
        let mut nodes = Vec::new();
        for item in items {
            match item.into() {
                PipelineItem::Node(n) => nodes.push(Arc::new(n)),
                PipelineItem::Pipeline(p) => nodes.extend(p.graph.nodes.iter().cloned()),
            }
        }
        Pipeline::from_arcs(nodes, true)
    }

    /// A pipeline without nodes.
    pub fn empty() -> Self {
        Pipeline::from_valid(Vec::new())
    }

    /// Builds from nodes known to form a valid pipeline (a subset or union
    /// already checked), skipping the construction checks.
    pub(crate) fn from_valid(nodes: Vec<Arc<Node>>) -> Self {
        match Pipeline::from_arcs(nodes, false) {
            Ok(p) => p,
            // Unreachable for valid input; an empty pipeline is the safe answer.
            Err(_) => Pipeline::from_valid(Vec::new()),
        }
    }

    pub(crate) fn from_arcs(nodes: Vec<Arc<Node>>, validate: bool) -> Result<Self, Error> {
        if validate {
            check_unique_names(&nodes)?;
            check_transcoding(&nodes)?;
        }
        let mut producer: HashMap<&str, usize> =
            HashMap::with_capacity_and_hasher(nodes.len(), Default::default());
        let mut clashes = BTreeSet::new();
        for (i, node) in nodes.iter().enumerate() {
            for output in node.outputs() {
                let base = strip_transcoding(output);
                if producer.insert(base, i).is_some() {
                    clashes.insert(base.to_owned());
                }
            }
        }
        if !clashes.is_empty() {
            return Err(Error::OutputNotUnique {
                outputs: clashes.into_iter().collect(),
            });
        }
        let mut parents: Vec<Vec<usize>> = Vec::with_capacity(nodes.len());
        for node in &nodes {
            let mut ps: Vec<usize> = node
                .inputs()
                .iter()
                .filter_map(|i| producer.get(strip_transcoding(i)).copied())
                .collect();
            ps.sort_unstable();
            ps.dedup();
            parents.push(ps);
        }
        let order = kahn_layers(&nodes, &parents)?;

        // Re-index everything by execution position.
        let mut position = vec![0usize; nodes.len()];
        for (pos, &old) in order.indices.iter().enumerate() {
            position[old] = pos;
        }
        let mut ordered_parents = vec![Vec::new(); nodes.len()];
        let mut children = vec![Vec::new(); nodes.len()];
        for (old, ps) in parents.into_iter().enumerate() {
            let pos = position[old];
            let mut mapped: Vec<usize> = ps.into_iter().map(|p| position[p]).collect();
            mapped.sort_unstable();
            for &p in &mapped {
                children[p].push(pos);
            }
            ordered_parents[pos] = mapped;
        }
        for c in &mut children {
            c.sort_unstable();
        }
        let producer: HashMap<String, usize> = producer
            .into_iter()
            .map(|(k, v)| (k.to_owned(), position[v]))
            .collect();
        let ordered: Vec<Arc<Node>> = order
            .indices
            .iter()
            .map(|&i| Arc::clone(&nodes[i]))
            .collect();
        let mut consumers: HashMap<String, Vec<usize>> =
            HashMap::with_capacity_and_hasher(nodes.len(), Default::default());
        for (pos, node) in ordered.iter().enumerate() {
            for input in node.inputs() {
                let list = consumers
                    .entry(strip_transcoding(input).to_owned())
                    .or_default();
                if list.last() != Some(&pos) {
                    list.push(pos);
                }
            }
        }
        let by_name = ordered
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name().to_owned(), i))
            .collect();
        Ok(Pipeline {
            graph: Arc::new(Graph {
                nodes: ordered,
                layer_ends: order.layer_ends,
                by_name,
                producer,
                consumers,
                parents: ordered_parents,
                children,
                inputs: OnceLock::new(),
                outputs: OnceLock::new(),
                dataset_ids: OnceLock::new(),
            }),
        })
    }

    /// Nodes in execution order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &Node> + DoubleEndedIterator + Clone {
        self.graph.nodes.iter().map(|n| &**n)
    }

    /// Shared handles on the nodes, in execution order.
    pub fn node_arcs(&self) -> &[Arc<Node>] {
        &self.graph.nodes
    }

    /// Kedro's `grouped_nodes`: the topological layers, each sorted by name.
    pub fn layers(&self) -> impl ExactSizeIterator<Item = &[Arc<Node>]> {
        let ends = &self.graph.layer_ends;
        (0..ends.len()).map(move |i| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            &self.graph.nodes[start..ends[i]]
        })
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.graph.nodes.len()
    }

    /// Whether the pipeline has no node.
    pub fn is_empty(&self) -> bool {
        self.graph.nodes.is_empty()
    }

    /// The node with this full name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.graph.by_name.get(name).map(|&i| &*self.graph.nodes[i])
    }

    /// The execution-order position of the node with this full name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.graph.by_name.get(name).copied()
    }

    /// Positions of the nodes that `position` depends on.
    pub fn parents_of(&self, position: usize) -> &[usize] {
        self.graph.parents.get(position).map_or(&[], Vec::as_slice)
    }

    /// Positions of the nodes that depend on `position`.
    pub fn children_of(&self, position: usize) -> &[usize] {
        self.graph.children.get(position).map_or(&[], Vec::as_slice)
    }

    /// Position of the node producing `dataset` (transcoding ignored).
    pub fn producer_of(&self, dataset: &str) -> Option<usize> {
        self.graph.producer.get(strip_transcoding(dataset)).copied()
    }

    /// Positions of the nodes consuming `dataset` (any transcoding), in execution order.
    pub fn consumers_of(&self, dataset: &str) -> &[usize] {
        self.graph
            .consumers
            .get(strip_transcoding(dataset))
            .map_or(&[], Vec::as_slice)
    }

    /// Kedro's `node_dependencies`: each node's name mapped to its parents' names.
    pub fn node_dependencies(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        self.nodes()
            .enumerate()
            .map(|(i, n)| {
                let parents = self
                    .parents_of(i)
                    .iter()
                    .map(|&p| self.graph.nodes[p].name())
                    .collect();
                (n.name(), parents)
            })
            .collect()
    }

    /// Every input of every node, raw names.
    pub fn all_inputs(&self) -> BTreeSet<String> {
        self.nodes()
            .flat_map(|n| n.inputs().iter().cloned())
            .collect()
    }

    /// Every output of every node, raw names.
    pub fn all_outputs(&self) -> BTreeSet<String> {
        self.nodes()
            .flat_map(|n| n.outputs().iter().cloned())
            .collect()
    }

    /// Free inputs: inputs no node of the pipeline produces (transcoding ignored).
    pub fn inputs(&self) -> &BTreeSet<String> {
        self.graph.inputs.get_or_init(|| {
            self.nodes()
                .flat_map(|n| n.inputs())
                .filter(|i| !self.graph.producer.contains_key(strip_transcoding(i)))
                .cloned()
                .collect()
        })
    }

    /// Free outputs: outputs no node of the pipeline consumes (transcoding ignored).
    pub fn outputs(&self) -> &BTreeSet<String> {
        self.graph.outputs.get_or_init(|| {
            self.nodes()
                .flat_map(|n| n.outputs())
                .filter(|o| !self.graph.consumers.contains_key(strip_transcoding(o)))
                .cloned()
                .collect()
        })
    }

    /// Dense ids for every dataset the nodes name, numbered on first use and
    /// cached: every run of this pipeline (and of its clones) shares them.
    pub fn dataset_ids(&self) -> &DatasetIds {
        self.graph
            .dataset_ids
            .get_or_init(|| DatasetIds::new(&self.graph.nodes, self.inputs(), self.outputs()))
    }

    /// The name of dataset `id` (see [`dataset_ids`](Self::dataset_ids)),
    /// `None` past the last id.
    pub fn dataset_name(&self, id: usize) -> Option<&str> {
        let at = self.dataset_ids().first_use(id)?;
        self.name_at(at)
    }

    /// Every dataset name in id order: `dataset_names().nth(id)` is
    /// `dataset_name(id)`.
    pub fn dataset_names(&self) -> impl ExactSizeIterator<Item = &str> {
        let ids = self.dataset_ids();
        (0..ids.len()).map(move |id| {
            ids.first_use(id)
                .and_then(|at| self.name_at(at))
                .unwrap_or_default()
        })
    }

    /// The name in `slot` of node `node`'s inputs followed by its outputs.
    fn name_at(&self, (node, slot): (usize, usize)) -> Option<&str> {
        let node = self.graph.nodes.get(node)?;
        let mut names = node.inputs().iter().chain(node.outputs());
        names.nth(slot).map(String::as_str)
    }

    /// Every dataset the pipeline mentions, raw names.
    pub fn datasets(&self) -> BTreeSet<String> {
        let mut all = self.all_inputs();
        all.extend(self.all_outputs());
        all
    }

    /// A copy with `tags` added to every node (Kedro's `Pipeline.tag`).
    pub fn tag<S: Into<String>>(
        &self,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        let tags: Vec<String> = tags.into_iter().map(Into::into).collect();
        let nodes = self
            .nodes()
            .map(|n| n.with_tags(tags.iter().cloned()).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pipeline::from_valid(nodes))
    }

    /// Kedro's `describe()` text.
    pub fn describe(&self) -> String {
        let join = |set: &BTreeSet<String>| {
            if set.is_empty() {
                "None".to_owned()
            } else {
                set.iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        // Kedro joins the names with newlines: an empty pipeline leaves one
        // empty line between the two blank ones.
        let names: Vec<&str> = self.nodes().map(Node::name).collect();
        format!(
            "#### Pipeline execution order ####\nInputs: {}\n\n{}\n\nOutputs: {}\n{}",
            join(self.inputs()),
            names.join("\n"),
            join(self.outputs()),
            "#".repeat(34)
        )
    }
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::empty()
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.nodes().map(Node::name).collect();
        write!(f, "Pipeline({names:?})")
    }
}

/// Two pipelines are equal when they hold equal nodes (Kedro's set semantics).
impl PartialEq for Pipeline {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.nodes().zip(other.nodes()).all(|(a, b)| a == b)
    }
}

impl Eq for Pipeline {}

fn check_unique_names(nodes: &[Arc<Node>]) -> Result<(), Error> {
    let mut seen = HashSet::with_capacity_and_hasher(nodes.len(), Default::default());
    let duplicates: BTreeSet<&str> = nodes
        .iter()
        .map(|n| n.name())
        .filter(|name| !seen.insert(*name))
        .collect();
    if duplicates.is_empty() {
        Ok(())
    } else {
        Err(Error::DuplicateNodeName {
            names: duplicates.into_iter().map(str::to_owned).collect(),
        })
    }
}

fn check_transcoding(nodes: &[Arc<Node>]) -> Result<(), Error> {
    let mut bare = HashSet::default();
    let mut transcoded = HashSet::default();
    for name in nodes
        .iter()
        .flat_map(|n| n.inputs().iter().chain(n.outputs()))
    {
        if is_transcoded(name) {
            transcoded.insert(strip_transcoding(name));
        } else {
            bare.insert(name.as_str());
        }
    }
    let conflicts: BTreeSet<&str> = transcoded.intersection(&bare).copied().collect();
    if conflicts.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = conflicts.into_iter().collect();
    Err(Error::Transcoding {
        message: format!(
            "the following datasets are used with transcoding, but were referenced without the \
             separator: {}. Please specify a transcoding option or rename the datasets",
            names.join(", ")
        ),
    })
}

struct Order {
    indices: Vec<usize>,
    layer_ends: Vec<usize>,
}

/// Kahn layering; each layer sorted by full name (code-point order).
fn kahn_layers(nodes: &[Arc<Node>], parents: &[Vec<usize>]) -> Result<Order, Error> {
    let n = nodes.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pending: Vec<usize> = vec![0; n];
    for (i, ps) in parents.iter().enumerate() {
        pending[i] = ps.len();
        for &p in ps {
            children[p].push(i);
        }
    }
    let by_name = |a: &usize, b: &usize| nodes[*a].name().cmp(nodes[*b].name());
    let mut layer: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut indices = Vec::with_capacity(n);
    let mut layer_ends = Vec::new();
    while !layer.is_empty() {
        layer.sort_unstable_by(by_name);
        let mut next = Vec::new();
        for &i in &layer {
            for &c in &children[i] {
                pending[c] -= 1;
                if pending[c] == 0 {
                    next.push(c);
                }
            }
        }
        indices.extend_from_slice(&layer);
        layer_ends.push(indices.len());
        layer = next;
    }
    if indices.len() < n {
        return Err(Error::CircularDependency {
            nodes: find_cycle(nodes, parents, &pending),
        });
    }
    Ok(Order {
        indices,
        layer_ends,
    })
}

/// Every node left with pending parents after Kahn has one pending parent, so
/// walking pending parents from any of them must revisit a node: that loop is a cycle.
fn find_cycle(nodes: &[Arc<Node>], parents: &[Vec<usize>], pending: &[usize]) -> Vec<String> {
    let Some(start) = (0..nodes.len()).find(|&i| pending[i] > 0) else {
        return Vec::new();
    };
    let mut seen_at: HashMap<usize, usize> = HashMap::default();
    let mut path = Vec::new();
    let mut current = start;
    while let Some(&p) = parents[current].iter().find(|&&p| pending[p] > 0) {
        if let Some(&at) = seen_at.get(&current) {
            let mut cycle: Vec<String> = path[at..]
                .iter()
                .rev()
                .map(|&i: &usize| nodes[i].name().to_owned())
                .collect();
            if let Some(first) = (0..cycle.len()).min_by(|&a, &b| cycle[a].cmp(&cycle[b])) {
                cycle.rotate_left(first);
            }
            return cycle;
        }
        seen_at.insert(current, path.len());
        path.push(current);
        current = p;
    }
    vec![nodes[start].name().to_owned()]
}
