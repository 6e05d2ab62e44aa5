//! `cargo xtask e2e`: the maintainers' end-to-end run (issue #8).
//!
//! 1. Provision the Python venvs the tests use
//!    ([`tandem_test_support::python`]).
//! 2. Build `churn` and `tandem` once (dev profile).
//! 3. Start moto's S3 server and `mlflow server` (SQLite, proxied
//!    artifacts) on free loopback ports, as the tests do
//!    ([`tandem_test_support::moto`], [`tandem_test_support::mlflow`]),
//!    supervised so they die with xtask however it ends
//!    ([`tandem_test_support::process`]).
//! 4. Run the churn project with its data on S3 and tracking on the server
//!    ([`project`]); check the run, params, metrics, logged model,
//!    registered version and alias through MLflow's REST API ([`mlflow`]),
//!    and the datasets in the bucket.
//! 5. Serve the model three ways: `churn models serve -m runs:/…`, the
//!    bundled `tandem models serve -m models:/<name>@champion`, and
//!    `mlflow models serve --env-manager local`.
//! 6. Send all three the same requests ([`requests`]) and compare ([`matrix`]).
//! 7. Predict on one file with `mlflow models predict`, `tandem models
//!    predict` and `churn models predict`, and compare ([`predict`]).
//! 8. Tear everything down and print the summary table ([`summary`]);
//!    fail when any check failed.
//!
//! `cargo xtask e2e airflow` ([`airflow`]) is a separate scenario: the same
//! project deployed to Apache Airflow 3 and run with its LocalExecutor.

mod airflow;
mod matrix;
mod mlflow;
mod predict;
mod project;
mod requests;
mod services;
mod summary;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tandem_test_support::cargo_build::build_binaries;
use tandem_test_support::http;
use tandem_test_support::mlflow::{NO_TELEMETRY, Options as MlflowOptions, Server as MlflowServer};
use tandem_test_support::moto::{Moto, NO_CLOUD};
use tandem_test_support::process::{self, Janitor, JanitorHandle, Service, WorkDir, free_port};
use tandem_test_support::python::{self, MLFLOW_VENV, TOOLS_VENV, Venv, with_path};

use matrix::Leg;
use predict::PredictLeg;
use requests::Example;
use summary::{Outcome, Summary};

pub use airflow::run as run_airflow;

/// The training run (data generation, training, logging) on 2 cores.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);
/// A scoring server downloads the model, loads it (MLflow: imports Python
/// and starts the model's worker) and binds.
const SERVE_TIMEOUT: Duration = Duration::from_secs(240);

/// Runs the end-to-end check from the workspace at `root`.
pub fn run(root: &Path) -> Result<(), String> {
    scenario("cargo xtask e2e", |summary| e2e(root, summary))
}

/// Runs `steps`, recording a panic as a failed step, then prints the
/// summary; an error when any step failed.
fn scenario(name: &str, steps: impl FnOnce(&mut Summary)) -> Result<(), String> {
    let started = Instant::now();
    let mut summary = Summary::default();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| steps(&mut summary)));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".to_owned());
        summary.record(
            &format!("{name} (panicked; everything torn down)"),
            Outcome::Fail(message),
            Duration::ZERO,
        );
    }
    summary.print(name, started.elapsed());
    match summary.failures() {
        0 => Ok(()),
        n => Err(format!("{name} ({n} failed)")),
    }
}

/// What is running; dropped (stopped) at teardown.
#[derive(Default)]
struct Stack {
    moto: Option<Moto>,
    mlflow: Option<MlflowServer>,
    scorers: Vec<Service>,
}

/// A work directory `<tmp>/<prefix>-…` and the janitor that cleans it
/// up (and kills what is left) if xtask dies, as two steps.
fn work_dir(prefix: &str, summary: &mut Summary) -> Option<(WorkDir, Janitor)> {
    let work = summary.step(
        "create a work directory",
        |w: &WorkDir| w.path().display().to_string(),
        || WorkDir::create(prefix),
    )?;
    let janitor = summary.step(
        "start the janitor",
        |_| "kills what is left if xtask dies".to_owned(),
        || Janitor::start(work.path()),
    )?;
    Some((work, janitor))
}

