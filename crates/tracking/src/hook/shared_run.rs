//! One MLflow run across the processes of a DAG run: a first task opens it
//! ([`MlflowHook::open_run`]), every task joins it
//! ([`MlflowHook::joining`]), a final task logs the PipelineMl's model once
//! and ends it ([`MlflowHook::close_run`]).

use tandem_mlflow_client::{LoggedModelStatus, MlflowClient, RunStatus};
use tandem_pipeline_model::SaveOptions;
use tandem_runners::RunInfo;

use super::{MlflowHook, fail};
use crate::context::ActiveRun;
use crate::error::Error;
use crate::logging::{LoggedPipelineModel, log_pipeline_model};

impl MlflowHook {
    /// Opens the run the tasks of a DAG run share, as a tracked `tandem
    /// run` of `run.pipeline` would start it (experiment, run name, tags,
    /// every parameter the pipeline's nodes consume), and leaves it
    /// RUNNING. Returns its id.
    pub fn open_run(&self, run: &RunInfo<'_>) -> Result<String, Error> {
        let active = self.start(run)?;
        self.context.set(None);
        Ok(active.run_id)
    }

    /// Ends the shared run `run_id` FINISHED, first logging the
    /// PipelineMl's model into it from `run.catalog` (so at the versions
    /// that catalog loads) and registering it per mlflow.yml's
    /// `tracking.model`. A model of that name already READY in the run is
    /// not logged again, so a retried final task logs one model. A failure
    /// leaves the run open: the orchestrator's failure path ends it.
    pub fn close_run(
        &self,
        run_id: &str,
        run: &RunInfo<'_>,
    ) -> Result<Option<LoggedPipelineModel>, Error> {
        let client = self
            .config
            .client(&self.project.root, &self.project.credentials)?;
        let found = client.get_run(run_id)?;
        let mut logged = None;
        if let Some(ml) = &self.ml
            && !has_ready_model(&client, &found, &ml.options().log_model.name)?
        {
            let model = log_pipeline_model(
                &client,
                &found.info.experiment_id,
                Some(run_id),
                ml,
                run.catalog,
                &SaveOptions {
                    input: None,
                    ..self.save.clone()
                },
            )?;
            logged = Some(model);
        }
        client.end_run(run_id, RunStatus::Finished)?;
        Ok(logged)
    }
}

/// Ends `run_id` with `status`; FAILED also fails the logged models it
/// left PENDING and records `reason` as its `tandem.error` tag (the DAG's
/// failure path).
pub fn end_shared_run(
    client: &MlflowClient,
    run_id: &str,
    status: RunStatus,
    reason: &str,
) -> Result<(), Error> {
    let found = client.get_run(run_id)?;
    if status == RunStatus::Failed {
        let active = ActiveRun {
            client: client.clone(),
            experiment_id: found.info.experiment_id,
            run_id: run_id.to_owned(),
            shared: true,
        };
        fail(&active, &reason);
        // fail() is best effort; the caller needs to know it took.
        if client.get_run(run_id)?.info.status != RunStatus::Failed {
            client.end_run(run_id, RunStatus::Failed)?;
        }
        return Ok(());
    }
    client.end_run(run_id, status)?;
    Ok(())
}

/// Whether the run already has an output model called `name` that is
/// READY (a PENDING or failed one from a killed try is logged anew).
fn has_ready_model(
    client: &MlflowClient,
    run: &tandem_mlflow_client::Run,
    name: &str,
) -> Result<bool, Error> {
    for output in &run.outputs.model_outputs {
        let model = client.get_logged_model(&output.model_id)?;
        if model.info.name == name && model.info.status == LoggedModelStatus::Ready {
            return Ok(true);
        }
    }
    Ok(false)
}
