//! `tandem run`: `kedro run`'s flags.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value};

use super::filters::split_list;
use super::{ConfArgs, FilterArgs};

/// The pipeline that runs when none is named, as in Kedro.
pub(crate) const DEFAULT_PIPELINE: &str = "__default__";

pub(crate) const LONG_ABOUT: &str = "\
Run a pipeline against the project's data catalog, like `kedro run`.

The pipeline is the one named by --pipeline (or the sum of those named by
--pipelines, deduplicated), __default__ when none is named. Pipelines are the
ones this binary registers plus those of the --spec files:
  - a spec file with a top-level `pipelines:` mapping defines one pipeline per
    key (`__default__` included);
  - any other spec file is one pipeline named after its file stem
    (pipelines.yml defines `pipelines`).
When no __default__ is defined, it is the sum of every pipeline, as in Kedro's
find_pipelines() template. A name defined twice is an error.

The filter flags then select nodes as one Kedro filter: each flag selects from
the whole pipeline and the run keeps the nodes every flag selected.

The catalog comes from conf/base overridden by conf/<env> (--env, else
TANDEM_ENV, else KEDRO_ENV, else local), with --params over parameters.yml. Versioned datasets save under the run id, a timestamp such as
2026-11-27T03.22.14.996Z, and load their latest version unless --load-versions
pins one.

On a terminal, a progress bar shows the nodes done and running. With --json,
stdout receives a run summary and a failure is one JSON object on stderr:
{\"error\": {\"kind\", \"message\", \"completed\": [...], \"resume\": \"--from-nodes \\\"a,b\\\"\" or null}}.
When a node fails the run stops (the parallel runner lets running nodes
finish), and the message says which nodes to resume from.

Kedro's spellings work too: -lv for --load-versions, -ns for --namespaces,
--runner SequentialRunner|ParallelRunner|ThreadRunner (or kedro.runner.*),
and --async, which is accepted and does nothing.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  # The default pipeline of a spec file
  tandem run --spec conf/pipelines.yml
  # Two named pipelines on 4 threads, with a parameter overridden
  tandem run --spec conf/pipelines.yml --pipelines training,evaluation \\
      --runner parallel --max-workers 4 --params model.alpha=0.5
  # Resume after a failure, reading a pinned version of one input
  tandem run --spec conf/pipelines.yml --from-nodes train_model \\
      --load-versions model_input:2026-11-27T03.22.14.996Z
  # Only the nodes whose persisted outputs are missing, in the prod environment
  tandem run --spec conf/pipelines.yml --only-missing-outputs --env prod";

/// Which runner executes the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunnerKind {
    /// One node at a time, in Kedro's execution order.
    Sequential,
    /// Independent nodes at once on --max-workers threads.
    Parallel,
}

impl RunnerKind {
    /// The name shown in summaries.
    pub(crate) fn name(self) -> &'static str {
        match self {
            RunnerKind::Sequential => "sequential",
            RunnerKind::Parallel => "parallel",
        }
    }
}

/// Every `--runner` spelling and the runner it means: tandem's names, then
/// Kedro's class names and class paths. ThreadRunner is the parallel runner:
/// Kedro has it because Python processes do not share memory, while here
/// the parallel runner's workers are threads already.
const RUNNER_SPELLINGS: [(&str, RunnerKind); 8] = [
    ("sequential", RunnerKind::Sequential),
    ("parallel", RunnerKind::Parallel),
    ("SequentialRunner", RunnerKind::Sequential),
    ("ParallelRunner", RunnerKind::Parallel),
    ("ThreadRunner", RunnerKind::Parallel),
    ("kedro.runner.SequentialRunner", RunnerKind::Sequential),
    ("kedro.runner.ParallelRunner", RunnerKind::Parallel),
    ("kedro.runner.ThreadRunner", RunnerKind::Parallel),
];

/// `--runner`: one of [`RUNNER_SPELLINGS`], matched exactly as Kedro imports
/// a class by name; anything else is a usage error listing them all.
fn parse_runner(value: &str) -> Result<RunnerKind, String> {
    RUNNER_SPELLINGS
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            let names: Vec<&str> = RUNNER_SPELLINGS.iter().map(|(name, _)| *name).collect();
            format!("unknown runner; expected one of: {}", names.join(", "))
        })
}

