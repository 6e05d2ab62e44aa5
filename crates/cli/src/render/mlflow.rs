//! `mlflow ...` output.

use std::io::{self, Write};
use std::path::Path;

use serde_json::json;

use super::write_json;

/// Where `mlflow init` wrote the configuration.
pub(super) fn initialized(out: &mut dyn Write, path: &Path, json: bool) -> io::Result<()> {
    if json {
        return write_json(out, &json!({"path": path.display().to_string()}));
    }
    writeln!(out, "wrote {}", path.display())
}
