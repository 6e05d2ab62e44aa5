//! Releasing datasets once their last consumer has run, so memory follows the
//! live set of a run rather than everything it ever produced.

use std::collections::{BTreeSet, HashMap};

use tandem_pipeline_core::{Node, Pipeline};

use crate::task::Datasets;

/// Kedro's load counting: every node input counts, repeats included.
pub(crate) struct Releaser {
    remaining_loads: HashMap<String, usize>,
    free_inputs: BTreeSet<String>,
    free_outputs: BTreeSet<String>,
}

impl Releaser {
    pub(crate) fn new(pipeline: &Pipeline) -> Self {
        let mut remaining_loads = HashMap::new();
        for node in pipeline.nodes() {
            for input in node.inputs() {
                *remaining_loads.entry(input.clone()).or_insert(0) += 1;
            }
        }
        Releaser {
            remaining_loads,
            free_inputs: pipeline.inputs().clone(),
            free_outputs: pipeline.outputs().clone(),
        }
    }

    /// Releases what `node` was the last to need: its inputs with no loads
    /// left (never free inputs) and outputs nobody loads (never free outputs;
    /// in practice a transcoded `ds@fmt` written but read as `ds@other`).
    pub(crate) fn node_finished(&mut self, node: &Node, datasets: &Datasets) -> Vec<String> {
        let mut released = Vec::new();
        for input in node.inputs() {
            let count = self.remaining_loads.entry(input.clone()).or_insert(0);
            *count = count.saturating_sub(1);
            if *count == 0 && !self.free_inputs.contains(input) && !released.contains(input) {
                released.push(input.clone());
            }
        }
        for output in node.outputs() {
            let unread = self.remaining_loads.get(output).is_none_or(|c| *c == 0);
            if unread && !self.free_outputs.contains(output) && !released.contains(output) {
                released.push(output.clone());
            }
        }
        for name in &released {
            if let Some(ds) = datasets.get(name) {
                ds.release();
                tracing::debug!(dataset = %name, "released");
            }
        }
        released
    }
}