/// Kedro's two-letter single-dash options, which clap cannot declare: a
/// `tandem run` argument `-lv` or `-ns` (alone, or `-lv=...`) becomes
/// `--load-versions` or `--namespaces`. Only the `run` subcommand is
/// rewritten (elsewhere `-ns` keeps meaning `-n s`), and nothing after `--`.
pub(crate) fn expand_kedro_short_options<T: Into<OsString>>(
    args: impl IntoIterator<Item = T>,
) -> Vec<OsString> {
    const SPELLINGS: [(&str, &str); 2] = [("-lv", "--load-versions"), ("-ns", "--namespaces")];
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Top-level options take no value, so the first bare word is the subcommand.
    let Some(command) = args
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'))
    else {
        return args;
    };
    if args[command + 1] != "run" {
        return args;
    }
    for arg in args.iter_mut().skip(command + 2) {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        let replacement = SPELLINGS.iter().find_map(|(short, long)| {
            let rest = text.strip_prefix(short)?;
            match rest.strip_prefix('=') {
                Some(value) => Some(format!("{long}={value}")),
                None => rest.is_empty().then(|| (*long).to_owned()),
            }
        });
        if let Some(replacement) = replacement {
            *arg = replacement.into();
        }
    }
    args
}

/// `tandem run`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Run this registered pipeline [default: __default__].
    #[arg(
        long,
        short = 'p',
        value_name = "NAME",
        conflicts_with = "pipelines",
        long_help = "Run this pipeline. Without --pipeline or --pipelines, __default__ \
                     runs.\n\nExample: --pipeline training"
    )]
    pub(crate) pipeline: Option<String>,

    /// Run the sum of these pipelines (comma-separated, deduplicated).
    #[arg(
        long,
        value_name = "NAME,...",
        long_help = "Run the sum of these pipelines: names are comma-separated, may repeat \
                     and are deduplicated; nodes in several pipelines run once.\n\n\
                     Example: --pipelines data_processing,data_science"
    )]
    pub(crate) pipelines: Vec<String>,

    /// A pipeline spec file (repeatable).
    #[arg(
        long,
        value_name = "FILE",
        long_help = "A pipeline spec file (YAML, or JSON when it ends in .json), resolved \
                     with this binary's functions. Repeat it to load several. A file with a \
                     top-level `pipelines:` mapping defines one pipeline per key; any other \
                     file defines one pipeline named after its file stem.\n\n\
                     Example: --spec conf/pipelines.yml"
    )]
    pub(crate) spec: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    #[command(flatten)]
    pub(crate) filters: FilterArgs,

    /// Which runner executes the nodes: sequential or parallel.
    #[arg(
        long,
        short = 'r',
        value_name = "RUNNER",
        value_parser = parse_runner,
        default_value = "sequential",
        help_heading = "Execution",
        long_help = "Which runner executes the nodes: sequential (one node at a time, in \
                     Kedro's execution order) or parallel (independent nodes at once on \
                     --max-workers threads). Kedro's names are accepted too: SequentialRunner \
                     and ParallelRunner, with or without the kedro.runner. prefix. ThreadRunner \
                     (or kedro.runner.ThreadRunner) is the parallel runner: its workers are \
                     threads sharing memory already, which is what Kedro's ThreadRunner adds \
                     over its process-based ParallelRunner.\n\n\
                     Example: --runner ParallelRunner"
    )]
    pub(crate) runner: RunnerKind,

    /// Accepted for Kedro compatibility; does nothing here.
    #[arg(
        long = "async",
        help_heading = "Execution",
        long_help = "Kedro's --async loads and saves a node's datasets asynchronously. It is \
                     accepted so that Kedro command lines run unchanged, and does nothing: \
                     tandem's runners do not overlap a node's loads and saves."
    )]
    pub(crate) is_async: bool,

    /// Threads for the parallel runner [default: the number of cores].
    #[arg(
        long,
        value_name = "N",
        help_heading = "Execution",
        long_help = "Threads for --runner parallel (at least 1; default: the number of \
                     cores). Given with the sequential runner it is an error.\n\n\
                     Example: --runner parallel --max-workers 4"
    )]
    pub(crate) max_workers: Option<NonZeroUsize>,

    /// Override parameters: key=value,... (dotted keys nest).
    #[arg(
        long,
        value_name = "KEY=VALUE,...",
        value_parser = super::params::parse_params,
        help_heading = "Execution",
        long_help = "Override parameters.yml: comma-separated key=value items, split on the \
                     first '='. Dotted keys reach into nested parameters; values are typed like \
                     YAML scalars (1 is an integer, 0.5 a float, true a boolean, anything else \
                     a string). May be repeated; later items win.\n\n\
                     Example: --params model.alpha=0.5,run_name=nightly"
    )]
    pub(crate) params: Vec<Map<String, Value>>,

    /// Load these dataset versions: dataset:version,...
    #[arg(
        long,
        value_name = "DATASET:VERSION,...",
        value_parser = parse_load_versions,
        help_heading = "Execution",
        long_help = "Load a pinned version of versioned datasets instead of the latest: \
                     comma-separated dataset:version items, split on the first ':'. Every \
                     dataset must be in the catalog. Kedro's -lv is accepted as a spelling \
                     of --load-versions.\n\n\
                     Example: --load-versions model_input:2026-11-27T03.22.14.996Z"
    )]
    pub(crate) load_versions: Vec<BTreeMap<String, String>>,

    /// This run's id: the save version, and the version read of what the pipeline writes.
    #[arg(
        long,
        value_name = "ID",
        env = "TANDEM_RUN_ID",
        help_heading = "Execution",
        long_help = "Use ID as the run id instead of a new timestamp: every versioned dataset \
                     saves under version ID, and every versioned dataset the selected pipeline \
                     (before --nodes and the other filters) writes is loaded at version ID \
                     unless --load-versions pins it. The tasks of one orchestrated run (tandem \
                     deploy) pass the same ID, so each reads exactly what the tasks before it \
                     saved. A run given its ID re-runs that run: a versioned save replaces what \
                     an earlier try saved at version ID, so a retried task rewrites its own \
                     saves. Also TANDEM_RUN_ID.\n\n\
                     Example: --run-id manual__2026-12-02T16.27.07"
    )]
    pub(crate) run_id: Option<String>,

    /// Skip nodes whose persisted outputs already exist.
    #[arg(
        long,
        help_heading = "Execution",
        long_help = "Run only the nodes needed to produce missing persisted outputs (Kedro's \
                     rules): a node is skipped when all its outputs are persisted and exist, \
                     unless a node that runs needs one of them from memory."
    )]
    pub(crate) only_missing_outputs: bool,

    /// Print a JSON run summary (errors go to stderr as JSON too).
    #[arg(
        long,
        long_help = "Print one JSON object on stdout: {\"run_id\", \"status\", \"pipelines\", \
                     \"runner\", \"nodes\": [{\"name\", \"seconds\"}], \"skipped\", \"outputs\": \
                     [{\"name\", \"type\", \"location\"}]}. Logs are off unless -v or RUST_LOG \
                     asks for them, so stderr holds only a JSON error, if any.\n\n\
                     Example: --json | jq '.nodes[].name'"
    )]
    pub(crate) json: bool,
}

