//! ParquetDataset save and load of a 1,000,000-row × 8-column `f64` table
//! (64 MB of values) to a local file with the default (snappy) compression.
//! `scripts/bench_pyarrow.py` does the same with pyarrow for comparison.
//!
//! Run with `cargo bench -p tandem-catalog --bench parquet`.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use divan::Bencher;
use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry};
use tandem_pipeline_core::Data;

fn main() {
    divan::main();
}

const ROWS: usize = 1_000_000;
const COLUMNS: usize = 8;

/// Uniform values in [0, 1) from a fixed-seed xorshift generator, so every
/// run (and the pyarrow script, which uses numpy's uniform generator) encodes
/// incompressible data of the same shape.
fn table() -> RecordBatch {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let columns = (0..COLUMNS).map(|c| {
        let values = (0..ROWS).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        });
        (
            format!("c{c}"),
            Arc::new(Float64Array::from_iter_values(values)) as ArrayRef,
        )
    });
    RecordBatch::try_from_iter(columns).expect("columns have equal lengths")
}

fn dataset(dir: &std::path::Path) -> Arc<dyn Dataset> {
    let options = serde_json::json!({"filepath": "table.parquet"});
    let mut config = DatasetConfig::new(
        "table",
        "ParquetDataset",
        options.as_object().expect("an object").clone(),
    );
    config.project_root = dir.to_path_buf();
    DatasetRegistry::with_builtins()
        .build(&config)
        .expect("a valid entry")
}

#[divan::bench(sample_count = 20)]
fn write(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ds = dataset(dir.path());
    let data = Data::new(table());
    bencher.bench_local(|| ds.save(data.clone()).expect("the save succeeds"));
}

#[divan::bench(sample_count = 20)]
fn read(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ds = dataset(dir.path());
    ds.save(Data::new(table())).expect("the save succeeds");
    bencher.bench_local(|| ds.load().expect("the load succeeds"));
}
