//! Releasing datasets once their last consumer has run, so memory follows the
//! live set of a run rather than everything it ever produced.

use tandem_pipeline_core::Node;

use crate::plan::Plan;

/// Kedro's load counting: every node input counts, repeats included. Counts
/// are per dataset id, so a completion costs a decrement per input.
pub(crate) struct Releaser {
    remaining_loads: Vec<usize>,
}

impl Releaser {
    pub(crate) fn new(plan: &Plan) -> Self {
        Releaser {
            remaining_loads: (0..plan.ids().len())
                .map(|id| plan.ids().loads(id))
                .collect(),
        }
    }

    /// Releases what node `i` was the last to need: its inputs with no loads
    /// left (never free inputs) and outputs nobody loads (never free outputs;
    /// in practice a transcoded `ds@fmt` written but read as `ds@other`).
    pub(crate) fn node_finished(&mut self, i: usize, node: &Node, plan: &Plan) {
        let ids = plan.ids();
        for (name, &id) in node.inputs().iter().zip(ids.inputs(i)) {
            let count = &mut self.remaining_loads[id];
            // A repeated input reaches zero once, on its last repeat.
            if *count == 0 {
                continue;
            }
            *count -= 1;
            if *count == 0 && !ids.is_free_input(id) {
                release(plan, id, name);
            }
        }
        for (name, &id) in node.outputs().iter().zip(ids.outputs(i)) {
            if self.remaining_loads[id] == 0 && !ids.is_free_output(id) {
                release(plan, id, name);
            }
        }
    }
}

fn release(plan: &Plan, id: usize, name: &str) {
    plan.dataset(id).release();
    tracing::debug!(dataset = %name, "released");
}
