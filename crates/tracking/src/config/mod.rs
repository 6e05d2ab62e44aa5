//! `mlflow.yml`: kedro-mlflow's configuration file, read from
//! `conf/base/mlflow.yml` overridden by `conf/<env>/mlflow.yml`.
//!
//! As for the other configuration kinds, the environment replaces `base`'s
//! top-level keys (`server`, `tracking`) whole. Booleans are YAML 1.2's, and
//! every unknown key is an error naming it: a misspelt `disable_traking`
//! must not silently leave tracking on.

use std::path::Path;

use serde_json::{Map, Value};
use std::time::Duration;

use tandem_catalog::{BASE_ENV, DEFAULT_ENV};

use crate::error::Error;

mod schema;
mod server;
mod template;

use schema::Layer;
pub use schema::{CreateExperimentKwargs, HeaderProvider, ParamFormat, UiConfig};
pub use schema::{
    DictParams, DisableTracking, ExperimentConfig, LongParamsStrategy, MlflowConfig, ModelLogging,
    ParamsConfig, RunConfig, ServerConfig, TrackingConfig,
};
pub use template::{default_config_text, write_default_config};

/// The file names tried in each environment directory, in order.
pub(crate) const FILE_NAMES: [&str; 2] = ["mlflow.yml", "mlflow.yaml"];

/// The scheme of MLflow's SQLite tracking URIs; the path follows it.
const SQLITE_PREFIX: &str = "sqlite:///";

