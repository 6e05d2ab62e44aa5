//! One registered pipeline as kedro-viz's graph: task, data, parameters and
//! modular-pipeline nodes, the edges between them, the modular-pipeline tree
//! and the layer order, following kedro-viz 12.5's rules
//! (deploy-viz-mlflow-store.md §3.2).
//!
//! A namespace's inputs and outputs are Kedro's
//! `only_nodes_with_namespace(ns).inputs()` and its outputs plus whatever the
//! rest of the pipeline reads from it; they are computed for every namespace
//! in one pass over the datasets (counting, per dataset, its consumers under
//! each enclosing namespace) instead of filtering the pipeline per namespace.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde_json::{Map, Value, json};
use tandem_pipeline_core::transcoding::strip_transcoding;
use tandem_pipeline_core::{Node, Pipeline};

use super::ids::{dataset_id, task_id};
use super::layers::sort_layers;

/// The id of the modular-pipeline tree's root.
pub(crate) const ROOT: &str = "__root__";

/// What catalog.yml says about a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DatasetInfo {
    /// The Kedro type string (`pandas.csv_dataset.CSVDataset`).
    pub(crate) dataset_type: String,
    /// `metadata: {kedro-viz: {layer: ...}}`.
    pub(crate) layer: Option<String>,
    /// Where the data lives, for the metadata panel.
    pub(crate) filepath: Option<String>,
}

impl DatasetInfo {
    /// A dataset the catalog does not declare: Kedro's default.
    pub(crate) fn memory() -> DatasetInfo {
        DatasetInfo {
            dataset_type: "io.memory_dataset.MemoryDataset".to_owned(),
            layer: None,
            filepath: None,
        }
    }
}

/// A node's type, as kedro-viz spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Task,
    Data,
    Parameters,
    ModularPipeline,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Data => "data",
            Kind::Parameters => "parameters",
            Kind::ModularPipeline => "modularPipeline",
        }
    }
}

/// One node of the graph, before its `pipelines` list (which needs every
/// registered pipeline) is known.
#[derive(Debug)]
pub(crate) struct VizNode {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) tags: BTreeSet<String>,
    /// `None` for parameters, modular pipelines and nodes outside namespaces.
    pub(crate) modular_pipelines: Option<BTreeSet<String>>,
    /// The type-specific fields (`parameters`, `layer`, `dataset_type`...).
    pub(crate) fields: Map<String, Value>,
    /// The `api/nodes/<id>` document.
    pub(crate) detail: Value,
}

/// An entry of the modular-pipeline tree.
#[derive(Debug, Default)]
pub(crate) struct TreeNode {
    pub(crate) inputs: BTreeSet<String>,
    pub(crate) outputs: BTreeSet<String>,
    pub(crate) children: BTreeSet<(String, Kind)>,
}

/// A registered pipeline as kedro-viz draws it.
#[derive(Debug)]
pub(crate) struct PipelineGraph {
    pub(crate) nodes: Vec<VizNode>,
    pub(crate) edges: Vec<(String, String)>,
    pub(crate) tree: BTreeMap<String, TreeNode>,
    pub(crate) layers: Vec<String>,
}

/// Whether kedro-viz draws `name` as a parameters node.
pub(crate) fn is_parameter(name: &str) -> bool {
    name == "parameters" || name.starts_with("params:")
}

/// A dataset of the pipeline, by its name without transcoding.
struct Dataset<'p> {
    name: &'p str,
    id: String,
    producer: Option<usize>,
    consumers: Vec<usize>,
}

/// `a.b.c` → `a`, `a.b`, `a.b.c`.
fn ancestors(namespace: Option<&str>) -> impl Iterator<Item = &str> {
    let ns = namespace.unwrap_or("");
    ns.match_indices('.')
        .map(move |(i, _)| &ns[..i])
        .chain((!ns.is_empty()).then_some(ns))
}

fn parent_of(namespace: &str) -> &str {
    namespace
        .rsplit_once('.')
        .map_or(ROOT, |(parent, _)| parent)
}

/// The function's name in Kedro's `str(node)`: what follows `name: `.
fn function_name(node: &Node) -> String {
    let text = node.to_string();
    let rest = match node.user_name() {
        Some(name) => text.get(name.len() + 2..).unwrap_or(&text),
        None => &text,
    };
    rest.split('(').next().unwrap_or(rest).to_owned()
}

