//! Kedro's pipeline filters. Each returns a new pipeline and runs in time
//! linear in nodes plus edges (the graph's indexes make lookups O(1)).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use crate::error::Error;
use crate::pipeline::Pipeline;
use crate::suggest::close_matches_all;
use crate::transcoding::is_transcoded;

/// The arguments of [`Pipeline::filter`], Kedro's `filter(...)` (and `kedro run`'s flags).
///
/// Each non-empty field is applied to the whole pipeline on its own and the
/// results are intersected, so the order of fields does not matter.
///
/// ```
/// use tandem_pipeline_core::Filter;
/// let f = Filter::default().tags(["training"]).from_nodes(["split"]);
/// assert!(!f.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Keep nodes with any of these tags (`--tags`).
    pub tags: Vec<String>,
    /// Keep these nodes and everything downstream (`--from-nodes`).
    pub from_nodes: Vec<String>,
    /// Keep these nodes and everything upstream (`--to-nodes`).
    pub to_nodes: Vec<String>,
    /// Keep exactly these nodes (`--nodes`).
    pub node_names: Vec<String>,
    /// Keep consumers of these datasets and everything downstream (`--from-inputs`).
    pub from_inputs: Vec<String>,
    /// Keep producers of these datasets and everything upstream (`--to-outputs`).
    pub to_outputs: Vec<String>,
    /// Keep nodes in these namespaces or below (`--namespaces`).
    pub node_namespaces: Vec<String>,
}

fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

impl Filter {
    /// Sets [`Filter::tags`].
    pub fn tags<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.tags = strings(v);
        self
    }
    /// Sets [`Filter::from_nodes`].
    pub fn from_nodes<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.from_nodes = strings(v);
        self
    }
    /// Sets [`Filter::to_nodes`].
    pub fn to_nodes<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.to_nodes = strings(v);
        self
    }
    /// Sets [`Filter::node_names`].
    pub fn node_names<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.node_names = strings(v);
        self
    }
    /// Sets [`Filter::from_inputs`].
    pub fn from_inputs<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.from_inputs = strings(v);
        self
    }
    /// Sets [`Filter::to_outputs`].
    pub fn to_outputs<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.to_outputs = strings(v);
        self
    }
    /// Sets [`Filter::node_namespaces`].
    pub fn node_namespaces<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.node_namespaces = strings(v);
        self
    }

    /// Whether no field is set (filtering returns a copy).
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
            && self.from_nodes.is_empty()
            && self.to_nodes.is_empty()
            && self.node_names.is_empty()
            && self.from_inputs.is_empty()
            && self.to_outputs.is_empty()
            && self.node_namespaces.is_empty()
    }
}

/// A set of node positions.
type Mask = Vec<bool>;

fn as_strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

impl Pipeline {
    fn subset(&self, mask: &[bool]) -> Pipeline {
        if mask.iter().all(|keep| *keep) {
            // Everything kept (no filter, or filters that select all): the
            // graph is immutable and shared, so the same one serves.
            return self.clone();
        }
        let nodes: Vec<_> = self
            .node_arcs()
            .iter()
            .zip(mask)
            .filter(|(_, keep)| **keep)
            .map(|(n, _)| Arc::clone(n))
            .collect();
        Pipeline::from_valid(nodes)
    }

    fn mask_of(&self, positions: impl IntoIterator<Item = usize>) -> Mask {
        let mut mask = vec![false; self.len()];
        for p in positions {
            mask[p] = true;
        }
        mask
    }

    fn node_positions(&self, names: &[String]) -> Result<Vec<usize>, Error> {
        let mut unknown = Vec::new();
        let mut positions = Vec::with_capacity(names.len());
        for name in names {
            match self.position(name) {
                Some(p) => positions.push(p),
                None => unknown.push(name.clone()),
            }
        }
        if !unknown.is_empty() {
            let mut suggestions: Vec<String> = Vec::new();
            for u in &unknown {
                let suffix = format!(".{u}");
                suggestions.extend(
                    self.nodes()
                        .map(|n| n.name())
                        .filter(|n| n.ends_with(&suffix))
                        .map(str::to_owned),
                );
            }
            if suggestions.is_empty() {
                suggestions = close_matches_all(&unknown, self.nodes().map(|n| n.name()));
            }
            return Err(Error::UnknownNode {
                names: unknown,
                suggestions,
            });
        }
        // Kedro rebuilds a pipeline from the selected nodes, so naming a node
        // twice is reported as a duplicate node name.
        let mut seen = HashSet::new();
        let duplicates: BTreeSet<String> = names
            .iter()
            .filter(|n| !seen.insert(n.as_str()))
            .cloned()
            .collect();
        if !duplicates.is_empty() {
            return Err(Error::DuplicateNodeName {
                names: duplicates.into_iter().collect(),
            });
        }
        Ok(positions)
    }

