//! A pipeline's datasets numbered densely, once per pipeline value.
//!
//! Runners index per-dataset state (handles, load counts, flags) by these ids
//! instead of hashing and comparing names at every node, and a pipeline run
//! many times (a served model, one run per request) numbers its datasets only
//! the first time: the numbering is cached in the shared graph.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::Node;

/// Dense ids (`0..len()`) for every dataset a pipeline's nodes name, raw
/// names (a transcoded `ds@fmt` is its own dataset), in first-use order.
///
/// ```
/// use tandem_pipeline_core::{node, Pipeline};
/// fn inc(x: &i64) -> i64 { x + 1 }
/// let p = Pipeline::new([
///     node(inc, "a", "b").name("first").build()?,
///     node(inc, "b", "c").name("second").build()?,
/// ])?;
/// let ids = p.dataset_ids();
/// assert_eq!(ids.len(), 3);
/// let b = ids.outputs(0)[0];
/// assert_eq!((ids.inputs(1), ids.loads(b), ids.is_free_input(b)), (&[b][..], 1, false));
/// assert_eq!(p.dataset_name(b), Some("b"));
/// # Ok::<(), tandem_pipeline_core::Error>(())
/// ```
#[derive(Debug)]
pub struct DatasetIds {
    /// Per id, where the name first appears: node index and slot in its
    /// inputs followed by its outputs (so the name is not stored twice).
    first: Vec<(usize, usize)>,
    /// Input ids then output ids of every node, in execution order.
    io: Vec<usize>,
    /// `io` offsets: node `i` reads `io[bounds[2i]..bounds[2i+1]]` and
    /// writes `io[bounds[2i+1]..bounds[2i+2]]`.
    bounds: Vec<usize>,
    /// Per id: node inputs naming it, repeats within a node included.
    loads: Vec<usize>,
    free_input: Vec<bool>,
    free_output: Vec<bool>,
}

impl DatasetIds {
    pub(crate) fn new(
        nodes: &[Arc<Node>],
        free_inputs: &BTreeSet<String>,
        free_outputs: &BTreeSet<String>,
    ) -> DatasetIds {
        let mut ids: HashMap<&str, usize> =
            HashMap::with_capacity_and_hasher(nodes.len() + 1, Default::default());
        let mut first = Vec::with_capacity(nodes.len() + 1);
        let mut io = Vec::with_capacity(2 * nodes.len() + 1);
        let mut bounds = Vec::with_capacity(2 * nodes.len() + 1);
        bounds.push(0);
        for (i, node) in nodes.iter().enumerate() {
            for (slot, name) in node.inputs().iter().enumerate() {
                io.push(number(&mut ids, &mut first, name, (i, slot)));
            }
            bounds.push(io.len());
            let after = node.inputs().len();
            for (slot, name) in node.outputs().iter().enumerate() {
                io.push(number(&mut ids, &mut first, name, (i, after + slot)));
            }
            bounds.push(io.len());
        }
        let mut loads = vec![0; first.len()];
        for i in 0..nodes.len() {
            for &id in &io[bounds[2 * i]..bounds[2 * i + 1]] {
                loads[id] += 1;
            }
        }
        let flags = |set: &BTreeSet<String>| {
            let mut flags = vec![false; first.len()];
            for id in set.iter().filter_map(|name| ids.get(name.as_str())) {
                flags[*id] = true;
            }
            flags
        };
        DatasetIds {
            free_input: flags(free_inputs),
            free_output: flags(free_outputs),
            first,
            io,
            bounds,
            loads,
        }
    }

    /// How many datasets the pipeline names.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Whether the pipeline names no dataset (it has no nodes).
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// The ids node `i` (execution order) reads, in its input order.
    pub fn inputs(&self, i: usize) -> &[usize] {
        &self.io[self.range(2 * i)]
    }

    /// The ids node `i` (execution order) writes, in its output order.
    pub fn outputs(&self, i: usize) -> &[usize] {
        &self.io[self.range(2 * i + 1)]
    }

    fn range(&self, at: usize) -> Range<usize> {
        self.bounds[at]..self.bounds[at + 1]
    }

    /// How many node inputs name dataset `id` (Kedro's load counting).
    pub fn loads(&self, id: usize) -> usize {
        self.loads[id]
    }

    /// Whether dataset `id` is a free input of the pipeline.
    pub fn is_free_input(&self, id: usize) -> bool {
        self.free_input[id]
    }

    /// Whether dataset `id` is a free output of the pipeline.
    pub fn is_free_output(&self, id: usize) -> bool {
        self.free_output[id]
    }

    /// Where dataset `id`'s name first appears: node index, and slot in that
    /// node's inputs followed by its outputs.
    pub(crate) fn first_use(&self, id: usize) -> Option<(usize, usize)> {
        self.first.get(id).copied()
    }
}

/// The id of `name`, numbered at `at` when first seen.
fn number<'p>(
    ids: &mut HashMap<&'p str, usize>,
    first: &mut Vec<(usize, usize)>,
    name: &'p str,
    at: (usize, usize),
) -> usize {
    *ids.entry(name).or_insert_with(|| {
        first.push(at);
        first.len() - 1
    })
}