fn e2e(root: &Path, summary: &mut Summary) {
    with_teardown::<Stack>("tandem-e2e", summary, |work, janitor, stack, summary| {
        steps(root, work, janitor, stack, summary);
    });
}

/// Runs `steps` in a new work directory (`prefix`) under a janitor, with a
/// stack of what they start, then tears down and records it: the stack
/// (servers) first, then the directory they wrote to; the janitor, last,
/// then has nothing left to do.
pub(super) fn with_teardown<S: Default>(
    prefix: &str,
    summary: &mut Summary,
    steps: impl FnOnce(&Path, &JanitorHandle, &mut S, &mut Summary),
) {
    let Some((work, janitor)) = work_dir(prefix, summary) else {
        return;
    };
    let mut stack = S::default();
    steps(work.path(), &janitor.handle(), &mut stack, summary);
    let started = Instant::now();
    drop(stack);
    drop(work);
    drop(janitor);
    summary.record(
        "teardown (servers, temp dirs)",
        Outcome::Pass("stopped and removed".to_owned()),
        started.elapsed(),
    );
}

const AFTER_RUN: &[&str] = &[
    "mlflow: run FINISHED with params and metrics",
    "mlflow: logged model with the run's params, metrics, provenance",
    "mlflow: registered version, alias",
    "s3: datasets in the bucket",
];

/// Starts moto's S3 server with the project's bucket and an `mlflow server`
/// (SQLite, `--serve-artifacts`) writing under `work`, each a summary step.
pub(super) fn start_servers(
    work: &Path,
    janitor: &JanitorHandle,
    tools_bin: &Path,
    mlflow_bin: &Path,
    summary: &mut Summary,
) -> (Option<Moto>, Option<MlflowServer>) {
    let moto = summary.step(
        "start moto S3 server",
        |s: &Moto| s.endpoint.clone(),
        || {
            let moto = Moto::start(tools_bin, &work.join("moto.log"), janitor)?;
            moto.create_bucket(project::BUCKET)?;
            Ok(moto)
        },
    );
    let mlflow = summary.step(
        "start mlflow server (sqlite, --serve-artifacts)",
        |s: &MlflowServer| s.uri.clone(),
        || {
            MlflowServer::start(
                mlflow_bin,
                &work.join("mlflow-server"),
                janitor,
                &MlflowOptions::default(),
            )
        },
    );
    (moto, mlflow)
}

