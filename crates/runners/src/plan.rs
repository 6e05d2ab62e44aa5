//! A run's datasets resolved once, by dense id, before any node runs.
//!
//! The pipeline numbers its datasets once ([`Pipeline::dataset_ids`], cached
//! in its graph); a run resolves each id's dataset in the catalog, here, and
//! from then on a node's loads, saves, release counting and free-output
//! checks index vectors by id: no name hashing or comparison, and no
//! allocation beyond the node's own values, on the per-node path.

use std::sync::Arc;

use rustc_hash::FxHashSet;
use tandem_catalog::{DataCatalog, Dataset};
use tandem_pipeline_core::{DatasetIds, Pipeline};

use crate::error::Error;

/// The resolved datasets of a run, by the pipeline's dataset ids.
pub(crate) struct Plan {
    /// Shares the graph that holds the ids.
    pipeline: Pipeline,
    /// Dataset handles by id.
    datasets: Vec<Arc<dyn Dataset>>,
    /// Per id: the dataset lives only in memory.
    ephemeral: Vec<bool>,
}

impl Plan {
    /// Resolves every dataset of `pipeline` in `catalog` (outputs without an
    /// entry get a `MemoryDataset`). Free inputs with no entry fail with one
    /// error listing all of them.
    pub(crate) fn new(pipeline: &Pipeline, catalog: &DataCatalog) -> Result<Plan, Error> {
        let ids = pipeline.dataset_ids();
        let mut datasets = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for (id, name) in pipeline.dataset_names().enumerate() {
            let (dataset, known) = catalog.resolve_or_default(name)?;
            if !known && ids.is_free_input(id) {
                missing.push(name.to_owned());
            }
            datasets.push(dataset);
        }
        if !missing.is_empty() {
            missing.sort_unstable();
            return Err(Error::MissingInputs { names: missing });
        }
        let ephemeral = datasets.iter().map(|d| d.is_ephemeral()).collect();
        Ok(Plan {
            pipeline: pipeline.clone(),
            datasets,
            ephemeral,
        })
    }

    /// The pipeline's dataset ids.
    pub(crate) fn ids(&self) -> &DatasetIds {
        self.pipeline.dataset_ids()
    }

    /// The dataset with id `id`.
    pub(crate) fn dataset(&self, id: usize) -> &Arc<dyn Dataset> {
        &self.datasets[id]
    }

    /// Whether `id` lives only in memory.
    pub(crate) fn is_ephemeral(&self, id: usize) -> bool {
        self.ephemeral[id]
    }

    /// The names of the pipeline's persisted datasets (for the resume hint,
    /// computed once on failure).
    pub(crate) fn persisted(&self) -> FxHashSet<&str> {
        let names = self.pipeline.dataset_names();
        names
            .zip(&self.ephemeral)
            .filter_map(|(name, ephemeral)| (!ephemeral).then_some(name))
            .collect()
    }
}
