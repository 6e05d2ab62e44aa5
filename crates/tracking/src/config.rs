//! `mlflow.yml`: kedro-mlflow's configuration file, read from
//! `conf/base/mlflow.yml` overridden by `conf/<env>/mlflow.yml`.
//!
//! As for the other configuration kinds, the environment replaces `base`'s
//! top-level keys (`server`, `tracking`) whole. Booleans are YAML 1.2's, and
//! every unknown key is an error naming it: a misspelt `disable_traking`
//! must not silently leave tracking on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use tandem_catalog::{BASE_ENV, DEFAULT_ENV};
use tandem_mlflow_client::{Config, Credentials, MlflowClient, Secret};

use crate::error::Error;

/// The file names tried in each environment directory, in order.
const FILE_NAMES: [&str; 2] = ["mlflow.yml", "mlflow.yaml"];

/// The scheme of MLflow's SQLite tracking URIs; the path follows it.
const SQLITE_PREFIX: &str = "sqlite:///";

/// MLflow's limit on a parameter value (longer ones are silently truncated
/// by the server, so tandem applies `long_params_strategy` first).
pub const MAX_PARAM_LENGTH: usize = 6000;

/// The whole `mlflow.yml`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlflowConfig {
    /// Where MLflow is.
    pub server: ServerConfig,
    /// What a run logs.
    pub tracking: TrackingConfig,
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
    /// (MLflow's `MLFLOW_TRACKING_*` variable names work too).
    pub credentials: Option<String>,
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
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisableTracking {
    /// Names of pipelines (as given to `--pipeline`) that are not tracked.
    pub pipelines: Vec<String>,
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
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        ExperimentConfig {
            name: None,
            restore_if_deleted: true,
        }
    }
}

/// `tracking.run:`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Resume this run instead of starting a new one.
    pub id: Option<String>,
    /// The run name of a new run (default: the pipeline name).
    pub name: Option<String>,
}

/// `tracking.params:`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParamsConfig {
    /// How mapping-valued parameters are logged.
    pub dict_params: DictParams,
    /// What to do with values over MLflow's 6000-character limit.
    pub long_params_strategy: LongParamsStrategy,
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
struct Layer {
    server: Option<ServerConfig>,
    tracking: Option<TrackingConfig>,
}

impl MlflowConfig {
    /// Loads `conf_dir/base/mlflow.yml` overridden by `conf_dir/<env>/mlflow.yml`
    /// (`local` when `env` is `None`). Missing files are empty layers, so a
    /// project without `mlflow.yml` gets every default.
    pub fn load(conf_dir: &Path, env: Option<&str>) -> Result<MlflowConfig, Error> {
        Ok(MlflowConfig::load_if_present(conf_dir, env)?.unwrap_or_default())
    }

    /// Like [`load`](Self::load), but `None` when neither layer has an
    /// `mlflow.yml`: the project has not opted in to tracking.
    pub fn load_if_present(
        conf_dir: &Path,
        env: Option<&str>,
    ) -> Result<Option<MlflowConfig>, Error> {
        let env = env.unwrap_or(DEFAULT_ENV);
        let mut config = None;
        let mut envs = vec![BASE_ENV];
        if env != BASE_ENV {
            envs.push(env);
        }
        for env in envs {
            let Some(path) = FILE_NAMES
                .iter()
                .map(|name| conf_dir.join(env).join(name))
                .find(|path| path.is_file())
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(Error::io("read", &path))?;
            let layer = parse_layer(&text, &path)?;
            let merged: &mut MlflowConfig = config.get_or_insert_with(MlflowConfig::default);
            if let Some(server) = layer.server {
                merged.server = server;
            }
            if let Some(tracking) = layer.tracking {
                merged.tracking = tracking;
            }
        }
        Ok(config)
    }

    /// Parses one `mlflow.yml` text on its own (no environment merge).
    pub fn from_yaml(text: &str) -> Result<MlflowConfig, Error> {
        let layer = parse_layer(text, Path::new("mlflow.yml"))?;
        Ok(MlflowConfig {
            server: layer.server.unwrap_or_default(),
            tracking: layer.tracking.unwrap_or_default(),
        })
    }

