//! Hooks: code that runs around pipelines, nodes and dataset operations.
//!
//! Every method has a no-op default, so a hook implements only what it needs.
//! Hooks are called from worker threads under the parallel runner, hence
//! `Send + Sync`. A hook returning an error fails the run (the MLflow hook,
//! say, cannot start its run).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use tandem_catalog::DataCatalog;
use tandem_pipeline_core::{BoxError, Data, Node, Pipeline};

use crate::error::Error;

/// What a hook method returns.
pub type HookResult = Result<(), BoxError>;

/// Inputs or outputs of a node by dataset name.
pub type DataMap = BTreeMap<String, Data>;

/// The run a hook is called for.
#[derive(Clone, Copy)]
pub struct RunInfo<'a> {
    /// The run id (by default the catalog's save version, like Kedro's session id).
    pub run_id: &'a str,
    /// The pipeline being run (after filtering).
    pub pipeline: &'a Pipeline,
    /// The catalog the run reads and writes.
    pub catalog: &'a DataCatalog,
}

/// Callbacks around a run. Register several; they are called in registration order.
#[allow(unused_variables)]
pub trait Hook: Send + Sync {
    /// A name for error messages.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// Before any node runs.
    fn before_pipeline_run(&self, run: &RunInfo<'_>) -> HookResult {
        Ok(())
    }

    /// After every node ran, with the pipeline's free outputs.
    fn after_pipeline_run(&self, run: &RunInfo<'_>, outputs: &DataMap) -> HookResult {
        Ok(())
    }

    /// When the run fails; the error is returned to the caller afterwards.
    fn on_pipeline_error(&self, run: &RunInfo<'_>, error: &Error) {}

    /// Before a node runs; returning `Some` replaces those inputs.
    fn before_node_run(
        &self,
        run: &RunInfo<'_>,
        node: &Node,
        inputs: &DataMap,
    ) -> Result<Option<DataMap>, BoxError> {
        Ok(None)
    }

    /// After a node ran, before its outputs are saved.
    fn after_node_run(
        &self,
        run: &RunInfo<'_>,
        node: &Node,
        inputs: &DataMap,
        outputs: &DataMap,
    ) -> HookResult {
        Ok(())
    }

    /// When a node fails (error or panic).
    fn on_node_error(&self, run: &RunInfo<'_>, node: &Node, error: &Error, inputs: &DataMap) {}

    /// Before a node's input is loaded.
    fn before_dataset_loaded(&self, run: &RunInfo<'_>, dataset: &str, node: &Node) -> HookResult {
        Ok(())
    }

    /// After a node's input was loaded.
    fn after_dataset_loaded(
        &self,
        run: &RunInfo<'_>,
        dataset: &str,
        data: &Data,
        node: &Node,
    ) -> HookResult {
        Ok(())
    }

    /// Before a node's output is saved.
    fn before_dataset_saved(
        &self,
        run: &RunInfo<'_>,
        dataset: &str,
        data: &Data,
        node: &Node,
    ) -> HookResult {
        Ok(())
    }

    /// After a node's output was saved.
    fn after_dataset_saved(
        &self,
        run: &RunInfo<'_>,
        dataset: &str,
        data: &Data,
        node: &Node,
    ) -> HookResult {
        Ok(())
    }
}

/// Calls `f` on every hook, stopping at the first error. A panicking hook
/// is an error too: unwinding past the runner would skip
/// `on_pipeline_error` (leaving an MLflow run RUNNING) and, on a worker
/// thread, never report the node to the scheduler.
pub(crate) fn each(
    hooks: &[std::sync::Arc<dyn Hook>],
    stage: &'static str,
    mut f: impl FnMut(&dyn Hook) -> HookResult,
) -> Result<(), Error> {
    for hook in hooks {
        let hook = hook.as_ref();
        match catch_unwind(AssertUnwindSafe(|| f(hook))) {
            Ok(Ok(())) => {}
            Ok(Err(source)) => {
                return Err(Error::Hook {
                    hook: hook.name().to_owned(),
                    stage,
                    source,
                });
            }
            Err(payload) => {
                return Err(Error::HookPanic {
                    hook: hook.name().to_owned(),
                    stage,
                    message: panic_message(payload.as_ref()),
                });
            }
        }
    }
    Ok(())
}

/// Calls a hook that is told of a failure (`on_node_error`,
/// `on_pipeline_error`) on every hook: the run already has its error, so a
/// panicking one is logged and the others are still told.
pub(crate) fn notify(
    hooks: &[std::sync::Arc<dyn Hook>],
    stage: &'static str,
    mut f: impl FnMut(&dyn Hook),
) {
    for hook in hooks {
        let hook = hook.as_ref();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(hook))) {
            tracing::error!(
                "hook {} panicked in {stage}: {}",
                hook.name(),
                panic_message(payload.as_ref())
            );
        }
    }
}

/// A panic's message: its payload when that is a string.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}