    fn check_datasets(&self, names: &[String]) -> Result<(), Error> {
        let needs_raw = names.iter().any(|n| is_transcoded(n));
        let raw: HashSet<&str> = if needs_raw {
            self.nodes()
                .flat_map(|n| n.inputs().iter().chain(n.outputs()))
                .map(String::as_str)
                .collect()
        } else {
            HashSet::new()
        };
        let mut missing: Vec<String> = names
            .iter()
            .filter(|n| {
                if is_transcoded(n) {
                    !raw.contains(n.as_str())
                } else {
                    self.producer_of(n).is_none() && self.consumers_of(n).is_empty()
                }
            })
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort();
        missing.dedup();
        let datasets = self.datasets();
        let suggestions = close_matches_all(&missing, datasets.iter().map(String::as_str));
        Err(Error::UnknownDataset {
            names: missing,
            suggestions,
        })
    }

    fn consumers_mask(&self, datasets: &[String]) -> Result<Mask, Error> {
        self.check_datasets(datasets)?;
        let mut mask = vec![false; self.len()];
        for ds in datasets {
            for &c in self.consumers_of(ds) {
                if !is_transcoded(ds) || self.node_arcs()[c].inputs().contains(ds) {
                    mask[c] = true;
                }
            }
        }
        Ok(mask)
    }

    fn producers_mask(&self, datasets: &[String]) -> Result<Mask, Error> {
        self.check_datasets(datasets)?;
        let mut mask = vec![false; self.len()];
        for ds in datasets {
            if let Some(p) = self.producer_of(ds)
                && (!is_transcoded(ds) || self.node_arcs()[p].outputs().contains(ds))
            {
                mask[p] = true;
            }
        }
        Ok(mask)
    }

    /// Extends `mask` along an edge relation until closed (linear: each node is
    /// expanded at most once).
    fn close(&self, mut mask: Mask, downstream: bool) -> Mask {
        let mut stack: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
        while let Some(i) = stack.pop() {
            let next = if downstream {
                self.children_of(i)
            } else {
                self.parents_of(i)
            };
            for &j in next {
                if !mask[j] {
                    mask[j] = true;
                    stack.push(j);
                }
            }
        }
        mask
    }

    fn mask_only_nodes(&self, names: &[String]) -> Result<Mask, Error> {
        Ok(self.mask_of(self.node_positions(names)?))
    }

    fn mask_from_nodes(&self, names: &[String]) -> Result<Mask, Error> {
        Ok(self.close(self.mask_only_nodes(names)?, true))
    }

    fn mask_to_nodes(&self, names: &[String]) -> Result<Mask, Error> {
        Ok(self.close(self.mask_only_nodes(names)?, false))
    }

    fn mask_from_inputs(&self, datasets: &[String]) -> Result<Mask, Error> {
        Ok(self.close(self.consumers_mask(datasets)?, true))
    }

    fn mask_to_outputs(&self, datasets: &[String]) -> Result<Mask, Error> {
        Ok(self.close(self.producers_mask(datasets)?, false))
    }

    fn mask_tags(&self, tags: &[String]) -> Mask {
        self.nodes()
            .map(|n| tags.iter().any(|t| n.tags().contains(t)))
            .collect()
    }

