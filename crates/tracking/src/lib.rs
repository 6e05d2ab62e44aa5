//! MLflow tracking for pipeline runs (kedro-mlflow's hook, datasets and
//! `modelify`).
//!
//! - [`MlflowConfig`] reads `mlflow.yml` from the project's configuration.
//! - [`MlflowHook`] makes every tracked run an MLflow run: experiment and
//!   run, tags, the parameters nodes consume, and — for a [`PipelineMl`] —
//!   the inference pipeline logged as a model at the end of training.
//! - One run across processes (the tasks of a DAG run):
//!   [`MlflowHook::open_run`] opens it, a hook [`joining`](MlflowHook::joining)
//!   it (`MLFLOW_RUN_ID`) logs into it and leaves it open,
//!   [`MlflowHook::close_run`] logs the model once and ends it, and
//!   [`end_shared_run`] ends it FAILED.
//! - [`TrackingContext`] shares the active run with the MLflow datasets
//!   [`register_datasets`] adds to a dataset registry.
//! - [`log_pipeline_model`] logs an already-trained pipeline (`modelify`).
//!
//! ```
//! use tandem_mlflow_client::MlflowClient;
//! use tandem_pipeline_model::save_options;
//! use tandem_tracking::log_pipeline_model;
//!
//! // A trained PipelineMl and the catalog its training run used.
//! let (project, catalog, ml) = tandem_test_support::project::trained(Default::default());
//! let client = MlflowClient::local(project.path().join("mlruns"))?;
//! let experiment = client.get_or_create_experiment("demo")?;
//! let logged = log_pipeline_model(
//!     &client, &experiment.experiment_id, None, &ml, &catalog, &save_options!(),
//! )?;
//! assert!(logged.model_uri.starts_with("models:/"), "{}", logged.model_uri);
//! assert!(logged.mlmodel.flavors.contains_key("tandem"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`PipelineMl`]: tandem_pipeline_ml::PipelineMl

mod config;
mod context;
mod datasets;
mod datasets_metrics;
mod datasets_model;
mod error;
mod hook;
mod logging;
mod params;
pub mod provenance;
mod python_str;
mod random_name;

pub use config::{
    CreateExperimentKwargs, DictParams, DisableTracking, ExperimentConfig, HeaderProvider,
    LongParamsStrategy, MAX_PARAM_LENGTH, MlflowConfig, ModelLogging, ParamFormat, ParamsConfig,
    RunConfig, ServerConfig, TrackingConfig, UiConfig, default_config_text, project_name,
    write_default_config,
};
pub use context::{ActiveRun, TrackingContext};
pub use datasets::{ClientFactory, register_datasets, types as dataset_types};
pub use error::Error;
pub use hook::{MLFLOW_RUN_ID, MlflowHook, TrackingProject, end_shared_run, tags};
pub use logging::{LoggedPipelineModel, log_pipeline_model};
pub use params::{consumed_parameters, params_to_log};
pub use python_str::python_str;
pub use random_name::random_name;
