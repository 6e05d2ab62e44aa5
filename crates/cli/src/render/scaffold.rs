//! `tandem new` and `pipeline create`: what was generated and what to do
//! next.

use std::io::{self, Write};

use serde_json::json;

use crate::scaffold::{Created, CreatedKind};

/// Writes a generated project or pipeline.
pub(super) fn created(out: &mut dyn Write, created: &Created, json: bool) -> io::Result<()> {
    let root = created.root.display().to_string();
    if json {
        let (kind, starter) = match &created.kind {
            CreatedKind::Project { starter } => ("project", Some(*starter)),
            CreatedKind::Pipeline => ("pipeline", None),
        };
        let mut value = json!({
            "created": kind,
            "name": created.name,
            "path": root,
            "files": created.files,
        });
        if let Some(starter) = starter {
            value["starter"] = starter.into();
        }
        return super::write_json(out, &value);
    }
    match &created.kind {
        CreatedKind::Project { starter } => {
            writeln!(
                out,
                "Created project '{}' (starter {starter}) in {root}",
                created.name
            )?;
            writeln!(
                out,
                "\nNext:\n  cd {root}\n  cargo run -- run\n  cargo test"
            )
        }
        CreatedKind::Pipeline => {
            writeln!(out, "Created pipeline '{}' in {root}:", created.name)?;
            for file in &created.files {
                writeln!(out, "  {file}")?;
            }
            Ok(())
        }
    }
}
