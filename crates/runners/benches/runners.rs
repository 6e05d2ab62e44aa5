//! Runner overhead and parallel speed-up.
//!
//! `cargo bench -p tandem-runners --bench runners`; figures in docs/benchmarks.md.
//! Per-node overhead = the chain/fan time divided by its node count.

use std::sync::OnceLock;

use divan::Bencher;
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
use tandem_pipeline_core::{Data, Node, Pipeline, node};
use tandem_runners::{ParallelRunner, RunOptions, Runner, SequentialRunner};

fn main() {
    divan::main();
}

const SIZES: &[usize] = &[1_000, 10_000, 100_000];

fn inc(x: &i64) -> i64 {
    x + 1
}

fn chain(n: usize) -> Pipeline {
    let nodes: Vec<Node> = (0..n)
        .map(|i| {
            node(inc, format!("d{i}"), format!("d{}", i + 1))
                .name(format!("n{i}"))
                .build()
                .expect("valid node")
        })
        .collect();
    Pipeline::new(nodes).expect("valid chain")
}

fn fan(n: usize) -> Pipeline {
    let nodes: Vec<Node> = (0..n)
        .map(|i| {
            node(inc, "d0", format!("out{i}"))
                .name(format!("n{i}"))
                .build()
                .expect("valid node")
        })
        .collect();
    Pipeline::new(nodes).expect("valid fan")
}

fn cached(
    shape: fn(usize) -> Pipeline,
    n: usize,
    slot: &'static [OnceLock<Pipeline>; 3],
) -> Pipeline {
    let i = SIZES.iter().position(|s| *s == n).expect("known size");
    slot[i].get_or_init(|| shape(n)).clone()
}

static CHAINS: [OnceLock<Pipeline>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
static FANS: [OnceLock<Pipeline>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];

fn catalog() -> DataCatalog {
    let empty = serde_json::Map::new();
    let options = CatalogOptions::new(DatasetRegistry::with_memory());
    let catalog = DataCatalog::from_config(&empty, &empty, &options, ".").expect("empty catalog");
    catalog.insert_data("d0", Data::new(0_i64));
    catalog
}

fn run(bencher: Bencher, pipeline: Pipeline, runner: &dyn Runner) {
    // By reference: the catalog is built and dropped outside the timed
    // region, as pondrs's is.
    bencher.with_inputs(catalog).bench_local_refs(|catalog| {
        runner
            .run(&pipeline, catalog, &[], &RunOptions::default())
            .expect("run succeeds")
    });
}

#[divan::bench(args = SIZES, sample_count = 5)]
fn chain_sequential(bencher: Bencher, n: usize) {
    run(bencher, cached(chain, n, &CHAINS), &SequentialRunner);
}

#[divan::bench(args = SIZES, sample_count = 5)]
fn chain_parallel(bencher: Bencher, n: usize) {
    let runner = ParallelRunner::new(Some(2)).expect("two workers");
    run(bencher, cached(chain, n, &CHAINS), &runner);
}

#[divan::bench(args = SIZES, sample_count = 5)]
fn fan_sequential(bencher: Bencher, n: usize) {
    run(bencher, cached(fan, n, &FANS), &SequentialRunner);
}

#[divan::bench(args = SIZES, sample_count = 5)]
fn fan_parallel(bencher: Bencher, n: usize) {
    let runner = ParallelRunner::new(Some(2)).expect("two workers");
    run(bencher, cached(fan, n, &FANS), &runner);
}

/// About 100 ms of arithmetic the optimizer cannot remove.
fn busy(seed: &i64) -> i64 {
    let mut x = *seed as u64 | 1;
    for _ in 0..60_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    divan::black_box(x as i64)
}

fn two_branches() -> Pipeline {
    Pipeline::new([
        node(busy, "d0", "left")
            .name("left")
            .build()
            .expect("valid node"),
        node(busy, "d0", "right")
            .name("right")
            .build()
            .expect("valid node"),
    ])
    .expect("valid pipeline")
}

#[divan::bench(sample_count = 5)]
fn cpu_branches_sequential(bencher: Bencher) {
    run(bencher, two_branches(), &SequentialRunner);
}

#[divan::bench(sample_count = 5)]
fn cpu_branches_parallel(bencher: Bencher) {
    let runner = ParallelRunner::new(Some(2)).expect("two workers");
    run(bencher, two_branches(), &runner);
}

/// pondrs 0.4 (a Rust peer) on the same chain, side by side: N `x + 1` nodes
/// over `MemoryDataset<i64>`s in a `DynSteps`, its `SequentialRunner`, no
/// hooks. The steps are built once outside the timed region, as ours are; its
/// per-run catalog indexing is inside, as our per-run dataset tables are.
mod pondrs_chain {
    use divan::Bencher;
    use pondrs::datasets::MemoryDataset;
    use pondrs::error::PondError;
    use pondrs::runners::{Runner, SequentialRunner};
    use pondrs::{Dataset, DynSteps, Node, Step};

    fn steps(catalog: &[MemoryDataset<i64>]) -> DynSteps<'_> {
        (0..catalog.len() - 1)
            .map(|i| {
                Node {
                    name: format!("n{i}"),
                    func: |x: i64| (x + 1,),
                    input: (&catalog[i],),
                    output: (&catalog[i + 1],),
                }
                .boxed()
            })
            .collect()
    }

    #[divan::bench(args = super::SIZES, sample_count = 5)]
    fn chain_sequential_pondrs(bencher: Bencher, n: usize) {
        let catalog: Vec<MemoryDataset<i64>> = (0..=n).map(|_| MemoryDataset::new()).collect();
        catalog[0].save(0).expect("seed the first dataset");
        let steps = steps(&catalog);
        bencher.bench_local(|| {
            SequentialRunner
                .run::<PondError>(&steps, &catalog, &(), &())
                .expect("run succeeds")
        });
    }
}
