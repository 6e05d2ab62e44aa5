//! A panic anywhere in a task — a hook, a dataset load or save, the node —
//! is the run's error naming the node and the hook or dataset, under both
//! runners: never a hang, never an unwind past `on_pipeline_error`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use tandem_catalog::{Dataset, DatasetDescription, Error as CatalogError, MemoryDataset};
use tandem_pipeline_core::{Data, Node, Pipeline, node};
use tandem_runners::{
    DataMap, Hook, HookResult, ParallelRunner, RunInfo, RunOptions, Runner, SequentialRunner,
};

use crate::support::{catalog, identity};

const RUNNERS: [&str; 2] = ["sequential", "parallel"];

/// A dataset whose load or save panics.
#[derive(Debug)]
struct Exploding {
    on_load: bool,
    inner: MemoryDataset,
}

impl Dataset for Exploding {
    fn load(&self) -> Result<Data, CatalogError> {
        if self.on_load {
            panic!("the disk caught fire");
        }
        self.inner.load()
    }
    fn save(&self, data: Data) -> Result<(), CatalogError> {
        if !self.on_load {
            panic!("the disk caught fire");
        }
        self.inner.save(data)
    }
    fn exists(&self) -> Result<bool, CatalogError> {
        self.inner.exists()
    }
    fn describe(&self) -> DatasetDescription {
        DatasetDescription {
            type_name: "Exploding".to_owned(),
            ..DatasetDescription::default()
        }
    }
}

/// A hook that panics before node `b` runs and counts pipeline errors.
#[derive(Default)]
struct PanickingHook {
    pipeline_errors: AtomicUsize,
}

impl Hook for PanickingHook {
    fn name(&self) -> &str {
        "PanickingHook"
    }
    fn before_node_run(
        &self,
        _run: &RunInfo<'_>,
        node: &Node,
        _inputs: &DataMap,
    ) -> Result<Option<DataMap>, tandem_pipeline_core::BoxError> {
        if node.name() == "b" {
            panic!("hook bug");
        }
        Ok(None)
    }
    fn on_pipeline_error(&self, _run: &RunInfo<'_>, _error: &tandem_runners::Error) {
        self.pipeline_errors.fetch_add(1, Ordering::SeqCst);
    }
}

/// A hook that only counts pipeline errors.
#[derive(Default)]
struct ErrorCounter(AtomicUsize);

impl Hook for ErrorCounter {
    fn name(&self) -> &str {
        "ErrorCounter"
    }
    fn on_pipeline_error(&self, _run: &RunInfo<'_>, _error: &tandem_runners::Error) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn after_pipeline_run(&self, _run: &RunInfo<'_>, _outputs: &DataMap) -> HookResult {
        Ok(())
    }
}

fn chain() -> Pipeline {
    Pipeline::new([
        node(identity, "x", "y").name("a").build().unwrap(),
        node(identity, "y", "z").name("b").build().unwrap(),
        node(identity, "z", "out").name("c").build().unwrap(),
    ])
    .unwrap()
}

/// Runs on another thread so that a hang fails the test instead of
/// blocking it forever.
fn run_bounded(
    label: &'static str,
    catalog: tandem_catalog::DataCatalog,
    hooks: Vec<Arc<dyn Hook>>,
) -> Result<(), tandem_runners::Error> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runner: Box<dyn Runner> = match label {
            "sequential" => Box::new(SequentialRunner),
            _ => Box::new(ParallelRunner::new(Some(2)).unwrap()),
        };
        let result = runner
            .run(&chain(), &catalog, &hooks, &RunOptions::default())
            .map(|_| ());
        let _ = tx.send(result);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the run hung after a panic")
}

fn cause(error: &tandem_runners::Error) -> String {
    let failure = error.failure().expect("a node failure");
    format!("{} {}", failure.node, failure.cause)
}

#[test]
fn a_panicking_hook_fails_the_run_naming_node_and_hook() {
    for label in RUNNERS {
        let catalog = catalog();
        catalog.insert_data("x", Data::new(1_i64));
        let hook = Arc::new(PanickingHook::default());
        let err = run_bounded(label, catalog, vec![hook.clone()]).unwrap_err();
        let text = cause(&err);
        assert!(text.starts_with("b "), "{label}: {text}");
        assert!(
            text.contains("PanickingHook") && text.contains("hook bug"),
            "{label}: {text}"
        );
        assert_eq!(
            err.failure().unwrap().cause.kind(),
            "hook_panicked",
            "{label}"
        );
        assert_eq!(hook.pipeline_errors.load(Ordering::SeqCst), 1, "{label}");
    }
}

#[test]
fn a_panicking_dataset_load_or_save_fails_the_run_naming_the_dataset() {
    for on_load in [true, false] {
        for label in RUNNERS {
            let catalog = catalog();
            catalog.insert_data("x", Data::new(1_i64));
            let inner = MemoryDataset::new(None);
            if on_load {
                inner.save(Data::new(2_i64)).unwrap();
            }
            catalog.insert("z", Arc::new(Exploding { on_load, inner }));
            let counter = Arc::new(ErrorCounter::default());
            let err = run_bounded(label, catalog, vec![counter.clone()]).unwrap_err();
            let failure = err.failure().unwrap();
            // The save of `z` happens in `b`, its load in `c`.
            let expected = if on_load { "c" } else { "b" };
            assert_eq!(failure.node, expected, "{label} on_load={on_load}");
            assert_eq!(failure.cause.kind(), "dataset_panicked", "{label}");
            let text = failure.cause.to_string();
            assert!(
                text.contains("'z'") && text.contains("disk caught fire"),
                "{label}: {text}"
            );
            assert_eq!(counter.0.load(Ordering::SeqCst), 1, "{label}");
        }
    }
}
