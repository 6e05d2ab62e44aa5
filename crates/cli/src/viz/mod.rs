//! kedro-viz's export format (kedro-viz 12.5, `kedro viz run --save-file`):
//! the `api/` directory `kedro viz run --load-file DIR` serves without a
//! Kedro project (deploy-viz-mlflow-store.md §3).
//!
//! ```text
//! DIR/api/main                  the default pipeline's graph
//! DIR/api/pipelines/<id>        each registered pipeline's graph
//! DIR/api/nodes/<id>            each node's metadata panel
//! DIR/api/run-status            a stub "last run" (kedro-viz answers 500 without it)
//! DIR/api/version               the kedro-viz version the format is for
//! DIR/api/deploy-viz-metadata   when the export was written
//! ```
//!
//! Node ids are kedro-viz's own (SHA-1 of the dataset name or of Kedro's
//! `str(node)`), so an export of a pipeline ported from Kedro has the ids
//! Kedro's export has. Building is linear in nodes + edges, times the
//! namespace depth, plus one graph walk per namespace (kedro-viz's cycle
//! check for collapsed namespaces).

mod graph;
mod ids;
mod kedro_types;
mod layers;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use tandem_pipeline_core::Pipeline;

pub(crate) use graph::{DatasetInfo, is_parameter};
pub(crate) use kedro_types::kedro_type;

use graph::{Kind, PipelineGraph, ROOT};

/// The kedro-viz release whose format this writes.
pub(crate) const KEDRO_VIZ_VERSION: &str = "12.5.0";

/// The pipeline kedro-viz selects first when it is exported.
pub(crate) const DEFAULT_PIPELINE: &str = "__default__";

/// What one exported pipeline holds, for the command's report.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct PipelineSummary {
    pub(crate) id: String,
    pub(crate) tasks: usize,
    pub(crate) datasets: usize,
    pub(crate) parameters: usize,
    pub(crate) modular_pipelines: usize,
    pub(crate) edges: usize,
    pub(crate) layers: Vec<String>,
}

/// The export: one graph document per pipeline and one metadata document
/// per node, all JSON.
#[derive(Debug)]
pub(crate) struct Export {
    /// The pipeline `api/main` shows.
    pub(crate) selected: String,
    /// `(id, graph document)`, in the order kedro-viz lists them.
    pub(crate) pipelines: Vec<(String, Value)>,
    /// `id → api/nodes/<id>` document.
    pub(crate) nodes: BTreeMap<String, Value>,
    pub(crate) summaries: Vec<PipelineSummary>,
}

/// Builds the export of `pipelines` (registered id → pipeline, listed in
/// that order), with `datasets` describing the catalog's entries by name
/// (names missing are memory datasets) and `parameters` the project's
/// parameters tree.
pub(crate) fn export(
    pipelines: &[(String, &Pipeline)],
    datasets: &HashMap<String, DatasetInfo>,
    parameters: &Map<String, Value>,
) -> Export {
    let graphs: Vec<(&str, PipelineGraph)> = pipelines
        .iter()
        .map(|(id, p)| (id.as_str(), graph::build(p, datasets, parameters)))
        .collect();
    // Which pipelines each node is in, and every tag of every pipeline.
    let mut membership: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut tags = std::collections::BTreeSet::new();
    for (id, graph) in &graphs {
        for node in &graph.nodes {
            membership.entry(node.id.as_str()).or_default().push(id);
            tags.extend(node.tags.iter().map(String::as_str));
        }
    }
    let tags: Vec<Value> = tags
        .into_iter()
        .map(|t| json!({"id": t, "name": t}))
        .collect();
    let listed: Vec<Value> = graphs
        .iter()
        .map(|(id, _)| json!({"id": id, "name": id}))
        .collect();
    let mut nodes: BTreeMap<String, Value> = BTreeMap::new();
    let mut documents = Vec::with_capacity(graphs.len());
    let mut summaries = Vec::with_capacity(graphs.len());
    for (id, graph) in &graphs {
        let count = |kind: Kind| graph.nodes.iter().filter(|n| n.kind == kind).count();
        summaries.push(PipelineSummary {
            id: (*id).to_owned(),
            tasks: count(Kind::Task),
            datasets: count(Kind::Data),
            parameters: count(Kind::Parameters),
            modular_pipelines: count(Kind::ModularPipeline),
            edges: graph.edges.len(),
            layers: graph.layers.clone(),
        });
        let mut node_documents = Vec::with_capacity(graph.nodes.len());
        for node in &graph.nodes {
            let mut doc = Map::new();
            doc.insert("id".into(), node.id.clone().into());
            doc.insert("name".into(), node.name.clone().into());
            doc.insert("tags".into(), json!(node.tags));
            doc.insert("pipelines".into(), json!(membership[node.id.as_str()]));
            doc.insert("type".into(), node.kind.as_str().into());
            doc.insert("modular_pipelines".into(), json!(node.modular_pipelines));
            doc.insert("node_extras".into(), Value::Null);
            doc.extend(node.fields.clone());
            node_documents.push(Value::Object(doc));
            // A free input in one pipeline may be produced in another:
            // keep the document that can say how to produce it.
            let replace = nodes.get(&node.id).is_none_or(|existing| {
                existing.get("run_command") == Some(&Value::Null)
                    && node.detail.get("run_command") != Some(&Value::Null)
            });
            if replace {
                nodes.insert(node.id.clone(), node.detail.clone());
            }
        }
        let tree: Map<String, Value> = graph
            .tree
            .iter()
            .map(|(ns, entry)| {
                let children: Vec<Value> = entry
                    .children
                    .iter()
                    .map(|(cid, kind)| json!({"id": cid, "type": kind.as_str()}))
                    .collect();
                (
                    ns.clone(),
                    json!({
                        "id": ns,
                        "name": ns,
                        "inputs": entry.inputs,
                        "outputs": entry.outputs,
                        "children": children,
                    }),
                )
            })
            .collect();
        let edges: Vec<Value> = graph
            .edges
            .iter()
            .map(|(s, t)| json!({"source": s, "target": t}))
            .collect();
        documents.push((
            (*id).to_owned(),
            json!({
                "nodes": node_documents,
                "edges": edges,
                "layers": graph.layers,
                "tags": tags,
                "pipelines": listed,
                "modular_pipelines": tree,
                "selected_pipeline": id,
            }),
        ));
    }
    let selected = pipelines
        .iter()
        .map(|(id, _)| id.as_str())
        .find(|id| *id == DEFAULT_PIPELINE)
        .or_else(|| pipelines.first().map(|(id, _)| id.as_str()))
        .unwrap_or(DEFAULT_PIPELINE)
        .to_owned();
    debug_assert!(graphs.iter().all(|(_, g)| g.tree.contains_key(ROOT)));
    Export {
        selected,
        pipelines: documents,
        nodes,
        summaries,
    }
}

