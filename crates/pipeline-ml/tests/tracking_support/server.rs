//! A real MLflow server for the tracking tests, copied down from the
//! mlflow-client crate's harness: the same virtualenv under
//! `target/py-mlflow` (created on first use; a lock file serializes
//! concurrent test processes), and one `mlflow server` per test process on
//! a free loopback port, stopped when the process exits.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Keeps every MLflow process (server, scripts) from sending usage
/// telemetry: tests and benchmarks talk to loopback only.
pub(crate) const NO_TELEMETRY: [(&str, &str); 2] = [
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "true"),
];

/// The MLflow release the tests run against (the mlflow-client harness
/// installs the same, so the venv is shared).
const MLFLOW: &str = "mlflow[auth]==3.17.2";

/// The basic-auth server's admin account.
pub(crate) const ADMIN: &str = "admin";
pub(crate) const ADMIN_PASSWORD: &str = "tandem-admin-pw-1234";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The venv's bin directory, installing MLflow there if needed.
pub(crate) fn venv_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target = target_dir();
        std::fs::create_dir_all(&target).unwrap();
        let venv = target.join("py-mlflow");
        let marker = venv.join(".tandem-installed");
        let lock = File::create(target.join("py-mlflow.lock")).unwrap();
        lock.lock().unwrap();
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(MLFLOW) {
            if !venv.join("bin/python").exists() {
                run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
            }
            run(Command::new(venv.join("bin/python")).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                MLFLOW,
            ]));
            std::fs::write(&marker, MLFLOW).unwrap();
        }
        lock.unlock().unwrap();
        venv.join("bin")
    })
}

/// Starts the server in its own session and waits on stdin: when the test
/// process exits, the pipe closes and the server and its data go with it.
const SUPERVISOR: &str = r#"
import os, shutil, signal, subprocess, sys
data, cmd = sys.argv[1], sys.argv[2:]
log = open(os.path.join(data, "server.log"), "w")
p = subprocess.Popen(cmd, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
try:
    sys.stdin.read()
finally:
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    shutil.rmtree(data, ignore_errors=True)
"#;

/// A running `mlflow server`.
pub(crate) struct Server {
    pub(crate) uri: String,
    pub(crate) port: u16,
    pub(crate) data: PathBuf,
    supervisor: Mutex<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts a server; with `basic_auth`, MLflow's basic-auth app with
    /// the [`ADMIN`] account.
    pub(crate) fn start(basic_auth: bool) -> Server {
        let bin = venv_bin();
        let data = tempfile::Builder::new()
            .prefix("tandem-mlflow-")
            .tempdir()
            .unwrap()
            .keep();
        let port = free_port();
        let mut args: Vec<String> = vec![
            bin.join("mlflow").display().to_string(),
            "server".into(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--workers".into(),
            "2".into(),
            "--backend-store-uri".into(),
            format!("sqlite:///{}/mlflow.db", data.display()),
            "--serve-artifacts".into(),
            "--artifacts-destination".into(),
            data.join("artifacts").display().to_string(),
        ];
        let mut cmd = Command::new(bin.join("python"));
        cmd.envs(NO_TELEMETRY);
        if basic_auth {
            args.extend(["--app-name".into(), "basic-auth".into()]);
            let ini = data.join("auth.ini");
            std::fs::write(
                &ini,
                format!(
                    "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{}/basic_auth.db\n\
                     admin_username = {ADMIN}\nadmin_password = {ADMIN_PASSWORD}\n\
                     authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
                    data.display()
                ),
            )
            .unwrap();
            cmd.env("MLFLOW_AUTH_CONFIG_PATH", &ini)
                .env("MLFLOW_FLASK_SERVER_SECRET_KEY", "tandem-test-secret");
        }
        let child = cmd
            .args(["-c", SUPERVISOR])
            .arg(&data)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the mlflow server supervisor");
        let server = Server {
            uri: format!("http://127.0.0.1:{port}"),
            port,
            data,
            supervisor: Mutex::new(child),
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(240);
        while Instant::now() < deadline {
            if healthy(self.port) {
                return;
            }
            if let Ok(Some(status)) = self.supervisor.lock().unwrap().try_wait() {
                panic!("mlflow server exited ({status}):\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!("mlflow server not healthy after 240 s:\n{}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }
}

/// The plain server (SQLite backend, proxied artifacts), shared by all tests.
pub(crate) fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(false))
}

/// A basic-auth server, shared by the tests that need one.
pub(crate) fn auth_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(true))
}

/// Whether `GET /health` answers 200.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200")
}