impl RunArgs {
    /// Checks what clap cannot express: `--max-workers` needs the parallel runner.
    pub(crate) fn validate(&self) -> Result<(), clap::Error> {
        if self.max_workers.is_some() && self.runner != RunnerKind::Parallel {
            let mut command = <super::Cli as clap::CommandFactory>::command();
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                "--max-workers only applies to --runner parallel",
            ));
        }
        Ok(())
    }

    /// The pipeline names to run, deduplicated in the order given.
    pub(crate) fn pipeline_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let given = match &self.pipeline {
            Some(name) => vec![name.clone()],
            None => self.pipelines.iter().flat_map(|v| split_list(v)).collect(),
        };
        for name in given {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.is_empty() {
            names.push(DEFAULT_PIPELINE.to_owned());
        }
        names
    }

    /// Every `--params` occurrence merged, later ones winning.
    pub(crate) fn params_overrides(&self) -> Map<String, Value> {
        super::params::merged(&self.params)
    }

    /// Every `--load-versions` occurrence merged, later ones winning.
    pub(crate) fn load_versions(&self) -> BTreeMap<String, String> {
        self.load_versions
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// `--load-versions`: `dataset:version` items, split on the first `:`.
fn parse_load_versions(value: &str) -> Result<BTreeMap<String, String>, String> {
    let mut versions = BTreeMap::new();
    for item in split_list(value) {
        match item.split_once(':') {
            Some((name, version)) if !name.trim().is_empty() && !version.trim().is_empty() => {
                versions.insert(name.trim().to_owned(), version.trim().to_owned());
            }
            _ => {
                return Err(format!(
                    "expected the form dataset:version for each item, found '{item}'"
                ));
            }
        }
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::super::{Cli, Command};
    use super::*;
    use clap::Parser;
    use serde_json::json;

    fn run_args(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let cli = Cli::try_parse_from(["tandem", "run"].iter().chain(args))?;
        match cli.command {
            Command::Run(args) => Ok(*args),
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn pipelines_default_dedup_and_exclude_each_other() {
        assert_eq!(run_args(&[]).unwrap().pipeline_names(), ["__default__"]);
        assert_eq!(run_args(&["-p", "a"]).unwrap().pipeline_names(), ["a"]);
        let names = run_args(&["--pipelines", "b,a", "--pipelines", "b,,c"]).unwrap();
        assert_eq!(names.pipeline_names(), ["b", "a", "c"]);
        let err = run_args(&["-p", "a", "--pipelines", "b"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn params_are_typed_merged_and_checked() {
        let args = run_args(&["--params", "a.b=1,c=x", "--params", "a.d=true,c=0.5"]).unwrap();
        assert_eq!(
            Value::Object(args.params_overrides()),
            json!({"a": {"b": 1, "d": true}, "c": 0.5})
        );
        assert_eq!(
            run_args(&["--params", "novalue"]).unwrap_err().exit_code(),
            2
        );
    }

    #[test]
    fn load_versions_split_on_the_first_colon() {
        let args = run_args(&[
            "--load-versions",
            "a:v1, b:2026:x",
            "--load-versions",
            "a:v2",
        ]);
        let versions = args.unwrap().load_versions();
        assert_eq!(versions["a"], "v2");
        assert_eq!(versions["b"], "2026:x");
        for bad in ["a", "a:", ":v", "a:1,b"] {
            let err = run_args(&["--load-versions", bad]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn runner_and_workers() {
        let args = run_args(&["--runner", "parallel", "--max-workers", "3"]).unwrap();
        assert_eq!(args.runner, RunnerKind::Parallel);
        assert_eq!(args.max_workers.map(NonZeroUsize::get), Some(3));
        assert_eq!(
            run_args(&["--max-workers", "0"]).unwrap_err().exit_code(),
            2
        );
        assert_eq!(
            run_args(&["--runner", "threads"]).unwrap_err().exit_code(),
            2
        );
        assert_eq!(run_args(&[]).unwrap().runner, RunnerKind::Sequential);
        let sequential = run_args(&["--max-workers", "2"]).unwrap();
        assert_eq!(sequential.validate().unwrap_err().exit_code(), 2);
        assert!(args.validate().is_ok());
    }

    #[test]
    fn kedro_runner_spellings() {
        for (spelling, kind) in RUNNER_SPELLINGS {
            assert_eq!(run_args(&["--runner", spelling]).unwrap().runner, kind);
        }
        assert_eq!(
            run_args(&["-r", "ThreadRunner"]).unwrap().runner,
            RunnerKind::Parallel
        );
        for bad in ["sequentialrunner", "kedro.runner.Bogus", "my.pkg.Runner"] {
            let err = run_args(&["--runner", bad]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
            assert!(
                err.to_string().contains("kedro.runner.ThreadRunner"),
                "{err}"
            );
        }
        assert!(run_args(&["--async"]).unwrap().is_async);
    }

    fn expanded(args: &[&str]) -> Vec<String> {
        expand_kedro_short_options(args.iter().copied())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn kedro_two_letter_options_are_expanded_for_run_only() {
        assert_eq!(
            expanded(&["tandem", "-v", "run", "-lv", "a:1", "-ns=x", "-n", "s"]),
            [
                "tandem",
                "-v",
                "run",
                "--load-versions",
                "a:1",
                "--namespaces=x",
                "-n",
                "s"
            ]
        );
        assert_eq!(
            expanded(&["tandem", "run", "-lv=a:1", "--", "-ns"]),
            ["tandem", "run", "--load-versions=a:1", "--", "-ns"]
        );
        // `-nsx` is `-n sx` (clap's attached value), and other commands keep `-ns`.
        assert_eq!(
            expanded(&["tandem", "run", "-nsx"]),
            ["tandem", "run", "-nsx"]
        );
        assert_eq!(
            expanded(&["tandem", "pipeline", "describe", "-ns"]),
            ["tandem", "pipeline", "describe", "-ns"]
        );
        assert_eq!(expanded(&["tandem", "-ns"]), ["tandem", "-ns"]);
        let cli = Cli::try_parse_from(expand_kedro_short_options([
            "tandem", "run", "-ns", "a,b", "-lv", "d:v",
        ]))
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.filters.namespaces, ["a,b"]);
        assert_eq!(args.load_versions()["d"], "v");
    }
}
