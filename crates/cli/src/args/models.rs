//! `tandem models save|predict|serve`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::ConfArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum ModelsCommand {
    /// Pack a trained PipelineMl's inference pipeline and artifacts as a model.
    #[command(
        long_about = "\
Write the model directory of a registered PipelineMl: an MLmodel file (MLflow's
format, with a `tandem` flavor and a signature inferred from the input data),
the inference pipeline, its catalog with every artifact copied into the model,
the parameters it uses, and input examples. The model also embeds this
executable (bin/<name>.zst: stripped of symbols when `strip` is at hand and
zstd-compressed, with its target triple, sizes and SHA-256s; --no-executable
leaves it out) and a python_function flavor, so that the bundled `tandem` and
`mlflow models serve|predict` can run it without this project.

The training outputs the inference pipeline needs (fitted models, scalers...)
must already exist in the catalog: run the training pipeline first. A
versioned artifact contributes its latest version. The output directory must
not exist or be empty; it is written atomically.",
        after_long_help = "\
Examples:
  churn models save --pipeline training -o data/06_models/churn_model
  churn models save --pipeline training -o /tmp/model --env prod --json"
    )]
    Save(SaveArgs),
    /// Predict with a saved model on a JSON, CSV or parquet input file.
    #[command(
        long_about = "\
Load a model directory written by `models save` (or logged to MLflow and
downloaded), run its inference pipeline on an input file and write
{\"predictions\": ...} as `mlflow models predict` does.

The input is an MLflow JSON envelope (dataframe_split, dataframe_records,
instances or inputs, with optional params), a CSV file with a header, a
parquet file or an Arrow IPC stream (.arrows); its format comes from -t or the
file extension. Columns are checked against the model's signature: missing
columns and unsafe conversions are errors, extra columns are ignored.

MODEL_URI is a model directory or an MLflow URI (runs:/, models:/), as for
`models serve`. When this binary does not register the model's functions
(the bundled `tandem` given a project's model), the model's embedded
executable (bin/, written by `models save` and tracked runs) runs the
prediction, once its target triple and SHA-256 match, and only with
--trust-model-executable or TANDEM_TRUST_MODEL_EXECUTABLE=1: it is code from
whoever saved the model (docs/models.md).",
        after_long_help = "\
Examples:
  churn models predict -m data/06_models/churn_model -i customers.json
  churn models predict -m model -i customers.parquet -o predictions.json --params threshold=0.7
  tandem models predict -m models:/churn@champion -i customers.csv --trust-model-executable"
    )]
    Predict(PredictArgs),
    /// Serve a model over HTTP with MLflow's scoring protocol.
    #[command(
        long_about = "\
Serve a model over HTTP the way `mlflow models serve` does, so MLflow clients
work unchanged: GET /ping, GET /health and GET /version, and POST /invocations
with an MLflow JSON envelope (application/json: dataframe_split,
dataframe_records, instances or inputs, plus params), text/csv,
application/vnd.apache.parquet or application/vnd.apache.arrow.stream (which
MLflow's server does not take), answered {\"predictions\": ...}.

MODEL_URI is a model directory or an MLflow URI: runs:/<run_id>/<path>,
models:/<name>/<version>, models:/<name>@<alias> or models:/m-<id>. URIs are
downloaded to a temporary directory through MLFLOW_TRACKING_URI (MLflow's
default ./mlflow.db when unset), with MLflow's credential variables. The model is loaded once
and shared by the workers. When this binary does not register the model's
functions, the model's embedded executable serves it, once its target triple
and SHA-256 are checked and only with --trust-model-executable (or
TANDEM_TRUST_MODEL_EXECUTABLE=1); a model saved with --no-executable cannot be.

Errors are MLflow's JSON {\"error_code\", \"message\"} with MLflow's codes:
400 BAD_REQUEST for an unreadable body or an unsafe conversion, 400
INVALID_PARAMETER_VALUE for missing columns or unknown or mistyped params,
415 for another content type, 413 for a body over
--max-body, 504 for a request running past --timeout. Ctrl-C or SIGTERM stops
accepting connections and lets in-flight requests finish.",
        after_long_help = "\
Examples:
  churn models serve -m data/06_models/churn_model
  churn models serve -m runs:/3d26d2eaf64749c0b403d7a0540539df/model --port 8080
  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 churn models serve -m models:/churn@champion -p 5001
  curl -s 127.0.0.1:5000/invocations -H 'Content-Type: application/json' \\
    -d @data/06_models/churn_model/serving_input_example.json"
    )]
    Serve(ServeArgs),
    /// Answer predictions over stdin/stdout for MLflow's Python loader.
    #[command(
        hide = true,
        long_about = "\
Load a model directory and answer prediction frames on stdin with frames on
stdout until stdin closes: the worker mode the model's `python_function`
loader (code/tandem_pyfunc.py) starts, so that `mlflow models serve`,
`mlflow models predict` and `mlflow.pyfunc.load_model` run the model in
this binary. stdout carries the binary protocol only; logs go to stderr."
    )]
    Worker(WorkerArgs),
}

