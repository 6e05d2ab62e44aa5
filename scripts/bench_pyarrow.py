"""pyarrow's figures for the catalog's parquet benchmark.

Writes and reads a 1,000,000-row x 8-column float64 table (uniform values in
[0, 1), incompressible like the Rust benchmark's) to a local file with snappy
compression, pyarrow's defaults otherwise, and prints the median and fastest
of N runs. Compare with `cargo bench -p tandem-catalog --bench parquet`.

Usage: target/py-venv/bin/python scripts/bench_pyarrow.py [RUNS]
"""

import os
import statistics
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROWS = 1_000_000
COLUMNS = 8


def table() -> pa.Table:
    return pa.table(
        {f"c{c}": pc.random(ROWS, initializer=c) for c in range(COLUMNS)}
    )


def timed(runs, action):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def report(name, figures):
    median, fastest = figures
    print(f"{name:<40} median {median * 1e3:8.1f} ms   fastest {fastest * 1e3:8.1f} ms")


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    data = table()
    print(f"pyarrow {pa.__version__}, {os.cpu_count()} CPUs, {runs} runs")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "table.parquet")
        report(
            "write (snappy, defaults)",
            timed(runs, lambda: pq.write_table(data, path, compression="snappy")),
        )
        report(
            "write (snappy, use_dictionary=False)",
            timed(
                runs,
                lambda: pq.write_table(
                    data, path, compression="snappy", use_dictionary=False
                ),
            ),
        )
        pq.write_table(data, path, compression="snappy")
        report("read (use_threads=True, default)", timed(runs, lambda: pq.read_table(path)))
        report(
            "read (use_threads=False)",
            timed(runs, lambda: pq.read_table(path, use_threads=False)),
        )


if __name__ == "__main__":
    main()
