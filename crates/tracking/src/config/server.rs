//! `server:` at run time: the tracking URI, the client, and what
//! kedro-mlflow's keys mean here.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tandem_mlflow_client::{Config, Credentials, MlflowClient, Secret};

use super::{MlflowConfig, SQLITE_PREFIX};
use crate::error::Error;

/// Tracking URIs naming Databricks, which tandem cannot talk to.
const DATABRICKS: [&str; 2] = ["databricks", "databricks-uc"];

fn invalid(message: String) -> Error {
    Error::InvalidConfig {
        file: "mlflow.yml".to_owned(),
        message,
    }
}

/// `uri` as kedro-mlflow resolves it in a project rooted at `root`: a URI
/// with a scheme is kept, a relative path (bare or in `sqlite:///`) is
/// taken from the project root (where Kedro runs).
fn resolve(uri: String, root: &Path) -> String {
    match uri.strip_prefix(SQLITE_PREFIX) {
        Some(path) if !path.is_empty() && Path::new(path).is_relative() => {
            format!("{SQLITE_PREFIX}{}", root.join(path).display())
        }
        _ if uri.contains("://") || uri.starts_with("file:") => uri,
        _ if DATABRICKS.contains(&uri.as_str()) || Path::new(&uri).is_absolute() => uri,
        _ => root.join(uri).display().to_string(),
    }
}

impl MlflowConfig {
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
            Some(uri) => resolve(uri, project_root),
            None => tandem_mlflow_client::default_tracking_uri(project_root),
        }
    }

    /// `tracking.experiment.create_experiment_kwargs.artifact_location`,
    /// resolved as the tracking URI is.
    pub fn experiment_artifact_location(&self, project_root: &Path) -> Option<String> {
        self.tracking
            .experiment
            .create_experiment_kwargs
            .artifact_location
            .clone()
            .map(|location| resolve(location, project_root))
    }

    /// Where a local SQLite store puts new experiments' artifacts: MLflow's
    /// `./mlruns`, with the project root as `.`.
    fn artifact_root(project_root: &Path) -> PathBuf {
        project_root.join("mlruns")
    }

    /// The kedro-mlflow settings that cannot mean anything here, as errors
    /// that say why: a Databricks URI, a registry apart from the tracking
    /// store, a Python request header provider.
    fn check_supported(&self, tracking_uri: &str, project_root: &Path) -> Result<(), Error> {
        if DATABRICKS.contains(&tracking_uri) || tracking_uri.starts_with("databricks:") {
            return Err(invalid(format!(
                "server.mlflow_tracking_uri '{tracking_uri}': tandem cannot track to Databricks; \
                 use an MLflow server URL (http://...), a sqlite:/// database or an mlruns path"
            )));
        }
        if let Some(registry) = self.server.mlflow_registry_uri.clone() {
            let registry = resolve(registry, project_root);
            if registry != tracking_uri {
                return Err(invalid(format!(
                    "server.mlflow_registry_uri '{registry}' differs from the tracking URI \
                     '{tracking_uri}': tandem registers models in the tracking store's own \
                     registry; set it to null or to the tracking URI"
                )));
            }
        }
        if let Some(class) = &self.server.request_header_provider.type_name {
            return Err(invalid(format!(
                "server.request_header_provider.type '{class}': a Python request header \
                 provider cannot run in tandem; authenticate with server.credentials (a \
                 credentials.yml entry with username and password, or token) instead"
            )));
        }
        Ok(())
    }

    /// A client for this configuration: MLflow's environment settings
    /// (TLS, timeouts, retries, credentials), with the `server.credentials`
    /// entry of `credentials` laid over the environment as kedro-mlflow
    /// exports it, and the tracking URI. Building it creates the local
    /// store's directory, nothing else.
    pub fn client(
        &self,
        project_root: &Path,
        credentials: &Map<String, Value>,
    ) -> Result<MlflowClient, Error> {
        let tracking_uri = self.tracking_uri(project_root);
        self.check_supported(&tracking_uri, project_root)?;
        let (auth, variables) = match &self.server.credentials {
            Some(key) => credentials_entry(key, credentials)?,
            None => (None, Vec::new()),
        };
        let mut config = Config::from_env_with(variables)?
            .with_tracking_uri(tracking_uri)
            .with_artifact_root(Self::artifact_root(project_root));
        if let Some(auth) = auth {
            config = config.with_credentials(auth);
        }
        if let Some(budget) = self.budget("retry_budget", self.server.retry_budget)? {
            config = config.with_retry_budget(budget);
        }
        if let Some(budget) = self.budget("cleanup_budget", self.server.cleanup_budget)? {
            config = config.with_cleanup_budget(budget);
        }
        Ok(MlflowClient::new(config)?)
    }
}

/// A credentials entry: how requests authenticate, and the environment
/// variables it sets for MLflow's artifact stores.
pub(super) type Entry = (Option<Credentials>, Vec<(String, Secret)>);

/// The credentials.yml entry `key` as kedro-mlflow uses it: every key is
/// an environment variable for MLflow (so `MLFLOW_TRACKING_*`, `AWS_*` and
/// `MLFLOW_S3_ENDPOINT_URL` all work), and tandem's short spellings
/// `username`/`password` or `token` authenticate too.
pub(super) fn credentials_entry(key: &str, all: &Map<String, Value>) -> Result<Entry, Error> {
    let entry = all.get(key).and_then(Value::as_object).ok_or_else(|| {
        invalid(format!(
            "server.credentials names '{key}', which is not a mapping in credentials.yml"
        ))
    })?;
    let mut variables = Vec::new();
    let (mut username, mut password, mut token) = (None, None, None);
    for (name, value) in entry {
        let Some(text) = value.as_str() else {
            return Err(invalid(format!(
                "credentials '{key}': `{name}` must be a string, as it becomes an environment \
                 variable"
            )));
        };
        match name.as_str() {
            "username" => username = Some(text.to_owned()),
            "password" => password = Some(text.to_owned()),
            "token" => token = Some(text.to_owned()),
            _ => variables.push((name.clone(), Secret::new(text))),
        }
    }
    let auth = match (username, password, token) {
        (Some(username), Some(password), _) => Some(Credentials::Basic {
            username,
            password: Secret::new(password),
        }),
        (None, None, Some(token)) => Some(Credentials::Bearer(Secret::new(token))),
        (None, None, None) => None,
        _ => {
            return Err(invalid(format!(
                "credentials '{key}' need both `username` and `password` (or `token` alone)"
            )));
        }
    };
    Ok((auth, variables))
}
