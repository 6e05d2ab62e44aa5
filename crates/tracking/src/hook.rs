//! [`MlflowHook`]: every tracked `tandem run` is an MLflow run, and a
//! training run of a [`PipelineMl`] ends by logging its inference pipeline
//! as a model (kedro-mlflow's `MlflowHook`).

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{Map, Value};
use tandem_catalog::DataCatalog;
use tandem_mlflow_client::{MlflowClient, NewRun, RunStatus, RunUpdate, Tag};
use tandem_pipeline_core::{Data, Node};
use tandem_runners::{DataMap, Hook, HookResult, RunInfo};

use crate::config::MlflowConfig;
use crate::context::{ActiveRun, TrackingContext};
use crate::error::Error;
use crate::logging::{check_registry, log_pipeline_model};
use crate::params::{consumed_parameters, params_to_log};

mod shared_run;
pub use shared_run::end_shared_run;
use tandem_pipeline_ml::PipelineMl;
use tandem_pipeline_model::SaveOptions;

/// Tags every tracked run gets.
pub mod tags {
    /// The command line that started the run.
    pub const COMMAND: &str = "tandem.command";
    /// The tandem version.
    pub const VERSION: &str = "tandem.version";
    /// The pipeline name(s) run.
    pub const PIPELINE: &str = "tandem.pipeline";
    /// tandem's own run id (the catalog's save version).
    pub const RUN_ID: &str = "tandem.run_id";
    /// The error of a failed run.
    pub const ERROR: &str = "tandem.error";
}

/// MLflow's own variable naming a run to resume; a tracked `tandem run`
/// with it set joins that run (see [`MlflowHook::joining`]).
pub const MLFLOW_RUN_ID: &str = "MLFLOW_RUN_ID";

/// Tag values over this are cut: MLflow limits tag values to 8000
/// characters, and an error message needs far less.
const MAX_ERROR_TAG: usize = 5000;

/// The project a hook tracks: where it is and its credentials.
#[derive(Clone, Default)]
pub struct TrackingProject {
    /// The project root (relative tracking paths and the default
    /// experiment name come from it).
    pub root: PathBuf,
    /// The merged credentials.yml, for `server.credentials`.
    pub credentials: Map<String, Value>,
}

impl std::fmt::Debug for TrackingProject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackingProject")
            .field("root", &self.root)
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What the hook keeps between callbacks of one run.
#[derive(Default)]
struct RunState {
    /// What the signature and input example need of the `input_name` data
    /// as the run last loaded or saved it (see `signature_sample`): the
    /// runner may release that dataset before they are inferred, and the
    /// whole table would stay in memory for the rest of the run.
    input: Option<Data>,
}

/// Tracks pipeline runs in MLflow. With tracking disabled for the
/// pipeline it does nothing at all: no client, no directory, no request.
pub struct MlflowHook {
    config: MlflowConfig,
    project: TrackingProject,
    pipeline_name: String,
    ml: Option<PipelineMl>,
    save: SaveOptions,
    command_line: Option<String>,
    context: TrackingContext,
    /// A run opened by another process (`MLFLOW_RUN_ID`) that this one
    /// logs into and leaves open.
    joined: Option<String>,
    state: Mutex<RunState>,
}

impl MlflowHook {
    /// A hook for runs of the pipeline called `pipeline_name`; `ml` is that
    /// pipeline when it is a [`PipelineMl`] (as filtered for the run), whose
    /// model is then logged with `save` at the end of a successful run.
    pub fn new(
        config: MlflowConfig,
        project: TrackingProject,
        pipeline_name: impl Into<String>,
        ml: Option<PipelineMl>,
        save: SaveOptions,
    ) -> Self {
        let ml = ml.map(|ml| {
            let mut options = ml.options().clone();
            options.log_model = config.tracking.model.apply(&options.log_model);
            ml.with_options(options)
        });
        MlflowHook {
            config,
            project,
            pipeline_name: pipeline_name.into(),
            ml,
            save,
            command_line: None,
            context: TrackingContext::new(),
            joined: None,
            state: Mutex::new(RunState::default()),
        }
    }

    /// Shares `context` with the MLflow datasets of the run's catalog.
    #[must_use]
    pub fn with_context(mut self, context: TrackingContext) -> Self {
        self.context = context;
        self
    }

    /// Records `command_line` as the run's `tandem.command` tag.
    #[must_use]
    pub fn with_command_line(mut self, command_line: impl Into<String>) -> Self {
        self.command_line = Some(command_line.into());
        self
    }

