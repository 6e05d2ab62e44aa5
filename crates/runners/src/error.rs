//! The runners' error type; each variant has a stable kind (see [`Error::kind`]).

use std::fmt;

use tandem_pipeline_core::BoxError;

use crate::resume::ResumeHint;

/// Why a run did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Free inputs of the pipeline that the catalog does not provide.
    #[error(
        "pipeline input(s) {} not found in the catalog; add them to catalog.yml or pass them \
         as parameters",
        quoted(.names)
    )]
    MissingInputs {
        /// Every missing input, sorted.
        names: Vec<String>,
    },

    /// `max_workers` was zero.
    #[error("max_workers should be positive")]
    InvalidMaxWorkers,

    /// The catalog failed (loading, saving, resolving a dataset).
    #[error(transparent)]
    Catalog(#[from] tandem_catalog::Error),

    /// The node or pipeline failed (type mismatch, function error...).
    #[error(transparent)]
    Pipeline(#[from] tandem_pipeline_core::Error),

    /// A node's function panicked; the panic was contained.
    #[error("node '{node}' panicked: {message}")]
    Panic {
        /// The node's full name.
        node: String,
        /// The panic payload, when it was a string.
        message: String,
    },

    /// A hook panicked; the panic was contained and fails the run.
    #[error("hook {hook} panicked in {stage}: {message}")]
    HookPanic {
        /// The hook's name.
        hook: String,
        /// Which hook method panicked.
        stage: &'static str,
        /// The panic payload, when it was a string.
        message: String,
    },

    /// A dataset panicked while loading or saving; the panic was contained.
    #[error("dataset '{dataset}' panicked in {operation}: {message}")]
    DatasetPanic {
        /// The dataset name.
        dataset: String,
        /// `load` or `save`.
        operation: &'static str,
        /// The panic payload, when it was a string.
        message: String,
    },

    /// The worker thread pool could not be started.
    #[error("could not start the worker pool: {0}")]
    ThreadPool(String),

    /// A hook returned an error.
    #[error("hook {hook} failed in {stage}: {source}")]
    Hook {
        /// The hook's name.
        hook: String,
        /// Which hook method failed.
        stage: &'static str,
        /// The hook's error.
        #[source]
        source: BoxError,
    },

    /// A node failed; the run stopped and this says what completed and how to resume.
    #[error("{0}")]
    RunFailed(Box<RunFailure>),
}

impl Error {
    /// The stable, machine-readable kind of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::MissingInputs { .. } => "missing_inputs",
            Error::InvalidMaxWorkers => "invalid_max_workers",
            Error::Catalog(e) => e.kind(),
            Error::Pipeline(e) => e.kind(),
            Error::Panic { .. } => "node_panicked",
            Error::HookPanic { .. } => "hook_panicked",
            Error::DatasetPanic { .. } => "dataset_panicked",
            Error::ThreadPool(_) => "thread_pool",
            Error::Hook { .. } => "hook_failed",
            Error::RunFailed(_) => "run_failed",
        }
    }

    /// The failure details when a node failed.
    pub fn failure(&self) -> Option<&RunFailure> {
        match self {
            Error::RunFailed(f) => Some(f),
            _ => None,
        }
    }
}

/// What is known about a run that failed at a node.
#[derive(Debug)]
pub struct RunFailure {
    /// The node that failed first.
    pub node: String,
    /// Why it failed.
    pub cause: Error,
    /// Nodes that completed (their outputs were saved), in completion order.
    pub completed: Vec<String>,
    /// How to resume, computed once every running node had finished.
    pub resume: ResumeHint,
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cause = self.cause.to_string();
        // Node errors already name the node; catalog and hook errors do not.
        if cause.contains(&format!("'{}'", self.node)) {
            write!(f, "{cause}\n{}", self.resume)
        } else {
            write!(f, "node '{}' failed: {cause}\n{}", self.node, self.resume)
        }
    }
}

fn quoted(names: &[String]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", q.join(", "))
}