/// Why a pipeline or node id cannot be a file name under `api/`.
fn unsafe_file_name(id: &str) -> bool {
    id.is_empty() || id == "." || id == ".." || id.contains(['/', '\\', '\0'])
}

impl Export {
    /// Writes the `api/` tree under `dir` (created if missing), replacing
    /// files of an earlier export; `timestamp` is `DD.MM.YYYY HH:MM:SS`.
    /// Returns the files written.
    pub(crate) fn write(&self, dir: &Path, timestamp: &str) -> Result<Vec<PathBuf>, WriteError> {
        let api = dir.join("api");
        for sub in [api.join("pipelines"), api.join("nodes")] {
            std::fs::create_dir_all(&sub).map_err(|e| WriteError::Io(sub.clone(), e))?;
        }
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let main = self
            .pipelines
            .iter()
            .find(|(id, _)| *id == self.selected)
            .map_or_else(|| json!({}), |(_, doc)| doc.clone());
        files.push((api.join("main"), serialize(&main)));
        for (id, doc) in &self.pipelines {
            if unsafe_file_name(id) {
                return Err(WriteError::UnsafeName(format!("pipeline '{id}'")));
            }
            files.push((api.join("pipelines").join(id), serialize(doc)));
        }
        for (id, doc) in &self.nodes {
            if unsafe_file_name(id) {
                return Err(WriteError::UnsafeName(format!("node '{id}'")));
            }
            files.push((api.join("nodes").join(id), serialize(doc)));
        }
        files.push((
            api.join("run-status"),
            serialize(&json!({
                "nodes": {},
                "datasets": {},
                "pipeline": {"run_id": "default-run-id", "status": "success"},
            })),
        ));
        files.push((
            api.join("version"),
            serialize(&json!({
                "installed": KEDRO_VIZ_VERSION,
                "is_outdated": false,
                "latest": KEDRO_VIZ_VERSION,
            })),
        ));
        files.push((
            api.join("deploy-viz-metadata"),
            serialize(&json!({"timestamp": timestamp, "version": KEDRO_VIZ_VERSION})),
        ));
        let mut written = Vec::with_capacity(files.len());
        for (path, bytes) in files {
            std::fs::write(&path, bytes).map_err(|e| WriteError::Io(path.clone(), e))?;
            written.push(path);
        }
        Ok(written)
    }
}

fn serialize(value: &Value) -> Vec<u8> {
    // A `Value` always serializes.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Why the export could not be written.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// Creating a directory or writing a file.
    Io(PathBuf, std::io::Error),
    /// A pipeline or namespace name that is no safe file name.
    UnsafeName(String),
}

#[cfg(test)]
mod tests;
