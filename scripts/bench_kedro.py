"""Kedro 1.7's figures for the runner-overhead benchmark.

Runs the same pipelines as `cargo bench -p tandem-runners --bench runners`
(a chain and a fan of `x + 1` nodes on MemoryDatasets) with Kedro's
SequentialRunner, INFO logs disabled, and prints the per-node cost.

Usage: target/py-kedro/bin/python scripts/bench_kedro.py [SIZE ...]
(`cargo xtask bench` creates that virtualenv with `kedro==1.7.0`.)
"""

import logging
import sys
import time

from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node
from kedro.runner import SequentialRunner


def inc(x):
    return x + 1


def chain(n):
    return Pipeline([node(inc, f"d{i}", f"d{i + 1}", name=f"n{i}") for i in range(n)])


def fan(n):
    return Pipeline([node(inc, "d0", f"out{i}", name=f"n{i}") for i in range(n)])


def run(pipeline):
    catalog = DataCatalog({"d0": MemoryDataset(0)})
    start = time.perf_counter()
    SequentialRunner().run(pipeline, catalog)
    return time.perf_counter() - start


def main():
    logging.disable(logging.INFO)
    sizes = [int(s) for s in sys.argv[1:]] or [1000, 2000]
    for shape_name, shape in (("chain", chain), ("fan", fan)):
        for n in sizes:
            seconds = run(shape(n))
            print(f"kedro {shape_name:<5} {n:>7} nodes: {seconds:8.3f} s total, "
                  f"{seconds / n * 1e6:9.1f} us per node")


if __name__ == "__main__":
    main()
