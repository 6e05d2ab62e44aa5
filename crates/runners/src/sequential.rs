//! The sequential runner: Kedro's execution order, one node at a time.

use std::collections::BTreeMap;
use std::sync::Arc;

use tandem_catalog::DataCatalog;
use tandem_pipeline_core::Pipeline;

use crate::error::Error;
use crate::hooks::Hook;
use crate::release::Releaser;
use crate::runner::{NodeRun, RunOptions, RunOutput, Runner, failed, prepare, with_pipeline_hooks};
use crate::task::run_node;

/// Runs nodes one after another in [`Pipeline::nodes`] order and stops at the
/// first failure.
#[derive(Clone, Copy, Debug, Default)]
pub struct SequentialRunner;

impl Runner for SequentialRunner {
    fn run(
        &self,
        pipeline: &Pipeline,
        catalog: &DataCatalog,
        hooks: &[Arc<dyn Hook>],
        options: &RunOptions,
    ) -> Result<RunOutput, Error> {
        let prepared = prepare(pipeline, catalog, options)?;
        with_pipeline_hooks(&prepared, catalog, hooks, |run| {
            let mut releaser = Releaser::new(&prepared.pipeline);
            let free_outputs = prepared.pipeline.outputs();
            let mut outputs = BTreeMap::new();
            let mut nodes = Vec::with_capacity(prepared.pipeline.len());
            let total = prepared.pipeline.len();
            for node in prepared.pipeline.nodes() {
                match run_node(node, run, hooks, &prepared.datasets) {
                    Ok(done) => {
                        for (name, data) in done.outputs {
                            if free_outputs.contains(&name) {
                                outputs.insert(name, data);
                            }
                        }
                        releaser.node_finished(node, &prepared.datasets);
                        nodes.push(NodeRun {
                            name: node.name().to_owned(),
                            duration: done.duration,
                        });
                        tracing::debug!(
                            node = %node.name(),
                            "completed {} out of {total} tasks",
                            nodes.len()
                        );
                    }
                    Err(cause) => {
                        let completed = nodes.into_iter().map(|n| n.name).collect();
                        return Err(failed(&prepared, node.name().to_owned(), cause, completed));
                    }
                }
            }
            Ok(RunOutput {
                run_id: prepared.run_id.clone(),
                outputs,
                nodes,
            })
        })
    }
}