    /// Whether runs of the pipeline called `pipeline_name` are tracked.
    pub fn is_tracked(&self, pipeline_name: &str) -> bool {
        !self
            .tracking
            .disable_tracking
            .pipelines
            .iter()
            .any(|p| p == pipeline_name)
    }

    /// The tracking URI: `mlflow.yml`'s, else `MLFLOW_TRACKING_URI`, else
    /// MLflow's own default for a process working in the project root
    /// (`sqlite:///<project_root>/mlflow.db`, or the `mlruns` file store if
    /// one with experiments is already there). Relative paths, bare or in a
    /// `sqlite:///` URI, are resolved against `project_root`: Kedro runs in
    /// the project root, so that is where MLflow would resolve them.
    pub fn tracking_uri(&self, project_root: &Path) -> String {
        let configured = self
            .server
            .mlflow_tracking_uri
            .clone()
            .or_else(|| std::env::var("MLFLOW_TRACKING_URI").ok())
            .filter(|uri| !uri.trim().is_empty());
        match configured {
            Some(uri) => match uri.strip_prefix(SQLITE_PREFIX) {
                Some(path) if !path.is_empty() && Path::new(path).is_relative() => {
                    format!("{SQLITE_PREFIX}{}", project_root.join(path).display())
                }
                _ if uri.contains("://") || uri.starts_with("file:") => uri,
                _ if Path::new(&uri).is_absolute() => uri,
                _ => project_root.join(uri).display().to_string(),
            },
            None => tandem_mlflow_client::default_tracking_uri(project_root),
        }
    }

    /// Where a local SQLite store puts new experiments' artifacts: MLflow's
    /// `./mlruns`, with the project root as `.`.
    fn artifact_root(project_root: &Path) -> PathBuf {
        project_root.join("mlruns")
    }

    /// The experiment name: configured, else the project directory's name.
    pub fn experiment_name(&self, project_root: &Path) -> String {
        self.tracking
            .experiment
            .name
            .clone()
            .unwrap_or_else(|| project_name(project_root))
    }

    /// A client for this configuration: MLflow's environment settings
    /// (TLS, timeouts, retries, credentials) with the tracking URI and the
    /// `server.credentials` entry of `credentials` applied over them.
    /// Building it creates the local store's directory, nothing else.
    pub fn client(
        &self,
        project_root: &Path,
        credentials: &Map<String, Value>,
    ) -> Result<MlflowClient, Error> {
        let mut config = Config::from_env()?
            .with_tracking_uri(self.tracking_uri(project_root))
            .with_artifact_root(Self::artifact_root(project_root));
        if let Some(key) = &self.server.credentials {
            config = config.with_credentials(self.credentials(key, credentials)?);
        }
        if let Some(budget) = self.budget("retry_budget", self.server.retry_budget)? {
            config = config.with_retry_budget(budget);
        }
        if let Some(budget) = self.budget("cleanup_budget", self.server.cleanup_budget)? {
            config = config.with_cleanup_budget(budget);
        }
        Ok(MlflowClient::new(config)?)
    }

    fn budget(&self, key: &str, seconds: Option<f64>) -> Result<Option<Duration>, Error> {
        seconds
            .map(|s| {
                Duration::try_from_secs_f64(s).map_err(|_| Error::InvalidConfig {
                    file: "mlflow.yml".to_owned(),
                    message: format!(
                        "server.{key} must be a non-negative number of seconds, not {s}"
                    ),
                })
            })
            .transpose()
    }

    fn credentials(&self, key: &str, all: &Map<String, Value>) -> Result<Credentials, Error> {
        let invalid = |message: String| Error::InvalidConfig {
            file: "mlflow.yml".to_owned(),
            message,
        };
        let entry = all.get(key).and_then(Value::as_object).ok_or_else(|| {
            invalid(format!(
                "server.credentials names '{key}', which is not a mapping in credentials.yml"
            ))
        })?;
        let field = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| entry.get(*n))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let username = field(["username", "MLFLOW_TRACKING_USERNAME"]);
        let password = field(["password", "MLFLOW_TRACKING_PASSWORD"]);
        let token = field(["token", "MLFLOW_TRACKING_TOKEN"]);
        match (username, password, token) {
            (Some(username), Some(password), _) => Ok(Credentials::Basic {
                username,
                password: Secret::new(password),
            }),
            (None, None, Some(token)) => Ok(Credentials::Bearer(Secret::new(token))),
            _ => Err(invalid(format!(
                "credentials '{key}' need `username` and `password`, or `token`"
            ))),
        }
    }
}

