//! `tandem models save|predict|serve`: pack a trained PipelineMl, predict
//! with a model, serve it.

use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tandem_mlflow_client::MlflowClient;
use tandem_pipeline_model::envelope::InputFormat;
use tandem_pipeline_model::{LoadOptions, MlModel, PipelineModel, save_model};
use tandem_serving::{ServeConfig, Server, shutdown_signal};

use super::registry::PipelineRegistry;
use super::{Outcome, delegate};
use crate::app::App;
use crate::args::{InputKind, PredictArgs, SaveArgs, ServeArgs, TrustArgs};
use crate::error::Failure;

/// How long, after the server stopped, predictions still running past
/// their timeout may delay the exit.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// A written model directory.
#[derive(Debug)]
pub(crate) struct Saved {
    /// Where it was written.
    pub(crate) dir: std::path::PathBuf,
    /// Its MLmodel.
    pub(crate) mlmodel: MlModel,
}

/// Packs the registered PipelineMl `args.pipeline` from the project's catalog.
pub(crate) fn save(args: &SaveArgs, app: &App) -> Result<Saved, Failure> {
    let selected =
        PipelineRegistry::new(app, &args.spec)?.select(std::slice::from_ref(&args.pipeline))?;
    let ml = selected.as_ml().ok_or_else(|| Failure::NotPipelineMl {
        name: args.pipeline.clone(),
    })?;
    let (_, catalog) = super::mlflow::project_catalog(app, &args.conf)?;
    let mlmodel = save_model(
        ml,
        &catalog,
        &args.output,
        &app.save_options(!args.no_executable),
    )?;
    Ok(Saved {
        dir: args.output.clone(),
        mlmodel,
    })
}

/// The predictions of `models predict`.
#[derive(Debug)]
pub(crate) struct Prediction {
    /// The `{"predictions": ...}` JSON.
    pub(crate) body: Vec<u8>,
    /// The file it was written to, when `-o` was given.
    pub(crate) written_to: Option<std::path::PathBuf>,
}

/// A model loaded with this binary's functions, or the embedded
/// executable that must run it instead.
enum Loaded {
    Here(Box<PipelineModel>),
    Embedded(PathBuf),
}

/// A model this binary holds the functions of runs here and needs no
/// consent; only handing it to its embedded executable does.
fn load(dir: &Path, app: &App, consent: delegate::Consent<'_>) -> Result<Loaded, Failure> {
    match PipelineModel::load(dir, app.functions(), &LoadOptions::default()) {
        Ok(model) => Ok(Loaded::Here(Box::new(model))),
        Err(missing @ tandem_pipeline_model::Error::MissingFunctions { .. }) => {
            delegate::embedded_executable(dir, missing, consent).map(Loaded::Embedded)
        }
        Err(e) => Err(e.into()),
    }
}

