//! The parallel runner: a rayon pool runs every node as soon as its inputs
//! exist; completions come back over a crossbeam channel to one scheduler
//! thread, which releases datasets and starts newly ready nodes.
//!
//! Nodes share memory: no pickling, no process boundary, no GIL. Scheduling is
//! O(1) per completion (in-degree counters), not Kedro's O(N) ready scan.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use tandem_catalog::DataCatalog;
use tandem_pipeline_core::Pipeline;

use crate::error::Error;
use crate::hooks::Hook;
use crate::release::Releaser;
use crate::runner::{NodeRun, RunOptions, RunOutput, Runner, failed, prepare, with_pipeline_hooks};
use crate::task::{NodeDone, run_node};

/// Runs independent nodes concurrently on `max_workers` threads.
///
/// On failure nothing new starts; nodes already running finish and their
/// outputs are saved; the resume hint is computed after they have finished.
#[derive(Clone, Copy, Debug)]
pub struct ParallelRunner {
    max_workers: usize,
}

impl ParallelRunner {
    /// A runner with `max_workers` threads (default: the number of cores).
    pub fn new(max_workers: Option<usize>) -> Result<Self, Error> {
        let max_workers = match max_workers {
            Some(0) => return Err(Error::InvalidMaxWorkers),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        Ok(ParallelRunner { max_workers })
    }

    /// The configured worker count.
    pub fn max_workers(&self) -> usize {
        self.max_workers
    }
}

impl Default for ParallelRunner {
    fn default() -> Self {
        ParallelRunner {
            max_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl Runner for ParallelRunner {
    fn run(
        &self,
        pipeline: &Pipeline,
        catalog: &DataCatalog,
        hooks: &[Arc<dyn Hook>],
        options: &RunOptions,
    ) -> Result<RunOutput, Error> {
        let prepared = prepare(pipeline, catalog, options)?;
        let p = &prepared.pipeline;
        // No more threads than the widest possible set of concurrent nodes.
        let widest = (p.len() + 1).saturating_sub(p.layers().len()).max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.max_workers.min(widest))
            .thread_name(|i| format!("tandem-node-{i}"))
            .build()
            .map_err(|e| Error::ThreadPool(e.to_string()))?;

        with_pipeline_hooks(&prepared, catalog, hooks, |run| {
            let total = p.len();
            let mut pending: Vec<usize> = (0..total).map(|i| p.parents_of(i).len()).collect();
            let mut ready: VecDeque<usize> = (0..total).filter(|&i| pending[i] == 0).collect();
            let mut releaser = Releaser::new(p);
            let free_outputs = p.outputs();
            let mut outputs = BTreeMap::new();
            let mut nodes = Vec::with_capacity(total);
            let mut failure: Option<(String, Error)> = None;
            let (tx, rx) = crossbeam_channel::unbounded::<(usize, Result<NodeDone, Error>)>();

            pool.in_place_scope(|scope| {
                let mut running = 0usize;
                loop {
                    if failure.is_none() {
                        while let Some(i) = ready.pop_front() {
                            running += 1;
                            let tx = tx.clone();
                            let node = &p.node_arcs()[i];
                            let datasets = &prepared.datasets;
                            scope.spawn(move |_| {
                                // The receiver outlives the scope, so a send cannot fail.
                                let _ = tx.send((i, run_node(node, run, hooks, datasets)));
                            });
                        }
                    }
                    if running == 0 {
                        break;
                    }
                    let Ok((i, result)) = rx.recv() else {
                        break;
                    };
                    running -= 1;
                    let node = &p.node_arcs()[i];
                    match result {
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
                            tracing::info!(
                                node = %node.name(),
                                "completed {} out of {total} tasks",
                                nodes.len()
                            );
                            for &child in p.children_of(i) {
                                pending[child] -= 1;
                                if pending[child] == 0 {
                                    ready.push_back(child);
                                }
                            }
                        }
                        Err(cause) => {
                            if failure.is_none() {
                                failure = Some((node.name().to_owned(), cause));
                            }
                        }
                    }
                }
            });

            if let Some((node, cause)) = failure {
                let completed = nodes.into_iter().map(|n| n.name).collect();
                return Err(failed(&prepared, node, cause, completed));
            }
            Ok(RunOutput {
                run_id: prepared.run_id.clone(),
                outputs,
                nodes,
            })
        })
    }
}
