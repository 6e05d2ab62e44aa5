//! The only place that produces output: outcomes on stdout, errors on stderr,
//! as text or JSON.
//!
//! Everything is written to the `Write` it is given rather than printed, so a
//! closed pipe (`tandem ... | head`) is an error to handle instead of a panic,
//! and tests can capture the output.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;
use tandem_pipeline_core::{Node, Pipeline};

use crate::commands::Outcome;

/// `pipeline describe --json`.
#[derive(Serialize)]
struct DescribeReport<'a> {
    /// Node names in execution order.
    nodes: Vec<&'a str>,
    /// Node names per topological layer.
    layers: Vec<Vec<&'a str>>,
    /// Free inputs, sorted.
    inputs: &'a BTreeSet<String>,
    /// Free outputs, sorted.
    outputs: &'a BTreeSet<String>,
}

impl<'a> DescribeReport<'a> {
    fn new(pipeline: &'a Pipeline) -> Self {
        DescribeReport {
            nodes: pipeline.nodes().map(Node::name).collect(),
            layers: pipeline
                .layers()
                .map(|layer| layer.iter().map(|n| n.name()).collect())
                .collect(),
            inputs: pipeline.inputs(),
            outputs: pipeline.outputs(),
        }
    }
}

/// `pipeline check --json`.
#[derive(Serialize)]
struct CheckReport<'a> {
    /// Node names in execution order.
    nodes: Vec<&'a str>,
    /// The function ids used, sorted.
    functions: BTreeSet<&'a str>,
}

/// Writes a command's result.
pub(crate) fn outcome(out: &mut dyn Write, outcome: &Outcome, json: bool) -> io::Result<()> {
    match outcome {
        Outcome::Described(pipeline) if json => write_json(out, &DescribeReport::new(pipeline)),
        Outcome::Described(pipeline) => writeln!(out, "{}", pipeline.describe()),
        Outcome::Checked(pipeline) => {
            let report = CheckReport {
                nodes: pipeline.nodes().map(Node::name).collect(),
                functions: pipeline.nodes().map(Node::func_id).collect(),
            };
            if json {
                write_json(out, &report)
            } else {
                writeln!(
                    out,
                    "ok: {} node(s); every function resolved: {}",
                    report.nodes.len(),
                    report.functions.into_iter().collect::<Vec<_>>().join(", ")
                )
            }
        }
    }
}

/// The error kind reported when the output itself cannot be written.
pub(crate) const IO_ERROR: &str = "io";

/// Writes an error: `error: <message>`, or `{"error": {"kind", "message"}}` as
/// JSON. `kind` is [`Error::kind`](tandem_pipeline_core::Error::kind) or
/// [`IO_ERROR`].
pub(crate) fn error(
    err: &mut dyn Write,
    kind: &str,
    message: &dyn Display,
    json: bool,
) -> io::Result<()> {
    if json {
        let report = serde_json::json!({
            "error": {"kind": kind, "message": message.to_string()}
        });
        write_json(err, &report)
    } else {
        writeln!(err, "error: {message}")
    }
}

/// Prints clap's usage error, help or version text and returns clap's exit
/// code (2 for bad arguments, 0 for `--help` and `--version`).
pub(crate) fn usage(error: &clap::Error) -> ExitCode {
    // clap picks the stream and colours; if even that fails there is nowhere
    // left to report it, and the exit code still tells the story.
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

/// One compact JSON object and a newline.
fn write_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_pipeline_core::{Error, NodeBuilder};

    fn sample() -> Pipeline {
        Pipeline::new([
            NodeBuilder::unresolved("f.a", "x", "y")
                .name("a")
                .build()
                .unwrap(),
            NodeBuilder::unresolved("f.b", "y", "z")
                .name("b")
                .build()
                .unwrap(),
        ])
        .unwrap()
    }

    fn render(outcome_: &Outcome, json: bool) -> String {
        let mut out = Vec::new();
        outcome(&mut out, outcome_, json).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn describe_json_is_one_object() {
        let text = render(&Outcome::Described(sample()), true);
        assert_eq!(
            text,
            "{\"nodes\":[\"a\",\"b\"],\"layers\":[[\"a\"],[\"b\"]],\"inputs\":[\"x\"],\"outputs\":[\"z\"]}\n"
        );
    }

    #[test]
    fn describe_text_is_kedro_describe() {
        let text = render(&Outcome::Described(sample()), false);
        assert_eq!(text, format!("{}\n", sample().describe()));
    }

    #[test]
    fn check_reports_nodes_and_functions() {
        let text = render(&Outcome::Checked(sample()), true);
        assert_eq!(
            text,
            "{\"nodes\":[\"a\",\"b\"],\"functions\":[\"f.a\",\"f.b\"]}\n"
        );
        let text = render(&Outcome::Checked(sample()), false);
        assert_eq!(text, "ok: 2 node(s); every function resolved: f.a, f.b\n");
    }

    #[test]
    fn errors_carry_their_kind() {
        let mut out = Vec::new();
        let e = Error::EmptyPipeline;
        error(&mut out, e.kind(), &e, true).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["error"]["kind"], "empty_pipeline");
        assert!(
            value["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no nodes")
        );
        let mut out = Vec::new();
        error(&mut out, e.kind(), &e, false).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("error: "));
    }
}
