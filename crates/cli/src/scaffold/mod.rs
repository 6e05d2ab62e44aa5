//! Generating projects and pipelines: `tandem new` ([`project`]) and
//! `tandem pipeline create` ([`pipeline`]), from the templates under
//! crates/cli/templates/ embedded in the binary ([`templates`]).

mod names;
mod pipeline;
mod project;
mod templates;

use std::path::{Path, PathBuf};

pub(crate) use pipeline::create_pipeline;
pub(crate) use project::new_project;

use crate::error::Failure;

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CreatedKind {
    /// `tandem new`, with the starter's name.
    Project {
        /// The starter.
        starter: &'static str,
    },
    /// `tandem pipeline create`.
    Pipeline,
}

/// A generated project or pipeline, for the render layer.
#[derive(Debug)]
pub(crate) struct Created {
    /// Project or pipeline.
    pub(crate) kind: CreatedKind,
    /// Its name.
    pub(crate) name: String,
    /// The project root (absolute).
    pub(crate) root: PathBuf,
    /// The files written or changed, relative to the root, sorted.
    pub(crate) files: Vec<String>,
}

/// An I/O error on `path`.
fn io_error(path: &Path, source: std::io::Error) -> Failure {
    Failure::File {
        path: path.display().to_string(),
        source,
    }
}

/// Writes a new file (never replacing one), creating its directories.
fn write_new(path: &Path, contents: &str) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(|e| io_error(path, e))
}
