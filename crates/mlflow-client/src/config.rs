//! Client configuration: where MLflow is, how to authenticate, TLS, timeouts,
//! retries and artifact transfer tuning, read from MLflow's environment
//! variables or set in code.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// A secret string (password, token) that never shows in `Debug` or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself; only the HTTP layer reads it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How requests to the tracking server authenticate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization` header.
    #[default]
    None,
    /// HTTP basic auth (`MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`).
    Basic {
        /// The user name (not secret).
        username: String,
        /// The password.
        password: Secret,
    },
    /// A bearer token (`MLFLOW_TRACKING_TOKEN`).
    Bearer(Secret),
}

/// When to use the server's multipart upload for large artifacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Multipart {
    /// Use it when `/api/3.0/mlflow/server-info` says the server offers it.
    Auto,
    /// Always try it for large files (`MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD`);
    /// a server answering 501 still gets a single PUT.
    Always,
    /// Never; every file is one PUT.
    Never,
}

/// Everything a [`crate::MlflowClient`] needs to know about its backend.
///
/// `Debug` output is safe to log: secrets (including a password in the
/// tracking URI) print as `***`.
#[derive(Clone)]
pub struct Config {
    pub(crate) tracking_uri: Option<String>,
    pub(crate) credentials: Credentials,
    pub(crate) insecure_tls: bool,
    pub(crate) server_cert_path: Option<PathBuf>,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) cleanup_budget: Duration,
    pub(crate) transfer_concurrency: usize,
    pub(crate) multipart: Multipart,
    pub(crate) multipart_min_size: u64,
    pub(crate) multipart_chunk_size: u64,
    pub(crate) artifact_root: Option<PathBuf>,
    /// Variables laid over the process environment (kedro-mlflow exports a
    /// credentials entry into it): what artifact stores read too.
    pub(crate) variables: Arc<Vec<(String, Secret)>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field(
                "tracking_uri",
                &self.tracking_uri.as_deref().map(crate::uri::redact),
            )
            .field("credentials", &self.credentials)
            .field("insecure_tls", &self.insecure_tls)
            .field("server_cert_path", &self.server_cert_path)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("cleanup_budget", &self.cleanup_budget)
            .field("transfer_concurrency", &self.transfer_concurrency)
            .field("multipart", &self.multipart)
            .field("multipart_min_size", &self.multipart_min_size)
            .field("multipart_chunk_size", &self.multipart_chunk_size)
            .field("artifact_root", &self.artifact_root)
            .field(
                "variables",
                &self.variables.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for Config {
    /// No tracking URI (MLflow's default: `./mlflow.db`, or `./mlruns` if
    /// it already holds experiments; see [`crate::default_tracking_uri`]), no
    /// credentials, MLflow's default timeout (120 s) and retry policy.
    fn default() -> Config {
        Config {
            tracking_uri: None,
            credentials: Credentials::None,
            insecure_tls: false,
            server_cert_path: None,
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            cleanup_budget: Duration::from_secs(5),
            transfer_concurrency: 8,
            multipart: Multipart::Auto,
            multipart_min_size: 500 * 1024 * 1024,
            multipart_chunk_size: 10 * 1024 * 1024,
            artifact_root: None,
            variables: Arc::default(),
        }
    }
}

impl Config {
    /// The configuration MLflow's Python client would use in this process:
    /// `MLFLOW_TRACKING_URI`, `MLFLOW_TRACKING_USERNAME`/`PASSWORD` (falling
    /// back to `~/.mlflow/credentials`), `MLFLOW_TRACKING_TOKEN`,
    /// `MLFLOW_TRACKING_INSECURE_TLS`, `MLFLOW_TRACKING_SERVER_CERT_PATH`,
    /// `MLFLOW_HTTP_REQUEST_TIMEOUT`, `MLFLOW_HTTP_REQUEST_MAX_RETRIES`,
    /// `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`, `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER`,
    /// `MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD`,
    /// `MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE` and
    /// `MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE`.
    pub fn from_env() -> Result<Config> {
        Config::from_vars(|name| std::env::var(name).ok(), home_dir().as_deref())
    }

    /// [`Config::from_env`] as if `variables` were set in the environment
    /// on top of the process's own, as kedro-mlflow exports a credentials
    /// entry into `os.environ` before MLflow reads it: `MLFLOW_TRACKING_*`
    /// among them configure the client, and every one of them (`AWS_*`,
    /// `MLFLOW_S3_ENDPOINT_URL`...) reaches the artifact stores. The
    /// process environment itself is left alone; the values stay secret.
    pub fn from_env_with(variables: Vec<(String, Secret)>) -> Result<Config> {
        let lookup = |name: &str| {
            variables
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.expose().to_owned())
                .or_else(|| std::env::var(name).ok())
        };
        let mut config = Config::from_vars(lookup, home_dir().as_deref())?;
        config.variables = Arc::new(variables);
        Ok(config)
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>, home: Option<&Path>) -> Result<Config> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let mut config = Config {
            tracking_uri: var("MLFLOW_TRACKING_URI"),
            ..Config::default()
        };
        let file_credentials = home.map(read_credentials_file).transpose()?.flatten();
        let username = var("MLFLOW_TRACKING_USERNAME")
            .or_else(|| file_credentials.as_ref().and_then(|c| c.0.clone()));
        let password = var("MLFLOW_TRACKING_PASSWORD")
            .or_else(|| file_credentials.as_ref().and_then(|c| c.1.clone()));
        // MLflow uses the token only when username and password are not both set.
        config.credentials = match (username, password, var("MLFLOW_TRACKING_TOKEN")) {
            (Some(username), Some(password), _) => Credentials::Basic {
                username,
                password: Secret(password),
            },
            (_, _, Some(token)) => Credentials::Bearer(Secret(token)),
            _ => Credentials::None,
        };
        config.insecure_tls = parse_bool("MLFLOW_TRACKING_INSECURE_TLS", var)?.unwrap_or(false);
        config.server_cert_path = var("MLFLOW_TRACKING_SERVER_CERT_PATH").map(PathBuf::from);
        if config.insecure_tls && config.server_cert_path.is_some() {
            return Err(Error::Config {
                message: "MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH \
                          cannot both be set"
                    .into(),
            });
        }
        if let Some(secs) = parse_number::<f64>("MLFLOW_HTTP_REQUEST_TIMEOUT", var)? {
            config.timeout = seconds("MLFLOW_HTTP_REQUEST_TIMEOUT", secs)?;
        }
        if let Some(n) = parse_number::<u32>("MLFLOW_HTTP_REQUEST_MAX_RETRIES", var)? {
            config.retry.max_retries = n;
        }
        if let Some(f) = parse_number::<f64>("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", var)? {
            config.retry.backoff_factor = seconds("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", f)?;
        }
        if let Some(j) = parse_number::<f64>("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", var)? {
            config.retry.jitter = seconds("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", j)?;
        }
        if parse_bool("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", var)? == Some(true) {
            config.multipart = Multipart::Always;
        }
        if let Some(n) = parse_number::<u64>("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", var)? {
            config.multipart_min_size = n;
        }
        if let Some(n) = parse_number::<u64>("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", var)? {
            config.multipart_chunk_size = n.max(1);
        }
        Ok(config)
    }

    /// Sets the tracking URI: `http(s)://…` for a server, `sqlite:///…` for
    /// a SQLite database in MLflow's schema, a path or `file:` URI for a
    /// local `mlruns` store.
    #[must_use]
    pub fn with_tracking_uri(mut self, uri: impl Into<String>) -> Config {
        self.tracking_uri = Some(uri.into());
        self
    }

    /// The tracking URI, if any (`None` means MLflow's default for the
    /// current directory, [`crate::default_tracking_uri`]).
    pub fn tracking_uri(&self) -> Option<&str> {
        self.tracking_uri.as_deref()
    }

    /// Sets where a SQLite store puts new experiments' artifacts
    /// (`<root>/<experiment id>`); MLflow's default, and this one's when
    /// unset, is `<current directory>/mlruns`. A relative path is made
    /// absolute against the current directory now.
    #[must_use]
    pub fn with_artifact_root(mut self, root: impl Into<PathBuf>) -> Config {
        let root = root.into();
        self.artifact_root = Some(std::path::absolute(&root).unwrap_or(root));
        self
    }

    /// The artifact root for new experiments in a SQLite store, if set.
    pub fn artifact_root(&self) -> Option<&Path> {
        self.artifact_root.as_deref()
    }

    /// Sets how requests authenticate.
    #[must_use]
    pub fn with_credentials(mut self, credentials: Credentials) -> Config {
        self.credentials = credentials;
        self
    }

    /// Skips TLS certificate verification (`MLFLOW_TRACKING_INSECURE_TLS`).
    #[must_use]
    pub fn with_insecure_tls(mut self, insecure: bool) -> Config {
        self.insecure_tls = insecure;
        self
    }

    /// Trusts the CA bundle in this PEM file (`MLFLOW_TRACKING_SERVER_CERT_PATH`).
    #[must_use]
    pub fn with_server_cert(mut self, path: impl Into<PathBuf>) -> Config {
        self.server_cert_path = Some(path.into());
        self
    }

    /// Sets the request timeout (`MLFLOW_HTTP_REQUEST_TIMEOUT`): the longest
    /// wait to connect or for the next data, as in MLflow's client.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Config {
        self.timeout = timeout;
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Config {
        self.retry = retry;
        self
    }

    /// Sets how long one operation may go on retrying after its first
    /// failure (the retry policy's budget; default 60 s).
    #[must_use]
    pub fn with_retry_budget(mut self, budget: Duration) -> Config {
        self.retry.budget = budget;
        self
    }

    /// Sets the budget of what runs after an operation failed, such as
    /// marking the run FAILED (default 5 s), attempts included, so a dead
    /// server cannot hold a failing run for a second retry budget.
    #[must_use]
    pub fn with_cleanup_budget(mut self, budget: Duration) -> Config {
        self.cleanup_budget = budget;
        self
    }

    /// The retry policy in use.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The budget of cleanups after a failure.
    pub fn cleanup_budget(&self) -> Duration {
        self.cleanup_budget
    }

    /// Sets how many artifact files move at once (default 8).
    #[must_use]
    pub fn with_transfer_concurrency(mut self, n: usize) -> Config {
        self.transfer_concurrency = n.max(1);
        self
    }

    /// Sets when multipart upload is used and from which file size.
    #[must_use]
    pub fn with_multipart(mut self, mode: Multipart, min_size: u64, chunk_size: u64) -> Config {
        self.multipart = mode;
        self.multipart_min_size = min_size;
        self.multipart_chunk_size = chunk_size.max(1);
        self
    }
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Reads `~/.mlflow/credentials` (INI, section `[mlflow]`), MLflow's fallback
/// when the environment has no username/password. A missing file is fine.
fn read_credentials_file(home: &Path) -> Result<Option<(Option<String>, Option<String>)>> {
    let path = home.join(".mlflow").join("credentials");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut in_section = false;
    let (mut username, mut password) = (None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[mlflow]";
        } else if in_section && let Some((key, value)) = line.split_once(['=', ':']) {
            let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
            match key.trim() {
                "mlflow_tracking_username" => username = value,
                "mlflow_tracking_password" => password = value,
                _ => {}
            }
        }
    }
    Ok(Some((username, password)))
}

