//! The run a tracked pipeline is logging to, shared between the hook that
//! starts and ends it and the MLflow datasets that log into it.

use std::sync::{Arc, RwLock};

use tandem_mlflow_client::MlflowClient;

/// An MLflow run in progress.
#[derive(Clone, Debug)]
pub struct ActiveRun {
    /// The client the run is logged with.
    pub client: MlflowClient,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// The MLflow run id.
    pub run_id: String,
    /// Opened by another process and shared by the tasks of a DAG run: the
    /// metric datasets skip the points it already holds, so a retried task
    /// logs nothing twice.
    pub shared: bool,
}

/// A shared slot holding the active run, if any. Cloning shares the slot:
/// give one clone to [`MlflowHook`](super::MlflowHook) and another to
/// [`register_datasets`](super::register_datasets).
#[derive(Clone, Debug, Default)]
pub struct TrackingContext {
    active: Arc<RwLock<Option<ActiveRun>>>,
}

impl TrackingContext {
    /// An empty context (no run active).
    pub fn new() -> Self {
        TrackingContext::default()
    }

    /// The active run, if a tracked pipeline is running.
    pub fn active(&self) -> Option<ActiveRun> {
        // A writer only ever replaces the value whole, so a poisoned lock
        // still holds a consistent one.
        self.active
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Ends the active run, if any, FAILED (as kedro-mlflow's
    /// `on_pipeline_error` does when a run is interrupted) with `reason` as
    /// its `tandem.error` tag, and the logged models it left PENDING failed;
    /// for a process stopped by a signal. Returns the run ended.
    pub fn interrupt(&self, reason: &str) -> Option<String> {
        let active = self.take()?;
        crate::hook::fail(&active, &reason);
        Some(active.run_id)
    }

    pub(crate) fn set(&self, run: Option<ActiveRun>) {
        *self
            .active
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = run;
    }

    pub(crate) fn take(&self) -> Option<ActiveRun> {
        self.active
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}
