//! `tandem catalog list|describe` and Kedro's `list-patterns`,
//! `resolve-patterns` and `describe-datasets`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::ConfArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// List the catalog's datasets (type and filepath) and factory patterns.
    #[command(
        long_about = "\
List the datasets of the project's catalog, each with its type, filepath and
whether it is versioned, then the dataset factory patterns in the order names
are matched against them (most specific first, the catch-all last).

The catalog is conf/base/catalog*.yml overridden by conf/<env>/catalog*.yml.
Every entry is checked and all problems are reported together. An entry this
binary cannot use (an unknown or unsupported type, such as pickle.PickleDataset)
is still listed, with the reason; only a run that needs it fails.
Parameters are not listed; `tandem catalog describe params:NAME` shows one.",
        after_long_help = "\
Examples:
  tandem catalog list
  tandem catalog list --env prod --json | jq '.datasets[].name'"
    )]
    List(CatalogListArgs),
    /// Show one dataset's resolved configuration, credentials masked.
    #[command(
        long_about = "\
Show one dataset's resolved configuration: its entry after environment
overrides, credentials resolved from credentials.yml and masked, and the
dataset's own description (type, filepath, versioning, load and save
arguments). A name that only a factory pattern matches is resolved through the
pattern, and the pattern is shown. A parameter (params:NAME, or parameters)
prints its value, as YAML (in JSON, as \"value\").

An unknown name fails with dataset_not_found and the nearest names.",
        after_long_help = "\
Examples:
  tandem catalog describe companies
  tandem catalog describe cars_parquet --env prod --json
  tandem catalog describe params:model.alpha --params model.alpha=0.9"
    )]
    Describe(CatalogDescribeArgs),
    /// List the dataset factory patterns in matching order (Kedro's list-patterns).
    #[command(
        long_about = "\
List the catalog's dataset factory patterns in the order dataset names are
matched against them (most characters outside placeholders first, then more
placeholders, then alphabetically; the catalog's catch-all last), followed by
the runtime default '{default}', which makes any other name a MemoryDataset.
Printed as a YAML list, as `kedro catalog list-patterns` prints it.",
        after_long_help = "\
Examples:
  tandem catalog list-patterns
  tandem catalog list-patterns --env prod --json"
    )]
    ListPatterns(CatalogPatternsArgs),
    /// Show the pipelines' datasets resolved through the patterns (Kedro's resolve-patterns).
    #[command(
        long_about = "\
Show the resolved configuration of the datasets the selected pipelines use:
explicit entries as configured, and names a factory pattern matches with the
pattern's placeholders filled. Relative file paths are shown absolute and a
named credentials entry as <dataset>_credentials, as Kedro shows them.
Datasets that nothing matches (runtime MemoryDatasets) and parameters are
left out. Without --pipeline, every pipeline is used and every catalog entry
is shown too. Printed as YAML with sorted keys, as Kedro prints it.",
        after_long_help = "\
Examples:
  tandem catalog resolve-patterns --spec conf/pipelines.yml --pipeline data_processing
  tandem catalog resolve-patterns --spec conf/pipelines.yml --json"
    )]
    ResolvePatterns(CatalogPipelineArgs),
    /// Per pipeline, its datasets grouped by type (Kedro's describe-datasets).
    #[command(
        long_about = "\
For each selected pipeline, its datasets grouped by how they resolve and by
type: `datasets` (explicit catalog entries), `factories` (names only a
factory pattern matches) and `defaults` (names nothing matches, which become
MemoryDatasets). Types are shown as Kedro's class paths
(kedro_datasets.pandas.csv_dataset.CSVDataset). Parameters are left out;
empty groups are omitted. Without --pipeline, every pipeline is described,
__default__ included.",
        after_long_help = "\
Examples:
  tandem catalog describe-datasets --spec conf/pipelines.yml
  tandem catalog describe-datasets --spec conf/pipelines.yml -p data_science --json"
    )]
    DescribeDatasets(CatalogPipelineArgs),
}

impl CatalogCommand {
    /// Whether the command prints JSON.
    pub(crate) fn json(&self) -> bool {
        match self {
            CatalogCommand::List(args) => args.json,
            CatalogCommand::Describe(args) => args.json,
            CatalogCommand::ListPatterns(args) => args.json,
            CatalogCommand::ResolvePatterns(args) | CatalogCommand::DescribeDatasets(args) => {
                args.json
            }
        }
    }
}

/// `--params` for catalog commands, as `run` takes it: it feeds
/// `${runtime_params:...}` and overrides parameters.
#[derive(Debug, Args)]
pub(crate) struct CatalogParamsArgs {
    /// Override parameters: key=value,... (dotted keys nest), as for `run`.
    #[arg(
        long,
        value_name = "KEY=VALUE,...",
        value_parser = super::params::parse_params,
        long_help = "Runtime parameters, as `tandem run --params` takes them: comma-separated \
                     key=value items, dotted keys nest, values typed like YAML scalars; \
                     repeatable, later items win. They override parameters.yml and feed \
                     ${runtime_params:...} in the configuration.\n\n\
                     Example: --params out_dir=data/09"
    )]
    pub(crate) params: Vec<Map<String, Value>>,
}

impl CatalogParamsArgs {
    /// Every `--params` occurrence merged, later ones winning.
    pub(crate) fn overrides(&self) -> Map<String, Value> {
        super::params::merged(&self.params)
    }
}

/// `catalog list-patterns`.
#[derive(Debug, Args)]
pub(crate) struct CatalogPatternsArgs {
    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    #[command(flatten)]
    pub(crate) params: CatalogParamsArgs,

    /// Print a JSON array of the patterns.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `catalog resolve-patterns` and `catalog describe-datasets`.
#[derive(Debug, Args)]
pub(crate) struct CatalogPipelineArgs {
    /// The pipelines to use, comma-separated [default: every pipeline].
    #[arg(long, short = 'p', value_name = "NAME,...")]
    pub(crate) pipeline: Option<String>,

    /// A pipeline spec file (repeatable), as for `run`.
    #[arg(long, value_name = "FILE")]
    pub(crate) spec: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    #[command(flatten)]
    pub(crate) params: CatalogParamsArgs,

    /// Print one JSON object instead of YAML.
    #[arg(long)]
    pub(crate) json: bool,
}

impl CatalogPipelineArgs {
    /// The pipeline names given, in order, deduplicated; `None` for all.
    pub(crate) fn pipeline_names(&self) -> Option<Vec<String>> {
        let given = self.pipeline.as_deref()?;
        let mut names: Vec<String> = Vec::new();
        for name in given.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        Some(names)
    }
}

/// `catalog list`.
#[derive(Debug, Args)]
pub(crate) struct CatalogListArgs {
    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    #[command(flatten)]
    pub(crate) params: CatalogParamsArgs,

    /// Print one JSON object: {"datasets": [...], "patterns": [...]}.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `catalog describe`.
#[derive(Debug, Args)]
pub(crate) struct CatalogDescribeArgs {
    /// The dataset name (an entry, a name a pattern matches, or params:NAME).
    pub(crate) name: String,

    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    #[command(flatten)]
    pub(crate) params: CatalogParamsArgs,

    /// Print one JSON object: {"name", "pattern", "config", "dataset"}
    /// (and "value" for parameters).
    #[arg(long)]
    pub(crate) json: bool,
}