fn parse_layer(text: &str, path: &Path) -> Result<Layer, Error> {
    if text.trim().is_empty() {
        return Ok(Layer::default());
    }
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
        budget: tandem_pipeline_core::spec::yaml_budget(text.len()),
    };
    let layer: Option<Layer> =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| Error::InvalidConfig {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
    Ok(layer.unwrap_or_default())
}

/// The project's name: its root directory's name (Kedro's default).
pub fn project_name(project_root: &Path) -> String {
    let absolute = std::path::absolute(project_root).unwrap_or_else(|_| project_root.to_owned());
    absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Default".to_owned())
}

/// The commented `mlflow.yml` `tandem mlflow init` writes, every setting at
/// its default.
pub fn default_config_text(project_name: &str) -> String {
    format!(
        r#"# MLflow tracking for `tandem run` (kedro-mlflow's mlflow.yml).
# conf/<env>/mlflow.yml replaces the top-level keys of conf/base/mlflow.yml.

server:
  # A server URL (http://127.0.0.1:5000), a file: URI or a path relative to
  # the project root. Unset: MLFLOW_TRACKING_URI, else MLflow's default,
  # ./mlflow.db (artifacts in ./mlruns), which a plain `mlflow ui` reads.
  mlflow_tracking_uri: null
  # A key of credentials.yml with `username` and `password`, or `token`.
  credentials: null
  # Seconds an MLflow operation may go on retrying after its first failure
  # (null: 60).
  retry_budget: null
  # Seconds marking a failed or interrupted run FAILED may take (null: 5).
  cleanup_budget: null

tracking:
  disable_tracking:
    # Pipelines (as named with --pipeline) that are never tracked.
    pipelines: []

  experiment:
    name: {name}
    # Restore a deleted experiment of that name instead of failing.
    restore_if_deleted: true

  run:
    # Resume this run id instead of starting a new run.
    id: null
    # The name of a new run; unset: the pipeline's name.
    name: null

  params:
    dict_params:
      # Log each entry of a mapping parameter on its own (model.alpha).
      flatten: false
      # Flatten nested mappings all the way down.
      recursive: true
      # Separator between flattened key parts.
      sep: "."
    # Values over MLflow's 6000 characters: fail, tag or truncate.
    long_params_strategy: fail

  model:
    # Register the logged model under this name (a server or the SQLite store);
    # null keeps the pipeline's registered_model_name.
    registered_model_name: null
    # Aliases moved to the new registered version, e.g. [champion].
    aliases: []
    # Carry the binary that runs the model in it (bin/), so that the bundled
    # `tandem` and `mlflow models serve` can run it without this project.
    embed_executable: true
"#,
        name = serde_json::Value::String(project_name.to_owned())
    )
}

