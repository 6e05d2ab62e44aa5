//! `tandem viz [build]`: the project's pipelines in kedro-viz.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::ConfArgs;

pub(crate) const LONG_ABOUT: &str = "\
Look at the project's pipelines in kedro-viz, Kedro's pipeline browser.

`tandem viz` writes kedro-viz's export of the pipelines into a temporary
directory and, when the `kedro` command (with the kedro-viz plugin) is on
PATH, starts `kedro viz run --load-file DIR --host 127.0.0.1` on it, which
opens the browser; the directory is removed when kedro-viz stops. Without
kedro it keeps the directory and prints the command to run, and
`pip install kedro-viz==12.5.0` installs what it needs.

`tandem viz build -o DIR` only writes the export (DIR/api/...), to serve
later or to inspect.

The graph holds every registered pipeline (the binary's and the --spec
files', __default__ included), or those named by --pipeline; each task,
dataset and parameter; namespaces as collapsible modular pipelines; tags;
dataset types as Kedro names them (pandas.csv_dataset.CSVDataset); and
layers from catalog entries' `metadata: {kedro-viz: {layer: raw}}`.
Parameter values come from conf/base/parameters.yml and the environment.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  # Browse every pipeline (needs `pip install kedro-viz==12.5.0`)
  tandem viz
  # Only the training pipeline, on another port
  tandem viz --pipeline training --port 4242
  # Write the export and serve it yourself (pass DIR relative to the cwd)
  tandem viz build -o viz-export
  kedro viz run --load-file viz-export --host 127.0.0.1
  # Counts per pipeline, for scripts
  tandem viz build -o viz-export --pipeline training --json";

/// `tandem viz`: serve, or `build` only.
#[derive(Debug, Args)]
pub(crate) struct VizArgs {
    #[command(subcommand)]
    pub(crate) command: Option<VizCommand>,

    #[command(flatten)]
    pub(crate) source: VizSource,

    /// The port kedro-viz listens on (on 127.0.0.1).
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 4141,
        long_help = "The port kedro-viz listens on, on 127.0.0.1 only.\n\nExample: --port 4242"
    )]
    pub(crate) port: u16,

    /// Do not open a browser (kedro-viz's --no-browser).
    #[arg(long)]
    pub(crate) no_browser: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum VizCommand {
    /// Write kedro-viz's export directory without serving it.
    #[command(
        long_about = "\
Write kedro-viz 12.5's export of the project's pipelines into DIR: api/main
(the default pipeline), api/pipelines/<name>, api/nodes/<id> (each node's
metadata panel), api/run-status, api/version and api/deploy-viz-metadata.
Files of an earlier export are overwritten. Serve it with
`kedro viz run --load-file DIR` from DIR's parent directory: kedro-viz
resolves DIR against its working directory, even when it is absolute.",
        after_long_help = "\
Examples:
  tandem viz build -o viz-export
  tandem viz build -o viz-export --pipeline training --pipeline inference
  my_project viz build -o public/viz --env prod --json"
    )]
    Build(VizBuildArgs),
}

/// `tandem viz build`.
#[derive(Debug, Args)]
pub(crate) struct VizBuildArgs {
    /// The directory to write (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub(crate) output: PathBuf,

    #[command(flatten)]
    pub(crate) source: VizSource,

    /// Print what was written as JSON (errors go to stderr as JSON too).
    #[arg(
        long,
        long_help = "Print {\"output\": DIR, \"pipelines\": [{\"id\", \"tasks\", \"datasets\", \
                     \"parameters\", \"modular_pipelines\", \"edges\", \"layers\"}]} on stdout; \
                     a failure is {\"error\": {\"kind\", \"message\"}} on stderr.\n\n\
                     Example: --json | jq '.pipelines[0].tasks'"
    )]
    pub(crate) json: bool,
}

/// Which pipelines, from where, with which catalog.
#[derive(Debug, Args)]
pub(crate) struct VizSource {
    /// Show this registered pipeline (repeatable) [default: all].
    #[arg(
        long,
        short = 'p',
        value_name = "NAME",
        value_delimiter = ',',
        long_help = "Export this pipeline; repeat it (or separate names with commas) for \
                     several. Without it, every registered pipeline is exported, plus \
                     __default__ (the sum of all of them when no pipeline has that name). \
                     kedro-viz opens on __default__ when it is exported, else on the first \
                     one named.\n\nExample: --pipeline training --pipeline inference"
    )]
    pub(crate) pipeline: Vec<String>,

    /// A pipeline spec file (repeatable), as for `tandem run`.
    #[arg(
        long,
        value_name = "FILE",
        long_help = "A pipeline spec file (YAML, or JSON when it ends in .json) whose \
                     pipelines join the binary's, as for `tandem run`: a top-level \
                     `pipelines:` mapping defines one per key, any other file one named after \
                     its stem. Its functions must be registered in this binary.\n\n\
                     Example: --spec conf/pipelines.yml"
    )]
    pub(crate) spec: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) conf: ConfArgs,
}
