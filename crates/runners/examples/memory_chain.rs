//! Peak memory of a 10-node chain passing a large arrow table along.
//!
//! Each node rewrites one column (allocating a fresh buffer for it) and shares
//! the others, as real feature pipelines do. With `assign` copy mode and
//! release on, peak RSS should stay near the table's size.
//!
//! `cargo run --release -p tandem-runners --example memory_chain -- [MiB]`
//! (default 1024) prints one JSON line: table size, peak RSS, ratio, time
//! (loading included).

#![expect(
    clippy::print_stdout,
    reason = "the example's output is its measurement"
)]

use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
use tandem_pipeline_core::{Data, Node, Pipeline, node};
use tandem_runners::{RunOptions, Runner, SequentialRunner};

const COLUMNS: usize = 8;
const STEPS: usize = 10;

/// Builds the table, as a loading node would: the run owns it from the start,
/// so it can be released once the next node has consumed it.
fn table(mib: &usize) -> RecordBatch {
    let rows = mib * 1024 * 1024 / (COLUMNS * 8);
    let fields: Vec<Field> = (0..COLUMNS)
        .map(|c| Field::new(format!("c{c}"), DataType::Float64, false))
        .collect();
    let columns: Vec<ArrayRef> = (0..COLUMNS)
        .map(|c| {
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|r| (r * (c + 1)) as f64),
            )) as ArrayRef
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("consistent table")
}

/// Rewrites the first column into a fresh buffer and moves it last, sharing
/// the other columns, so consecutive steps touch different columns.
fn rotate(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let first = batch
        .column(0)
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or("expected f64 columns")?;
    let rewritten: ArrayRef = Arc::new(Float64Array::from_iter_values(
        first.values().iter().map(|v| v + 1.0),
    ));
    let mut columns = batch.columns()[1..].to_vec();
    columns.push(rewritten);
    let mut fields: Vec<Field> = batch.schema().fields()[1..]
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(batch.schema().field(0).clone());
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: usize = std::env::args().nth(1).map_or(Ok(1024), |a| a.parse())?;
    let mut nodes: Vec<Node> = vec![node(table, "params:mib", "t0").name("load").build()?];
    for i in 0..STEPS {
        let step = node(rotate, format!("t{i}"), format!("t{}", i + 1)).name(format!("step{i}"));
        nodes.push(step.build()?);
    }
    let pipeline = Pipeline::new(nodes)?;
    let empty = serde_json::Map::new();
    let catalog = DataCatalog::from_config(
        &empty,
        &empty,
        &CatalogOptions::new(DatasetRegistry::with_memory()),
        ".",
    )?;
    catalog.insert_data("params:mib", Data::json(serde_json::json!(mib)));
    let started = Instant::now();
    let out = SequentialRunner.run(&pipeline, &catalog, &[], &RunOptions::default())?;
    let seconds = started.elapsed().as_secs_f64();
    let last = format!("t{STEPS}");
    let bytes = out.outputs[&last]
        .downcast_ref::<RecordBatch>()?
        .get_array_memory_size();
    let peak = peak_rss_bytes().unwrap_or(0);
    println!(
        "{{\"table_bytes\": {bytes}, \"peak_rss_bytes\": {peak}, \"ratio\": {:.3}, \"seconds\": {seconds:.3}}}",
        peak as f64 / bytes as f64
    );
    Ok(())
}