/// Writes [`default_config_text`] to `conf_dir/<env>/mlflow.yml` and
/// returns its path; an existing file is left alone unless `force`.
pub fn write_default_config(
    conf_dir: &Path,
    env: &str,
    project_name: &str,
    force: bool,
) -> Result<PathBuf, Error> {
    let dir = conf_dir.join(env);
    let path = dir.join(FILE_NAMES[0]);
    if path.exists() && !force {
        return Err(Error::InvalidConfig {
            file: path.display().to_string(),
            message: "the file already exists; pass --force to overwrite it".to_owned(),
        });
    }
    std::fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
    std::fs::write(&path, default_config_text(project_name)).map_err(Error::io("write", &path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_to_the_defaults() {
        let config = MlflowConfig::from_yaml(&default_config_text("demo")).unwrap();
        let mut expected = MlflowConfig::default();
        expected.tracking.experiment.name = Some("demo".to_owned());
        assert_eq!(config, expected);
    }

    #[test]
    fn model_settings_replace_the_pipelines_when_set() {
        let config = MlflowConfig::from_yaml(
            "tracking:\n  model:\n    registered_model_name: churn\n    aliases: [champion]\n",
        )
        .unwrap();
        assert!(config.tracking.model.embed_executable);
        let code = tandem_pipeline_ml::LogModelOptions {
            registered_model_name: Some("from_code".to_owned()),
            aliases: vec!["staging".to_owned()],
            ..tandem_pipeline_ml::LogModelOptions::default()
        };
        let applied = config.tracking.model.apply(&code);
        assert_eq!(applied.registered_model_name.as_deref(), Some("churn"));
        assert_eq!(applied.aliases, ["champion"]);
        assert_eq!(ModelLogging::default().apply(&code), code);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = MlflowConfig::from_yaml("tracking:\n  disable_traking: {}\n").unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        assert!(err.to_string().contains("disable_traking"), "{err}");
        let err = MlflowConfig::from_yaml("tracking:\n  params:\n    long_params_strategy: cut\n")
            .unwrap_err();
        assert!(err.to_string().contains("cut"), "{err}");
    }

    #[test]
    fn yaml_1_2_booleans_only() {
        let yes = "tracking:\n  experiment:\n    restore_if_deleted: yes\n";
        assert!(MlflowConfig::from_yaml(yes).is_err());
        let no = "tracking:\n  experiment:\n    restore_if_deleted: false\n";
        assert!(
            !MlflowConfig::from_yaml(no)
                .unwrap()
                .tracking
                .experiment
                .restore_if_deleted
        );
    }

    #[test]
    fn the_environment_replaces_top_level_keys() {
        let conf = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(conf.path().join("base")).unwrap();
        std::fs::create_dir_all(conf.path().join("local")).unwrap();
        std::fs::write(
            conf.path().join("base/mlflow.yml"),
            "server:\n  mlflow_tracking_uri: base_runs\ntracking:\n  run:\n    name: base\n",
        )
        .unwrap();
        std::fs::write(
            conf.path().join("local/mlflow.yml"),
            "tracking:\n  experiment:\n    name: exp\n",
        )
        .unwrap();
        let config = MlflowConfig::load(conf.path(), None).unwrap();
        assert_eq!(
            config.server.mlflow_tracking_uri.as_deref(),
            Some("base_runs")
        );
        assert_eq!(config.tracking.run.name, None);
        assert_eq!(config.experiment_name(conf.path()), "exp");
        let root = Path::new("/project");
        assert_eq!(config.tracking_uri(root), "/project/base_runs");
    }

    #[test]
    fn budgets_default_to_a_minute_and_five_seconds_and_mlflow_yml_sets_them() {
        let root = tempfile::tempdir().unwrap();
        let client = |yaml: &str| {
            let yaml = format!("server:\n  mlflow_tracking_uri: mlruns\n{yaml}");
            MlflowConfig::from_yaml(&yaml)
                .unwrap()
                .client(root.path(), &Map::new())
        };
        let defaults = client("").unwrap();
        assert_eq!(defaults.config().retry().budget, Duration::from_secs(60));
        assert_eq!(defaults.config().cleanup_budget(), Duration::from_secs(5));
        let set = client("  retry_budget: 1.5\n  cleanup_budget: 0\n").unwrap();
        assert_eq!(set.config().retry().budget, Duration::from_millis(1500));
        assert_eq!(set.config().cleanup_budget(), Duration::ZERO);
        let err = client("  retry_budget: -1\n").unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        assert!(err.to_string().contains("server.retry_budget"), "{err}");
    }

    #[test]
    fn credentials_come_from_credentials_yml_and_stay_secret() {
        let config = MlflowConfig::from_yaml("server:\n  credentials: mlflow\n").unwrap();
        let all = serde_json::json!({"mlflow": {"username": "u", "password": "hunter2"}});
        let creds = config
            .credentials("mlflow", all.as_object().unwrap())
            .unwrap();
        assert!(!format!("{creds:?}").contains("hunter2"));
        let err = config
            .credentials("other", all.as_object().unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("'other'"));
    }
}
