//! A scoring server speaking MLflow 3's protocol, so that clients of
//! `mlflow models serve` work unchanged against a tandem model.
//!
//! - `GET /ping`, `GET /health`: 200 once the model is loaded (it is
//!   loaded before the server binds); `GET /version`: the MLflow version
//!   whose protocol is spoken.
//! - `POST /invocations` with `application/json` (`dataframe_split`,
//!   `dataframe_records`, `instances` or `inputs`, plus `params`),
//!   `text/csv`, `application/vnd.apache.parquet` or (tandem only)
//!   `application/vnd.apache.arrow.stream`: 200 and
//!   `{"predictions": ...}` exactly as [`PipelineModel::predict_request`]
//!   writes it.
//! - Errors are MLflow's JSON, `{"error_code": ..., "message": ...}`: 400
//!   for bad input, parameters, missing columns or unsafe casts (tandem
//!   converts only losslessly and refuses unknown parameters, where MLflow
//!   casts with pandas and ignores them), 415 for another content type,
//!   413 for a body over [`ServeConfig::max_body`], 504 for a request
//!   running past [`ServeConfig::timeout`], 404 and 405 for unknown routes
//!   and methods. Error messages never carry the server's file paths.
//!
//! Predictions run on tokio's blocking pool, at most
//! [`ServeConfig::workers`] at a time, so slow models never stall the
//! connections, health checks or timeouts. [`Server::run`] stops on its
//! shutdown future, letting in-flight requests finish.
//!
//! What clients can make the server hold is bounded: request bodies by
//! [`ServeConfig::body_budget`] in total (a body's share is reserved
//! before it is read, and buffers grow only as bytes arrive), connections
//! by [`ServeConfig::max_connections`] (the open-files limit is raised to
//! its hard limit at [`Server::bind`]), and an idle connection's life by
//! [`ServeConfig::keep_alive`]. `/ping`, `/health` and `/version` wait for
//! none of these budgets. docs/serving.md lists the limits and their tests.
//!
//! ```
//! use std::io::{Read, Write};
//! use tandem_serving::{ServeConfig, Server};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let model = tandem_test_support::model::demo_model(dir.path()); // a loaded PipelineModel
//! let config = ServeConfig { addr: "127.0.0.1:0".parse()?, ..ServeConfig::default() };
//! let runtime = tokio::runtime::Runtime::new()?;
//! runtime.block_on(async {
//!     let server = Server::bind(model, config).await?;
//!     let addr = server.local_addr();
//!     let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//!     let serving = tokio::spawn(server.run(async { stopped.await.ok(); }));
//!     let answer = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
//!         let mut stream = std::net::TcpStream::connect(addr)?;
//!         stream.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//!         let mut answer = String::new();
//!         stream.read_to_string(&mut answer)?;
//!         Ok(answer)
//!     }).await??;
//!     assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
//!     stop.send(()).ok();
//!     serving.await??;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok(()) }
//! ```
//!
//! In a server process, [`shutdown_signal`] (SIGINT, SIGTERM) is the
//! shutdown future: `server.run(shutdown_signal()).await`.

mod body;
mod error;
mod errors;
mod fds;
mod http;
mod redact;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use tandem_pipeline_ml::RunnerChoice;
use tandem_pipeline_model::PipelineModel;

pub use error::Error;
/// The MLflow version whose scoring protocol this server speaks; `GET
/// /version` answers it, as MLflow's server answers its own version.
pub use tandem_pipeline_model::MLFLOW_VERSION;

/// How long to back off after `accept` fails (e.g. out of file
/// descriptors), rather than spinning on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// hyper's per-connection read buffer cap (its default is ~400 kB): it
/// bounds what each connection holds besides its body's share of the
/// budget. hyper may overshoot it by one read, hence [`MAX_HEAD`] too.
const READ_BUFFER: usize = 64 * 1024;

/// The largest request head (request line and headers) accepted; a
/// larger one gets a 431 (uvicorn's h11 allows 16 kB).
const MAX_HEAD: usize = 64 * 1024;

