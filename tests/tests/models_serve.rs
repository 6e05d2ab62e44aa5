//! `models serve` through the churn example's binary: train, save, serve
//! on a free loopback port, predict over HTTP like `models predict` does,
//! refuse bad requests with MLflow's errors, and stop cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;
use tandem_tests::{churn, churn_bin, ok};

use crate::run_support::trained_churn;

/// A running `models serve`, its address read from its log.
pub(crate) struct Serving {
    child: Child,
    pub(crate) addr: SocketAddr,
    /// What it logged before its address.
    pub(crate) startup: Vec<String>,
    /// The line that logged its address, with the limits in force.
    pub(crate) banner: String,
    log: mpsc::Receiver<String>,
}

impl Serving {
    /// `binary models serve --port 0 <args>` in `cwd`.
    pub(crate) fn start(binary: &Path, cwd: &Path, args: &[&str]) -> Serving {
        let mut child = Command::new(binary)
            .args(["models", "serve", "--port", "0"])
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let stderr = child.stderr.take().unwrap();
        let (lines, log) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut startup = Vec::new();
        let (addr, banner) = loop {
            let line = log
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no address logged; log so far: {startup:#?}"));
            if let Some(rest) = line.split("http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap();
                break (addr.parse().unwrap(), line.clone());
            }
            startup.push(line);
        };
        Serving {
            child,
            addr,
            startup,
            banner,
            log,
        }
    }

    /// SIGTERM, then the exit status and the rest of the log.
    pub(crate) fn terminate(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.log.try_iter().collect();
        (status.success(), rest.join("\n"))
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request (`Connection: close`): status and body.
pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status_line = String::from_utf8_lossy(&raw[..end]).to_string();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    (status, raw[end + 4..].to_vec())
}

#[test]
fn the_churn_model_is_served_over_http() {
    let project = trained_churn();
    let cwd = project.path();
    let example = cwd.join("model/serving_input_example.json");
    let from_cli: Value = serde_json::from_str(&ok(&churn(
        &[
            "models",
            "predict",
            "-m",
            "model",
            "-i",
            example.to_str().unwrap(),
        ],
        cwd,
    )))
    .unwrap();

    let server = Serving::start(
        churn_bin(),
        cwd,
        &["-m", "model", "--workers", "2", "--max-body", "100000"],
    );
    assert!(server.addr.ip().is_loopback());
    assert_eq!(
        request(server.addr, "GET", "/ping", "text/plain", b""),
        (200, b"\n".to_vec())
    );
    assert_eq!(
        request(server.addr, "GET", "/health", "text/plain", b"").0,
        200
    );

    let body = std::fs::read(&example).unwrap();
    let (status, predictions) = request(
        server.addr,
        "POST",
        "/invocations",
        "application/json",
        &body,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&predictions));
    let served: Value = serde_json::from_slice(&predictions).unwrap();
    assert_eq!(served, from_cli);

    let (status, error) = request(server.addr, "POST", "/invocations", "text/plain", &body);
    assert_eq!(status, 415);
    let error: Value = serde_json::from_slice(&error).unwrap();
    assert_eq!(error["error_code"], "BAD_REQUEST");
    let (status, _) = request(
        server.addr,
        "POST",
        "/invocations",
        "application/json",
        b"{\"inputs\": 1}",
    );
    assert_eq!(status, 400);
    let (status, _) = request(
        server.addr,
        "POST",
        "/invocations",
        "application/json",
        &vec![b' '; 100_001],
    );
    assert_eq!(status, 413);

    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
    assert!(log.contains("server stopped"), "{log}");
}

#[test]
fn a_missing_model_is_an_error_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(churn_bin())
        .args(["models", "serve", "-m", "no_such_model", "--port", "0"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no_such_model"));
}
