//! Real MLflow servers on free loopback ports: `mlflow server` from
//! [`MLFLOW_VENV`](crate::python::MLFLOW_VENV) with a SQLite backend store
//! and proxied artifacts (`--serve-artifacts`) in its own data directory,
//! optionally behind MLflow's basic-auth app, supervised by
//! [`crate::process`] so its whole process group stops with its owner.
//!
//! Tests share one plain ([`server`]) and one basic-auth ([`auth_server`])
//! server per process; `cargo xtask e2e` starts its own with [`Server::start`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::http;
use crate::moto::NO_CLOUD;
use crate::process::{JanitorHandle, Service, for_process, free_port};
use crate::python::{mlflow_bin, with_path};

/// Keeps every MLflow process (servers, scripts) from sending usage
/// telemetry: tests and the e2e run talk to loopback only.
pub const NO_TELEMETRY: [(&str, &str); 2] = [
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "true"),
];

/// The basic-auth server's admin user.
pub const ADMIN: &str = "admin";
/// The basic-auth server's admin password.
pub const ADMIN_PASSWORD: &str = "tandem-test-password-1";

/// The first start creates and migrates the database: slow on 2 cores.
const START_TIMEOUT: Duration = Duration::from_secs(240);

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// MLflow's basic-auth app (`--app-name basic-auth`): anonymous users
    /// may read, [`ADMIN`] may do anything.
    pub basic_auth: bool,
}

/// A running `mlflow server`, stopped (its whole process group) when dropped.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub uri: String,
    /// The port it listens on.
    pub port: u16,
    /// Its data directory: `mlflow.db`, `artifacts/`, `server.log`.
    pub data: PathBuf,
    _service: Service,
}

impl Server {
    /// Starts `bin/mlflow server` (one worker) with its database, artifacts
    /// and log under `data` (created if missing), registered with
    /// `janitor`, and waits until `/health` answers.
    pub fn start(
        bin: &Path,
        data: &Path,
        janitor: &JanitorHandle,
        options: &Options,
    ) -> Result<Server, String> {
        std::fs::create_dir_all(data).map_err(|e| format!("create {}: {e}", data.display()))?;
        let port = free_port()?;
        let mut command = Command::new(bin.join("mlflow"));
        command
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
            // One worker: two workers initialise the model-registry tables of
            // the shared SQLite file concurrently on first use, and the loser
            // answered 500 to every registry call (seen in CI).
            .args(["--workers", "1"])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", data.join("mlflow.db").display()))
            .arg("--serve-artifacts")
            .arg("--artifacts-destination")
            .arg(data.join("artifacts"))
            .envs(NO_TELEMETRY)
            .envs(NO_CLOUD)
            .env("PATH", with_path(bin));
        if options.basic_auth {
            let ini = data.join("auth.ini");
            std::fs::write(
                &ini,
                format!(
                    "[mlflow]\ndefault_permission = READ\n\
                     database_uri = sqlite:///{}\n\
                     admin_username = {ADMIN}\nadmin_password = {ADMIN_PASSWORD}\n\
                     authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
                    data.join("basic_auth.db").display()
                ),
            )
            .map_err(|e| format!("write {}: {e}", ini.display()))?;
            command
                .args(["--app-name", "basic-auth"])
                .env("MLFLOW_AUTH_CONFIG_PATH", &ini)
                .env("MLFLOW_FLASK_SERVER_SECRET_KEY", "tandem-test-secret");
        }
        let mut service =
            Service::spawn("mlflow server", command, &data.join("server.log"), janitor)?;
        service.wait_ready(START_TIMEOUT, || {
            http::get(port, "/health", Duration::from_secs(10)).is_ok_and(|r| r.status == 200)
        })?;
        Ok(Server {
            uri: format!("http://127.0.0.1:{port}"),
            port,
            data: data.to_owned(),
            _service: service,
        })
    }
}

/// The process's plain server, started on first use and stopped when the
/// process ends.
///
/// # Panics
///
/// When MLflow cannot be installed or the server does not come up.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| shared(&Options::default()))
}

/// The process's basic-auth server, like [`server`].
///
/// # Panics
///
/// When MLflow cannot be installed or the server does not come up.
pub fn auth_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| shared(&Options { basic_auth: true }))
}

fn shared(options: &Options) -> Server {
    let scope = for_process();
    scope
        .new_dir("mlflow")
        .and_then(|data| Server::start(mlflow_bin(), &data, &scope.janitor(), options))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A command running `program` (`mlflow`, `python`, ...) from the MLflow
/// venv, with the venv first on `PATH` (MLflow starts tools by name),
/// telemetry off and stdin closed.
///
/// # Panics
///
/// When MLflow cannot be installed.
pub fn command(program: &str) -> Command {
    let bin = mlflow_bin();
    let mut command = Command::new(bin.join(program));
    command
        .env("PATH", with_path(bin))
        .envs(NO_TELEMETRY)
        .stdin(Stdio::null());
    command
}
