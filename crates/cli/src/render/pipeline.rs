//! `pipeline describe|check` output.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde::Serialize;
use tandem_pipeline_core::{Node, Pipeline};

use super::write_json;

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

/// `pipeline check --json`.
#[derive(Serialize)]
struct CheckReport<'a> {
    /// Node names in execution order.
    nodes: Vec<&'a str>,
    /// The function ids used, sorted.
    functions: BTreeSet<&'a str>,
}

/// Execution order, layers, free inputs and outputs.
pub(super) fn described(out: &mut dyn Write, pipeline: &Pipeline, json: bool) -> io::Result<()> {
    if !json {
        return writeln!(out, "{}", pipeline.describe());
    }
    let report = DescribeReport {
        nodes: pipeline.nodes().map(Node::name).collect(),
        layers: pipeline
            .layers()
            .map(|layer| layer.iter().map(|n| n.name()).collect())
            .collect(),
        inputs: pipeline.inputs(),
        outputs: pipeline.outputs(),
    };
    write_json(out, &report)
}

/// The nodes and the functions they resolved to.
pub(super) fn checked(out: &mut dyn Write, pipeline: &Pipeline, json: bool) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_pipeline_core::NodeBuilder;

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

    fn render(f: fn(&mut dyn Write, &Pipeline, bool) -> io::Result<()>, json: bool) -> String {
        let mut out = Vec::new();
        f(&mut out, &sample(), json).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn describe_json_is_one_object() {
        assert_eq!(
            render(described, true),
            "{\"nodes\":[\"a\",\"b\"],\"layers\":[[\"a\"],[\"b\"]],\"inputs\":[\"x\"],\"outputs\":[\"z\"]}\n"
        );
    }

    #[test]
    fn describe_text_is_kedro_describe() {
        assert_eq!(
            render(described, false),
            format!("{}\n", sample().describe())
        );
    }

    #[test]
    fn check_reports_nodes_and_functions() {
        assert_eq!(
            render(checked, true),
            "{\"nodes\":[\"a\",\"b\"],\"functions\":[\"f.a\",\"f.b\"]}\n"
        );
        assert_eq!(
            render(checked, false),
            "ok: 2 node(s); every function resolved: f.a, f.b\n"
        );
    }
}