    /// Joins `run_id`, a run another process opened (one task of a DAG
    /// run, with `MLFLOW_RUN_ID` set): the hook logs tags, params and the
    /// datasets' values into it, as kedro-mlflow does in a run already
    /// active, but neither logs the PipelineMl's model (the DAG's final
    /// task does, once) nor ends the run, even FAILED: a failed try may be
    /// retried into the same run, so the orchestrator ends it when the
    /// task fails for good.
    #[must_use]
    pub fn joining(mut self, run_id: Option<String>) -> Self {
        self.joined = run_id.filter(|id| !id.trim().is_empty());
        self
    }

    /// The context holding the active run.
    pub fn context(&self) -> &TrackingContext {
        &self.context
    }

    fn tracked(&self) -> bool {
        self.config.is_tracked(&self.pipeline_name)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RunState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn start(&self, run: &RunInfo<'_>) -> Result<ActiveRun, Error> {
        let client = self
            .config
            .client(&self.project.root, &self.project.credentials)?;
        if let Some(ml) = self.ml.as_ref().filter(|_| self.joined.is_none()) {
            check_registry(&client, &ml.options().log_model)?;
        }
        let experiment_id = match &self.joined {
            // The run's own experiment, whatever mlflow.yml names.
            Some(id) => client.get_run(id)?.info.experiment_id,
            None => self.experiment(&client)?,
        };
        let mut tags = vec![
            Tag::new(tags::VERSION, env!("CARGO_PKG_VERSION")),
            Tag::new(tags::PIPELINE, &self.pipeline_name),
            Tag::new(tags::RUN_ID, run.run_id),
        ];
        if let Some(command) = &self.command_line {
            tags.push(Tag::new(tags::COMMAND, command));
        }
        let resumed = self
            .joined
            .as_ref()
            .or(self.config.tracking.run.id.as_ref());
        let run_id = match resumed {
            Some(id) => {
                client.update_run(
                    id,
                    &RunUpdate {
                        status: Some(RunStatus::Running),
                        ..RunUpdate::default()
                    },
                )?;
                client.log_batch(id, &[], &[], &tags)?;
                id.clone()
            }
            None => {
                let name = self
                    .config
                    .tracking
                    .run
                    .name
                    .clone()
                    .unwrap_or_else(|| self.pipeline_name.clone());
                let mut new = NewRun::new(&experiment_id).name(name);
                // A fresh run only: MLflow adds no context tags to a run
                // it resumes by id. The run's own tags follow, so they win.
                new.tags = crate::provenance::run_tags(&self.project.root);
                new.tags.extend(tags);
                new.user_id = crate::provenance::user();
                let operation = format!("create_run in experiment {experiment_id}");
                client
                    .operation(&operation, || client.create_run(&new))?
                    .info
                    .run_id
            }
        };
        let active = ActiveRun {
            client,
            experiment_id,
            run_id,
            shared: self.joined.is_some(),
        };
        // Shared at once, so a signal from here on ends this run FAILED.
        self.context.set(Some(active.clone()));
        self.log_params(&active, run).inspect_err(|e| {
            self.context.set(None);
            fail(&active, e);
        })?;
        Ok(active)
    }

    fn experiment(&self, client: &MlflowClient) -> Result<String, Error> {
        let name = self.config.experiment_name(&self.project.root);
        if self.config.tracking.experiment.restore_if_deleted
            && let Some(found) = client.get_experiment_by_name(&name)?
            && found.is_deleted()
        {
            client.restore_experiment(&found.experiment_id)?;
            return Ok(found.experiment_id);
        }
        if client.get_experiment_by_name(&name)?.is_none() {
            let kwargs = &self.config.tracking.experiment.create_experiment_kwargs;
            let location = self.config.experiment_artifact_location(&self.project.root);
            let tags: Vec<Tag> = kwargs
                .tags
                .iter()
                .flatten()
                .map(|(key, value)| Tag::new(key, crate::python_str::python_str(value)))
                .collect();
            match client.create_experiment(&name, location.as_deref(), &tags) {
                Ok(id) => return Ok(id),
                // Created by another process in between: use it.
                Err(e) if e.is_already_exists() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(client.get_or_create_experiment(&name)?.experiment_id)
    }

    /// Logs every parameter the pipeline's nodes consume, in one batch.
    fn log_params(&self, active: &ActiveRun, run: &RunInfo<'_>) -> Result<(), Error> {
        let mut values = Vec::new();
        for name in consumed_parameters(run.pipeline) {
            let value = parameter_json(run.catalog, &name)?;
            values.push((name, value));
        }
        let (params, tags) = params_to_log(&values, &self.config.tracking.params)?;
        Ok(active
            .client
            .log_batch(&active.run_id, &[], &params, &tags)?)
    }

    fn capture(&self, dataset: &str, data: &Data) {
        if self
            .ml
            .as_ref()
            .is_some_and(|ml| ml.input_name() == dataset)
            && self.context.active().is_some()
        {
            let sample =
                tandem_pipeline_model::model::signature_sample(data, self.save.example_rows);
            self.state().input = Some(sample);
        }
    }

    fn finish(&self, active: &ActiveRun, run: &RunInfo<'_>) -> Result<(), Error> {
        if self.joined.is_some() {
            // The DAG's final task logs the model and ends the run.
            return Ok(());
        }
        if let Some(ml) = &self.ml {
            // The captured sample, not the catalog's dataset: the runner may
            // have released an in-memory input, and reloading a persisted one
            // would read the whole table again (kedro-mlflow fails on the
            // first and does the second).
            let save = SaveOptions {
                input: self.state().input.take(),
                ..self.save.clone()
            };
            log_pipeline_model(
                &active.client,
                &active.experiment_id,
                Some(&active.run_id),
                ml,
                run.catalog,
                &save,
            )?;
        }
        active.client.end_run(&active.run_id, RunStatus::Finished)?;
        Ok(())
    }
}

impl Hook for MlflowHook {
    fn name(&self) -> &str {
        "MlflowHook"
    }

    fn before_pipeline_run(&self, run: &RunInfo<'_>) -> HookResult {
        if !self.tracked() {
            return Ok(());
        }
        let active = self.start(run)?;
        tracing::info!(
            run_id = %active.run_id,
            tracking_uri = %active.client.tracking_uri(),
            "MLflow run started"
        );
        self.context.set(Some(active));
        Ok(())
    }

    fn after_pipeline_run(&self, run: &RunInfo<'_>, _outputs: &DataMap) -> HookResult {
        let Some(active) = self.context.active() else {
            return Ok(());
        };
        // On error the run stays active, for on_pipeline_error to fail it.
        self.finish(&active, run)?;
        self.context.set(None);
        Ok(())
    }

    fn on_pipeline_error(&self, _run: &RunInfo<'_>, error: &tandem_runners::Error) {
        self.state().input = None;
        let Some(active) = self.context.take() else {
            return;
        };
        if self.joined.is_some() {
            // A retry resumes this run; the failure callback ends it.
            tracing::warn!(run_id = %active.run_id, "task failed; the shared MLflow run stays open: {error}");
            return;
        }
        fail(&active, error);
    }

    fn after_dataset_loaded(
        &self,
        _run: &RunInfo<'_>,
        dataset: &str,
        data: &Data,
        _node: &Node,
    ) -> HookResult {
        self.capture(dataset, data);
        Ok(())
    }

    fn after_dataset_saved(
        &self,
        _run: &RunInfo<'_>,
        dataset: &str,
        data: &Data,
        _node: &Node,
    ) -> HookResult {
        self.capture(dataset, data);
        Ok(())
    }
}

/// Ends `active` FAILED with `error` as a tag, and any logged model still
/// PENDING failed, within the client's short cleanup budget: after a
/// failure (often the server's) this must not take a second retry budget.
/// Best effort: the run's own error is what the caller reports, so a
/// second failure is only logged.
pub(crate) fn fail(active: &ActiveRun, error: &dyn std::fmt::Display) {
    let message: String = error.to_string().chars().take(MAX_ERROR_TAG).collect();
    let client = &active.client;
    let operation = format!("mark run {} FAILED", active.run_id);
    let ended = client.cleanup(&operation, || {
        let models = client.fail_pending_models().map(drop);
        let tagged = client.set_tag(&active.run_id, tags::ERROR, &message);
        client.end_run(&active.run_id, RunStatus::Failed)?;
        models.and(tagged)
    });
    if let Err(e) = ended {
        tracing::warn!(run_id = %active.run_id, "could not end the MLflow run as FAILED: {e}");
    }
}

/// A parameter dataset's value as JSON.
fn parameter_json(catalog: &DataCatalog, name: &str) -> Result<Value, Error> {
    let data = catalog.load(name)?;
    if let Ok(value) = data.downcast_ref::<Value>() {
        return Ok(value.clone());
    }
    match data.to_json() {
        Some(Ok(value)) => Ok(value),
        _ => Ok(Value::String(format!("<{}>", data.type_name()))),
    }
}
