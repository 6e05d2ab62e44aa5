//! `deploy plan|airflow|argo` output.

use std::io::{self, Write};

use crate::commands::Deployed;

use super::{table, write_json};

/// The plan as a table of tasks (id, nodes, what each waits for), then the
/// file written; or all of it as one JSON object.
pub(super) fn deployed(out: &mut dyn Write, deployed: &Deployed, json: bool) -> io::Result<()> {
    if json {
        return write_json(out, deployed);
    }
    let tasks = &deployed.plan.tasks;
    writeln!(
        out,
        "Pipeline '{}' in {} task(s), --group-by {}:",
        deployed.pipeline,
        tasks.len(),
        deployed.plan.group_by
    )?;
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|task| {
            let after = if task.dependencies.is_empty() {
                "-".to_owned()
            } else {
                task.dependencies.join(", ")
            };
            vec![task.id.clone(), after, task.nodes.join(", ")]
        })
        .collect();
    table::write(out, &["TASK", "AFTER", "NODES"], &rows)?;
    if let (Some(file), Some(name)) = (&deployed.file, &deployed.name) {
        writeln!(out, "Wrote {} ({name})", file.display())?;
    }
    Ok(())
}