fn steps(
    root: &Path,
    work: &Path,
    janitor: &JanitorHandle,
    stack: &mut Stack,
    summary: &mut Summary,
) {
    let target = python::target_dir();
    // 1. Python.
    let mlflow_bin = provision(&MLFLOW_VENV, &target, summary);
    let tools_bin = provision(&TOOLS_VENV, &target, summary);
    let (Some(mlflow_bin), Some(tools_bin)) = (mlflow_bin, tools_bin) else {
        return;
    };
    // 2. Binaries.
    let bin_dir = target.join("debug");
    let built = summary.step(
        BUILD_STEP,
        |_| format!("{}/{{churn,tandem}}", bin_dir.display()),
        || build(root, &bin_dir),
    );
    if built.is_none() {
        return;
    }
    let churn = bin_dir.join("churn");
    let tandem = bin_dir.join("tandem");
    // 3. Servers.
    (stack.moto, stack.mlflow) = start_servers(work, janitor, &tools_bin, &mlflow_bin, summary);
    let (Some(moto), Some(mlflow_server)) = (&stack.moto, &stack.mlflow) else {
        return;
    };
    let tracking_uri = mlflow_server.uri.clone();
    let mlflow_port = mlflow_server.port;
    // 4. The training run.
    let ran = summary.step(
        "churn run --env e2e (data on S3, tracking on the server)",
        |_| format!("log: {}", work.join("churn-run.log").display()),
        || {
            let conf = project::create(
                &root.join("examples/churn/conf"),
                work,
                &moto.endpoint,
                &tracking_uri,
            )?;
            let mut command = Command::new(&churn);
            command
                .args(["run", "--conf"])
                .arg(&conf)
                .args(["--env", project::ENV])
                .current_dir(work.join("project"))
                .env_remove("MLFLOW_TRACKING_URI")
                .envs(NO_TELEMETRY)
                .envs(NO_CLOUD);
            process::run_logged(
                "churn run",
                command,
                &work.join("churn-run.log"),
                janitor,
                RUN_TIMEOUT,
            )
        },
    );
    if ran.is_none() {
        summary.skip(AFTER_RUN, "the training run failed");
        return;
    }
    let run = summary.step(
        AFTER_RUN[0],
        |(_, text): &(mlflow::TrainingRun, String)| text.clone(),
        || mlflow::check_run(mlflow_port, project::EXPERIMENT),
    );
    let run = run.map(|(run, _)| run);
    let model = run.as_ref().and_then(|run| {
        summary.step(
            AFTER_RUN[1],
            |m: &mlflow::LoggedModel| format!("{} at {}", m.model_id, m.artifact_uri),
            || mlflow::check_logged_model(mlflow_port, run),
        )
    });
    let registered = match (&run, &model) {
        (Some(run), Some(model)) => summary
            .step(
                AFTER_RUN[2],
                |v: &String| {
                    format!(
                        "{}: version {v}, @{} → {v}",
                        project::MODEL_NAME,
                        project::ALIAS
                    )
                },
                || {
                    mlflow::check_registry(
                        mlflow_port,
                        project::MODEL_NAME,
                        project::ALIAS,
                        run,
                        model,
                    )
                },
            )
            .is_some(),
        _ => {
            summary.skip(&[AFTER_RUN[2]], "no run or logged model");
            false
        }
    };
    summary.step(
        AFTER_RUN[3],
        |keys: &Vec<String>| format!("{} objects in s3://{}", keys.len(), project::BUCKET),
        || check_bucket(moto, work),
    );
    let (Some(run), Some(model)) = (run, model) else {
        return;
    };
    // The model as logged: its input example, signature and whole directory.
    let model_dir = work.join("model");
    let example = summary.step(
        "model artifacts: download, input example",
        |e: &Example| format!("{} rows x {} columns", e.rows.len(), e.columns.len()),
        || {
            let files = mlflow::download_dir(mlflow_port, &model.artifact_uri, &model_dir)?;
            if files == 0 {
                return Err(format!("{} holds no files", model.artifact_uri));
            }
            let mlmodel = std::fs::read_to_string(model_dir.join("MLmodel")).ok();
            let example = ["serving_input_example.json", "input_example.json"]
                .iter()
                .find_map(|name| std::fs::read(model_dir.join(name)).ok())
                .ok_or("the model has no serving_input_example.json or input_example.json")?;
            Example::parse(&example, mlmodel.as_deref())
        },
    );
    // 5. Three scoring servers.
    let run_uri = format!("runs:/{}/model", run.run_id);
    let alias_uri = format!("models:/{}@{}", project::MODEL_NAME, project::ALIAS);
    if !registered {
        eprintln!("xtask e2e: no registered version: the tandem leg ({alias_uri}) cannot load");
    }
    let env = LegEnv {
        tracking_uri: &tracking_uri,
        mlflow_bin: &mlflow_bin,
    };
    let mut churn_serve = Command::new(&churn);
    churn_serve.args(["models", "serve", "-m", &run_uri, "--port"]);
    let mut tandem_serve = Command::new(&tandem);
    // The bundled CLI runs the model's embedded executable only with consent.
    tandem_serve.args([
        "models",
        "serve",
        "--trust-model-executable",
        "-m",
        &alias_uri,
        "--port",
    ]);
    let mut mlflow_serve = Command::new(mlflow_bin.join("mlflow"));
    mlflow_serve
        .args(["models", "serve", "-m", &run_uri, "--env-manager", "local"])
        .args(["-h", "127.0.0.1", "-w", "1", "-p"]);
    let scorers = [
        Scorer {
            name: "churn",
            shown: format!("churn models serve -m {run_uri}"),
            command: churn_serve,
        },
        Scorer {
            name: "tandem",
            shown: format!("tandem models serve --trust-model-executable -m {alias_uri}"),
            command: tandem_serve,
        },
        Scorer {
            name: "mlflow",
            shown: format!("mlflow models serve -m {run_uri} --env-manager local"),
            command: mlflow_serve,
        },
    ];
    let legs = serve(scorers, &env, work, janitor, stack, summary);
    // 6. The request matrix.
    let Some(example) = example else {
        summary.skip(&["requests", "predict"], "no input example");
        return;
    };
    let parquet = summary.step(
        "parquet body (pyarrow)",
        |b: &Vec<u8>| format!("{} bytes", b.len()),
        || requests::parquet(&example, &tools_bin.join("python"), work),
    );
    let served = matrix::run(&legs, &example, parquet, summary);
    // The servers are no longer needed; stop them before predicting so
    // the 2 cores go to the predict commands.
    stack.scorers.clear();
    // 7. Batch predictions on one file.
    let input = work.join("predict-input.json");
    let split =
        serde_json::json!({"dataframe_split": {"columns": example.columns, "data": example.rows}});
    if let Err(e) = std::fs::write(&input, split.to_string()) {
        summary.record(
            "predict",
            Outcome::Fail(format!("write {}: {e}", input.display())),
            Duration::ZERO,
        );
        return;
    }
    let out = |name: &str| work.join(format!("predict-{name}.json"));
    let log = |name: &str| work.join(format!("predict-{name}.log"));
    let mut mlflow_predict = Command::new(mlflow_bin.join("mlflow"));
    mlflow_predict
        .args(["models", "predict", "-m", &run_uri, "-i"])
        .arg(&input)
        .args(["-t", "json", "-o"])
        .arg(out("mlflow"))
        .args(["--env-manager", "local"]);
    let mut tandem_predict = Command::new(&tandem);
    tandem_predict
        .args([
            "models",
            "predict",
            "--trust-model-executable",
            "-m",
            &alias_uri,
            "-i",
        ])
        .arg(&input)
        .arg("-o")
        .arg(out("tandem"));
    let mut churn_predict = Command::new(&churn);
    churn_predict
        .args(["models", "predict", "-m"])
        .arg(&model_dir)
        .arg("-i")
        .arg(&input)
        .arg("-o")
        .arg(out("churn"));
    let legs: Vec<PredictLeg> = [
        (
            "churn models predict -m <downloaded model dir>",
            "churn",
            churn_predict,
        ),
        (
            "tandem models predict -m models:/…@champion",
            "tandem",
            tandem_predict,
        ),
        (
            "mlflow models predict -m runs:/… --env-manager local",
            "mlflow",
            mlflow_predict,
        ),
    ]
    .into_iter()
    .map(|(shown, name, mut command)| {
        env.apply(&mut command);
        PredictLeg {
            shown,
            name,
            command,
            output: out(name),
            log: log(name),
        }
    })
    .collect();
    predict::run(legs, served.as_ref(), janitor, summary);
}

