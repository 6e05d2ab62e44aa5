//! A fresh copy of the project's configuration in a temporary directory,
//! and runs of its registered pipelines there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
use tandem_pipeline_core::{Data, Node};
use tandem_runners::{DataMap, Hook, HookResult, RunInfo, RunOptions, RunOutput, Runner};

/// A project directory: `conf/` copied from the example, `data/` empty.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
        copy_dir(&source, &dir.path().join("conf"));
        Project { dir }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// A catalog over the project's conf, as `churn run` builds it with
    /// tracking off: the `mlflow.*` types are known and their saves log
    /// nothing (no run is active).
    pub fn catalog(&self) -> DataCatalog {
        let mut registry = DatasetRegistry::with_builtins();
        tandem_plots::register(&mut registry);
        let no_client: tandem_tracking::ClientFactory = Arc::new(|| {
            Err(tandem_tracking::Error::InvalidConfig {
                file: "mlflow.yml".to_owned(),
                message: "the churn tests read no MLflow run".to_owned(),
            })
        });
        tandem_tracking::register_datasets(
            &mut registry,
            tandem_tracking::TrackingContext::new(),
            no_client,
            tandem_pipeline_core::FunctionRegistry::with_builtins(),
        );
        let options = CatalogOptions::new(registry);
        DataCatalog::from_conf_dir(&self.path("conf"), None, &options).unwrap()
    }

    /// Runs a registered pipeline on `catalog`, capturing what every node
    /// produced.
    pub fn run(
        &self,
        name: &str,
        runner: &dyn Runner,
        catalog: &DataCatalog,
    ) -> (RunOutput, BTreeMap<String, Data>) {
        let pipelines = churn::pipelines().unwrap();
        let recorder = Arc::new(Recorder::default());
        let hooks: Vec<Arc<dyn Hook>> = vec![recorder.clone()];
        let output = runner
            .run(&pipelines[name], catalog, &hooks, &RunOptions::default())
            .unwrap();
        let produced = recorder.outputs.lock().unwrap().clone();
        (output, produced)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Keeps every node output, by dataset name.
#[derive(Default)]
struct Recorder {
    outputs: Mutex<BTreeMap<String, Data>>,
}

impl Hook for Recorder {
    fn after_node_run(
        &self,
        _run: &RunInfo<'_>,
        _node: &Node,
        _inputs: &DataMap,
        outputs: &DataMap,
    ) -> HookResult {
        self.outputs.lock().unwrap().extend(outputs.clone());
        Ok(())
    }
}