/// MLflow's limit on a parameter value (longer ones are silently truncated
/// by the server, so tandem applies `long_params_strategy` first).
pub const MAX_PARAM_LENGTH: usize = 6000;

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
        MlflowConfig::load_with(conf_dir, env, &MlflowConfig::interpolator())
    }

    /// The interpolation mlflow.yml gets without a project configuration:
    /// references and kedro-mlflow's `${km.random_name:}`. `tandem run`
    /// adds the project's globals and `--params` (`${globals:...}`,
    /// `${runtime_params:...}`), as Kedro does; `oc.env` stays off, as in
    /// Kedro for every file but credentials.
    pub fn interpolator() -> tandem_catalog::Interpolator {
        MlflowConfig::project_interpolator(tandem_catalog::Interpolator::new())
    }

    /// `project`'s interpolation (a project's globals, `--params` and
    /// custom resolvers: [`ProjectConfig::interpolator`]) with
    /// kedro-mlflow's `${km.random_name:}` added, as mlflow.yml is read in
    /// a Kedro session.
    ///
    /// [`ProjectConfig::interpolator`]: tandem_catalog::ProjectConfig::interpolator
    pub fn project_interpolator(
        project: tandem_catalog::Interpolator,
    ) -> tandem_catalog::Interpolator {
        project.with_resolver("km.random_name", |_| {
            Ok(Value::String(crate::random_name()))
        })
    }

    /// Like [`load_if_present`](Self::load_if_present), with `${...}`
    /// resolved by `interpolator` over the merged file (base's top-level
    /// keys replaced by the environment's).
    pub fn load_with(
        conf_dir: &Path,
        env: Option<&str>,
        interpolator: &tandem_catalog::Interpolator,
    ) -> Result<Option<MlflowConfig>, Error> {
        let env = env.unwrap_or(DEFAULT_ENV);
        let mut config = None;
        let mut tree = Map::new();
        let mut interpolated = false;
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
            interpolated |= text.contains("${");
            tree.extend(parse_tree(&text, &path)?);
            let merged: &mut MlflowConfig = config.get_or_insert_with(MlflowConfig::default);
            if let Some(server) = layer.server {
                merged.server = server;
            }
            if let Some(tracking) = layer.tracking {
                merged.tracking = tracking;
            }
            if let Some(ui) = layer.ui {
                merged.ui = ui;
            }
        }
        if !interpolated || config.is_none() {
            return Ok(config);
        }
        let invalid = |message: String| Error::InvalidConfig {
            file: "mlflow.yml".to_owned(),
            message,
        };
        let resolved = interpolator
            .resolve(&tree)
            .map_err(|e| invalid(e.to_string()))?;
        let layer: Layer =
            serde_json::from_value(Value::Object(resolved)).map_err(|e| invalid(e.to_string()))?;
        Ok(Some(MlflowConfig {
            server: layer.server.unwrap_or_default(),
            tracking: layer.tracking.unwrap_or_default(),
            ui: layer.ui.unwrap_or_default(),
        }))
    }

    /// Parses one `mlflow.yml` text on its own (no environment merge).
    pub fn from_yaml(text: &str) -> Result<MlflowConfig, Error> {
        let layer = parse_layer(text, Path::new("mlflow.yml"))?;
        Ok(MlflowConfig {
            server: layer.server.unwrap_or_default(),
            tracking: layer.tracking.unwrap_or_default(),
            ui: layer.ui.unwrap_or_default(),
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

    /// The experiment name: configured, else the project directory's name.
    pub fn experiment_name(&self, project_root: &Path) -> String {
        self.tracking
            .experiment
            .name
            .clone()
            .unwrap_or_else(|| project_name(project_root))
    }

    pub(super) fn budget(
        &self,
        key: &str,
        seconds: Option<f64>,
    ) -> Result<Option<Duration>, Error> {
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
}

/// One file as a tree, for interpolation over the merged layers.
fn parse_tree(text: &str, path: &Path) -> Result<Map<String, Value>, Error> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
        budget: tandem_pipeline_core::spec::yaml_budget(text.len()),
    };
    let tree: Option<Map<String, Value>> = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| Error::InvalidConfig {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
    Ok(tree.unwrap_or_default())
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

    /// Interpolation over the merged file, as Kedro's loader gives
    /// mlflow.yml: references, globals, runtime params and kedro-mlflow's
    /// `${km.random_name:}`; `oc.env` is refused, as in Kedro.
    #[test]
    fn mlflow_yml_is_interpolated_after_the_merge() {
        let conf = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(conf.path().join("base")).unwrap();
        std::fs::create_dir_all(conf.path().join("local")).unwrap();
        std::fs::write(
            conf.path().join("base/mlflow.yml"),
            "server:\n  mlflow_tracking_uri: ${globals:store}\n",
        )
        .unwrap();
        std::fs::write(
            conf.path().join("local/mlflow.yml"),
            "tracking:\n  experiment:\n    name: ${runtime_params:team, ds}-exp\n  \
             run:\n    name: ${km.random_name:}\n    id: ${tracking.run.name}\n",
        )
        .unwrap();
        let globals = serde_json::json!({"store": "sqlite:///g.db"});
        let interpolator =
            MlflowConfig::interpolator().with_globals(globals.as_object().unwrap().clone());
        let config = MlflowConfig::load_with(conf.path(), None, &interpolator)
            .unwrap()
            .unwrap();
        assert_eq!(
            config.server.mlflow_tracking_uri.as_deref(),
            Some("sqlite:///g.db")
        );
        assert_eq!(config.tracking.experiment.name.as_deref(), Some("ds-exp"));
        let name = config.tracking.run.name.clone().unwrap();
        assert_eq!(name.split('-').count(), 3, "{name}");

        std::fs::write(
            conf.path().join("local/mlflow.yml"),
            "tracking:\n  run:\n    name: ${oc.env:HOME}\n",
        )
        .unwrap();
        let err = MlflowConfig::load_with(conf.path(), None, &interpolator).unwrap_err();
        assert!(err.to_string().contains("oc.env"), "{err}");
        assert!(err.to_string().contains("mlflow.yml"), "{err}");
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
                .client(root.path(), &serde_json::Map::new())
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
        let all = serde_json::json!({
            "mlflow": {"username": "u", "password": "hunter2", "AWS_SECRET_ACCESS_KEY": "s3cr3t"},
            "aws_only": {"AWS_ACCESS_KEY_ID": "k", "MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:9"},
            "half": {"username": "u"},
            "number": {"AWS_DEFAULT_REGION": 5},
        });
        let all = all.as_object().unwrap();
        let (auth, variables) = server::credentials_entry("mlflow", all).unwrap();
        assert!(matches!(
            auth,
            Some(tandem_mlflow_client::Credentials::Basic { .. })
        ));
        let shown = format!("{auth:?} {variables:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        assert_eq!(variables.len(), 1);
        // kedro-mlflow exports every key: an entry of AWS keys alone is fine.
        let (auth, variables) = server::credentials_entry("aws_only", all).unwrap();
        assert!(auth.is_none());
        assert_eq!(
            variables
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            ["AWS_ACCESS_KEY_ID", "MLFLOW_S3_ENDPOINT_URL"]
        );
        let err = server::credentials_entry("other", all).unwrap_err();
        assert!(err.to_string().contains("'other'"));
        let err = server::credentials_entry("half", all).unwrap_err();
        assert!(err.to_string().contains("`password`"), "{err}");
        let err = server::credentials_entry("number", all).unwrap_err();
        assert!(
            err.to_string()
                .contains("`AWS_DEFAULT_REGION` must be a string"),
            "{err}"
        );
    }

    /// kedro-mlflow 2.0.3's default mlflow.yml, every key of its schema
    /// at the value `kedro mlflow init` writes: accepted as is.
    #[test]
    fn kedro_mlflows_default_mlflow_yml_is_accepted() {
        let yaml = "\
server:
  mlflow_tracking_uri: null
  mlflow_registry_uri: null
  credentials: null
  request_header_provider:
    type: null
    pass_context: false
    init_kwargs: {}
tracking:
  disable_tracking:
    pipelines: []
    disable_autologging: true
  experiment:
    name: spaceflights
    create_experiment_kwargs:
      artifact_location: null
      tags: null
    restore_if_deleted: true
  run:
    id: null
    name: null
    nested: true
  params:
    dict_params:
      flatten: false
      recursive: true
      sep: \".\"
    long_params_strategy: fail
ui:
  port: \"5000\"
  host: \"127.0.0.1\"
";
        let config = MlflowConfig::from_yaml(yaml).unwrap();
        assert_eq!(config, {
            let mut expected = MlflowConfig::default();
            expected.tracking.experiment.name = Some("spaceflights".to_owned());
            expected
        });
        let root = tempfile::tempdir().unwrap();
        config.client(root.path(), &serde_json::Map::new()).unwrap();
    }

    #[test]
    fn what_cannot_mean_anything_here_is_an_error_saying_why() {
        let root = tempfile::tempdir().unwrap();
        let fails = |yaml: &str| {
            MlflowConfig::from_yaml(yaml)
                .unwrap()
                .client(root.path(), &serde_json::Map::new())
                .unwrap_err()
                .to_string()
        };
        let err = fails("server:\n  mlflow_tracking_uri: databricks\n");
        assert!(err.contains("Databricks"), "{err}");
        assert!(!root.path().join("databricks").exists());
        let err = fails("server:\n  mlflow_registry_uri: http://127.0.0.1:1\n");
        assert!(err.contains("server.mlflow_registry_uri"), "{err}");
        let err = fails("server:\n  request_header_provider:\n    type: my.Provider\n");
        assert!(
            err.contains("my.Provider") && err.contains("server.credentials"),
            "{err}"
        );
        // A registry URI equal to the tracking URI (after resolution) is fine.
        MlflowConfig::from_yaml(
            "server:\n  mlflow_tracking_uri: sqlite:///m.db\n  mlflow_registry_uri: sqlite:///m.db\n",
        )
        .unwrap()
        .client(root.path(), &serde_json::Map::new())
        .unwrap();
    }
}