fn parse_bool(name: &str, var: impl Fn(&str) -> Option<String>) -> Result<Option<bool>> {
    var(name)
        .map(|v| match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(Error::Config {
                message: format!("{name} must be true or false, not '{v}'"),
            }),
        })
        .transpose()
}

fn parse_number<T: std::str::FromStr>(
    name: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<T>> {
    var(name)
        .map(|v| {
            v.trim().parse::<T>().map_err(|_| Error::Config {
                message: format!("{name} must be a number, not '{v}'"),
            })
        })
        .transpose()
}

fn seconds(name: &str, secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| Error::Config {
        message: format!("{name} must be a non-negative number of seconds, not {secs}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)], home: Option<&Path>) -> Result<Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| vars.get(k).cloned(), home)
    }

    #[test]
    fn reads_mlflow_variables_and_hides_secrets() {
        let c = config(
            &[
                ("MLFLOW_TRACKING_URI", "http://ann:uripass@127.0.0.1:5000"),
                ("MLFLOW_TRACKING_USERNAME", "ann"),
                ("MLFLOW_TRACKING_PASSWORD", "hunter2"),
                ("MLFLOW_TRACKING_TOKEN", "tok-123"),
                ("MLFLOW_HTTP_REQUEST_TIMEOUT", "5"),
                ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
                ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0.5"),
                ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(c.tracking_uri(), Some("http://ann:uripass@127.0.0.1:5000"));
        assert!(matches!(&c.credentials, Credentials::Basic { username, .. } if username == "ann"));
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.retry.max_retries, 2);
        assert_eq!(c.retry.backoff_factor, Duration::from_millis(500));
        assert_eq!(c.retry.jitter, Duration::ZERO);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok-123"),
            "{shown}"
        );
        assert!(!shown.contains("uripass"), "{shown}");

        let token = config(&[("MLFLOW_TRACKING_TOKEN", "tok-123")], None).unwrap();
        assert!(matches!(token.credentials, Credentials::Bearer(_)));
        assert!(!format!("{token:?}").contains("tok-123"));
    }

    #[test]
    fn credentials_file_is_the_fallback_and_bad_values_are_errors() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".mlflow")).unwrap();
        std::fs::write(
            home.path().join(".mlflow/credentials"),
            "[other]\nmlflow_tracking_username = no\n[mlflow]\nmlflow_tracking_username = bob\n\
             mlflow_tracking_password = pw\n",
        )
        .unwrap();
        let c = config(&[], Some(home.path())).unwrap();
        assert!(matches!(&c.credentials, Credentials::Basic { username, .. } if username == "bob"));

        let bad = config(&[("MLFLOW_HTTP_REQUEST_TIMEOUT", "soon")], None).unwrap_err();
        assert_eq!(bad.kind(), "config");
        let both = config(
            &[
                ("MLFLOW_TRACKING_INSECURE_TLS", "true"),
                ("MLFLOW_TRACKING_SERVER_CERT_PATH", "/ca.pem"),
            ],
            None,
        )
        .unwrap_err();
        assert!(both.to_string().contains("cannot both be set"));
    }
}
