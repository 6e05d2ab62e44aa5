//! `pipeline describe --format mermaid|dot`: the pipeline as a diagram for
//! docs and code review. Tasks are boxes, datasets rounded, parameters
//! their own shape; namespaces are nested subgraphs (clusters in DOT).
//!
//! Node ids are generated (`n0`, `d0`, `s0`), never a name, so any name is
//! safe; names appear only as quoted labels, escaped for each language.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};

use tandem_pipeline_core::Pipeline;
use tandem_pipeline_core::transcoding::strip_transcoding;

use crate::args::DescribeFormat;

/// A pipeline's tasks, datasets and edges with generated ids.
struct Diagram<'p> {
    /// `(id, label)` per task, in execution order.
    tasks: Vec<(String, &'p str)>,
    /// `(id, label, is_parameter)` per dataset, in order of appearance.
    datasets: Vec<(String, &'p str, bool)>,
    edges: Vec<(String, String)>,
    /// Namespace → the tasks directly in it (indexes into `tasks`).
    direct: BTreeMap<&'p str, Vec<usize>>,
    /// The tasks outside every namespace.
    top_level: Vec<usize>,
    /// Every namespace and its ancestors.
    namespaces: BTreeSet<&'p str>,
}

impl<'p> Diagram<'p> {
    fn new(pipeline: &'p Pipeline) -> Diagram<'p> {
        let mut ids: HashMap<&str, String> = HashMap::new();
        let mut diagram = Diagram {
            tasks: Vec::new(),
            datasets: Vec::new(),
            edges: Vec::new(),
            direct: BTreeMap::new(),
            top_level: Vec::new(),
            namespaces: BTreeSet::new(),
        };
        for (i, node) in pipeline.nodes().enumerate() {
            let task = format!("n{i}");
            diagram.tasks.push((task.clone(), node.name()));
            if let Some(ns) = node.namespace() {
                diagram.direct.entry(ns).or_default().push(i);
                for (end, _) in ns.match_indices('.') {
                    diagram.namespaces.insert(&ns[..end]);
                }
                diagram.namespaces.insert(ns);
            } else {
                diagram.top_level.push(i);
            }
            for (names, output) in [(node.inputs(), false), (node.outputs(), true)] {
                for name in names {
                    let name = strip_transcoding(name);
                    let id = ids
                        .entry(name)
                        .or_insert_with(|| {
                            let id = format!("d{}", diagram.datasets.len());
                            let parameter = name == "parameters" || name.starts_with("params:");
                            diagram.datasets.push((id.clone(), name, parameter));
                            id
                        })
                        .clone();
                    diagram.edges.push(if output {
                        (task.clone(), id)
                    } else {
                        (id, task.clone())
                    });
                }
            }
        }
        diagram
    }

    /// The namespaces directly inside `parent` ("" for the top level).
    fn children_of(&self, parent: &str) -> Vec<&'p str> {
        self.namespaces
            .iter()
            .copied()
            .filter(|ns| match ns.rsplit_once('.') {
                Some((p, _)) => p == parent,
                None => parent.is_empty(),
            })
            .collect()
    }

    /// The tasks directly in `ns` ("" for the top level).
    fn tasks_in(&self, ns: &str) -> &[usize] {
        if ns.is_empty() {
            &self.top_level
        } else {
            self.direct.get(ns).map_or(&[], Vec::as_slice)
        }
    }

    fn subgraph_id(&self, ns: &str) -> usize {
        self.namespaces.iter().position(|n| *n == ns).unwrap_or(0)
    }
}

/// Writes `pipeline` as a Mermaid flowchart or a Graphviz digraph.
pub(super) fn write(
    out: &mut dyn Write,
    pipeline: &Pipeline,
    format: DescribeFormat,
) -> io::Result<()> {
    let diagram = Diagram::new(pipeline);
    match format {
        DescribeFormat::Dot => dot(out, &diagram),
        _ => mermaid(out, &diagram),
    }
}

/// Mermaid label text inside `"..."`: quotes and the characters Mermaid
/// reads as markup become entity codes.
fn mermaid_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn mermaid(out: &mut dyn Write, d: &Diagram) -> io::Result<()> {
    writeln!(out, "flowchart TD")?;
    mermaid_level(out, d, "", 1)?;
    for (id, label, parameter) in &d.datasets {
        let label = mermaid_label(label);
        if *parameter {
            writeln!(out, "  {id}[/\"{label}\"/]")?;
        } else {
            writeln!(out, "  {id}([\"{label}\"])")?;
        }
    }
    for (source, target) in &d.edges {
        writeln!(out, "  {source} --> {target}")?;
    }
    Ok(())
}

fn mermaid_level(out: &mut dyn Write, d: &Diagram, ns: &str, depth: usize) -> io::Result<()> {
    let pad = "  ".repeat(depth);
    for &i in d.tasks_in(ns) {
        let (id, label) = &d.tasks[i];
        writeln!(out, "{pad}{id}[\"{}\"]", mermaid_label(label))?;
    }
    for child in d.children_of(ns) {
        writeln!(
            out,
            "{pad}subgraph s{}[\"{}\"]",
            d.subgraph_id(child),
            mermaid_label(child)
        )?;
        mermaid_level(out, d, child, depth + 1)?;
        writeln!(out, "{pad}end")?;
    }
    Ok(())
}

/// A DOT double-quoted string.
fn dot_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dot(out: &mut dyn Write, d: &Diagram) -> io::Result<()> {
    writeln!(out, "digraph pipeline {{")?;
    writeln!(out, "  rankdir=TB;")?;
    dot_level(out, d, "", 1)?;
    for (id, label, parameter) in &d.datasets {
        let shape = if *parameter { "note" } else { "ellipse" };
        writeln!(out, "  {id} [label={}, shape={shape}];", dot_string(label))?;
    }
    for (source, target) in &d.edges {
        writeln!(out, "  {source} -> {target};")?;
    }
    writeln!(out, "}}")
}

fn dot_level(out: &mut dyn Write, d: &Diagram, ns: &str, depth: usize) -> io::Result<()> {
    let pad = "  ".repeat(depth);
    for &i in d.tasks_in(ns) {
        let (id, label) = &d.tasks[i];
        writeln!(out, "{pad}{id} [label={}, shape=box];", dot_string(label))?;
    }
    for child in d.children_of(ns) {
        writeln!(out, "{pad}subgraph cluster_{} {{", d.subgraph_id(child))?;
        writeln!(out, "{pad}  label={};", dot_string(child))?;
        dot_level(out, d, child, depth + 1)?;
        writeln!(out, "{pad}}}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_pipeline_core::NodeBuilder;

    fn sample() -> Pipeline {
        Pipeline::new([
            NodeBuilder::unresolved("f.a", ["raw \"data\" [v1]", "params:alpha"], "ns.x")
                .name("load")
                .namespace("ns")
                .build()
                .unwrap(),
            NodeBuilder::unresolved("f.b", "ns.x", "ns.inner.y")
                .name("fit")
                .namespace("ns.inner")
                .build()
                .unwrap(),
            NodeBuilder::unresolved("f.c", "ns.inner.y", "report#1")
                .name("report")
                .build()
                .unwrap(),
        ])
        .unwrap()
    }

    fn render(format: DescribeFormat) -> String {
        let mut out = Vec::new();
        write(&mut out, &sample(), format).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn mermaid_nests_namespaces_and_escapes_labels() {
        assert_eq!(
            render(DescribeFormat::Mermaid),
            "flowchart TD\n\
             \x20 n2[\"report\"]\n\
             \x20 subgraph s0[\"ns\"]\n\
             \x20   n0[\"ns.load\"]\n\
             \x20   subgraph s1[\"ns.inner\"]\n\
             \x20     n1[\"ns.inner.fit\"]\n\
             \x20   end\n\
             \x20 end\n\
             \x20 d0([\"raw #quot;data#quot; [v1]\"])\n\
             \x20 d1[/\"params:alpha\"/]\n\
             \x20 d2([\"ns.x\"])\n\
             \x20 d3([\"ns.inner.y\"])\n\
             \x20 d4([\"report#35;1\"])\n\
             \x20 d0 --> n0\n\
             \x20 d1 --> n0\n\
             \x20 n0 --> d2\n\
             \x20 d2 --> n1\n\
             \x20 n1 --> d3\n\
             \x20 d3 --> n2\n\
             \x20 n2 --> d4\n"
        );
    }

    #[test]
    fn dot_clusters_namespaces_and_escapes_labels() {
        let dot = render(DescribeFormat::Dot);
        assert!(
            dot.starts_with("digraph pipeline {\n  rankdir=TB;\n"),
            "{dot}"
        );
        assert!(dot.contains("  subgraph cluster_0 {\n    label=\"ns\";\n    n0 [label=\"ns.load\", shape=box];\n    subgraph cluster_1 {\n      label=\"ns.inner\";\n"), "{dot}");
        assert!(
            dot.contains("  d0 [label=\"raw \\\"data\\\" [v1]\", shape=ellipse];\n"),
            "{dot}"
        );
        assert!(
            dot.contains("  d1 [label=\"params:alpha\", shape=note];\n"),
            "{dot}"
        );
        assert!(dot.contains("  n2 -> d4;\n}\n"), "{dot}");
        assert_eq!(dot_string("a\\b\"c\nd"), "\"a\\\\b\\\"c\\nd\"");
    }
}
