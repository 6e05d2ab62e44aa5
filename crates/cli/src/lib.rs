//! The `tandem` command line, as a library so that a project's own binary
//! gets the whole CLI with its own functions, pipelines, dataset types and
//! hooks registered in an [`App`], the way a Kedro project registers them.
//!
//! ```no_run
//! use std::process::ExitCode;
//! use std::sync::Arc;
//!
//! use tandem_cli::{run_cli, App};
//! use tandem_pipeline_core::{node, Pipeline};
//! use tandem_runners::Hook;
//!
//! fn fit(x: &Vec<f64>) -> f64 {
//!     x.iter().sum::<f64>() / x.len() as f64
//! }
//!
//! /// Hooks implement only the callbacks they need.
//! struct Audit;
//! impl Hook for Audit {}
//!
//! fn training() -> Result<Pipeline, tandem_pipeline_core::Error> {
//!     Pipeline::new([node(fit, "features", "model").name("fit").build()?])
//! }
//!
//! fn main() -> ExitCode {
//!     let Ok(training) = training() else {
//!         return ExitCode::FAILURE;
//!     };
//!     let app = App::new()
//!         // For spec files: `func: my_project::fit`.
//!         .function("my_project::fit", fit)
//!         // For `run --pipeline training`; `__default__` runs without --pipeline.
//!         .pipeline("training", training.clone())
//!         .pipeline("__default__", training)
//!         .hook(Arc::new(Audit));
//!     run_cli(std::env::args_os(), app)
//! }
//! ```
//!
//! Commands (see `tandem --help`):
//! - `tandem run [--pipeline NAME | --pipelines A,B] [--spec FILE]... [filters]
//!   [--runner sequential|parallel|ThreadRunner|...] [--params k=v,...] [--env ENV]
//!   [--conf DIR] [--load-versions ds:ver,...] [--only-missing-outputs] [--json]`:
//!   runs like `kedro run` (Kedro's spellings too), with a progress bar on a terminal.
//! - `tandem catalog list|describe`: the project's catalog, credentials masked.
//! - `tandem pipeline describe|check --spec FILE`: a spec's execution order,
//!   after filters (for an `ml:` spec also its inference side), and whether
//!   every function is registered.
//! - `tandem models save|predict|serve`: pack a trained PipelineMl as a model
//!   directory, predict from a file, serve MLflow's scoring protocol.
//! - `tandem mlflow init|modelify|experiments|runs|artifacts`: tracking
//!   configuration, logging a trained PipelineMl, browsing the store.
//! - `tandem new NAME [--starter minimal|churn]` and `tandem pipeline create
//!   NAME`: generate a project in Kedro's layout, add a pipeline to it.
//!
//! Logs go through `tracing`: tandem's crates log at info (`-v` debug, `-vv`
//! trace, `-q` warnings only); a project's own crates log when `RUST_LOG`
//! names them (`RUST_LOG=info,my_project=debug`).

mod app;
mod args;
mod commands;
mod error;
mod logging;
mod progress;
mod render;
mod scaffold;
mod viz;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tandem_runners::Hook;

pub use app::App;
pub use tandem_pipeline_core::FunctionRegistry;

use crate::args::{Cli, Command, expand_kedro_short_options};
use crate::progress::Progress;

/// Parses `args` (the first item is the program name, as in
/// [`std::env::args_os`]), runs the command with `app` and returns the
/// process exit code: 0 on success, 1 when the command fails, 2 for unusable
/// arguments.
pub fn run_cli<I, T>(args: I, app: App) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(expand_kedro_short_options(args)) {
        Ok(cli) => cli,
        Err(e) => return render::usage(&e),
    };
    if let Command::Run(run) = &cli.command
        && let Err(e) = run.validate()
    {
        return render::usage(&e);
    }
    let json = cli.command.json();
    let show_progress = matches!(cli.command, Command::Run(_))
        && !json
        && !cli.verbosity.quiet
        && io::stderr().is_terminal();
    let progress = show_progress.then(|| Arc::new(Progress::new()));
    logging::init(
        &cli.verbosity,
        json,
        progress.as_ref().map(|p| p.bar().clone()),
    );
    let hooks: Vec<Arc<dyn Hook>> = progress
        .iter()
        .map(|p| Arc::clone(p) as Arc<dyn Hook>)
        .collect();
    // Stderr stays unlocked: the progress bar's ticker thread and the log
    // writer lock it for each write, and holding it here would block them.
    let code = execute(
        &cli.command,
        &app,
        &hooks,
        &mut io::stdout().lock(),
        &mut io::stderr(),
    );
    if let Some(progress) = &progress {
        progress.finish();
    }
    ExitCode::from(code)
}

