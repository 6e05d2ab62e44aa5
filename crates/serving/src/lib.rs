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
//!   and methods.
//!
//! Predictions run on tokio's blocking pool, at most
//! [`ServeConfig::workers`] at a time, so slow models never stall the
//! connections, health checks or timeouts. [`Server::run`] stops on its
//! shutdown future, letting in-flight requests finish.
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

mod error;
mod errors;
mod http;

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

/// How long a client may take to send its request headers; keeps
/// idle half-open connections (slowloris) from piling up.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long to back off after `accept` fails (e.g. out of file
/// descriptors), rather than spinning on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

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
    /// The largest request body accepted, in bytes (default 64 MiB).
    pub max_body: usize,
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
            runner: None,
        }
    }
}

/// What every request handler shares.
#[derive(Debug)]
struct State {
    model: Arc<PipelineModel>,
    permits: Arc<Semaphore>,
    timeout: Duration,
    max_body: usize,
    runner: Option<RunnerChoice>,
}

/// A bound scoring server; [`run`](Self::run) serves until shutdown.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<State>,
}

impl Server {
    /// Binds `config.addr` for `model`. Must be called inside a tokio
    /// runtime with I/O and time enabled.
    pub async fn bind(model: Arc<PipelineModel>, config: ServeConfig) -> Result<Server, Error> {
        let io_error = |source| Error::Listen {
            addr: config.addr,
            source,
        };
        let listener = TcpListener::bind(config.addr).await.map_err(io_error)?;
        let local_addr = listener.local_addr().map_err(io_error)?;
        Ok(Server {
            listener,
            local_addr,
            state: Arc::new(State {
                model,
                permits: Arc::new(Semaphore::new(config.workers.max(1))),
                timeout: config.timeout,
                max_body: config.max_body,
                runner: config.runner,
            }),
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
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT);
        tokio::pin!(shutdown);
        loop {
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
