//! What every runner shares: options, results, and the preparation Kedro's
//! `AbstractRunner.run` does before any node runs.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tandem_catalog::DataCatalog;
use tandem_pipeline_core::{Data, Node, Pipeline};

use crate::error::{Error, RunFailure};
use crate::hooks::{Hook, RunInfo, each, notify};
use crate::missing::filter_missing;
use crate::plan::Plan;
use crate::release::Releaser;
use crate::resume::suggest;
use crate::task::NodeDone;

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The run id; defaults to the catalog's save version (Kedro's session id).
    pub run_id: Option<String>,
    /// Skip nodes whose persisted outputs already exist (Kedro's rules).
    pub only_missing_outputs: bool,
    /// Log node completions at debug rather than info: for runs repeated
    /// per request (a served model), where per-node logs are noise and cost.
    pub quiet: bool,
}

/// One completed node.
#[derive(Clone, Debug)]
pub struct NodeRun {
    /// The node (a shared handle on the pipeline's own, not a copy).
    pub node: Arc<Node>,
    /// Load + run + save wall time.
    pub duration: Duration,
}

impl NodeRun {
    /// The node's full name.
    pub fn name(&self) -> &str {
        self.node.name()
    }
}

/// A successful run.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The run id hooks saw.
    pub run_id: String,
    /// The values of the pipeline's free outputs that live only in memory
    /// (memory datasets), as the nodes produced them. A persisted free
    /// output is not held once saved: load it from the catalog.
    pub outputs: BTreeMap<String, Data>,
    /// Every free output of the pipeline, persisted or not, sorted.
    pub free_outputs: Vec<String>,
    /// Completed nodes, in completion order.
    pub nodes: Vec<NodeRun>,
}

/// Executes a pipeline against a catalog.
pub trait Runner {
    /// Runs `pipeline`, calling `hooks`, and returns its free outputs.
    ///
    /// Before any node runs, every dataset is resolved (outputs without a
    /// catalog entry get a `MemoryDataset`) and missing free inputs fail the
    /// run with one error listing all of them.
    fn run(
        &self,
        pipeline: &Pipeline,
        catalog: &DataCatalog,
        hooks: &[Arc<dyn Hook>],
        options: &RunOptions,
    ) -> Result<RunOutput, Error>;
}

/// A pipeline ready to run: filtered, with every dataset resolved.
pub(crate) struct Prepared {
    pub pipeline: Pipeline,
    pub plan: Plan,
    pub run_id: String,
    pub quiet: bool,
}

pub(crate) fn prepare(
    pipeline: &Pipeline,
    catalog: &DataCatalog,
    options: &RunOptions,
) -> Result<Prepared, Error> {
    let pipeline = if options.only_missing_outputs {
        filter_missing(pipeline, catalog)?
    } else {
        pipeline.clone()
    };
    let plan = Plan::new(&pipeline, catalog)?;
    let run_id = options
        .run_id
        .clone()
        .unwrap_or_else(|| catalog.save_version().to_owned());
    Ok(Prepared {
        pipeline,
        plan,
        run_id,
        quiet: options.quiet,
    })
}

/// The before/after pipeline hooks around `body`, and the failure report.
pub(crate) fn with_pipeline_hooks(
    prepared: &Prepared,
    catalog: &DataCatalog,
    hooks: &[Arc<dyn Hook>],
    body: impl FnOnce(&RunInfo<'_>) -> Result<RunOutput, Error>,
) -> Result<RunOutput, Error> {
    let run = RunInfo {
        run_id: &prepared.run_id,
        pipeline: &prepared.pipeline,
        catalog,
    };
    let result = each(hooks, "before_pipeline_run", |h| {
        h.before_pipeline_run(&run)
    })
    .and_then(|()| body(&run))
    .and_then(|output| {
        each(hooks, "after_pipeline_run", |h| {
            h.after_pipeline_run(&run, &output.outputs)
        })?;
        Ok(output)
    });
    if let Err(error) = &result {
        notify(hooks, "on_pipeline_error", |h| {
            h.on_pipeline_error(&run, error)
        });
    }
    result
}

/// What the scheduling thread records as nodes complete: free outputs kept,
/// datasets released, completions listed.
pub(crate) struct Record<'a> {
    prepared: &'a Prepared,
    releaser: Releaser,
    outputs: BTreeMap<String, Data>,
    nodes: Vec<NodeRun>,
}

impl<'a> Record<'a> {
    pub(crate) fn new(prepared: &'a Prepared) -> Self {
        Record {
            prepared,
            releaser: Releaser::new(&prepared.plan),
            outputs: BTreeMap::new(),
            nodes: Vec::with_capacity(prepared.pipeline.len()),
        }
    }

    /// Keeps the node's free outputs that exist only in memory and releases
    /// what it was the last to need: a persisted output's value is dropped
    /// here, so memory follows what is still live, not the whole run.
    pub(crate) fn completed(&mut self, i: usize, node: &Arc<Node>, done: NodeDone) {
        let plan = &self.prepared.plan;
        let written = node.outputs().iter().zip(plan.ids().outputs(i));
        for ((name, &id), data) in written.zip(done.outputs) {
            if plan.is_ephemeral(id) && plan.ids().is_free_output(id) {
                self.outputs.insert(name.clone(), data);
            }
        }
        self.releaser.node_finished(i, node, plan);
        self.nodes.push(NodeRun {
            node: Arc::clone(node),
            duration: done.duration,
        });
        let (done, total) = (self.nodes.len(), self.prepared.pipeline.len());
        if self.prepared.quiet {
            tracing::debug!(node = %node.name(), "completed {done} out of {total} tasks");
        } else {
            tracing::info!(node = %node.name(), "completed {done} out of {total} tasks");
        }
    }

    /// The successful run.
    pub(crate) fn finish(self) -> RunOutput {
        RunOutput {
            run_id: self.prepared.run_id.clone(),
            outputs: self.outputs,
            free_outputs: self.prepared.pipeline.outputs().iter().cloned().collect(),
            nodes: self.nodes,
        }
    }

    /// The failed run, once nothing is running any more.
    pub(crate) fn fail(self, node: String, cause: Error) -> Error {
        let completed = self.nodes.iter().map(|n| n.name().to_owned()).collect();
        failed(self.prepared, node, cause, completed)
    }
}

/// Builds the failure error once nothing is running any more.
pub(crate) fn failed(
    prepared: &Prepared,
    node: String,
    cause: Error,
    completed: Vec<String>,
) -> Error {
    let done: HashSet<String> = completed.iter().cloned().collect();
    let persisted = prepared.plan.persisted();
    let resume = suggest(&prepared.pipeline, &done, &persisted);
    // Debug, not Kedro's warning: the returned error carries the hint and
    // prints it, so a warning made every caller that reports the error show
    // the hint twice.
    tracing::debug!(node = %node, "{resume}");
    Error::RunFailed(Box::new(RunFailure {
        node,
        cause,
        completed,
        resume,
    }))
}
