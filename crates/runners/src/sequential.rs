//! The sequential runner: Kedro's execution order, one node at a time.

use std::sync::Arc;

use tandem_catalog::DataCatalog;
use tandem_pipeline_core::Pipeline;

use crate::error::Error;
use crate::hooks::Hook;
use crate::runner::{Record, RunOptions, RunOutput, Runner, prepare, with_pipeline_hooks};
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
            let mut record = Record::new(&prepared);
            for (i, node) in prepared.pipeline.node_arcs().iter().enumerate() {
                match run_node(i, node, run, hooks, &prepared.plan) {
                    Ok(done) => record.completed(i, node, done),
                    Err(cause) => return Err(record.fail(node.name().to_owned(), cause)),
                }
            }
            Ok(record.finish())
        })
    }
}