/// Predicts on `args.input`; writes the predictions to `-o` when given.
pub(crate) fn predict(args: &PredictArgs, app: &App) -> Result<Outcome, Failure> {
    let (dir, _download) = fetch_model(&args.model, MlflowClient::from_env)?;
    let model = match load(&dir, app, consent(&args.model, &args.trust))? {
        Loaded::Here(model) => model,
        Loaded::Embedded(executable) => {
            let mut forwarded: Vec<OsString> = vec![
                "models".into(),
                "predict".into(),
                "-m".into(),
                dir.clone().into(),
                "-i".into(),
                args.input.clone().into(),
            ];
            if let Some(output) = &args.output {
                forwarded.extend(["-o".into(), output.clone().into()]);
            }
            if let Some(format) = args.format {
                forwarded.extend(["-t".into(), format.name().into()]);
            }
            for params in &args.params {
                forwarded.extend(["--params".into(), params.into()]);
            }
            return Ok(Outcome::Delegated(delegate::run(&executable, &forwarded)?));
        }
    };
    let body = std::fs::read(&args.input).map_err(|source| Failure::File {
        path: args.input.display().to_string(),
        source,
    })?;
    let format = match args.format {
        Some(InputKind::Json) => InputFormat::Json,
        Some(InputKind::Csv) => InputFormat::Csv,
        Some(InputKind::Parquet) => InputFormat::Parquet,
        None => InputFormat::from_path(&args.input),
    };
    let params = model.parse_params(args.param_pairs())?;
    let body = model.predict_request(&body, format, &params, None)?;
    if let Some(path) = &args.output {
        std::fs::write(path, &body).map_err(|source| Failure::File {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(Outcome::Predicted(Prediction {
        body,
        written_to: args.output.clone(),
    }))
}

/// A count from the command line, capped where this platform's `usize` ends.
fn saturating_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// Serves `args.model` until SIGINT or SIGTERM.
pub(crate) fn serve(args: &ServeArgs, app: &App) -> Result<Outcome, Failure> {
    let addr = listen_addr(&args.host, args.port)?;
    let (dir, _download) = fetch_model(&args.model, MlflowClient::from_env)?;
    let model = match load(&dir, app, consent(&args.model, &args.trust))? {
        Loaded::Here(model) => Arc::from(model),
        Loaded::Embedded(executable) => {
            let mut forwarded: Vec<OsString> = vec![
                "models".into(),
                "serve".into(),
                "-m".into(),
                dir.clone().into(),
                "--host".into(),
                args.host.clone().into(),
                "--port".into(),
                args.port.to_string().into(),
                "--timeout".into(),
                args.timeout.to_string().into(),
                "--max-body".into(),
                args.max_body.to_string().into(),
            ];
            if let Some(workers) = args.workers {
                forwarded.extend(["--workers".into(), workers.to_string().into()]);
            }
            // Only when given: an older embedded executable may not know them.
            let limits = [
                ("--body-budget", args.body_budget.map(|v| v.to_string())),
                (
                    "--max-connections",
                    args.max_connections.map(|v| v.to_string()),
                ),
                (
                    "--timeout-keep-alive",
                    args.timeout_keep_alive.map(|v| v.to_string()),
                ),
            ];
            for (flag, value) in limits {
                if let Some(value) = value {
                    forwarded.extend([flag.into(), value.into()]);
                }
            }
            return Ok(Outcome::Delegated(delegate::run(&executable, &forwarded)?));
        }
    };
    let defaults = ServeConfig::default();
    let config = ServeConfig {
        addr,
        workers: args.workers.map_or(defaults.workers, usize::from),
        timeout: Duration::from_secs_f64(args.timeout),
        max_body: args.max_body,
        body_budget: args
            .body_budget
            .map_or(defaults.body_budget, saturating_usize),
        max_connections: args
            .max_connections
            .map_or(defaults.max_connections, saturating_usize),
        keep_alive: args
            .timeout_keep_alive
            .map_or(defaults.keep_alive, Duration::from_secs_f64),
        ..defaults
    };
    // Connections are cheap to serve next to predictions, which run on the
    // blocking pool: one I/O thread per two cores (at most four) leaves the
    // cores to them. On 2 cores one I/O thread instead of two took 8
    // connections from 20,000 to 23,000 requests/s (docs/benchmarks.md):
    // fewer threads, fewer context switches per hand-off.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let io_threads = (cores / 2).clamp(1, 4);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(io_threads)
        .max_blocking_threads(config.workers)
        .thread_name("tandem-serve")
        .enable_all()
        .build()
        .map_err(|source| {
            Failure::Model(tandem_pipeline_model::Error::Io {
                operation: "start",
                path: "the server's runtime".to_owned(),
                source,
            })
        })?;
    let served = runtime.block_on(async {
        let server = Server::bind(model, config.clone()).await?;
        tracing::info!(
            "serving {} on http://{} ({} workers, timeout {:?}, max body {} bytes, body budget \
             {} bytes, keep-alive {:?}); Ctrl-C stops",
            dir.display(),
            server.local_addr(),
            config.workers,
            config.timeout,
            config.max_body,
            config.body_budget,
            config.keep_alive
        );
        server.run(shutdown_signal()).await
    });
    // A prediction still running past its timeout must not hold the exit.
    runtime.shutdown_timeout(EXIT_GRACE);
    served?;
    tracing::info!("server stopped");
    Ok(Outcome::Served)
}

fn consent<'a>(model: &'a str, trust: &TrustArgs) -> delegate::Consent<'a> {
    delegate::Consent {
        model,
        trusted: trust.trust_model_executable,
    }
}

/// `host:port` as a socket address (a name resolves to its first address).
fn listen_addr(host: &str, port: u16) -> Result<SocketAddr, Failure> {
    let unresolved = |source| Failure::File {
        path: format!("{host}:{port}"),
        source,
    };
    (host, port)
        .to_socket_addrs()
        .map_err(unresolved)?
        .next()
        .ok_or_else(|| {
            unresolved(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the host resolves to no address",
            ))
        })
}

