//! `run` output: the run summary.

use std::io::{self, Write};

use serde::Serialize;
use tandem_runners::NodeRun;

use super::{table, write_json};
use crate::commands::{OutputReport, RunReport};

/// How many nodes the text summary lists.
const NODES_SHOWN: usize = 20;

/// `run --json`.
#[derive(Serialize)]
struct Summary<'a> {
    run_id: &'a str,
    status: &'static str,
    pipelines: &'a [String],
    runner: &'static str,
    /// Completed nodes in completion order.
    nodes: Vec<NodeTime<'a>>,
    /// Nodes `--only-missing-outputs` skipped, in execution order.
    skipped: &'a [String],
    outputs: &'a [OutputReport],
}

#[derive(Serialize)]
struct NodeTime<'a> {
    name: &'a str,
    seconds: f64,
}

/// The summary of a successful run.
pub(super) fn ran(out: &mut dyn Write, report: &RunReport, json: bool) -> io::Result<()> {
    let run = &report.output;
    if json {
        let summary = Summary {
            run_id: &run.run_id,
            status: "success",
            pipelines: &report.pipelines,
            runner: report.runner.name(),
            nodes: run
                .nodes
                .iter()
                .map(|n| NodeTime {
                    name: n.name(),
                    seconds: n.duration.as_secs_f64(),
                })
                .collect(),
            skipped: &report.skipped,
            outputs: &report.outputs,
        };
        return write_json(out, &summary);
    }
    writeln!(
        out,
        "Run {} completed: {} node(s) of pipeline {} ({} runner)",
        run.run_id,
        run.nodes.len(),
        report.pipelines.join(" + "),
        report.runner.name()
    )?;
    // Every node of a small run, in completion order; the slowest of a big one.
    let mut nodes: Vec<&NodeRun> = run.nodes.iter().collect();
    let header = if nodes.len() > NODES_SHOWN {
        nodes.sort_by_key(|n| std::cmp::Reverse(n.duration));
        nodes.truncate(NODES_SHOWN);
        "SLOWEST NODE"
    } else {
        "NODE"
    };
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|n| {
            vec![
                n.name().to_owned(),
                format!("{:.3} s", n.duration.as_secs_f64()),
            ]
        })
        .collect();
    if !rows.is_empty() {
        table::write(out, &[header, "TIME"], &rows)?;
    }
    if !report.skipped.is_empty() {
        writeln!(
            out,
            "Skipped (outputs already exist): {}",
            report.skipped.join(", ")
        )?;
    }
    if !report.outputs.is_empty() {
        writeln!(out)?;
        let rows: Vec<Vec<String>> = report
            .outputs
            .iter()
            .map(|o| {
                let location = o
                    .location
                    .clone()
                    .unwrap_or_else(|| "(in memory)".to_owned());
                vec![o.name.clone(), o.type_name.clone(), location]
            })
            .collect();
        table::write(out, &["OUTPUT", "TYPE", "LOCATION"], &rows)?;
    }
    Ok(())
}