/// The value of `params:a.b` (nested lookup, as Kedro flattens parameters)
/// or of `parameters` (the whole tree).
pub(crate) fn parameter_value(name: &str, parameters: &Map<String, Value>) -> Value {
    let Some(path) = name.strip_prefix("params:") else {
        return Value::Object(parameters.clone());
    };
    if let Some(value) = parameters.get(path) {
        return value.clone();
    }
    let mut parts = path.split('.');
    let mut current = parts.next().and_then(|first| parameters.get(first));
    for part in parts {
        current = current.and_then(|v| v.get(part));
    }
    current.cloned().unwrap_or(Value::Null)
}

/// Builds the graph of `pipeline`.
pub(crate) fn build(
    pipeline: &Pipeline,
    datasets: &HashMap<String, DatasetInfo>,
    parameters: &Map<String, Value>,
) -> PipelineGraph {
    let tasks: Vec<&Node> = pipeline.nodes().collect();
    let task_ids: Vec<String> = tasks.iter().map(|n| task_id(n)).collect();

    // Datasets in order of first appearance (task, its inputs, its outputs).
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut data: Vec<Dataset> = Vec::new();
    let mut appearance: Vec<(Kind, usize)> = Vec::new();
    for (i, node) in tasks.iter().enumerate() {
        appearance.push((Kind::Task, i));
        for (names, output) in [(node.inputs(), false), (node.outputs(), true)] {
            for name in names {
                let name = strip_transcoding(name);
                let j = *index.entry(name).or_insert_with(|| {
                    data.push(Dataset {
                        name,
                        id: dataset_id(name),
                        producer: None,
                        consumers: Vec::new(),
                    });
                    appearance.push((Kind::Data, data.len() - 1));
                    data.len() - 1
                });
                if output {
                    data[j].producer = Some(i);
                } else if data[j].consumers.last() != Some(&i) {
                    data[j].consumers.push(i);
                }
            }
        }
    }

    // Every namespace and its ancestors, with their inputs and outputs.
    let mut tree: BTreeMap<String, TreeNode> = BTreeMap::new();
    tree.insert(ROOT.to_owned(), TreeNode::default());
    for node in &tasks {
        for ns in ancestors(node.namespace()) {
            tree.entry(ns.to_owned()).or_default();
        }
    }
    let mut parameter_ids: HashSet<String> = HashSet::new();
    for d in &data {
        let mut under: Vec<(&str, usize)> = Vec::new();
        for &c in &d.consumers {
            for ns in ancestors(tasks[c].namespace()) {
                match under.iter_mut().find(|(n, _)| *n == ns) {
                    Some((_, count)) => *count += 1,
                    None => under.push((ns, 1)),
                }
            }
        }
        let produced_in: Vec<&str> = d
            .producer
            .map(|p| ancestors(tasks[p].namespace()).collect())
            .unwrap_or_default();
        for (ns, _) in &under {
            if !produced_in.contains(ns)
                && let Some(entry) = tree.get_mut(*ns)
            {
                entry.inputs.insert(d.id.clone());
                if is_parameter(d.name) {
                    parameter_ids.insert(d.id.clone());
                }
            }
        }
        for ns in &produced_in {
            let inside = under.iter().find(|(n, _)| n == ns).map_or(0, |(_, c)| *c);
            if (d.consumers.is_empty() || inside < d.consumers.len())
                && let Some(entry) = tree.get_mut(*ns)
            {
                entry.outputs.insert(d.id.clone());
            }
        }
    }

    // Children of each namespace, and which namespaces each node belongs to.
    let mut by_namespace: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, node) in tasks.iter().enumerate() {
        if let Some(ns) = node.namespace() {
            by_namespace.entry(ns).or_default().push(i);
        }
    }
    let mut belongs: HashMap<String, BTreeSet<String>> = HashMap::new();
    let namespaces: Vec<String> = tree.keys().filter(|k| *k != ROOT).cloned().collect();
    for ns in &namespaces {
        let boundary: BTreeSet<String> =
            tree[ns].inputs.union(&tree[ns].outputs).cloned().collect();
        let mut children = BTreeSet::new();
        for &i in by_namespace.get(ns.as_str()).into_iter().flatten() {
            children.insert((task_ids[i].clone(), Kind::Task));
            belongs
                .entry(task_ids[i].clone())
                .or_default()
                .insert(ns.clone());
            for name in tasks[i].inputs().iter().chain(tasks[i].outputs()) {
                let id = dataset_id(name);
                if !boundary.contains(&id) && !is_parameter(strip_transcoding(name)) {
                    belongs.entry(id.clone()).or_default().insert(ns.clone());
                    children.insert((id, Kind::Data));
                }
            }
        }
        let parent = parent_of(ns).to_owned();
        let parent_boundary: BTreeSet<String> = tree
            .get(&parent)
            .map(|p| p.inputs.union(&p.outputs).cloned().collect())
            .unwrap_or_default();
        let mut parent_children = vec![(ns.clone(), Kind::ModularPipeline)];
        for id in &boundary {
            if !parent_boundary.contains(id) && !parameter_ids.contains(id) {
                parent_children.push((id.clone(), Kind::Data));
            }
            belongs.entry(id.clone()).or_default().insert(ns.clone());
        }
        if let Some(entry) = tree.get_mut(ns) {
            entry.children.extend(children);
        }
        if let Some(entry) = tree.get_mut(&parent) {
            entry.children.extend(parent_children);
        }
    }

    // Nodes, in order of appearance, then the modular pipelines.
    let mut nodes = Vec::with_capacity(appearance.len() + namespaces.len());
    let mut data_tags: Vec<BTreeSet<String>> = vec![BTreeSet::new(); data.len()];
    for (j, d) in data.iter().enumerate() {
        for &t in d.producer.iter().chain(&d.consumers) {
            data_tags[j].extend(tasks[t].tags().iter().cloned());
        }
    }
    for (kind, k) in appearance {
        nodes.push(match kind {
            Kind::Task => task_node(tasks[k], &task_ids[k], &belongs, parameters),
            _ => {
                let d = &data[k];
                let tags = std::mem::take(&mut data_tags[k]);
                data_node(d, tags, &belongs, datasets, parameters)
            }
        });
    }
    for ns in &namespaces {
        let mut tags = BTreeSet::new();
        for (other, list) in &by_namespace {
            if *other == ns || other.starts_with(&format!("{ns}.")) {
                for &i in list {
                    tags.extend(tasks[i].tags().iter().cloned());
                }
            }
        }
        nodes.push(VizNode {
            id: ns.clone(),
            name: ns.clone(),
            kind: Kind::ModularPipeline,
            tags,
            modular_pipelines: None,
            fields: Map::from_iter([
                ("layer".to_owned(), Value::Null),
                ("dataset_type".to_owned(), Value::Null),
            ]),
            // kedro-viz saves a serialised FastAPI response for these.
            detail: json!({"status_code": 200, "body": "{}"}),
        });
    }

    let edges = edges(&tasks, &task_ids, &tree);
    let edges = without_namespace_cycles(edges, &tree);

    // The root holds everything outside a namespace, parameters included.
    // kedro-viz lists a parameter there twice, once as `data` (added with
    // the datasets) and once as `parameters`; the export does the same.
    if let Some(root) = tree.get_mut(ROOT) {
        for node in &nodes {
            if node.kind != Kind::ModularPipeline && node.modular_pipelines.is_none() {
                root.children.insert((node.id.clone(), node.kind));
                if node.kind == Kind::Parameters {
                    root.children.insert((node.id.clone(), Kind::Data));
                }
            }
        }
    }

    let position: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut children = vec![Vec::new(); nodes.len()];
    for (source, target) in &edges {
        if let (Some(&s), Some(&t)) = (position.get(source.as_str()), position.get(target.as_str()))
        {
            children[s].push(t);
        }
    }
    let layer_of: Vec<Option<&str>> = nodes
        .iter()
        .map(|n| n.fields.get("layer").and_then(Value::as_str))
        .collect();
    let layers = sort_layers(&layer_of, &children);

    PipelineGraph {
        nodes,
        edges,
        tree,
        layers,
    }
}