/// The environment of the serving and predicting legs.
struct LegEnv<'a> {
    tracking_uri: &'a str,
    mlflow_bin: &'a Path,
}

impl LegEnv<'_> {
    /// The tracking server, the MLflow venv first on PATH (MLflow's model
    /// server starts tools by name), no telemetry, no cloud metadata.
    fn apply(&self, command: &mut Command) {
        command
            .env("MLFLOW_TRACKING_URI", self.tracking_uri)
            .env("PATH", with_path(self.mlflow_bin))
            .envs(NO_TELEMETRY)
            .envs(NO_CLOUD);
    }
}

/// A scoring server to start: its command lacks only the port, last.
struct Scorer {
    name: &'static str,
    shown: String,
    command: Command,
}

/// Starts every scorer on a free port (all at once: loading overlaps),
/// then waits for each one's `/ping`; the legs that did not come up have
/// no port.
fn serve(
    scorers: [Scorer; 3],
    env: &LegEnv<'_>,
    work: &Path,
    janitor: &JanitorHandle,
    stack: &mut Stack,
    summary: &mut Summary,
) -> Vec<Leg> {
    let mut pending = Vec::new();
    for mut scorer in scorers {
        let started = free_port().and_then(|port| {
            scorer.command.arg(port.to_string());
            env.apply(&mut scorer.command);
            let log = work.join(format!("serve-{}.log", scorer.name));
            let name = format!("{} models serve", scorer.name);
            stack
                .scorers
                .push(Service::spawn(&name, scorer.command, &log, janitor)?);
            Ok((port, stack.scorers.len() - 1))
        });
        if let Err(e) = &started {
            summary.record(
                &format!("serve: {}", scorer.shown),
                Outcome::Fail(e.clone()),
                Duration::ZERO,
            );
        }
        pending.push((scorer.name, scorer.shown, started.ok()));
    }
    let waiting = Instant::now();
    let mut legs = Vec::new();
    for (name, shown, started) in pending {
        let Some((port, index)) = started else {
            legs.push(Leg { name, port: None });
            continue;
        };
        let begun = Instant::now();
        let ready = stack.scorers[index]
            .wait_ready(SERVE_TIMEOUT.saturating_sub(waiting.elapsed()), || {
                http::get(port, "/ping", Duration::from_secs(5)).is_ok_and(|r| r.status == 200)
            });
        let outcome = match &ready {
            Ok(()) => Outcome::Pass(format!("http://127.0.0.1:{port}/ping 200")),
            Err(e) => Outcome::Fail(e.clone()),
        };
        summary.record(&format!("serve: {shown}"), outcome, begun.elapsed());
        legs.push(Leg {
            name,
            port: ready.ok().map(|()| port),
        });
    }
    legs
}

