//! Command-line arguments and their conversion into core types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tandem_pipeline_core::Filter;

const ABOUT: &str = "Describe, filter and check Kedro-style pipelines written as spec files";

const LONG_ABOUT: &str = "\
Describe, filter and check Kedro-style pipelines written as spec files.

A spec file (YAML, or JSON when the name ends in .json) lists nodes by function
id and may nest modular pipelines with a namespace and input, output and
parameter mappings, like Kedro's pipeline() helper.

Exit status: 0 on success, 1 when the spec or a filter is invalid (the message
names the problem; with --json it is a JSON object on stderr), 2 for unusable
command-line arguments.";

const EXAMPLES: &str = "\
Examples:
  tandem pipeline describe --spec examples/spaceflights.yml
  tandem pipeline describe --spec examples/spaceflights.yml --tags training --json
  tandem pipeline check --spec pipeline.yml";

/// The `tandem` command line.
#[derive(Debug, Parser)]
#[command(name = "tandem", version, about = ABOUT, long_about = LONG_ABOUT, after_long_help = EXAMPLES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Work with pipeline spec files.
    #[command(subcommand)]
    Pipeline(PipelineCommand),
}

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
not have.",
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
      --from-nodes data_science.train_model --namespaces data_science"
    )]
    Describe(DescribeArgs),
    /// Resolve every function of a spec in this binary's function registry.
    #[command(long_about = "\
Build the pipeline of a spec with the functions registered in this binary,
checking that every function id is known (all unknown ids are reported at
once) and that each node's inputs and outputs fit its function. The stock
`tandem` binary only knows builtin:identity; a project's own binary registers
its functions and calls tandem_cli::run_cli.")]
    Check(CheckArgs),
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
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

/// `kedro run`'s filter flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Filters (combined as an intersection)")]
pub(crate) struct FilterArgs {
    /// Keep nodes with any of these tags.
    #[arg(
        long,
        short = 't',
        value_name = "TAG,...",
        long_help = "Keep nodes that carry at least one of these tags.\n\n\
                     Example: --tags training,inference"
    )]
    pub(crate) tags: Vec<String>,

    /// Keep exactly these nodes (full, namespaced names).
    #[arg(
        long,
        short = 'n',
        value_name = "NODE,...",
        long_help = "Keep exactly these nodes. Use full names, including the namespace; \
                     commas inside [...] do not split.\n\n\
                     Example: --nodes data_processing.preprocess_companies,split_data"
    )]
    pub(crate) nodes: Vec<String>,

    /// Keep these nodes and everything downstream of them.
    #[arg(
        long,
        value_name = "NODE,...",
        long_help = "Keep these nodes and every node that depends on them, directly or not.\n\n\
                     Example: --from-nodes data_science.train_model"
    )]
    pub(crate) from_nodes: Vec<String>,

    /// Keep these nodes and everything upstream of them.
    #[arg(
        long,
        value_name = "NODE,...",
        long_help = "Keep these nodes and every node they depend on, directly or not.\n\n\
                     Example: --to-nodes data_processing.create_model_input_table"
    )]
    pub(crate) to_nodes: Vec<String>,

    /// Keep consumers of these datasets and everything downstream.
    #[arg(
        long,
        value_name = "DATASET,...",
        long_help = "Keep the nodes that read these datasets and everything downstream of \
                     them. A bare name matches every transcoding (name@format).\n\n\
                     Example: --from-inputs model_input_table"
    )]
    pub(crate) from_inputs: Vec<String>,

    /// Keep producers of these datasets and everything upstream.
    #[arg(
        long,
        value_name = "DATASET,...",
        long_help = "Keep the nodes that write these datasets and everything upstream of \
                     them.\n\n\
                     Example: --to-outputs regressor,model_metrics"
    )]
    pub(crate) to_outputs: Vec<String>,

    /// Keep nodes in these namespaces (or nested below them).
    #[arg(
        long,
        value_name = "NAMESPACE,...",
        long_help = "Keep nodes whose namespace is one of these or nested below one \
                     (data matches data and data.raw, not data_eng). Each namespace must \
                     match at least one node.\n\n\
                     Example: --namespaces data_processing,data_science"
    )]
    pub(crate) namespaces: Vec<String>,
}

impl FilterArgs {
    /// The one filter `kedro run` builds from its flags.
    pub(crate) fn to_filter(&self) -> Filter {
        let names = |values: &[String]| -> Vec<String> {
            values.iter().flat_map(|v| split_node_names(v)).collect()
        };
        let plain = |values: &[String]| -> Vec<String> {
            values.iter().flat_map(|v| split_list(v)).collect()
        };
        Filter::default()
            .tags(plain(&self.tags))
            .node_names(names(&self.nodes))
            .from_nodes(names(&self.from_nodes))
            .to_nodes(names(&self.to_nodes))
            .from_inputs(plain(&self.from_inputs))
            .to_outputs(plain(&self.to_outputs))
            .node_namespaces(names(&self.namespaces))
    }
}

/// Kedro's `split_string`: comma-separated items, trimmed, empty ones dropped.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Kedro's `split_node_names`: like [`split_list`], but a comma inside
/// `[...]` does not split, because Kedro 0.19 default node names look like
/// `f([a,b]) -> [c]`.
pub(crate) fn split_node_names(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    // Saturating, unlike Kedro's counter: a stray `]` must not stop all later
    // commas from splitting.
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == ',' && depth == 0 {
            push_trimmed(&mut items, &current);
            current.clear();
        } else {
            current.push(c);
        }
    }
    push_trimmed(&mut items, &current);
    items
}

fn push_trimmed(items: &mut Vec<String>, item: &str) {
    let item = item.trim();
    if !item.is_empty() {
        items.push(item.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn lists_are_split_trimmed_and_compacted() {
        assert_eq!(split_list("a, b ,,c,"), ["a", "b", "c"]);
        assert_eq!(split_list(" "), Vec::<String>::new());
        assert_eq!(split_list("f([a,b])"), ["f([a", "b])"]);
    }

    #[test]
    fn node_names_keep_commas_inside_brackets() {
        assert_eq!(
            split_node_names("f([a,b]) -> [c], g([d]) -> [e,f] ,h"),
            ["f([a,b]) -> [c]", "g([d]) -> [e,f]", "h"]
        );
        assert_eq!(split_node_names("ns.a,,ns.b"), ["ns.a", "ns.b"]);
        assert_eq!(split_node_names("a],b"), ["a]", "b"]);
        assert_eq!(split_node_names("[a,b"), ["[a,b"]);
        assert_eq!(split_node_names(""), Vec::<String>::new());
    }

    #[test]
    fn flags_become_one_filter_and_may_repeat() {
        let cli = Cli::try_parse_from([
            "tandem",
            "pipeline",
            "describe",
            "--spec",
            "p.yml",
            "-t",
            "a,b",
            "--tags",
            "c",
            "--nodes",
            "x, y",
            "--from-inputs",
            "d",
            "--namespaces",
            "ns",
        ])
        .unwrap();
        let Command::Pipeline(PipelineCommand::Describe(args)) = cli.command else {
            panic!("parsed {cli:?}");
        };
        let filter = args.filters.to_filter();
        assert_eq!(filter.tags, ["a", "b", "c"]);
        assert_eq!(filter.node_names, ["x", "y"]);
        assert_eq!(filter.from_inputs, ["d"]);
        assert_eq!(filter.node_namespaces, ["ns"]);
        assert!(filter.from_nodes.is_empty() && filter.to_outputs.is_empty());
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
