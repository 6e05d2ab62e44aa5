//! Running one node: load its inputs, call hooks, run it, save its outputs.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_catalog::Dataset;
use tandem_pipeline_core::{Data, Node};

use crate::error::Error;
use crate::hooks::{DataMap, Hook, RunInfo, each, notify, panic_message};

/// The datasets of a run, resolved once before any node runs.
pub(crate) type Datasets = HashMap<String, Arc<dyn Dataset>>;

/// What a completed node reports back to the scheduler.
pub(crate) struct NodeDone {
    /// Outputs by name, kept so free outputs can be returned without reloading.
    pub outputs: DataMap,
    /// Wall time of load + run + save.
    pub duration: Duration,
}

fn dataset<'a>(datasets: &'a Datasets, name: &str) -> Result<&'a Arc<dyn Dataset>, Error> {
    datasets.get(name).ok_or_else(|| {
        Error::Catalog(tandem_catalog::Error::NotFound {
            name: name.to_owned(),
            suggestions: Vec::new(),
        })
    })
}

/// Kedro's task: dataset hooks around each load, node hooks around the call,
/// `after_node_run` before any save, dataset hooks around each save.
pub(crate) fn run_node(
    node: &Node,
    run: &RunInfo<'_>,
    hooks: &[Arc<dyn Hook>],
    datasets: &Datasets,
) -> Result<NodeDone, Error> {
    let started = Instant::now();
    let mut inputs = DataMap::new();
    for name in node.inputs() {
        if inputs.contains_key(name) {
            continue;
        }
        each(hooks, "before_dataset_loaded", |h| {
            h.before_dataset_loaded(run, name, node)
        })?;
        let source = dataset(datasets, name)?;
        let data = guarded(name, "load", || source.load())?;
        each(hooks, "after_dataset_loaded", |h| {
            h.after_dataset_loaded(run, name, &data, node)
        })?;
        inputs.insert(name.clone(), data);
    }

    let mut replacements = Vec::new();
    each(hooks, "before_node_run", |h| {
        if let Some(replaced) = h.before_node_run(run, node, &inputs)? {
            replacements.push(replaced);
        }
        Ok(())
    })?;
    for replaced in replacements {
        inputs.extend(replaced);
    }

    let outputs = match call(node, &inputs) {
        Ok(outputs) => outputs,
        Err(error) => {
            notify(hooks, "on_node_error", |h| {
                h.on_node_error(run, node, &error, &inputs);
            });
            return Err(error);
        }
    };
    each(hooks, "after_node_run", |h| {
        h.after_node_run(run, node, &inputs, &outputs)
    })?;
    drop(inputs);

    for name in node.outputs() {
        let Some(data) = outputs.get(name) else {
            continue;
        };
        each(hooks, "before_dataset_saved", |h| {
            h.before_dataset_saved(run, name, data, node)
        })?;
        let target = dataset(datasets, name)?;
        guarded(name, "save", || target.save(data.clone()))?;
        each(hooks, "after_dataset_saved", |h| {
            h.after_dataset_saved(run, name, data, node)
        })?;
    }
    Ok(NodeDone {
        outputs,
        duration: started.elapsed(),
    })
}

/// A dataset operation on `name`, its error named after the dataset and a
/// panic contained as [`Error::DatasetPanic`].
fn guarded<T>(
    name: &str,
    operation: &'static str,
    f: impl FnOnce() -> Result<T, tandem_catalog::Error>,
) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(|e| Error::Catalog(e.in_dataset(name))),
        Err(payload) => Err(Error::DatasetPanic {
            dataset: name.to_owned(),
            operation,
            message: panic_message(payload.as_ref()),
        }),
    }
}

/// Runs the function with its inputs in call order, containing panics.
fn call(node: &Node, inputs: &DataMap) -> Result<DataMap, Error> {
    let positional: Vec<Data> = node
        .inputs()
        .iter()
        .filter_map(|name| inputs.get(name).cloned())
        .collect();
    let result = catch_unwind(AssertUnwindSafe(|| node.run(positional))).map_err(|payload| {
        Error::Panic {
            node: node.name().to_owned(),
            message: panic_message(payload.as_ref()),
        }
    })?;
    let values = result?;
    Ok(node.outputs().iter().cloned().zip(values).collect())
}