/// `models save`.
#[derive(Debug, Args)]
pub(crate) struct SaveArgs {
    /// The registered PipelineMl to pack.
    #[arg(long, short = 'p', value_name = "NAME")]
    pub(crate) pipeline: String,

    /// The model directory to write.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub(crate) output: PathBuf,

    /// Spec files adding pipelines (as for `tandem run`).
    #[arg(long, value_name = "FILE")]
    pub(crate) spec: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    /// Do not copy this executable into the model's bin/ (smaller model,
    /// but only a binary registering its functions can then run it).
    #[arg(long)]
    pub(crate) no_executable: bool,

    /// Print the written MLmodel as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The format of a `models predict` input file.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum InputKind {
    /// An MLflow JSON envelope.
    Json,
    /// CSV with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// `models predict`.
#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// The model: a directory, runs:/..., models:/name/version, models:/name@alias or models:/m-id.
    #[arg(long, short = 'm', value_name = "MODEL_URI")]
    pub(crate) model: String,

    #[command(flatten)]
    pub(crate) trust: TrustArgs,

    /// The input file.
    #[arg(long, short = 'i', value_name = "INPUT")]
    pub(crate) input: PathBuf,

    /// Where to write the predictions (default: stdout).
    #[arg(long, short = 'o', value_name = "OUTPUT")]
    pub(crate) output: Option<PathBuf>,

    /// The input format (default: from the file extension).
    #[arg(long = "content-type", short = 't', value_enum)]
    pub(crate) format: Option<InputKind>,

    /// Parameter overrides for this prediction, `name=value[,name=value]`.
    #[arg(
        long,
        value_name = "NAME=VALUE,...",
        long_help = "Parameter overrides for this prediction only, comma-separated \
                     name=value pairs; each value is read as its default's type. Unknown \
                     names are errors that list the model's parameters.\n\n\
                     Example: --params threshold=0.7"
    )]
    pub(crate) params: Vec<String>,
}

impl InputKind {
    /// The name `-t` takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            InputKind::Json => "json",
            InputKind::Csv => "csv",
            InputKind::Parquet => "parquet",
        }
    }
}

impl PredictArgs {
    /// Every `--params` pair, in order.
    pub(crate) fn param_pairs(&self) -> Vec<&str> {
        self.params
            .iter()
            .flat_map(|p| p.split(','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect()
    }
}

/// Consent to run the code a model carries (`models predict|serve`).
#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    /// Run the model's embedded executable when this binary lacks its functions.
    #[arg(
        long,
        env = "TANDEM_TRUST_MODEL_EXECUTABLE",
        // 1/0, true/false, yes/no, on/off from the environment.
        value_parser = clap::builder::BoolishValueParser::new(),
        long_help = "Allow running the executable a model carries (its bin/, written by \
                     `models save` and tracked runs) when this binary does not register the \
                     model's functions, as the bundled `tandem` does not. That executable is \
                     code from whoever saved or registered the model: without this flag (or \
                     TANDEM_TRUST_MODEL_EXECUTABLE=1) it is never run, and the error names its \
                     target triple and SHA-256. A project binary serving its own models runs \
                     no embedded executable and needs no consent.\n\n\
                     Example: tandem models serve -m models:/churn@champion --trust-model-executable"
    )]
    pub(crate) trust_model_executable: bool,
}

