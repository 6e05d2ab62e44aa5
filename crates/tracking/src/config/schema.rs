//! The keys of `mlflow.yml`: kedro-mlflow 2.0.3's schema, every key
//! accepted (unknown ones are errors naming them), plus tandem's own
//! (`server.retry_budget`, `server.cleanup_budget`, `tracking.model`).

use serde::Deserialize;

/// The whole `mlflow.yml`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlflowConfig {
    /// Where MLflow is.
    pub server: ServerConfig,
    /// What a run logs.
    pub tracking: TrackingConfig,
    /// Where `tandem mlflow ui` serves MLflow's UI.
    pub ui: UiConfig,
}

/// `ui:`: the address `tandem mlflow ui` starts MLflow's UI on.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// The port, a string as in kedro-mlflow (default "5000").
    pub port: String,
    /// The interface (default 127.0.0.1).
    pub host: String,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            port: "5000".to_owned(),
            host: "127.0.0.1".to_owned(),
        }
    }
}

/// `server.request_header_provider:`: a Python class adding headers to
/// MLflow's requests. Accepted as kedro-mlflow writes it (all unset); a
/// class cannot run here, so setting `type` is an error.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeaderProvider {
    /// The class path.
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    /// Whether the class gets the Kedro context.
    pub pass_context: bool,
    /// Its constructor's keyword arguments.
    pub init_kwargs: std::collections::BTreeMap<String, String>,
}

/// `server:`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// A server URL, a `file:` URI or a path (relative to the project
    /// root). Unset: `MLFLOW_TRACKING_URI`, else MLflow's default, the
    /// project's `mlflow.db`.
    pub mlflow_tracking_uri: Option<String>,
    /// A key of credentials.yml holding `username`/`password` or `token`
    /// (MLflow's `MLFLOW_TRACKING_*` variable names work too); every other
    /// key of the entry is set as an environment variable for MLflow's
    /// artifact stores (`AWS_ACCESS_KEY_ID`, `MLFLOW_S3_ENDPOINT_URL`...),
    /// as kedro-mlflow exports the whole entry.
    pub credentials: Option<String>,
    /// The model registry's URI; null (the default) follows the tracking
    /// URI, the only registry tandem registers into.
    pub mlflow_registry_uri: Option<String>,
    /// kedro-mlflow's request header provider (a Python class).
    pub request_header_provider: HeaderProvider,
    /// Seconds one MLflow operation may go on retrying after its first
    /// failure (default 60).
    pub retry_budget: Option<f64>,
    /// Seconds marking a failed run FAILED may take (default 5).
    pub cleanup_budget: Option<f64>,
}

/// `tracking:`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// Pipelines that are never tracked.
    pub disable_tracking: DisableTracking,
    /// The experiment runs go to.
    pub experiment: ExperimentConfig,
    /// The run.
    pub run: RunConfig,
    /// How parameters are logged.
    pub params: ParamsConfig,
    /// How the PipelineMl's model is logged.
    pub model: ModelLogging,
}

/// `tracking.model:`, a tandem addition: how a PipelineMl's model is
/// logged, without touching the code that builds the pipeline (kedro-mlflow
/// only reads these from `log_model_kwargs`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelLogging {
    /// Register the model under this name (tracking server only);
    /// replaces the pipeline's `registered_model_name` when set.
    pub registered_model_name: Option<String>,
    /// Move these aliases (`champion`) to the registered version; replaces
    /// the pipeline's `aliases` when not empty.
    pub aliases: Vec<String>,
    /// Embed the binary that runs the pipeline in the model (`bin/`), so
    /// the bundled `tandem` and MLflow's Python loader can run it.
    pub embed_executable: bool,
}

impl Default for ModelLogging {
    fn default() -> Self {
        ModelLogging {
            registered_model_name: None,
            aliases: Vec::new(),
            embed_executable: true,
        }
    }
}

