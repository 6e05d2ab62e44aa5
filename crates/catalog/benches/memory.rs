//! MemoryDataset in `assign` mode: save + load cost does not depend on the
//! size of the value (an `Arc` is shared, nothing is copied).
//!
//! Run with `cargo bench -p tandem-catalog --bench memory`.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use divan::Bencher;
use tandem_catalog::{CopyMode, Dataset, MemoryDataset};
use tandem_pipeline_core::Data;

fn main() {
    divan::main();
}

fn table(rows: usize) -> RecordBatch {
    let columns = (0..8).map(|c| {
        let values = (0..rows).map(|r| (r * 8 + c) as f64);
        (
            format!("c{c}"),
            Arc::new(Float64Array::from_iter_values(values)) as ArrayRef,
        )
    });
    RecordBatch::try_from_iter(columns).expect("columns have equal lengths")
}

#[divan::bench(args = [1_000, 1_000_000])]
fn assign_save_load(bencher: Bencher, rows: usize) {
    let ds = MemoryDataset::new(Some(CopyMode::Assign));
    let data = Data::new(table(rows));
    bencher.bench_local(|| {
        ds.save(data.clone()).expect("assign never fails");
        ds.load().expect("just saved")
    });
}
