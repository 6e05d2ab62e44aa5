//! `--only-missing-outputs`: skip nodes whose persisted outputs already exist.

use std::collections::HashSet;

use tandem_catalog::DataCatalog;
use tandem_pipeline_core::transcoding::strip_transcoding;
use tandem_pipeline_core::{Filter, Pipeline};

use crate::error::Error;

/// Kedro's rule, decided in reverse execution order: a node runs if it has no
/// outputs; or one of its outputs is registered, persistent and missing; or
/// one feeds a node that runs and is unregistered, ephemeral or missing.
pub(crate) fn filter_missing(
    pipeline: &Pipeline,
    catalog: &DataCatalog,
) -> Result<Pipeline, Error> {
    let mut running: HashSet<usize> = HashSet::new();
    for (position, node) in pipeline.nodes().enumerate().rev() {
        let mut runs = node.outputs().is_empty();
        for output in node.outputs() {
            if runs {
                break;
            }
            let registered = catalog.contains(output);
            let dataset = catalog.get(output)?;
            let persistent = dataset.as_ref().is_some_and(|d| !d.is_ephemeral());
            let exists = match &dataset {
                Some(d) => d
                    .exists()
                    .map_err(|e| Error::Catalog(e.in_dataset(output)))?,
                None => false,
            };
            if registered && persistent && !exists {
                runs = true;
            }
            let feeds_running = pipeline
                .consumers_of(strip_transcoding(output))
                .iter()
                .any(|c| running.contains(c));
            if feeds_running && (!registered || !persistent || !exists) {
                runs = true;
            }
        }
        if runs {
            running.insert(position);
        }
    }
    if running.is_empty() {
        return Ok(Pipeline::empty());
    }
    let names: Vec<String> = pipeline
        .nodes()
        .enumerate()
        .filter(|(i, _)| running.contains(i))
        .map(|(_, n)| n.name().to_owned())
        .collect();
    Ok(pipeline.filter(&Filter::default().node_names(names))?)
}
