//! `pipeline describe|check` output.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde::Serialize;
use tandem_pipeline_core::{Node, Pipeline};
use tandem_pipeline_ml::AnyPipeline;

use super::write_json;

/// `pipeline describe --json`.
#[derive(Serialize)]
struct DescribeReport<'a> {
    /// `pipeline` or `pipeline_ml`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// Node names in execution order (the training nodes of a PipelineMl).
    nodes: Vec<&'a str>,
    /// Node names per topological layer.
    layers: Vec<Vec<&'a str>>,
    /// Free inputs, sorted.
    inputs: &'a BTreeSet<String>,
    /// Free outputs, sorted.
    outputs: &'a BTreeSet<String>,
    /// The inference pipeline of a PipelineMl.
    #[serde(skip_serializing_if = "Option::is_none")]
    inference: Option<InferenceReport<'a>>,
    /// The inference input that receives the data to predict on.
    #[serde(skip_serializing_if = "Option::is_none")]
    input_name: Option<&'a str>,
    /// The inference inputs other than `input_name`, sorted.
    #[serde(skip_serializing_if = "Option::is_none")]
    artifacts: Option<Vec<&'a str>>,
}

/// The inference side of a PipelineMl.
#[derive(Serialize)]
struct InferenceReport<'a> {
    nodes: Vec<&'a str>,
    inputs: &'a BTreeSet<String>,
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

/// Execution order, layers, free inputs and outputs; for a PipelineMl also
/// its inference pipeline, input name and artifacts.
pub(super) fn described(out: &mut dyn Write, any: &AnyPipeline, json: bool) -> io::Result<()> {
    let pipeline: &Pipeline = any;
    let ml = any.as_ml();
    if !json {
        writeln!(out, "{}", pipeline.describe())?;
        if let Some(ml) = ml {
            writeln!(
                out,
                "\n#### Inference pipeline (input_name: {}) ####",
                ml.input_name()
            )?;
            writeln!(out, "{}", ml.inference().describe())?;
            writeln!(out, "Artifacts: {}", ml.artifacts().join(", "))?;
        }
        return Ok(());
    }
    let report = DescribeReport {
        kind: if ml.is_some() {
            "pipeline_ml"
        } else {
            "pipeline"
        },
        nodes: pipeline.nodes().map(Node::name).collect(),
        layers: pipeline
            .layers()
            .map(|layer| layer.iter().map(|n| n.name()).collect())
            .collect(),
        inputs: pipeline.inputs(),
        outputs: pipeline.outputs(),
        inference: ml.map(|ml| InferenceReport {
            nodes: ml.inference().nodes().map(Node::name).collect(),
            inputs: ml.inference().inputs(),
            outputs: ml.inference().outputs(),
        }),
        input_name: ml.map(|ml| ml.input_name()),
        artifacts: ml.map(|ml| ml.artifacts()),
    };
    write_json(out, &report)
}

/// The nodes and the functions they resolved to.
pub(super) fn checked(out: &mut dyn Write, any: &AnyPipeline, json: bool) -> io::Result<()> {
    let pipeline: &Pipeline = any;
    let inference = any.as_ml().map(|ml| ml.inference());
    let report = CheckReport {
        nodes: pipeline.nodes().map(Node::name).collect(),
        functions: pipeline
            .nodes()
            .chain(inference.into_iter().flat_map(|p| p.nodes()))
            .map(Node::func_id)
            .collect(),
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

    fn render(f: fn(&mut dyn Write, &AnyPipeline, bool) -> io::Result<()>, json: bool) -> String {
        let mut out = Vec::new();
        f(&mut out, &AnyPipeline::Plain(sample()), json).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn describe_json_is_one_object() {
        assert_eq!(
            render(described, true),
            "{\"type\":\"pipeline\",\"nodes\":[\"a\",\"b\"],\"layers\":[[\"a\"],[\"b\"]],\"inputs\":[\"x\"],\"outputs\":[\"z\"]}\n"
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
