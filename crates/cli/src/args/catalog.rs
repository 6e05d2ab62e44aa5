//! `tandem catalog list|describe`.

use clap::{Args, Subcommand};

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
pattern, and the pattern is shown.

An unknown name fails with dataset_not_found and the nearest names.",
        after_long_help = "\
Examples:
  tandem catalog describe companies
  tandem catalog describe cars_parquet --env prod --json"
    )]
    Describe(CatalogDescribeArgs),
}

/// `catalog list`.
#[derive(Debug, Args)]
pub(crate) struct CatalogListArgs {
    #[command(flatten)]
    pub(crate) conf: ConfArgs,

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

    /// Print one JSON object: {"name", "pattern", "config", "dataset"}.
    #[arg(long)]
    pub(crate) json: bool,
}