    fn mask_namespaces(&self, namespaces: &[String]) -> Result<Mask, Error> {
        let mut mask = vec![false; self.len()];
        let mut unmatched = Vec::new();
        for ns in namespaces {
            let prefix = format!("{ns}.");
            let mut matched = false;
            for (i, n) in self.nodes().enumerate() {
                if let Some(node_ns) = n.namespace()
                    && (node_ns == ns || node_ns.starts_with(&prefix))
                {
                    mask[i] = true;
                    matched = true;
                }
            }
            if !matched {
                unmatched.push(ns.clone());
            }
        }
        if unmatched.is_empty() {
            return Ok(mask);
        }
        let known: BTreeSet<&str> = self.nodes().filter_map(|n| n.namespace()).collect();
        let suggestions = close_matches_all(&unmatched, known.iter().copied());
        Err(Error::UnknownNamespace {
            namespaces: unmatched,
            suggestions,
        })
    }

    /// Exactly the named nodes (full, namespaced names).
    pub fn only_nodes<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        Ok(self.subset(&self.mask_only_nodes(&as_strings(names))?))
    }

    /// Nodes whose namespace is one of `namespaces` or nested below one
    /// (`data` matches `data` and `data.raw`, not `data_eng`).
    pub fn only_nodes_with_namespaces<S: AsRef<str>>(
        &self,
        namespaces: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        Ok(self.subset(&self.mask_namespaces(&as_strings(namespaces))?))
    }

    /// Direct consumers of the datasets. A bare name matches every
    /// transcoding of it; `b@fmt` matches exactly.
    pub fn only_nodes_with_inputs<S: AsRef<str>>(
        &self,
        datasets: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        Ok(self.subset(&self.consumers_mask(&as_strings(datasets))?))
    }

    /// Consumers of the datasets and everything downstream of them.
    pub fn from_inputs<S: AsRef<str>>(
        &self,
        datasets: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        Ok(self.subset(&self.mask_from_inputs(&as_strings(datasets))?))
    }

    /// The producers of the datasets. `b@fmt` matches only a producer of exactly `b@fmt`.
    pub fn only_nodes_with_outputs<S: AsRef<str>>(
        &self,
        datasets: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        Ok(self.subset(&self.producers_mask(&as_strings(datasets))?))
    }

    /// Producers of the datasets and everything upstream of them; a free
    /// input gives an empty pipeline.
    pub fn to_outputs<S: AsRef<str>>(
        &self,
        datasets: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        Ok(self.subset(&self.mask_to_outputs(&as_strings(datasets))?))
    }

    /// The named nodes and everything downstream of them.
    pub fn from_nodes<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        Ok(self.subset(&self.mask_from_nodes(&as_strings(names))?))
    }

    /// The named nodes and everything upstream of them.
    pub fn to_nodes<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Pipeline, Error> {
        Ok(self.subset(&self.mask_to_nodes(&as_strings(names))?))
    }

    /// Nodes carrying any of the tags; no tags gives an empty pipeline.
    pub fn only_nodes_with_tags<S: AsRef<str>>(
        &self,
        tags: impl IntoIterator<Item = S>,
    ) -> Pipeline {
        self.subset(&self.mask_tags(&as_strings(tags)))
    }

    /// Kedro's `filter(...)`: every set field of `filter` is applied to the whole
    /// pipeline and the results are intersected. An empty result is
    /// [`Error::EmptyPipeline`]; with no field set, a copy is returned.
    pub fn filter(&self, filter: &Filter) -> Result<Pipeline, Error> {
        let mut keep = vec![true; self.len()];
        let mut apply = |mask: Mask| {
            for (k, m) in keep.iter_mut().zip(mask) {
                *k &= m;
            }
        };
        if !filter.tags.is_empty() {
            apply(self.mask_tags(&filter.tags));
        }
        if !filter.from_nodes.is_empty() {
            apply(self.mask_from_nodes(&filter.from_nodes)?);
        }
        if !filter.to_nodes.is_empty() {
            apply(self.mask_to_nodes(&filter.to_nodes)?);
        }
        if !filter.node_names.is_empty() {
            apply(self.mask_only_nodes(&filter.node_names)?);
        }
        if !filter.from_inputs.is_empty() {
            apply(self.mask_from_inputs(&filter.from_inputs)?);
        }
        if !filter.to_outputs.is_empty() {
            apply(self.mask_to_outputs(&filter.to_outputs)?);
        }
        if !filter.node_namespaces.is_empty() {
            apply(self.mask_namespaces(&filter.node_namespaces)?);
        }
        let result = self.subset(&keep);
        if result.is_empty() {
            return Err(Error::EmptyPipeline);
        }
        Ok(result)
    }
}