/// Provisions `venv` under `target` as a step; its `bin/` directory.
fn provision(venv: &Venv, target: &Path, summary: &mut Summary) -> Option<PathBuf> {
    if !venv.is_current(target) {
        eprintln!(
            "xtask e2e: installing {} into {}",
            venv.packages().join(" "),
            venv.dir(target).display()
        );
    }
    summary.step(
        &format!(
            "provision target/{} ({})",
            venv.name(),
            venv.packages().join(", ")
        ),
        |bin: &PathBuf| bin.display().to_string(),
        || venv.provision(target),
    )
}

/// The binaries step's name in the summary.
const BUILD_STEP: &str = "cargo build --workspace --bins --tests (the test suite's features)";

/// Builds the workspace binaries as the test suite's build does (output
/// shown; `tandem_test_support::cargo_build` says why), and checks that
/// `churn` and `tandem` exist.
fn build(root: &Path, bin_dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = build_binaries(&cargo)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build failed ({status})"));
    }
    for bin in ["churn", "tandem"] {
        if !bin_dir.join(bin).is_file() {
            return Err(format!("{} was not built", bin_dir.join(bin).display()));
        }
    }
    Ok(())
}

/// Every file dataset of the e2e catalog is in the bucket (a versioned one
/// as `<filepath>/<version>/<name>`).
fn check_bucket(moto: &Moto, work: &Path) -> Result<Vec<String>, String> {
    let keys = services::list_bucket(moto.port, project::BUCKET)?;
    let catalog_path = work
        .join("project/conf")
        .join(project::ENV)
        .join("catalog.yml");
    let catalog = std::fs::read_to_string(&catalog_path)
        .map_err(|e| format!("read {}: {e}", catalog_path.display()))?;
    let prefix = format!("s3://{}/", project::BUCKET);
    let missing: Vec<&str> = catalog
        .lines()
        .filter_map(|l| l.trim().strip_prefix("filepath:"))
        .filter_map(|p| p.trim().strip_prefix(prefix.as_str()))
        .filter(|path| {
            !keys
                .iter()
                .any(|k| k == path || k.starts_with(&format!("{path}/")))
        })
        .collect();
    if missing.is_empty() {
        Ok(keys)
    } else {
        Err(format!(
            "not in s3://{}: {} (the bucket holds: {})",
            project::BUCKET,
            missing.join(", "),
            keys.join(", ")
        ))
    }
}