/// `models worker`.
#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// The model directory.
    #[arg(long, short = 'm', value_name = "MODEL_DIR")]
    pub(crate) model: PathBuf,
}

/// `models serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The model: a directory, runs:/..., models:/name/version, models:/name@alias or models:/m-id.
    #[arg(long, short = 'm', value_name = "MODEL_URI")]
    pub(crate) model: String,

    #[command(flatten)]
    pub(crate) trust: TrustArgs,

    /// The address to listen on.
    #[arg(
        long,
        value_name = "HOST",
        default_value = "127.0.0.1",
        long_help = "The address to listen on: 127.0.0.1 (the default) accepts local \
                     clients only; 0.0.0.0 accepts any, with no authentication.\n\n\
                     Example: --host 0.0.0.0"
    )]
    pub(crate) host: String,

    /// The port to listen on (0 picks a free one, logged at start).
    #[arg(long, short = 'p', value_name = "PORT", default_value_t = 5000)]
    pub(crate) port: u16,

    /// How many predictions run at once [default: the number of CPUs].
    #[arg(long, short = 'w', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) workers: Option<u16>,

    /// Seconds a request may take, body included, before a 504.
    #[arg(
        long,
        short = 't',
        value_name = "SECONDS",
        default_value_t = 60.0,
        value_parser = positive_seconds
    )]
    pub(crate) timeout: f64,

    /// The largest request body accepted, in bytes (larger ones get a 413).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub(crate) max_body: usize,

    /// The most body bytes buffered at once, all requests together [default: 268435456].
    #[arg(
        long,
        value_name = "BYTES",
        value_parser = clap::value_parser!(u64).range(1..),
        long_help = "The most request-body bytes the server buffers at once, all requests \
                     together [default: 268435456, 256 MiB]. A request reserves its \
                     Content-Length before its body is read (a chunked one as it arrives); \
                     requests that do not fit wait, under --timeout. A body larger than this \
                     gets a 413 like one over --max-body."
    )]
    pub(crate) body_budget: Option<u64>,

    /// The most connections open at once [default: 4096].
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..),
        long_help = "The most connections open at once [default: 4096, lowered to what the \
                     open-files limit allows; the server raises its soft limit to the hard \
                     one at start]. Past it the server stops accepting until a connection \
                     closes; new clients wait in the listen backlog."
    )]
    pub(crate) max_connections: Option<u64>,

    /// Seconds a connection may wait for its next request's headers [default: 5].
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = positive_seconds,
        long_help = "Seconds a connection may go without sending a complete request head, \
                     after it opens or after a response, before the server closes it \
                     [default: 5, uvicorn's --timeout-keep-alive]. It is also the header-read \
                     timeout, so clients trickling their headers are closed too."
    )]
    pub(crate) timeout_keep_alive: Option<f64>,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => Ok(seconds),
        _ => Err(format!(
            "'{text}' is not a number of seconds between 0 (excluded) and 86400"
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn serve(flags: &[&str]) -> Result<ServeArgs, clap::Error> {
        let base = ["tandem", "models", "serve", "-m", "model"];
        match Cli::try_parse_from(base.iter().chain(flags))?.command {
            Command::Models(ModelsCommand::Serve(args)) => Ok(args),
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn server_limits_are_options_left_to_the_server_unless_given() {
        let args = serve(&[]).unwrap();
        assert_eq!(
            (
                args.body_budget,
                args.max_connections,
                args.timeout_keep_alive
            ),
            (None, None, None)
        );
        let args = serve(&[
            "--body-budget",
            "1048576",
            "--max-connections",
            "100",
            "--timeout-keep-alive",
            "2.5",
        ])
        .unwrap();
        assert_eq!(args.body_budget, Some(1_048_576));
        assert_eq!(args.max_connections, Some(100));
        assert_eq!(args.timeout_keep_alive, Some(2.5));
        for bad in [
            ["--body-budget", "0"],
            ["--max-connections", "0"],
            ["--timeout-keep-alive", "0"],
            ["--timeout-keep-alive", "soon"],
        ] {
            assert_eq!(serve(&bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }
}
