//! Pipeline benchmarks: build (validate + order), filters and union on 1k, 10k
//! and 100k nodes, for a chain and for a wide layered DAG with fan-in 2.
//!
//! Run with `cargo bench -p tandem-pipeline-core --bench pipeline`.

use divan::Bencher;
use tandem_pipeline_core::{Filter, Node, NodeBuilder, Pipeline};

fn main() {
    divan::main();
}

const SIZES: &[usize] = &[1_000, 10_000, 100_000];

/// Build sizes: also 1,600 nodes, the size of Kedro's reference measurement.
const BUILD_SIZES: &[usize] = &[1_000, 1_600, 10_000, 100_000];

/// Every tenth node carries this tag.
const TAG: &str = "every10";

fn make(i: usize, inputs: Vec<String>, output: String) -> Node {
    let builder = NodeBuilder::unresolved("bench.f", inputs, [output]).name(format!("n{i}"));
    let builder = if i.is_multiple_of(10) {
        builder.tag(TAG)
    } else {
        builder
    };
    builder.build().expect("benchmark nodes are valid")
}

/// `d0 → n0 → d1 → n1 → … → dN`.
fn chain(n: usize) -> Vec<Node> {
    (0..n)
        .map(|i| make(i, vec![format!("d{i}")], format!("d{}", i + 1)))
        .collect()
}

/// Ten layers of `n / 10` nodes; node `j` of layer `l` reads nodes `j` and
/// `j + 1` (wrapping) of layer `l - 1`.
fn wide(n: usize) -> Vec<Node> {
    let width = n / 10;
    (0..n)
        .map(|i| {
            let (layer, j) = (i / width, i % width);
            let inputs = if layer == 0 {
                vec![format!("src{j}")]
            } else {
                let next = (j + 1) % width;
                vec![
                    format!("d{}_{j}", layer - 1),
                    format!("d{}_{next}", layer - 1),
                ]
            };
            make(i, inputs, format!("d{layer}_{j}"))
        })
        .collect()
}

/// The benchmarks of one shape; `$make` builds its nodes.
macro_rules! shape {
    ($shape:ident, $make:path) => {
        mod $shape {
            use super::*;

            fn pipeline(n: usize) -> Pipeline {
                Pipeline::new($make(n)).expect("benchmark pipeline is valid")
            }

            fn first(p: &Pipeline) -> String {
                p.nodes()
                    .next()
                    .map(|n| n.name().to_owned())
                    .unwrap_or_default()
            }

            fn last(p: &Pipeline) -> String {
                p.nodes()
                    .last()
                    .map(|n| n.name().to_owned())
                    .unwrap_or_default()
            }

            /// `Pipeline::new`: uniqueness and transcoding checks, graph
            /// indexes and Kahn layering.
            #[divan::bench(args = BUILD_SIZES, sample_count = 20)]
            fn build(bencher: Bencher, n: usize) {
                let nodes = $make(n);
                bencher
                    .with_inputs(|| nodes.clone())
                    .bench_values(|nodes| Pipeline::new(nodes).expect("valid"));
            }

            /// Everything downstream of the first node.
            #[divan::bench(args = SIZES, sample_count = 20)]
            fn from_nodes(bencher: Bencher, n: usize) {
                let p = pipeline(n);
                let start = [first(&p)];
                bencher.bench(|| p.from_nodes(&start).expect("known node"));
            }

            /// Everything upstream of the last node's output.
            #[divan::bench(args = SIZES, sample_count = 20)]
            fn to_outputs(bencher: Bencher, n: usize) {
                let p = pipeline(n);
                let target = [p.nodes().last().expect("non-empty").outputs()[0].clone()];
                bencher.bench(|| p.to_outputs(&target).expect("known dataset"));
            }

            /// One node in ten.
            #[divan::bench(args = SIZES, sample_count = 20)]
            fn only_nodes_with_tags(bencher: Bencher, n: usize) {
                let p = pipeline(n);
                bencher.bench(|| p.only_nodes_with_tags([TAG]));
            }

            /// `filter(from_nodes=[first], to_nodes=[last])`.
            #[divan::bench(args = SIZES, sample_count = 20)]
            fn filter_two_args(bencher: Bencher, n: usize) {
                let p = pipeline(n);
                let filter = Filter::default()
                    .from_nodes([first(&p)])
                    .to_nodes([last(&p)]);
                bencher.bench(|| p.filter(&filter).expect("non-empty"));
            }

            /// The union of the two halves of the node list (validated again).
            #[divan::bench(args = SIZES, sample_count = 20)]
            fn union(bencher: Bencher, n: usize) {
                let mut nodes = $make(n);
                let back = nodes.split_off(n / 2);
                let a = Pipeline::new(nodes).expect("valid half");
                let b = Pipeline::new(back).expect("valid half");
                bencher.bench(|| (&a + &b).expect("valid union"));
            }
        }
    };
}

shape!(chain_dag, chain);
shape!(wide_dag, wide);

/// Reading a spec of `n` chained nodes written as one flow mapping per line
/// (what `scripts/bench_run.py` writes): through [`PipelineSpec::from_yaml_str`]
/// (the plain-YAML reader) and through serde-saphyr alone, with the settings
/// `parse_yaml` gives it, side by side.
mod spec_yaml {
    use divan::Bencher;
    use tandem_pipeline_core::PipelineSpec;

    fn chain_spec(n: usize) -> String {
        let mut text = String::from("nodes:\n");
        for i in 0..n {
            let source = if i == 0 {
                "params:start".to_owned()
            } else {
                format!("d{i}")
            };
            text.push_str(&format!(
                "  - {{name: n{i}, func: 'builtin:identity', inputs: '{source}', outputs: d{}}}\n",
                i + 1
            ));
        }
        text
    }

    #[divan::bench(args = super::SIZES, sample_count = 20)]
    fn plain_reader(bencher: Bencher, n: usize) {
        let text = chain_spec(n);
        bencher.bench(|| PipelineSpec::from_yaml_str(&text, None).expect("valid spec"));
    }

    #[divan::bench(args = super::SIZES, sample_count = 20)]
    fn serde_saphyr(bencher: Bencher, n: usize) {
        let text = chain_spec(n);
        let options = serde_saphyr::options! {
            strict_booleans: true,
            leading_zero_numbers_as_strings: true,
            budget: tandem_pipeline_core::spec::yaml_budget(text.len()),
        };
        bencher.bench_local(|| {
            serde_saphyr::from_str_with_options::<PipelineSpec>(&text, options.clone())
                .expect("valid spec")
        });
    }
}
