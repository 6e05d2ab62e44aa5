//! A scoring server on a free loopback port, the demo models it serves,
//! and a minimal HTTP/1.1 client over `TcpStream` (so tests control every
//! byte: raw content types, chunked bodies, oversized ones).

#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different part of the fixtures"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use arrow_array::RecordBatch;
use serde_json::{Value, json};
use tandem_pipeline_core::{Pipeline, node};
use tandem_pipeline_model::PipelineModel;
use tandem_serving::{ServeConfig, Server};
use tandem_test_support::gate::Gate;
use tokio::sync::oneshot;

pub use crate::support::demo_model;
use crate::support::{self, Scaler, load};

/// A server running on its own runtime thread until [`stop`](Self::stop).
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), tandem_serving::Error>>>,
}

impl TestServer {
    /// Serves `model` on 127.0.0.1 with a free port; `config.addr` is replaced.
    pub fn start(model: Arc<PipelineModel>, config: ServeConfig) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..config
        };
        let server = runtime.block_on(Server::bind(model, config)).unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let result = runtime.block_on(server.run(async {
                let _ = stopped.await;
            }));
            runtime.shutdown_timeout(Duration::from_secs(1));
            result
        });
        TestServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Signals shutdown and waits for the server to finish.
    pub fn stop(mut self) -> Result<(), tandem_serving::Error> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), tandem_serving::Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().expect("the server thread panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// A server reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an MLflow error reply and returns its message.
    pub fn error(&self, status: u16, code: &str) -> String {
        let text = String::from_utf8_lossy(&self.body);
        assert_eq!(self.status, status, "{text}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        let body = self.json();
        assert_eq!(body["error_code"], code, "{text}");
        body["message"].as_str().unwrap().to_owned()
    }
}

/// Sends raw request bytes and reads the reply until the server closes.
pub fn send(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The server may answer (a 413) and close before reading everything.
    let _ = stream.write_all(request);
    let mut raw = Vec::new();
    let mut buf = [0_u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(_) if !raw.is_empty() => break,
            Err(e) => panic!("no reply: {e}"),
        }
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

pub fn get(addr: SocketAddr, path: &str) -> Reply {
    send(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// POSTs `body` with a Content-Length (and `content_type` when given).
pub fn post(addr: SocketAddr, path: &str, content_type: Option<&str>, body: &[u8]) -> Reply {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(content_type) = content_type {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    send(addr, &bytes)
}

pub fn post_json(addr: SocketAddr, body: &Value) -> Reply {
    post(
        addr,
        "/invocations",
        Some("application/json"),
        body.to_string().as_bytes(),
    )
}

/// POSTs `body` chunked, with no Content-Length, in `chunk`-byte chunks.
pub fn post_chunked(addr: SocketAddr, content_type: &str, body: &[u8], chunk: usize) -> Reply {
    let mut bytes = format!(
        "POST /invocations HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for part in body.chunks(chunk) {
        bytes.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        bytes.extend_from_slice(part);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    send(addr, &bytes)
}

/// A model whose one inference node, when a request's `hold` parameter is
/// true (false by default), blocks at `gate` until the test opens it.
pub fn gated_model(dir: &Path, gate: Arc<Gate>) -> Arc<PipelineModel> {
    let mut functions = support::functions();
    functions.register(
        "demo.gated_scale",
        move |features: &RecordBatch, scaler: &Scaler, hold: &bool| -> RecordBatch {
            if *hold {
                gate.wait();
            }
            support::scale(features, scaler)
        },
    );
    let inference = Pipeline::new([node(
        functions.get("demo.gated_scale").cloned().unwrap(),
        ["features", "scaler", "params:hold"],
        "scaled",
    )
    .name("gated_scale")
    .build()
    .unwrap()])
    .unwrap();
    let path = dir.join("gated_model");
    support::save_trained(
        &support::scaler_ml(inference),
        &json!({"hold": false}),
        20,
        &path,
    );
    load(&path, &functions)
}

/// A model whose one inference node panics with `message(model_dir)`,
/// given the directory the model is saved to (`dir/failing_model`).
pub fn failing_model(dir: &Path, message: impl Fn(&Path) -> String) -> Arc<PipelineModel> {
    let path = dir.join("failing_model");
    let message = message(&path);
    let mut functions = support::functions();
    functions.register(
        "demo.failing_scale",
        move |_features: &RecordBatch, _scaler: &Scaler| -> RecordBatch { panic!("{message}") },
    );
    let inference = Pipeline::new([node(
        functions.get("demo.failing_scale").cloned().unwrap(),
        ["features", "scaler"],
        "scaled",
    )
    .name("failing_scale")
    .build()
    .unwrap()])
    .unwrap();
    support::save_trained(&support::scaler_ml(inference), &json!({}), 20, &path);
    load(&path, &functions)
}

/// A `dataframe_split` body of the demo features.
pub fn split_body(rows: &[[f64; 2]]) -> Value {
    json!({"dataframe_split": {"columns": ["x1", "x2"], "data": rows}})
}
