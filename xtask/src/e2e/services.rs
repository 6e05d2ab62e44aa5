//! The two backing servers on free loopback ports: moto's S3 server (as
//! tests/src/moto.rs starts it) and `mlflow server` with a SQLite backend
//! and proxied artifacts (as crates/mlflow-client/tests/harness.rs does).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::http;
use super::process::{JanitorHandle, Service, free_port};

/// Keeps every MLflow process from sending usage telemetry (as the harness
/// does): the run talks to loopback only.
pub const NO_TELEMETRY: [(&str, &str); 2] = [
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "true"),
];

/// Makes sure no AWS SDK in a child process ever asks an instance metadata
/// endpoint for credentials (all S3 access uses explicit keys and endpoint).
pub const NO_CLOUD: [(&str, &str); 1] = [("AWS_EC2_METADATA_DISABLED", "true")];

/// The access key the e2e project uses (moto accepts any).
pub const S3_KEY: &str = "tandem-e2e-key";
/// The secret key the e2e project uses.
pub const S3_SECRET: &str = "tandem-e2e-secret";

const SHORT: Duration = Duration::from_secs(10);

/// A running server and its port.
#[derive(Debug)]
pub struct Server {
    pub port: u16,
    /// Held so the server runs as long as this value lives.
    _service: Service,
}

impl Server {
    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Starts `moto_server` from the tools venv and waits until it answers.
pub fn start_moto(
    tools_bin: &Path,
    work: &Path,
    janitor: &JanitorHandle,
) -> Result<Server, String> {
    let port = free_port()?;
    let mut command = Command::new(tools_bin.join("moto_server"));
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .envs(NO_CLOUD);
    let mut service = Service::spawn("moto_server", command, &work.join("moto.log"), janitor)?;
    service.wait_ready(Duration::from_secs(60), || {
        http::get(port, "/", SHORT).is_ok_and(|r| r.status == 200)
    })?;
    Ok(Server {
        port,
        _service: service,
    })
}

/// Creates `bucket` (path-style, unsigned: moto does not check signatures).
pub fn create_bucket(moto: &Server, bucket: &str) -> Result<(), String> {
    let response = http::request(moto.port, "PUT", &format!("/{bucket}"), None, &[], SHORT)?;
    if response.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "creating bucket {bucket}: HTTP {}: {}",
            response.status,
            http::clip(&response.text())
        ))
    }
}

/// Every object key in `bucket` (ListObjectsV2, following continuation tokens).
pub fn list_bucket(moto: &Server, bucket: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/{bucket}?list-type=2");
        if let Some(token) = &token {
            path.push_str(&format!("&continuation-token={}", http::encode(token)));
        }
        let response = http::get(moto.port, &path, SHORT)?;
        let xml = response.text();
        if response.status != 200 {
            return Err(format!(
                "listing bucket {bucket}: HTTP {}: {}",
                response.status,
                http::clip(&xml)
            ));
        }
        keys.extend(xml_values(&xml, "Key"));
        token = xml_values(&xml, "NextContinuationToken").into_iter().next();
        if token.is_none() {
            return Ok(keys);
        }
    }
}

/// The text of every `<tag>…</tag>` element (S3 keys are XML-escaped; the
/// e2e keys need no unescaping beyond `&amp;`).
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        let Some(end) = rest.find(&close) else { break };
        out.push(rest[..end].replace("&amp;", "&"));
        rest = &rest[end + close.len()..];
    }
    out
}

/// Starts `mlflow server` (SQLite backend, `--serve-artifacts`, one worker)
/// with its data under `work/mlflow-server` and waits for `/health`.
pub fn start_mlflow(
    mlflow_bin: &Path,
    work: &Path,
    janitor: &JanitorHandle,
) -> Result<Server, String> {
    let data = work.join("mlflow-server");
    std::fs::create_dir_all(&data).map_err(|e| format!("create {}: {e}", data.display()))?;
    let port = free_port()?;
    let mut command = Command::new(mlflow_bin.join("mlflow"));
    command
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        // One worker: two initialise the registry tables of the shared SQLite
        // file concurrently on first use, and the loser answers 500 (see the
        // harness).
        .args(["--workers", "1"])
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}", data.join("mlflow.db").display()))
        .arg("--serve-artifacts")
        .arg("--artifacts-destination")
        .arg(data.join("artifacts"))
        .envs(NO_TELEMETRY)
        .envs(NO_CLOUD)
        .env("PATH", with_path(mlflow_bin));
    let mut service = Service::spawn(
        "mlflow server",
        command,
        &work.join("mlflow-server.log"),
        janitor,
    )?;
    // The first start creates and migrates the database: slow on 2 cores.
    service.wait_ready(Duration::from_secs(240), || {
        http::get(port, "/health", SHORT).is_ok_and(|r| r.status == 200)
    })?;
    Ok(Server {
        port,
        _service: service,
    })
}

/// `PATH` with `dir` first, so tools that start `mlflow` or `python` by name
/// (MLflow's model server does) find the venv's.
pub fn with_path(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_else(|_| dir.as_os_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_values_are_extracted() {
        let xml = "<R><Contents><Key>a/b.csv</Key></Contents><Contents><Key>c&amp;d</Key>\
                   </Contents><NextContinuationToken>t1</NextContinuationToken></R>";
        assert_eq!(xml_values(xml, "Key"), ["a/b.csv", "c&d"]);
        assert_eq!(xml_values(xml, "NextContinuationToken"), ["t1"]);
    }
}
