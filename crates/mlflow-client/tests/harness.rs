//! Real MLflow servers for the tests: a virtualenv with MLflow under
//! `target/py-mlflow` (created on first use; a lock file serializes
//! concurrent test processes), and `mlflow server` processes started once per
//! test process on free loopback ports and stopped when it exits.
//!
//! Shared with the benchmark, which includes this file by path.

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

/// The MLflow release the tests run against (the protocol notes' basis);
/// the `auth` extra brings the basic-auth app's dependencies.
const MLFLOW: &str = "mlflow[auth]==3.17.2";
pub(crate) const ADMIN: &str = "admin";
pub(crate) const ADMIN_PASSWORD: &str = "tandem-test-password-1";

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
            // One worker: two workers initialise the model-registry tables of
            // the shared SQLite file concurrently on first use, and the loser
            // answered 500 to every registry call (seen in CI).
            "--workers".into(),
            "1".into(),
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
            if let Ok((200, _)) = http(self.port, "GET", "/health", None, None) {
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

/// A minimal HTTP/1.1 exchange with a loopback server, for checks that go
/// around the client (health, deleting an experiment).
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    basic: Option<(&str, &str)>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    let auth = basic
        .map(|(u, p)| format!("Authorization: Basic {}\r\n", base64(&format!("{u}:{p}"))))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn base64(input: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