impl ModelLogging {
    /// `options` with this configuration's settings applied over them.
    pub fn apply(
        &self,
        options: &tandem_pipeline_ml::LogModelOptions,
    ) -> tandem_pipeline_ml::LogModelOptions {
        let mut options = options.clone();
        if let Some(name) = &self.registered_model_name {
            options.registered_model_name = Some(name.clone());
        }
        if !self.aliases.is_empty() {
            options.aliases = self.aliases.clone();
        }
        options
    }
}

/// `tracking.disable_tracking:`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisableTracking {
    /// Names of pipelines (as given to `--pipeline`) that are not tracked.
    pub pipelines: Vec<String>,
    /// kedro-mlflow turns MLflow's autologging off with it; tandem has no
    /// autologging, so either value means the same.
    pub disable_autologging: bool,
}

impl Default for DisableTracking {
    fn default() -> Self {
        DisableTracking {
            pipelines: Vec::new(),
            disable_autologging: true,
        }
    }
}

/// `tracking.experiment.create_experiment_kwargs:`: what a new experiment
/// is created with.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CreateExperimentKwargs {
    /// Where its artifacts go (a relative path is taken from the project
    /// root); unset: the store's default.
    pub artifact_location: Option<String>,
    /// Its tags.
    pub tags: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `tracking.experiment:`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentConfig {
    /// The experiment name (default: the project name).
    pub name: Option<String>,
    /// Restore an experiment of that name that was deleted, instead of
    /// failing (its runs would otherwise be invisible).
    pub restore_if_deleted: bool,
    /// What the experiment is created with when it does not exist.
    pub create_experiment_kwargs: CreateExperimentKwargs,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        ExperimentConfig {
            name: None,
            restore_if_deleted: true,
            create_experiment_kwargs: CreateExperimentKwargs::default(),
        }
    }
}

/// `tracking.run:`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Resume this run instead of starting a new one.
    pub id: Option<String>,
    /// The run name of a new run (default: the pipeline name).
    pub name: Option<String>,
    /// kedro-mlflow starts its run nested in an active one; tandem's runs
    /// are never nested (a run given by `MLFLOW_RUN_ID` is joined, not
    /// nested), so either value means the same.
    pub nested: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            id: None,
            name: None,
            nested: true,
        }
    }
}

/// `tracking.params:`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParamsConfig {
    /// How mapping-valued parameters are logged.
    pub dict_params: DictParams,
    /// What to do with values over MLflow's 6000-character limit.
    pub long_params_strategy: LongParamsStrategy,
    /// How values are written: Python's `str()` as kedro-mlflow does
    /// (`str`, the default) or JSON (`json`, a tandem addition).
    pub format: ParamFormat,
}

/// `tracking.params.format`: how a parameter value becomes text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamFormat {
    /// Python's `str()`: `{'a': 1}`, `True`, `None`, `1e-10`.
    #[default]
    Str,
    /// JSON: `{"a":1}`, `true`, `null`, `1e-10`.
    Json,
}

/// `tracking.params.dict_params:`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DictParams {
    /// Log each entry of a mapping as its own parameter (`a.b`), instead of
    /// the mapping as one JSON value.
    pub flatten: bool,
    /// Flatten nested mappings all the way down, not just one level.
    pub recursive: bool,
    /// The separator between flattened key parts.
    pub sep: String,
}

impl Default for DictParams {
    fn default() -> Self {
        DictParams {
            flatten: false,
            recursive: true,
            sep: ".".to_owned(),
        }
    }
}

/// What happens to a parameter value longer than MLflow accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LongParamsStrategy {
    /// The run fails, naming the parameter.
    #[default]
    Fail,
    /// The value is logged as a tag (up to 8000 characters) instead.
    Tag,
    /// The value is cut to the limit.
    Truncate,
}

/// One file's top-level keys, so the environment can replace them whole.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Layer {
    pub(super) server: Option<ServerConfig>,
    pub(super) tracking: Option<TrackingConfig>,
    pub(super) ui: Option<UiConfig>,
}
