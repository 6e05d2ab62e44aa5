//! `viz build` output, and `viz`'s when kedro is not installed.

use std::io::{self, Write};

use serde_json::json;

use super::write_json;
use crate::commands::VizReport;

/// One line per pipeline with its counts, or one JSON object; without
/// kedro, how to install it and the command that serves the export.
pub(super) fn report(out: &mut dyn Write, report: &VizReport, json: bool) -> io::Result<()> {
    if json {
        return write_json(
            out,
            &json!({
                "output": report.output.display().to_string(),
                "pipelines": report.pipelines,
                "serve_command": report.serve_command,
            }),
        );
    }
    writeln!(
        out,
        "Wrote the kedro-viz export of {} pipeline(s) to {}",
        report.pipelines.len(),
        report.output.display()
    )?;
    for p in &report.pipelines {
        let layers = if p.layers.is_empty() {
            String::new()
        } else {
            format!(", layers {}", p.layers.join(" > "))
        };
        writeln!(
            out,
            "  {}: {} task(s), {} dataset(s), {} parameter(s), {} modular pipeline(s), {} edge(s){layers}",
            p.id, p.tasks, p.datasets, p.parameters, p.modular_pipelines, p.edges
        )?;
    }
    if let Some(command) = &report.serve_command {
        writeln!(
            out,
            "kedro is not on PATH: install kedro-viz (pip install kedro-viz==12.5.0), then run\n  {command}"
        )?;
    }
    Ok(())
}
