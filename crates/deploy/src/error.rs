//! The crate's one error enum.

/// A dataset that would cross tasks while only living in memory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Crossing {
    /// The dataset name.
    pub dataset: String,
    /// The node producing it.
    pub producer: String,
    /// The first node of another task consuming it.
    pub consumer: String,
}

/// Why a plan could not be computed or rendered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Memory datasets would be passed between tasks, which run in separate
    /// processes.
    #[error(
        "{} only in memory but cross{} tasks, which run in separate processes: {}; \
         persist {} with a catalog entry (or a factory pattern such as \
         \"{{name}}_intermediate\" for a family of names), or group the nodes they join \
         into one task with --group-by memory",
        plural(.crossings.len(), "dataset lives", "datasets live"),
        if .crossings.len() == 1 { "es" } else { "" },
        describe_crossings(.crossings),
        if .crossings.len() == 1 { "it" } else { "them" }
    )]
    MemoryCrossesTasks {
        /// Each crossing dataset once, in execution order of its producer.
        crossings: Vec<Crossing>,
    },

    /// The grouping makes tasks depend on each other in a cycle.
    #[error(
        "grouping by {group_by} makes tasks depend on each other in a cycle: {}; \
         split the group (persist the datasets inside it) or choose another --group-by",
        .tasks.join(" -> ")
    )]
    TaskCycle {
        /// The grouping asked for.
        group_by: &'static str,
        /// Task ids on the cycle, the first repeated at the end.
        tasks: Vec<String>,
    },

    /// The pipeline has no node, so there is nothing to deploy.
    #[error("the pipeline has no nodes: there is nothing to deploy")]
    EmptyPlan,

    /// A node name cannot be passed through `run --nodes`, which splits on
    /// commas outside `[...]` and trims names.
    #[error(
        "node '{node}' cannot be named in `run --nodes` (a comma outside [...], or spaces at \
         either end); rename it to deploy it"
    )]
    UnpassableNodeName {
        /// The node.
        node: String,
    },

    /// Two tasks ended up with one id (only when a name collides with
    /// another's disambiguated id).
    #[error("tasks '{first}' and '{second}' both get the task id '{id}'; rename one of them")]
    DuplicateTaskId {
        /// The id.
        id: String,
        /// The first task's name.
        first: String,
        /// The second task's name.
        second: String,
    },

    /// Looking a dataset up in the catalog.
    #[error(transparent)]
    Catalog(#[from] tandem_catalog::Error),

    /// Writing the Argo manifest as YAML.
    #[error("cannot write the Argo manifest as YAML: {0}")]
    Yaml(String),
}

impl Error {
    /// The stable kind string scripts match on.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::MemoryCrossesTasks { .. } => "memory_dataset_crosses_tasks",
            Error::TaskCycle { .. } => "task_cycle",
            Error::EmptyPlan => "empty_pipeline",
            Error::UnpassableNodeName { .. } => "unpassable_node_name",
            Error::DuplicateTaskId { .. } => "duplicate_task_id",
            Error::Catalog(e) => e.kind(),
            Error::Yaml(_) => "yaml",
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn describe_crossings(crossings: &[Crossing]) -> String {
    crossings
        .iter()
        .map(|c| format!("'{}' ({} -> {})", c.dataset, c.producer, c.consumer))
        .collect::<Vec<_>>()
        .join(", ")
}