/// Runs a parsed command, writing results to `out` and errors to `err`, and
/// returns the exit code.
fn execute(
    command: &Command,
    app: &App,
    hooks: &[Arc<dyn Hook>],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let json = command.json();
    let is_run = matches!(command, Command::Run(_));
    // If stderr is gone too there is nowhere to report; the exit code remains.
    match commands::execute(command, app, hooks) {
        Ok(commands::Outcome::Delegated(code)) => code,
        Ok(outcome) => match render::outcome(out, &outcome, json) {
            Ok(()) => 0,
            Err(e) => {
                let message = format!("cannot write the output: {e}");
                let _ = render::error(err, render::IO_ERROR, &message, json);
                1
            }
        },
        Err(failure) => {
            let _ = render::failure(err, &failure, json, is_run);
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], app: &App) -> (u8, String, String) {
        let cli = Cli::try_parse_from(std::iter::once("tandem").chain(args.iter().copied()))
            .expect("the arguments parse");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = execute(&cli.command, app, &[], &mut out, &mut err);
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (code, text(out), text(err))
    }

    #[test]
    fn an_unknown_pipeline_is_a_json_error_naming_the_registered_ones() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("conf");
        std::fs::create_dir(&conf).unwrap();
        let conf = conf.to_str().unwrap();
        let (code, out, err) = run(
            &["run", "--conf", conf, "-p", "nope", "--json"],
            &App::new(),
        );
        assert_eq!(code, 1);
        assert!(out.is_empty());
        let value: serde_json::Value = serde_json::from_str(&err).unwrap();
        assert_eq!(value["error"]["kind"], "pipeline_not_found");
        assert_eq!(value["error"]["resume"], serde_json::Value::Null);
    }

    /// `params:x` doubled into `y`.
    fn doubling() -> tandem_pipeline_core::Pipeline {
        fn double(x: &i64) -> i64 {
            x * 2
        }
        tandem_pipeline_core::Pipeline::new([tandem_pipeline_core::node(double, "params:x", "y")
            .name("double")
            .build()
            .unwrap()])
        .unwrap()
    }

    /// A project whose conf/base holds `files` (name, text).
    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("conf/base");
        std::fs::create_dir_all(&base).unwrap();
        for (name, text) in files {
            std::fs::write(base.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_registered_pipeline_runs_in_process() {
        let dir = project(&[
            ("parameters.yml", "x: 21\n"),
            (
                "catalog.yml",
                "y:\n  type: json.JSONDataset\n  filepath: data/y.json\n",
            ),
        ]);
        let app = App::new().pipeline("__default__", doubling());
        let conf = dir.path().join("conf");
        let (code, out, err) = run(&["run", "--conf", conf.to_str().unwrap(), "--json"], &app);
        assert_eq!(code, 0, "{err}");
        let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(summary["status"], "success");
        assert_eq!(summary["nodes"][0]["name"], "double");
        assert_eq!(summary["outputs"][0]["name"], "y");
        let written = std::fs::read_to_string(dir.path().join("data/y.json")).unwrap();
        assert_eq!(written, "42");
    }

    #[test]
    fn custom_resolvers_reach_parameters_and_the_catalog() {
        let dir = project(&[
            ("globals.yml", "folder: ${join:[data, out]}\n"),
            ("parameters.yml", "x: ${add:20, 1}\n"),
            (
                "catalog.yml",
                "y:\n  type: json.JSONDataset\n  filepath: ${globals:folder}/y.json\n",
            ),
        ]);
        let base = dir.path().join("conf/base");
        let app = App::new()
            .pipeline("__default__", doubling())
            .resolver("add", |args| {
                Ok(args.iter().filter_map(|a| a.as_i64()).sum::<i64>().into())
            })
            .resolver("join", |args| match args {
                [serde_json::Value::Array(parts)] => Ok(parts
                    .iter()
                    .filter_map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join("/")
                    .into()),
                _ => Err("join takes a list".into()),
            })
            // Kedro keeps its own meaning for built-in names.
            .resolver("globals", |_| Ok("hijacked".into()));
        let conf = dir.path().join("conf");
        let (code, _, err) = run(&["run", "--conf", conf.to_str().unwrap(), "--json"], &app);
        assert_eq!(code, 0, "{err}");
        let written = std::fs::read_to_string(dir.path().join("data/out/y.json")).unwrap();
        assert_eq!(written, "42");

        // An unregistered resolver is an error naming the file's key.
        std::fs::write(base.join("parameters.yml"), "x: ${nope:1}\n").unwrap();
        let (code, _, err) = run(&["run", "--conf", conf.to_str().unwrap(), "--json"], &app);
        assert_eq!(code, 1);
        assert!(err.contains("Unsupported interpolation type nope"), "{err}");
    }

    #[test]
    fn globals_and_custom_resolvers_reach_mlflow_yml_for_run_and_the_mlflow_commands() {
        let dir = project(&[
            ("globals.yml", "store: tracking.db\n"),
            ("parameters.yml", "x: 21\n"),
            (
                "mlflow.yml",
                "server:\n  mlflow_tracking_uri: sqlite:///${globals:store}\n\
                 tracking:\n  experiment:\n    name: ${team:}-churn\n",
            ),
        ]);
        let app = App::new()
            .pipeline("__default__", doubling())
            .resolver("team", |_| Ok("risk".into()));
        let conf = dir.path().join("conf");
        let conf = conf.to_str().unwrap();
        let (code, _, err) = run(&["run", "--conf", conf, "--json"], &app);
        assert_eq!(code, 0, "{err}");
        assert!(dir.path().join("tracking.db").is_file());
        // The catalog commands read mlflow.yml the same way (its mlflow.*
        // dataset types).
        let (code, _, err) = run(&["catalog", "list", "--conf", conf, "--json"], &app);
        assert_eq!(code, 0, "{err}");

        // `tandem mlflow` reads the same mlflow.yml: the store from globals,
        // the experiment name through the app's resolver.
        let (code, out, err) = run(
            &["mlflow", "experiments", "list", "--conf", conf, "--json"],
            &app,
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("\"risk-churn\""), "{out}");
        let (code, _, err) = run(
            &["mlflow", "experiments", "list", "--conf", conf, "--json"],
            &App::new(),
        );
        assert_eq!(code, 1);
        assert!(err.contains("Unsupported interpolation type team"), "{err}");
    }
}