fn task_node(
    node: &Node,
    id: &str,
    belongs: &HashMap<String, BTreeSet<String>>,
    parameters: &Map<String, Value>,
) -> VizNode {
    let mut used = Map::new();
    for input in node.inputs() {
        if input == "parameters" {
            if let Value::Object(all) = parameter_value(input, parameters) {
                used = all;
            }
        } else if let Some(key) = input.strip_prefix("params:") {
            used.insert(key.to_owned(), parameter_value(input, parameters));
        }
    }
    let mut fields = Map::new();
    fields.insert("parameters".to_owned(), Value::Object(used.clone()));
    fields.insert("full_name".to_owned(), node.name().into());
    let data_names = |names: &[String]| -> Vec<String> {
        names.iter().filter(|n| !is_parameter(n)).cloned().collect()
    };
    VizNode {
        id: id.to_owned(),
        name: node
            .user_name()
            .map_or_else(|| function_name(node), str::to_owned),
        kind: Kind::Task,
        tags: node.tags().clone(),
        modular_pipelines: belongs.get(id).cloned(),
        fields,
        detail: json!({
            "code": null,
            "filepath": null,
            "parameters": used,
            "run_command": format!("tandem run --to-nodes='{}'", node.name()),
            "inputs": data_names(node.inputs()),
            "outputs": data_names(node.outputs()),
            "preview": null,
        }),
    }
}

