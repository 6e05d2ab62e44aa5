//! `kedro run`'s filter flags, shared by `tandem run` and `tandem pipeline describe`.

use clap::Args;
use tandem_pipeline_core::Filter;

/// `kedro run`'s filter flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Filters (combined as an intersection)")]
pub(crate) struct FilterArgs {
    /// Keep nodes with any of these tags.
    #[arg(
        long,
        short = 't',
        value_name = "TAG,...",
        long_help = "Keep nodes that carry at least one of these tags.\n\n\
                     Example: --tags training,inference"
    )]
    pub(crate) tags: Vec<String>,

    /// Keep exactly these nodes (full, namespaced names).
    #[arg(
        long,
        short = 'n',
        value_name = "NODE,...",
        long_help = "Keep exactly these nodes. Use full names, including the namespace; \
                     commas inside [...] do not split.\n\n\
                     Example: --nodes data_processing.preprocess_companies,split_data"
    )]
    pub(crate) nodes: Vec<String>,

    /// Keep these nodes and everything downstream of them.
    #[arg(
        long,
        value_name = "NODE,...",
        long_help = "Keep these nodes and every node that depends on them, directly or not.\n\n\
                     Example: --from-nodes data_science.train_model"
    )]
    pub(crate) from_nodes: Vec<String>,

    /// Keep these nodes and everything upstream of them.
    #[arg(
        long,
        value_name = "NODE,...",
        long_help = "Keep these nodes and every node they depend on, directly or not.\n\n\
                     Example: --to-nodes data_processing.create_model_input_table"
    )]
    pub(crate) to_nodes: Vec<String>,

    /// Keep consumers of these datasets and everything downstream.
    #[arg(
        long,
        value_name = "DATASET,...",
        long_help = "Keep the nodes that read these datasets and everything downstream of \
                     them. A bare name matches every transcoding (name@format).\n\n\
                     Example: --from-inputs model_input_table"
    )]
    pub(crate) from_inputs: Vec<String>,

    /// Keep producers of these datasets and everything upstream.
    #[arg(
        long,
        value_name = "DATASET,...",
        long_help = "Keep the nodes that write these datasets and everything upstream of \
                     them.\n\n\
                     Example: --to-outputs regressor,model_metrics"
    )]
    pub(crate) to_outputs: Vec<String>,

    /// Keep nodes in these namespaces (or nested below them).
    #[arg(
        long,
        value_name = "NAMESPACE,...",
        long_help = "Keep nodes whose namespace is one of these or nested below one \
                     (data matches data and data.raw, not data_eng). Each namespace must \
                     match at least one node.\n\n\
                     Example: --namespaces data_processing,data_science"
    )]
    pub(crate) namespaces: Vec<String>,
}

impl FilterArgs {
    /// The one filter `kedro run` builds from its flags.
    pub(crate) fn to_filter(&self) -> Filter {
        let names = |values: &[String]| -> Vec<String> {
            values.iter().flat_map(|v| split_node_names(v)).collect()
        };
        let plain = |values: &[String]| -> Vec<String> {
            values.iter().flat_map(|v| split_list(v)).collect()
        };
        Filter::default()
            .tags(plain(&self.tags))
            .node_names(names(&self.nodes))
            .from_nodes(names(&self.from_nodes))
            .to_nodes(names(&self.to_nodes))
            .from_inputs(plain(&self.from_inputs))
            .to_outputs(plain(&self.to_outputs))
            .node_namespaces(names(&self.namespaces))
    }
}

/// Kedro's `split_string`: comma-separated items, trimmed, empty ones dropped.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Kedro's `split_node_names`: like [`split_list`], but a comma inside
/// `[...]` does not split, because Kedro 0.19 default node names look like
/// `f([a,b]) -> [c]`.
pub(crate) fn split_node_names(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    // Saturating, unlike Kedro's counter: a stray `]` must not stop all later
    // commas from splitting.
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == ',' && depth == 0 {
            push_trimmed(&mut items, &current);
            current.clear();
        } else {
            current.push(c);
        }
    }
    push_trimmed(&mut items, &current);
    items
}

fn push_trimmed(items: &mut Vec<String>, item: &str) {
    let item = item.trim();
    if !item.is_empty() {
        items.push(item.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        filters: FilterArgs,
    }

    #[test]
    fn lists_are_split_trimmed_and_compacted() {
        assert_eq!(split_list("a, b ,,c,"), ["a", "b", "c"]);
        assert_eq!(split_list(" "), Vec::<String>::new());
        assert_eq!(split_list("f([a,b])"), ["f([a", "b])"]);
    }

    #[test]
    fn node_names_keep_commas_inside_brackets() {
        assert_eq!(
            split_node_names("f([a,b]) -> [c], g([d]) -> [e,f] ,h"),
            ["f([a,b]) -> [c]", "g([d]) -> [e,f]", "h"]
        );
        assert_eq!(split_node_names("ns.a,,ns.b"), ["ns.a", "ns.b"]);
        assert_eq!(split_node_names("a],b"), ["a]", "b"]);
        assert_eq!(split_node_names("[a,b"), ["[a,b"]);
        assert_eq!(split_node_names(""), Vec::<String>::new());
    }

    #[test]
    fn flags_become_one_filter_and_may_repeat() {
        let probe = Probe::try_parse_from([
            "probe",
            "-t",
            "a,b",
            "--tags",
            "c",
            "--nodes",
            "x, y",
            "--from-inputs",
            "d",
            "--namespaces",
            "ns",
        ])
        .unwrap();
        let filter = probe.filters.to_filter();
        assert_eq!(filter.tags, ["a", "b", "c"]);
        assert_eq!(filter.node_names, ["x", "y"]);
        assert_eq!(filter.from_inputs, ["d"]);
        assert_eq!(filter.node_namespaces, ["ns"]);
        assert!(filter.from_nodes.is_empty() && filter.to_outputs.is_empty());
    }
}
