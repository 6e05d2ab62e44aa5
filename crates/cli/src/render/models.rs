//! `models save|predict` output.

use std::io::{self, Write};

use super::write_json;
use crate::commands::{Prediction, Saved};

/// Where the model went and what it needs.
pub(super) fn saved(out: &mut dyn Write, saved: &Saved, json: bool) -> io::Result<()> {
    if json {
        return write_json(out, &saved.mlmodel);
    }
    writeln!(out, "model written to {}", saved.dir.display())?;
    if let Some(flavor) = saved.mlmodel.flavors.get("tandem") {
        for key in ["input_name", "output_name"] {
            if let Some(value) = flavor.get(key).and_then(|v| v.as_str()) {
                writeln!(out, "  {key}: {value}")?;
            }
        }
    }
    Ok(())
}

/// The predictions JSON, as `mlflow models predict` prints it, or where it went.
pub(super) fn predicted(out: &mut dyn Write, prediction: &Prediction) -> io::Result<()> {
    if let Some(path) = &prediction.written_to {
        return writeln!(out, "predictions written to {}", path.display());
    }
    let body = &prediction.body;
    out.write_all(body)?;
    if !body.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    Ok(())
}