fn data_node(
    d: &Dataset,
    tags: BTreeSet<String>,
    belongs: &HashMap<String, BTreeSet<String>>,
    datasets: &HashMap<String, DatasetInfo>,
    parameters: &Map<String, Value>,
) -> VizNode {
    if is_parameter(d.name) {
        let key = d.name.strip_prefix("params:").unwrap_or(d.name);
        let value = parameter_value(d.name, parameters);
        let mut fields = Map::new();
        fields.insert("layer".to_owned(), Value::Null);
        fields.insert("dataset_type".to_owned(), Value::Null);
        let detail = if d.name == "parameters" {
            json!({ "parameters": value })
        } else {
            json!({ "parameters": { key: value } })
        };
        return VizNode {
            id: d.id.clone(),
            name: d.name.to_owned(),
            kind: Kind::Parameters,
            tags,
            modular_pipelines: None,
            fields,
            detail,
        };
    }
    let info = datasets
        .get(d.name)
        .cloned()
        .unwrap_or_else(DatasetInfo::memory);
    let mut fields = Map::new();
    fields.insert(
        "layer".to_owned(),
        info.layer.clone().map_or(Value::Null, Value::from),
    );
    fields.insert("dataset_type".to_owned(), info.dataset_type.clone().into());
    let run_command = d
        .producer
        .map(|_| format!("tandem run --to-outputs={}", d.name));
    VizNode {
        id: d.id.clone(),
        name: d.name.to_owned(),
        kind: Kind::Data,
        tags,
        modular_pipelines: belongs.get(&d.id).cloned(),
        fields,
        detail: json!({
            "type": info.dataset_type,
            "filepath": info.filepath,
            "run_command": run_command,
            "preview": null,
            "preview_type": null,
            "stats": null,
        }),
    }
}

/// Task edges in execution order, then each namespace's boundary edges;
/// duplicates dropped (kedro-viz keeps a set).
fn edges(
    tasks: &[&Node],
    task_ids: &[String],
    tree: &BTreeMap<String, TreeNode>,
) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut push = |edge: (String, String)| {
        if seen.insert(edge.clone()) {
            out.push(edge);
        }
    };
    for (node, id) in tasks.iter().zip(task_ids) {
        for input in node.inputs() {
            push((dataset_id(input), id.clone()));
        }
        for output in node.outputs() {
            push((id.clone(), dataset_id(output)));
        }
    }
    for (ns, entry) in tree.iter().filter(|(k, _)| *k != ROOT) {
        for input in &entry.inputs {
            push((input.clone(), ns.clone()));
        }
        for output in &entry.outputs {
            push((ns.clone(), output.clone()));
        }
    }
    out
}

/// Drops the edge from an input into a namespace when that input is also
/// downstream of the namespace, as kedro-viz does, so the collapsed view
/// stays acyclic. One breadth-first walk per namespace.
fn without_namespace_cycles(
    mut edges: Vec<(String, String)>,
    tree: &BTreeMap<String, TreeNode>,
) -> Vec<(String, String)> {
    for (ns, entry) in tree.iter().filter(|(k, _)| *k != ROOT) {
        let mut successors: HashMap<&str, Vec<&str>> = HashMap::new();
        for (s, t) in &edges {
            successors.entry(s.as_str()).or_default().push(t.as_str());
        }
        let mut reached: HashSet<&str> = HashSet::new();
        let mut queue = VecDeque::from([ns.as_str()]);
        while let Some(at) = queue.pop_front() {
            for &next in successors.get(at).into_iter().flatten() {
                if reached.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        let bad: HashSet<String> = entry
            .inputs
            .iter()
            .filter(|i| reached.contains(i.as_str()))
            .cloned()
            .collect();
        if !bad.is_empty() {
            edges.retain(|(s, t)| !(t == ns && bad.contains(s)));
        }
    }
    edges
}