/// The local directory of a model: `uri` itself when it is a path, else
/// its download by the client `connect` makes into a temporary directory,
/// returned with it so that it lives as long as the server.
fn fetch_model(
    uri: &str,
    connect: impl FnOnce() -> tandem_mlflow_client::Result<MlflowClient>,
) -> Result<(PathBuf, Option<tempfile::TempDir>), Failure> {
    let path = PathBuf::from(uri);
    if path.exists() || !has_scheme(uri) {
        return Ok((path, None));
    }
    let download = tempfile::tempdir().map_err(|source| Failure::File {
        path: std::env::temp_dir().display().to_string(),
        source,
    })?;
    let fetch = || connect()?.download_uri(uri, download.path());
    let dir = fetch().map_err(|e| Failure::Tracking(e.into()))?;
    tracing::info!("downloaded {uri} to {}", dir.display());
    Ok((dir, Some(download)))
}

/// Whether `uri` starts with a URI scheme (`runs:`, `models:`, `s3:`...);
/// a one-letter "scheme" is a Windows drive.
fn has_scheme(uri: &str) -> bool {
    uri.split_once(':').is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_paths_are_told_apart() {
        assert!(has_scheme("runs:/abc/model"));
        assert!(has_scheme("models:/churn@champion"));
        assert!(has_scheme("s3://bucket/model"));
        assert!(!has_scheme("data/06_models/churn"));
        assert!(!has_scheme("C:/models/churn"));
        assert!(!has_scheme("/tmp/a:b"));
    }

    #[test]
    fn run_uris_are_downloaded_and_paths_used_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        std::fs::create_dir(&model).unwrap();
        std::fs::write(model.join("MLmodel"), "flavors: {}\n").unwrap();
        let store = dir.path().join("mlruns");
        let client = MlflowClient::local(&store).unwrap();
        let experiment = client.get_or_create_experiment("serve").unwrap();
        let run = client
            .create_run(&tandem_mlflow_client::NewRun::new(
                &experiment.experiment_id,
            ))
            .unwrap();
        let run_id = run.info.run_id;
        client
            .log_artifacts(&run_id, &model, Some("model"))
            .unwrap();

        let uri = format!("runs:/{run_id}/model");
        let (fetched, download) = fetch_model(&uri, || Ok(client.clone())).unwrap();
        assert!(download.is_some());
        assert_eq!(
            std::fs::read_to_string(fetched.join("MLmodel")).unwrap(),
            "flavors: {}\n"
        );

        let local = model.to_str().unwrap();
        let unused = || panic!("a local model needs no client");
        let (in_place, none) = fetch_model(local, unused).unwrap();
        assert_eq!((in_place, none.is_none()), (model, true));
        let missing = fetch_model("runs:/nope/model", || Ok(client.clone())).unwrap_err();
        assert!(!missing.to_string().is_empty());
    }

    #[test]
    fn hosts_resolve_to_one_address() {
        let addr = listen_addr("127.0.0.1", 5000).unwrap();
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 5000)));
        assert!(listen_addr("", 5000).is_err());
    }
}
