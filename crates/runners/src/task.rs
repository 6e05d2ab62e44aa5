//! Running one node: load its inputs, call hooks, run it, save its outputs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use tandem_pipeline_core::{Data, Node};

use crate::error::Error;
use crate::hooks::{DataMap, Hook, RunInfo, each, notify, panic_message};
use crate::plan::Plan;

/// What a completed node reports back to the scheduler.
pub(crate) struct NodeDone {
    /// The values it returned, in its output order, kept so free outputs can
    /// be returned without reloading.
    pub outputs: Vec<Data>,
    /// Wall time of load + run + save.
    pub duration: Duration,
}

/// Kedro's task: dataset hooks around each load, node hooks around the call,
/// `after_node_run` before any save, dataset hooks around each save.
///
/// Without hooks no name-keyed map is built: the values go from the loads to
/// the call and from the call to the saves by position.
pub(crate) fn run_node(
    i: usize,
    node: &Node,
    run: &RunInfo<'_>,
    hooks: &[Arc<dyn Hook>],
    plan: &Plan,
) -> Result<NodeDone, Error> {
    let started = Instant::now();
    let ids = plan.ids().inputs(i);
    let names = node.inputs();
    let first = FirstSeen::new(ids);
    let mut args: Vec<Data> = Vec::with_capacity(ids.len());
    for (k, &id) in ids.iter().enumerate() {
        // A dataset named twice is loaded once, as Kedro does.
        if let Some(j) = first.earlier(ids, k) {
            let again = args[j].clone();
            args.push(again);
            continue;
        }
        let name = &names[k];
        each(hooks, "before_dataset_loaded", |h| {
            h.before_dataset_loaded(run, name, node)
        })?;
        let data = guarded(name, "load", || plan.dataset(id).load())?;
        each(hooks, "after_dataset_loaded", |h| {
            h.after_dataset_loaded(run, name, &data, node)
        })?;
        args.push(data);
    }

    let inputs = if hooks.is_empty() {
        DataMap::new()
    } else {
        let mut inputs: DataMap = names.iter().cloned().zip(args.iter().cloned()).collect();
        let mut replacements = Vec::new();
        each(hooks, "before_node_run", |h| {
            if let Some(replaced) = h.before_node_run(run, node, &inputs)? {
                replacements.push(replaced);
            }
            Ok(())
        })?;
        for replaced in replacements {
            for (name, data) in replaced {
                for (k, _) in names.iter().enumerate().filter(|(_, n)| **n == name) {
                    args[k] = data.clone();
                }
                inputs.insert(name, data);
            }
        }
        inputs
    };

    let values = match call(node, args) {
        Ok(values) => values,
        Err(error) => {
            notify(hooks, "on_node_error", |h| {
                h.on_node_error(run, node, &error, &inputs);
            });
            return Err(error);
        }
    };
    if !hooks.is_empty() {
        let outputs: DataMap = node
            .outputs()
            .iter()
            .cloned()
            .zip(values.iter().cloned())
            .collect();
        each(hooks, "after_node_run", |h| {
            h.after_node_run(run, node, &inputs, &outputs)
        })?;
    }
    drop(inputs);

    for ((name, &id), data) in node
        .outputs()
        .iter()
        .zip(plan.ids().outputs(i))
        .zip(&values)
    {
        each(hooks, "before_dataset_saved", |h| {
            h.before_dataset_saved(run, name, data, node)
        })?;
        guarded(name, "save", || plan.dataset(id).save(data.clone()))?;
        each(hooks, "after_dataset_saved", |h| {
            h.after_dataset_saved(run, name, data, node)
        })?;
    }
    Ok(NodeDone {
        outputs: values,
        duration: started.elapsed(),
    })
}

/// Where a node's input ids first appear, so a repeated input is loaded
/// once: a scan of the earlier positions for the usual handful of inputs, a
/// map for nodes with many (so the check stays linear in the inputs).
enum FirstSeen {
    Scan,
    Map(FxHashMap<usize, usize>),
}

impl FirstSeen {
    const SCAN_UP_TO: usize = 16;

    fn new(ids: &[usize]) -> Self {
        if ids.len() <= Self::SCAN_UP_TO {
            return FirstSeen::Scan;
        }
        let mut first = FxHashMap::default();
        for (k, &id) in ids.iter().enumerate() {
            first.entry(id).or_insert(k);
        }
        FirstSeen::Map(first)
    }

    /// The position before `k` holding the same id, if any.
    fn earlier(&self, ids: &[usize], k: usize) -> Option<usize> {
        match self {
            FirstSeen::Scan => ids[..k].iter().position(|&id| id == ids[k]),
            FirstSeen::Map(first) => first.get(&ids[k]).copied().filter(|&j| j < k),
        }
    }
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
fn call(node: &Node, args: Vec<Data>) -> Result<Vec<Data>, Error> {
    let result =
        catch_unwind(AssertUnwindSafe(|| node.run(args))).map_err(|payload| Error::Panic {
            node: node.name().to_owned(),
            message: panic_message(payload.as_ref()),
        })?;
    Ok(result?)
}
