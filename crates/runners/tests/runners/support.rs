//! Test datasets and hooks that record what the runner did.

use std::sync::{Arc, Mutex};

use tandem_catalog::{
    CatalogOptions, DataCatalog, Dataset, DatasetDescription, DatasetRegistry, Error, MemoryDataset,
};
use tandem_pipeline_core::Data;
use tandem_runners::{ParallelRunner, Runner, SequentialRunner};

/// A shared, ordered event log.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }
    pub fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A dataset that logs loads and releases and can pretend to be persistent.
#[derive(Debug)]
pub struct LoggingDataset {
    name: String,
    inner: MemoryDataset,
    persistent: bool,
    log: LogHandle,
}

#[derive(Clone)]
pub struct LogHandle(pub Log);

impl std::fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Log")
    }
}

impl LoggingDataset {
    pub fn new(name: &str, log: &Log, persistent: bool, data: Option<Data>) -> Arc<Self> {
        let inner = match data {
            Some(d) => MemoryDataset::with_data(d, None),
            None => MemoryDataset::new(None),
        };
        Arc::new(LoggingDataset {
            name: name.to_owned(),
            inner,
            persistent,
            log: LogHandle(log.clone()),
        })
    }
}

impl Dataset for LoggingDataset {
    fn load(&self) -> Result<Data, Error> {
        self.log.0.push(format!("load {}", self.name));
        self.inner.load()
    }
    fn save(&self, data: Data) -> Result<(), Error> {
        self.inner.save(data)
    }
    fn exists(&self) -> Result<bool, Error> {
        self.inner.exists()
    }
    fn release(&self) {
        self.log.0.push(format!("release {}", self.name));
        if !self.persistent {
            self.inner.release();
        }
    }
    fn describe(&self) -> DatasetDescription {
        DatasetDescription {
            type_name: "LoggingDataset".to_owned(),
            ..DatasetDescription::default()
        }
    }
    fn is_ephemeral(&self) -> bool {
        !self.persistent
    }
}

/// An empty catalog: every dataset comes from `insert` or the runtime default.
pub fn catalog() -> DataCatalog {
    let empty = serde_json::Map::new();
    let options = CatalogOptions::new(DatasetRegistry::with_memory());
    DataCatalog::from_config(&empty, &empty, &options, ".").unwrap()
}

/// Both runners, for tests that must hold for each.
pub fn runners() -> Vec<(&'static str, Box<dyn Runner>)> {
    vec![
        ("sequential", Box::new(SequentialRunner)),
        ("parallel", Box::new(ParallelRunner::new(Some(2)).unwrap())),
    ]
}

pub fn identity(x: &i64) -> i64 {
    *x
}

pub fn add(a: &i64, b: &i64) -> i64 {
    a + b
}

pub fn fail(_x: &i64) -> Result<i64, String> {
    Err("boom".to_owned())
}
