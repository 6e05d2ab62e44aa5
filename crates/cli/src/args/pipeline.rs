//! `tandem pipeline describe|check`: spec files without a catalog.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::FilterArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum PipelineCommand {
    /// Print a pipeline's execution order, free inputs and free outputs.
    #[command(
        long_about = "\
Print a pipeline's execution order, free inputs and free outputs, optionally
after filtering it the way `kedro run` does.

Functions are not resolved, so a spec can be described without the code that
implements it. Every filter flag takes a comma-separated list and may be
repeated. Each flag selects nodes from the whole pipeline on its own and the
result keeps only the nodes every flag selected (an intersection), so the order
of the flags does not matter. A filter that selects nothing is an error
(empty_pipeline), as is naming a node, dataset or namespace the pipeline does
not have.

A spec whose top level is an `ml:` section (training, inference, input_name)
describes a PipelineMl: the filters apply to its training pipeline and keep
the binding, re-checking it, and --json adds \"type\": \"pipeline_ml\", the
inference nodes, inputs and outputs, input_name and the artifacts.",
        after_long_help = "\
Examples:
  # The whole pipeline, as text
  tandem pipeline describe --spec examples/spaceflights.yml
  # Training nodes only, as JSON
  tandem pipeline describe --spec examples/spaceflights.yml --tags training --json
  # Everything needed to produce the model metrics
  tandem pipeline describe --spec examples/spaceflights.yml --to-outputs model_metrics
  # Flags combine as an intersection
  tandem pipeline describe --spec examples/spaceflights.yml \\
      --from-nodes data_science.train_model --namespaces data_science
  # A diagram for a README or a pull request
  tandem pipeline describe --spec examples/spaceflights.yml --format mermaid
  tandem pipeline describe --spec examples/spaceflights.yml --format dot | dot -Tsvg > p.svg"
    )]
    Describe(DescribeArgs),
    /// Resolve every function of a spec in this binary's function registry.
    #[command(
        long_about = "\
Build the pipeline of a spec with the functions registered in this binary,
checking that every function id is known (all unknown ids are reported at
once) and that each node's inputs and outputs fit its function. The stock
`tandem` binary only knows builtin:identity; a project's own binary registers
its functions in a tandem_cli::App and calls tandem_cli::run_cli.",
        after_long_help = "\
Examples:
  tandem pipeline check --spec pipeline.yml
  # In a project binary that registers its functions
  my_project pipeline check --spec conf/pipelines/training.yml --json"
    )]
    Check(CheckArgs),
    /// Add a pipeline skeleton to a generated project (`kedro pipeline create`).
    #[command(
        long_about = super::new::CREATE_LONG_ABOUT,
        after_long_help = super::new::CREATE_EXAMPLES
    )]
    Create(super::PipelineCreateArgs),
}

/// Where the spec is and how to print results.
#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// The pipeline spec file (YAML, or JSON when it ends in .json).
    #[arg(
        long,
        value_name = "FILE",
        long_help = "The pipeline spec file: YAML, or JSON when the name ends in .json.\n\n\
                     Example: --spec conf/pipelines/spaceflights.yml"
    )]
    pub(crate) spec: PathBuf,

    /// Print machine-readable JSON (errors go to stderr as JSON too).
    #[arg(
        long,
        long_help = "Print one JSON object on stdout instead of text. On failure, stderr \
                     receives {\"error\": {\"kind\": \"<kind>\", \"message\": \"...\"}} instead \
                     of a text message; kind is stable (e.g. invalid_spec, unknown_node, \
                     empty_pipeline) and meant for scripts.\n\n\
                     Example: --json | jq '.nodes'"
    )]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DescribeArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    #[command(flatten)]
    pub(crate) filters: FilterArgs,

    /// How to print: text, json, mermaid or dot.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t = DescribeFormat::Text,
        conflicts_with = "json",
        long_help = "How to print the (filtered) pipeline: text (Kedro's describe), json \
                     (the same as --json), mermaid (a flowchart for Markdown: GitHub and \
                     mdBook render ```mermaid blocks) or dot (Graphviz: pipe it into \
                     `dot -Tsvg`). In the diagrams tasks are boxes, datasets rounded, \
                     parameters their own shape and namespaces nested subgraphs; names are \
                     labels, escaped, so any name is safe. A PipelineMl is drawn as its \
                     training pipeline.\n\n\
                     Example: --format mermaid > docs/pipeline.mmd"
    )]
    pub(crate) format: DescribeFormat,
}

/// `pipeline describe --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DescribeFormat {
    /// Kedro's `describe()` text.
    Text,
    /// One JSON object (as --json).
    Json,
    /// A Mermaid flowchart.
    Mermaid,
    /// A Graphviz digraph.
    Dot,
}

impl DescribeArgs {
    /// Whether the output (and a failure) is JSON.
    pub(crate) fn json(&self) -> bool {
        self.common.json || self.format == DescribeFormat::Json
    }
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}
