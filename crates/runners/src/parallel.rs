//! The parallel runner: a rayon pool runs every node as soon as its inputs
//! exist. The worker that finishes a node decrements its children's in-degree
//! counters and starts those that became ready; completions go over a
//! crossbeam channel to the calling thread, which releases datasets and keeps
//! the record.
//!
//! Nodes share memory: no pickling, no process boundary, no GIL. Scheduling is
//! O(1) per completion, not Kedro's O(N) ready scan.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crossbeam_channel::Sender;

use tandem_catalog::DataCatalog;
use tandem_pipeline_core::Pipeline;

use crate::error::Error;
use crate::hooks::{Hook, RunInfo, panic_message};
use crate::plan::Plan;
use crate::runner::{Record, RunOptions, RunOutput, Runner, prepare, with_pipeline_hooks};
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
            let schedule = Schedule {
                pending: (0..total)
                    .map(|i| AtomicUsize::new(p.parents_of(i).len()))
                    .collect(),
                stopped: RwLock::new(false),
                started: AtomicUsize::new(0),
            };
            let mut record = Record::new(&prepared);
            let mut failure: Option<(String, Error)> = None;
            let (tx, rx) = crossbeam_channel::unbounded::<(usize, Outcome)>();
            let ctx = WorkerContext {
                pipeline: p,
                run,
                hooks,
                plan: &prepared.plan,
                schedule: &schedule,
                tx,
            };

            pool.in_place_scope(|scope| {
                for i in (0..total).filter(|&i| p.parents_of(i).is_empty()) {
                    ctx.start(scope, i);
                }
                let mut received = 0usize;
                // Workers count a child as started before reporting its parent,
                // so once every started node has reported, nothing can follow.
                while received < schedule.started.load(Ordering::SeqCst) {
                    let Ok((i, outcome)) = rx.recv() else {
                        break;
                    };
                    received += 1;
                    let node = &p.node_arcs()[i];
                    match outcome {
                        Outcome::Ran(Ok(done)) => record.completed(i, node, done),
                        Outcome::Ran(Err(cause)) => {
                            if failure.is_none() {
                                failure = Some((node.name().to_owned(), cause));
                            }
                        }
                        Outcome::NotStarted => {}
                    }
                }
            });

            match failure {
                Some((node, cause)) => Err(record.fail(node, cause)),
                None => Ok(record.finish()),
            }
        })
    }
}

/// What a worker reports for a node handed to the pool.
enum Outcome {
    /// The node ran (successfully or not).
    Ran(Result<NodeDone, Error>),
    /// The run had failed by the time the pool got to the node, so it did
    /// not start (it was queued before the failure).
    NotStarted,
}

/// Shared scheduling state: in-degree counters and the stop flag.
struct Schedule {
    /// Parents not yet finished, per node.
    pending: Vec<AtomicUsize>,
    /// Set on the first failure; taken for writing so no node can start
    /// between the failure and the flag (readers are the starting workers).
    stopped: RwLock<bool>,
    /// Nodes handed to the pool so far.
    started: AtomicUsize,
}

/// What a worker needs to run a node and start its children.
struct WorkerContext<'a> {
    pipeline: &'a Pipeline,
    run: &'a RunInfo<'a>,
    hooks: &'a [Arc<dyn Hook>],
    plan: &'a Plan,
    schedule: &'a Schedule,
    tx: Sender<(usize, Outcome)>,
}

impl<'a> WorkerContext<'a> {
    /// Runs node `i` on the pool. A worker that finishes a node starts the
    /// children it made ready itself, so a chain never waits for a round
    /// trip through the scheduler thread.
    fn start<'s>(&'s self, scope: &rayon::Scope<'s>, i: usize)
    where
        'a: 's,
    {
        self.schedule.started.fetch_add(1, Ordering::SeqCst);
        scope.spawn(move |scope| {
            let node = &self.pipeline.node_arcs()[i];
            if *self
                .schedule
                .stopped
                .read()
                .unwrap_or_else(|p| p.into_inner())
            {
                let _ = self.tx.send((i, Outcome::NotStarted));
                return;
            }
            // run_node contains the panics of the node, its hooks and its
            // datasets; this is the last line, so that whatever unwinds the
            // worker is still reported and the scheduler never waits forever.
            let result = catch_unwind(AssertUnwindSafe(|| {
                run_node(i, node, self.run, self.hooks, self.plan)
            }))
            .unwrap_or_else(|payload| {
                Err(Error::Panic {
                    node: node.name().to_owned(),
                    message: panic_message(payload.as_ref()),
                })
            });
            match &result {
                Ok(_) => {
                    let stopped = self
                        .schedule
                        .stopped
                        .read()
                        .unwrap_or_else(|p| p.into_inner());
                    if !*stopped {
                        for &child in self.pipeline.children_of(i) {
                            if self.schedule.pending[child].fetch_sub(1, Ordering::AcqRel) == 1 {
                                self.start(scope, child);
                            }
                        }
                    }
                }
                Err(_) => {
                    *self
                        .schedule
                        .stopped
                        .write()
                        .unwrap_or_else(|p| p.into_inner()) = true;
                }
            }
            // The receiver lives until every started node has reported.
            let _ = self.tx.send((i, Outcome::Ran(result)));
        });
    }
}