/// How the server listens and what it tolerates.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Where to listen (default `127.0.0.1:5000`, MLflow's; port 0 picks a
    /// free port, see [`Server::local_addr`]).
    pub addr: SocketAddr,
    /// How many predictions may run at once (default: the available CPUs).
    pub workers: usize,
    /// The longest a request may take, body included, before a 504
    /// (default 60 s, MLflow's).
    pub timeout: Duration,
    /// The largest request body accepted, in bytes (default 64 MiB); a
    /// larger one gets a 413, before any of it is read when its
    /// Content-Length says so. Never more than [`body_budget`](Self::body_budget).
    pub max_body: usize,
    /// The most request-body bytes the server buffers at once, all
    /// requests together (default 256 MiB, four full bodies). A request
    /// reserves its declared length before reading a byte (a chunked one
    /// as its buffer grows) and holds it until its prediction ends;
    /// requests that find the budget spent wait, under their timeout.
    pub body_budget: usize,
    /// The most connections open at once (default 4,096, lowered to what
    /// the open-files limit allows). Past it the server stops accepting
    /// until one closes, so new clients wait in the listen backlog rather
    /// than exhausting file descriptors.
    pub max_connections: usize,
    /// How long a connection may go without sending a complete request
    /// head, counted from its accept or its last response, before the
    /// server closes it (default 5 s, uvicorn's keep-alive timeout). This
    /// is hyper's header-read timeout: it closes idle keep-alive
    /// connections and clients trickling their headers alike.
    pub keep_alive: Duration,
    /// The runner predictions use (default: the model's).
    pub runner: Option<RunnerChoice>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 5000)),
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            timeout: Duration::from_secs(60),
            max_body: 64 * 1024 * 1024,
            body_budget: 256 * 1024 * 1024,
            max_connections: 4096,
            keep_alive: Duration::from_secs(5),
            runner: None,
        }
    }
}

/// What every request handler shares.
#[derive(Debug)]
struct State {
    model: Arc<PipelineModel>,
    permits: Arc<Semaphore>,
    /// Request-body bytes, one permit each; see [`ServeConfig::body_budget`].
    bodies: Arc<Semaphore>,
    timeout: Duration,
    /// The per-request cap: `max_body`, never more than the whole budget
    /// (such a body could never be read).
    max_body: usize,
    runner: Option<RunnerChoice>,
}

/// A bound scoring server; [`run`](Self::run) serves until shutdown.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<State>,
    /// One permit per open connection.
    connections: Arc<Semaphore>,
    keep_alive: Duration,
}

impl Server {
    /// Binds `config.addr` for `model`, first raising this process's
    /// soft open-files limit to its hard limit (each connection is a file
    /// descriptor, and the usual soft limit of 1,024 is soon reached).
    /// Must be called inside a tokio runtime with I/O and time enabled.
    pub async fn bind(model: Arc<PipelineModel>, config: ServeConfig) -> Result<Server, Error> {
        let open_files = fds::raise_open_files_limit();
        let max_connections = fds::connection_cap(config.max_connections, open_files);
        let io_error = |source| Error::Listen {
            addr: config.addr,
            source,
        };
        let listener = TcpListener::bind(config.addr).await.map_err(io_error)?;
        let local_addr = listener.local_addr().map_err(io_error)?;
        let body_budget = config.body_budget.clamp(1, Semaphore::MAX_PERMITS);
        Ok(Server {
            listener,
            local_addr,
            state: Arc::new(State {
                model,
                permits: Arc::new(Semaphore::new(config.workers.max(1))),
                bodies: Arc::new(Semaphore::new(body_budget)),
                timeout: config.timeout,
                max_body: config.max_body.min(body_budget),
                runner: config.runner,
            }),
            connections: Arc::new(Semaphore::new(max_connections)),
            keep_alive: config.keep_alive,
        })
    }

    /// The address actually bound (with the port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then stops accepting, lets
    /// in-flight requests finish (closing idle keep-alive connections)
    /// and returns. Connections still open one timeout after shutdown
    /// are abandoned so that a stalled client cannot hold the exit.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let graceful = GracefulShutdown::new();
        let mut builder = http1::Builder::new();
        // hyper starts the header-read timer whenever a connection waits
        // for a request head (after accept and after each response), so
        // this one timer is both the keep-alive and the header timeout.
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.keep_alive)
            .max_buf_size(READ_BUFFER)
            .max_header_size(MAX_HEAD);
        tokio::pin!(shutdown);
        loop {
            // A connection slot first, so that past the cap clients queue
            // in the listen backlog instead of costing descriptors.
            let slot = tokio::select! {
                slot = Arc::clone(&self.connections).acquire_owned() => slot,
                () = &mut shutdown => break,
            };
            let Ok(slot) = slot else { break };
            tokio::select! {
                accepted = self.listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            tracing::warn!("cannot accept a connection: {error}");
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                            continue;
                        }
                    };
                    // Responses are written whole; Nagle would only delay them.
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!("cannot set TCP_NODELAY: {error}");
                    }
                    let state = Arc::clone(&self.state);
                    let service = service_fn(move |request| http::handle(Arc::clone(&state), request));
                    let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        let _slot = slot;
                        if let Err(error) = connection.await {
                            tracing::debug!("connection closed: {error}");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        tracing::info!("shutting down: finishing in-flight requests");
        let drain = self.state.timeout + Duration::from_secs(1);
        if tokio::time::timeout(drain, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after {drain:?}; closing them");
        }
        Ok(())
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM: the shutdown future
/// for [`Server::run`] in a server process.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!("cannot listen for SIGTERM ({error}); stop with Ctrl-C");
                wait_for_ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    wait_for_ctrl_c().await;
}

async fn wait_for_ctrl_c() {
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!("cannot listen for Ctrl-C ({error}); the server runs until killed");
        std::future::pending::<()>().await;
    }
}
