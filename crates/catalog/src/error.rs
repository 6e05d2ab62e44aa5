//! The catalog's error type; every variant has a stable kind (see [`Error::kind`]).

use std::fmt;

/// Everything that can go wrong while configuring, loading or saving datasets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No catalog entry, factory pattern or runtime default matches the name.
    #[error("dataset '{name}' not found in the catalog{}", hint(.suggestions))]
    NotFound {
        /// The name looked up.
        name: String,
        /// Close matches among the catalog's entries.
        suggestions: Vec<String>,
    },

    /// `--load-versions` names datasets the catalog neither has nor matches.
    #[error("'load_versions' keys [{}] are not found in the catalog.", .names.join(", "))]
    LoadVersionsNotFound {
        /// The unknown names.
        names: Vec<String>,
    },

    /// A dataset operation failed; `name` is the catalog entry.
    #[error("{name}: {source}")]
    Dataset {
        /// The catalog entry.
        name: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },

    /// A memory dataset was loaded before anything was saved to it.
    #[error("data for MemoryDataset has not been saved yet")]
    NoData,

    /// A copy mode is not one of `assign`, `copy`, `deepcopy`.
    #[error("invalid copy mode '{mode}'; possible values are: deepcopy, copy, assign")]
    InvalidCopyMode {
        /// The mode as written.
        mode: String,
    },

    /// The value cannot be copied as the copy mode asks.
    #[error(
        "a value of type `{type_name}` cannot be copied for copy mode '{mode}'; implement \
         `DataValue` for it or use copy_mode: assign"
    )]
    NotCopyable {
        /// The value's Rust type.
        type_name: &'static str,
        /// The copy mode that needed a copy.
        mode: &'static str,
    },

    /// A catalog entry names a dataset type that is not registered.
    #[error("entry '{entry}': unknown dataset type '{type_name}'{}", suggestion_text(.suggestion))]
    UnknownType {
        /// The catalog entry.
        entry: String,
        /// The type as written.
        type_name: String,
        /// The nearest supported type and why, when there is one.
        suggestion: Option<String>,
    },

    /// Configuration is malformed (YAML syntax, wrong field, bad value).
    #[error("{}{message}", config_location(.file, .line, .entry))]
    InvalidConfig {
        /// The file, when known.
        file: Option<String>,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// The catalog entry or parameter, when known.
        entry: Option<String>,
        /// What is wrong.
        message: String,
    },

    /// A dataset factory pattern is invalid or ambiguous.
    #[error("{message}")]
    Pattern {
        /// What is wrong.
        message: String,
    },

    /// A versioned dataset has no version to load.
    #[error("did not find any versions for {path}")]
    VersionNotFound {
        /// Where versions were looked for.
        path: String,
    },

    /// Saving would overwrite an existing version.
    #[error("save path '{path}' must not exist if versioning is enabled")]
    VersionExists {
        /// The versioned path that exists.
        path: String,
    },

    /// A version string is unsafe or empty.
    #[error("invalid version '{version}': {reason}")]
    InvalidVersion {
        /// The version as given.
        version: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A path would escape its root or is not a valid object path.
    #[error("unsafe or invalid path '{path}': {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: String,
    },

    /// A storage backend is not compiled in.
    #[error(
        "'{scheme}://' paths need tandem's '{feature}' feature (enabled by default in the \
         tandem CLI)"
    )]
    UnsupportedBackend {
        /// The URL scheme.
        scheme: String,
        /// The cargo feature that provides it.
        feature: &'static str,
    },

    /// The object store failed (I/O, network, permissions, not found).
    #[error("{operation} '{location}': {source}")]
    Storage {
        /// What was attempted (`read`, `write`, `list`...).
        operation: &'static str,
        /// The URL or path, without credentials.
        location: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// Data could not be encoded or decoded in the dataset's format.
    #[error("{format} error for '{location}': {message}")]
    Format {
        /// `parquet`, `csv`, `json`...
        format: &'static str,
        /// The URL or path.
        location: String,
        /// The codec's explanation.
        message: String,
    },

    /// A value of the wrong type was saved to a dataset.
    #[error(transparent)]
    Value(#[from] tandem_pipeline_core::Error),

    /// A credentials key named by an entry is missing from credentials.yml.
    #[error("entry '{entry}': credentials '{key}' not found in credentials.yml")]
    MissingCredentials {
        /// The catalog entry.
        entry: String,
        /// The credentials key.
        key: String,
    },

    /// The async I/O runtime could not be started.
    #[error("could not start the I/O runtime: {0}")]
    Runtime(String),

    /// Several catalog entries are invalid: every problem the catalog found
    /// while loading, each naming its entry (and, from a project, its file).
    #[error("{} catalog entries are invalid:{}", .problems.len(), problem_list(.problems))]
    InvalidEntries {
        /// The problems, in the order of the catalog's keys.
        problems: Vec<EntryProblem>,
    },

    /// A dataset type defined in another crate failed in its own terms (an
    /// MLflow dataset's tracking error, a project type's error): the source
    /// keeps that crate's error, and `kind` its stable kind.
    #[error("{operation} {dataset}: {source}")]
    External {
        /// What was attempted (`load`, `save`, `log the metric of`...).
        operation: &'static str,
        /// The dataset, as the failing type names it.
        dataset: String,
        /// The other crate's stable error kind.
        kind: &'static str,
        /// The other crate's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl From<tandem_io::RuntimeError> for Error {
    fn from(e: tandem_io::RuntimeError) -> Error {
        Error::Runtime(e.0)
    }
}

impl Error {
    /// The stable, machine-readable kind of this error. For [`Error::Dataset`],
    /// the kind of the underlying error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotFound { .. } | Error::LoadVersionsNotFound { .. } => "dataset_not_found",
            Error::Dataset { source, .. } => source.kind(),
            Error::NoData => "no_data",
            Error::InvalidCopyMode { .. } => "invalid_copy_mode",
            Error::NotCopyable { .. } => "not_copyable",
            Error::UnknownType { .. } => "unknown_dataset_type",
            Error::InvalidConfig { .. } => "invalid_config",
            Error::Pattern { .. } => "dataset_pattern",
            Error::VersionNotFound { .. } => "version_not_found",
            Error::VersionExists { .. } => "version_exists",
            Error::InvalidVersion { .. } => "invalid_version",
            Error::InvalidPath { .. } => "invalid_path",
            Error::UnsupportedBackend { .. } => "unsupported_backend",
            Error::Storage { .. } => "storage",
            Error::Format { .. } => "format",
            Error::Value(e) => e.kind(),
            Error::MissingCredentials { .. } => "missing_credentials",
            Error::Runtime(_) => "runtime",
            Error::External { kind, .. } => kind,
            Error::InvalidEntries { problems } => {
                let first = problems
                    .first()
                    .map_or("invalid_config", |p| p.error.kind());
                if problems.iter().all(|p| p.error.kind() == first) {
                    first
                } else {
                    "invalid_config"
                }
            }
        }
    }

    /// Attaches the catalog entry name (Kedro's `"<name>: <error>"`), once.
    pub fn in_dataset(self, name: &str) -> Error {
        match self {
            already @ (Error::Dataset { .. } | Error::NotFound { .. }) => already,
            other => Error::Dataset {
                name: name.to_owned(),
                source: Box::new(other),
            },
        }
    }

    /// An [`Error::InvalidConfig`] about one entry.
    pub fn config(entry: impl Into<String>, message: impl fmt::Display) -> Error {
        Error::InvalidConfig {
            file: None,
            line: None,
            entry: Some(entry.into()),
            message: message.to_string(),
        }
    }
}

/// One problem of an [`Error::InvalidEntries`].
#[derive(Debug)]
pub struct EntryProblem {
    /// The catalog entry or pattern, when the problem is about one.
    pub entry: Option<String>,
    /// `file:line` of the entry, when known and not already in `error`.
    pub defined_in: Option<String>,
    /// What is wrong; it names the entry.
    pub error: Error,
}

fn problem_list(problems: &[EntryProblem]) -> String {
    problems
        .iter()
        .map(|p| match &p.defined_in {
            Some(origin) => format!("\n  - {origin}: {}", p.error),
            None => format!("\n  - {}", p.error),
        })
        .collect()
}

fn hint(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}

fn suggestion_text(s: &Option<String>) -> String {
    s.as_ref().map_or_else(String::new, |s| format!("; {s}"))
}

fn config_location(file: &Option<String>, line: &Option<usize>, entry: &Option<String>) -> String {
    let mut out = String::new();
    if let Some(f) = file {
        out.push_str(f);
        if let Some(l) = line {
            out.push_str(&format!(":{l}"));
        }
        out.push_str(": ");
    }
    if let Some(e) = entry {
        out.push_str(&format!("entry '{e}': "));
    }
    out
}
