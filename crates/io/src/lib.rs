//! I/O plumbing every tandem crate that touches files or the network shares,
//! so each rule has one home:
//!
//! - [`block_on`]: the one process-wide tokio runtime that bridges blocking
//!   APIs (datasets, the MLflow client) to async I/O, safe to call from plain
//!   threads, rayon workers and from inside another runtime.
//! - [`paths`]: when a path from outside (an artifact name, a model's file,
//!   a dataset version) may be joined to a root: lexical rules (no absolute
//!   paths, `..`, backslashes, drive prefixes, NUL bytes or URLs) and, on
//!   disk, symlinks resolved and checked to stay inside the root.
//! - [`durable`]: local writes that survive a crash (staged, fsynced,
//!   renamed, directory fsynced) and the cleanup of what killed writers
//!   left behind.
//!
//! ```
//! use tandem_io::{block_on, paths};
//!
//! assert_eq!(block_on(async { 1 + 1 })?, 2);
//! assert_eq!(paths::relative("./artifacts//model/m.json")?, "artifacts/model/m.json");
//! assert_eq!(paths::relative("../etc/passwd").unwrap_err().kind(), "unsafe_path");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod durable;
pub mod paths;
mod runtime;

pub use paths::PathError;
pub use runtime::{RuntimeError, block_on};
